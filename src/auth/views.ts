import { Type } from '@sinclair/typebox';
import { PublicUserSchema } from '../users/store.js';

/** The answer to every sign-in over the API (password, setup link, break-glass): the session cookie is set beside it. */
export const SignInView = Type.Object(
  {
    user: PublicUserSchema,
    csrfToken: Type.String({
      description: 'Send as X-CSRF-Token with every state change made with the session cookie.',
    }),
    expiresAt: Type.String(),
  },
  { $id: 'SignInView' },
);

const MeFields = {
  user: PublicUserSchema,
  via: Type.Union([Type.Literal('session'), Type.Literal('api_token')], {
    description: 'How the caller authenticated: the browser session cookie or a personal API token.',
  }),
  memberships: Type.Array(
    Type.Object({
      orgId: Type.String(),
      orgName: Type.String(),
      // The role union of src/orgs/views.ts, spelled here so auth/ does not depend on orgs/.
      role: Type.Union([Type.Literal('primary_owner'), Type.Literal('admin'), Type.Literal('member')]),
      status: Type.Union([Type.Literal('active'), Type.Literal('invited'), Type.Literal('suspended')]),
    }),
  ),
};

export const MeView = Type.Object(MeFields, { $id: 'MeView' });

export const SessionView = Type.Object(
  {
    ...MeFields,
    csrfToken: Type.Union([Type.String(), Type.Null()], {
      description: 'For X-CSRF-Token; null when the caller uses an API token (bearer calls need none).',
    }),
  },
  { $id: 'SessionView' },
);
