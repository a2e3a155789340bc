/**
 * A POSIX ustar archive writer, enough for exports: regular files with short ASCII names, written
 * one entry at a time (each entry's size is known when it is added). GNU tar, bsdtar and every
 * archive tool read it.
 */
const BLOCK = 512;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, size: number, mtime: Date): Buffer {
  if (!/^[\x21-\x7e][\x20-\x7e]{0,99}$/.test(name) || name.includes('..'))
    throw new Error(`tar entry name not allowed: ${name}`);
  const h = Buffer.alloc(BLOCK, 0);
  h.write(name, 0, 100, 'ascii');
  h.write(octal(0o644, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(Math.floor(mtime.getTime() / 1000), 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write('0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write('palisade', 265, 'ascii');
  h.write('palisade', 297, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

/** Header, data and padding of one entry. */
export function tarEntry(name: string, data: Buffer | string, mtime: Date): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const pad = (BLOCK - (body.length % BLOCK)) % BLOCK;
  return Buffer.concat([header(name, body.length, mtime), body, Buffer.alloc(pad, 0)]);
}

/** Two zero blocks end an archive. */
export const TAR_END = Buffer.alloc(BLOCK * 2, 0);
