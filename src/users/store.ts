import { Type } from '@sinclair/typebox';
import type { Queryable, User } from '../db/schema.js';
import { newId } from '../ids.js';

export function findUserByEmail(db: Queryable, email: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
}

export function findUserById(db: Queryable, id: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Returns the existing user for an email, or creates one without a password (set later by a link). */
export async function findOrCreateUser(
  db: Queryable,
  email: string,
  now: Date,
): Promise<{ user: User; created: boolean }> {
  const existing = await findUserByEmail(db, email);
  if (existing) return { user: existing, created: false };
  const at = now.toISOString();
  const user: User = {
    id: newId('usr', now),
    email,
    display_name: null,
    password_hash: null,
    status: 'active',
    created_at: at,
    updated_at: at,
    email_verified_at: null,
    password_changed_at: null,
  };
  await db.insertInto('users').values(user).execute();
  return { user, created: true };
}

export interface PublicUser {
  id: string;
  email: string;
  displayName: string | null;
  status: User['status'];
  hasPassword: boolean;
  /** Whether the person proved they control the address (or the organization managing its domain vouched for it). */
  emailVerified: boolean;
  createdAt: string;
}

export const PublicUserSchema = Type.Object({
  id: Type.String(),
  email: Type.String(),
  displayName: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union([Type.Literal('active'), Type.Literal('suspended')]),
  hasPassword: Type.Boolean(),
  emailVerified: Type.Boolean(),
  createdAt: Type.String(),
});

export function publicUser(u: User): PublicUser {
  return {
    id: u.id,
    email: u.email,
    displayName: u.display_name,
    status: u.status,
    hasPassword: u.password_hash !== null,
    emailVerified: u.email_verified_at !== null,
    createdAt: u.created_at,
  };
}
