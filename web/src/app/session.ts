import { useQuery, useQueryClient } from '@tanstack/react-query';
import { ApiError, api, data, setCsrfToken } from '../api/client';
import type { SessionView, SignedIn } from '../api/pending';

export const SESSION_KEY = ['session'] as const;

/** Who is signed in (null: no one). The CSRF token for state changes comes with it. */
async function fetchSession(): Promise<SessionView | null> {
  try {
    const s = await data(api.GET('/api/v1/auth/session'));
    setCsrfToken(s.csrfToken);
    return s;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      setCsrfToken(null);
      return null;
    }
    throw err;
  }
}

export function useSession() {
  return useQuery({ queryKey: SESSION_KEY, queryFn: fetchSession, staleTime: 60_000, retry: false });
}

/** After any sign-in answer: keep its CSRF token and read the session again. */
export function useSignedIn() {
  const qc = useQueryClient();
  return async (answer: SignedIn) => {
    setCsrfToken(answer.csrfToken);
    qc.removeQueries({ predicate: (q) => q.queryKey[0] !== SESSION_KEY[0] });
    await qc.fetchQuery({ queryKey: SESSION_KEY, queryFn: fetchSession });
  };
}

/**
 * Where to go after signing in: `next` only when it is a path on this site (an open redirect would
 * let a link send a freshly signed-in person anywhere).
 */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  if (next.startsWith('/sign-in')) return '/';
  return next;
}

/**
 * Goes to `next` (a safeNext path) after signing in: inside the console, or with a full page load for
 * a page the server renders, not the console (the built-in test IdP's form sends admins here to sign
 * in first, and back).
 */
export function goNext(navigate: (to: string, opts: { replace: boolean }) => void, next: string): void {
  if (next.startsWith('/test-idp/')) window.location.assign(next);
  else navigate(next, { replace: true });
}

export function signInPath(next: string): string {
  return next === '/' ? '/sign-in' : `/sign-in?next=${encodeURIComponent(next)}`;
}
