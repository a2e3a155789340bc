/**
 * The password rules of the API (src/auth/passwords.ts, PASSWORD_MIN and PASSWORD_MAX), checked
 * before sending so a person learns them at the field; the API checks them again.
 */
export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 1024;

export interface PasswordProblems {
  password: string | null;
  repeat: string | null;
}

export function passwordProblems(password: string, repeat: string): PasswordProblems {
  let first: string | null = null;
  if (password.length < PASSWORD_MIN)
    first = `Use at least ${PASSWORD_MIN} characters; a passphrase of several words works well.`;
  else if (password.length > PASSWORD_MAX) first = `Passwords are limited to ${PASSWORD_MAX} characters.`;
  return {
    password: first,
    repeat: repeat === password ? null : 'The two passwords differ; type the same password twice.',
  };
}
