import { spawn } from 'node:child_process';
export const thumb = (src: string) => spawn('convert', [src, '-resize', '100x100', 'out.png']);
