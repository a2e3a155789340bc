import { createHash } from 'node:crypto';

export function shardFor(userId: string, shards: number): number {
  const h = createHash('md5').update(userId).digest();
  return h.readUInt32BE(0) % shards;
}
