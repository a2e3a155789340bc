import { createHash } from 'node:crypto';
import { db } from './db';

export async function register(email: string, pwd: string) {
  const digest = createHash('sha1').update(pwd).digest('hex');
  await db.users.insert({ email, password_hash: digest });
}
