import { setSessionCookie } from './session-cookie.js';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { SESSION_COOKIE } from './session-cookie.js';
import { PageQuerySchema, pageRequest, pageSchema } from '../http/pagination.js';
import { errorResponses, noContent, ref } from '../http/schemas.js';
import { ApiTokenView, CreateApiTokenInput, createApiToken, listApiTokens, revokeApiToken } from './api-tokens.js';
import { ChangePasswordInput, changePassword } from './password-change.js';
import { requestEmailVerification } from './email-verification.js';
import { LoginInput, login, logout } from './login.js';
import { SetPasswordInput, VerifyEmailInput, setPasswordWithLink, verifyEmailWithLink } from './password-links.js';
import { PasswordResetAccepted, PasswordResetRequestInput, requestPasswordReset } from './password-reset.js';
import { PublicUserSchema } from '../users/store.js';
import { getMe } from './me.js';
import { requireUser } from './require-user.js';
import { csrfTokenFor } from './secrets.js';
import { MeView, SessionView, SignInView } from './views.js';

const tags = ['Authentication'];

/** Named response components of these routes, registered at the root by app.ts (see sharedSchemas there). */
export const authSchemas = [SignInView, MeView, SessionView];

export async function authRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/auth/login',
    {
      schema: {
        tags,
        operationId: 'login',
        summary: 'Sign in with email and password (break-glass local credential)',
        body: LoginInput,
        response: { 200: ref(SignInView), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { session, user } = await login(request.ctx, request.body);
      setSessionCookie(request, reply, session);
      return { user, csrfToken: session.csrfToken, expiresAt: session.expiresAt };
    },
  );

  app.post(
    '/auth/setup-password',
    {
      schema: {
        tags,
        operationId: 'redeemPasswordLink',
        summary:
          'Redeem a one-time setup, invitation or password-reset link: set a password and sign in (ends every other session, API token and gateway key)',
        body: SetPasswordInput,
        response: { 200: ref(SignInView), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { session, user } = await setPasswordWithLink(request.ctx, request.body);
      setSessionCookie(request, reply, session);
      return { user, csrfToken: session.csrfToken, expiresAt: session.expiresAt };
    },
  );

  app.post(
    '/auth/password-reset',
    {
      schema: {
        tags,
        operationId: 'requestPasswordReset',
        summary:
          'Forgot password: mail a one-time reset link to the address (same answer whether or not an account exists)',
        body: PasswordResetRequestInput,
        response: { 202: PasswordResetAccepted, ...errorResponses },
      },
    },
    async (request, reply) => reply.status(202).send(await requestPasswordReset(request.ctx, request.body)),
  );

  app.post(
    '/auth/verify-email',
    {
      schema: {
        tags,
        operationId: 'verifyEmail',
        summary: 'Redeem an email verification link: the address is proven',
        body: VerifyEmailInput,
        response: {
          200: Type.Object({ user: PublicUserSchema, joinedOrgId: Type.Union([Type.String(), Type.Null()]) }),
          ...errorResponses,
        },
      },
    },
    async (request) => verifyEmailWithLink(request.ctx, request.body),
  );

  app.post(
    '/me/password',
    {
      schema: {
        tags,
        operationId: 'changePassword',
        summary: 'Change your password (current one required); your other sessions end',
        body: ChangePasswordInput,
        response: { ...noContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await changePassword(request.ctx, request.body);
      return reply.status(204).send();
    },
  );

  app.post(
    '/me/email-verification',
    {
      schema: {
        tags,
        operationId: 'requestEmailVerification',
        summary: 'Mail yourself a link that proves your address',
        response: {
          200: Type.Object({ alreadyVerified: Type.Boolean(), sentTo: Type.Union([Type.String(), Type.Null()]) }),
          ...errorResponses,
        },
      },
    },
    async (request) => requestEmailVerification(request.ctx),
  );

  app.post(
    '/auth/logout',
    {
      schema: {
        tags,
        operationId: 'logout',
        summary: 'End the current browser session',
        response: { ...noContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await logout(request.ctx);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.status(204).send();
    },
  );

  app.get(
    '/auth/session',
    {
      schema: {
        tags,
        operationId: 'getSession',
        summary: 'The signed-in person, their organizations and the CSRF token for state changes',
        response: { 200: ref(SessionView), ...errorResponses },
      },
    },
    async (request) => {
      const me = await getMe(request.ctx);
      return { ...me, csrfToken: request.sessionSecret ? csrfTokenFor(request.sessionSecret) : null };
    },
  );

  app.get(
    '/me',
    {
      schema: {
        tags,
        operationId: 'getMe',
        summary: 'The caller and their memberships',
        response: { 200: ref(MeView), ...errorResponses },
      },
    },
    async (request) => getMe(request.ctx),
  );

  app.post(
    '/me/tokens',
    {
      schema: {
        tags,
        operationId: 'createApiToken',
        summary: 'Create a personal API token (shown once)',
        body: CreateApiTokenInput,
        response: { 201: Type.Object({ token: Type.String(), apiToken: ApiTokenView }), ...errorResponses },
      },
    },
    async (request, reply) => reply.status(201).send(await createApiToken(request.ctx, request.body)),
  );

  app.get(
    '/me/tokens',
    {
      schema: {
        tags,
        operationId: 'listApiTokens',
        summary: 'List your personal API tokens',
        querystring: Type.Object(PageQuerySchema),
        response: { 200: pageSchema(ApiTokenView), ...errorResponses },
      },
    },
    async (request) => listApiTokens(request.ctx, pageRequest(request.query)),
  );

  app.delete(
    '/me/tokens/:tokenId',
    {
      schema: {
        tags,
        operationId: 'revokeApiToken',
        summary: 'Revoke one of your API tokens',
        params: Type.Object({ tokenId: Type.String({ maxLength: 64 }) }),
        response: { 200: ApiTokenView, ...errorResponses },
      },
    },
    async (request) => {
      requireUser(request.ctx);
      return revokeApiToken(request.ctx, request.params.tokenId);
    },
  );
}
