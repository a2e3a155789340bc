import type { FastifyReply, FastifyRequest } from 'fastify';
import type { NewSession } from './sessions.js';

export const SESSION_COOKIE = 'palisade_session';
export const CSRF_HEADER = 'x-csrf-token';

/** The one place the session cookie is set: password, setup link, break-glass and SSO sign-ins alike. */
export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, session: NewSession): void {
  reply.setCookie(SESSION_COOKIE, session.secret, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: request.protocol === 'https' || request.ctx.config.publicUrl.startsWith('https://'),
    expires: new Date(session.expiresAt),
  });
}
