import { sql } from 'slonik';

export const byEmail = (pool, email: string) => pool.query(sql.typeAlias('user')`SELECT id FROM users WHERE email = ${email}`);
