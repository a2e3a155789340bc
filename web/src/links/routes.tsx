import { lazy } from 'react';
import type { Area } from '../app/area';

const SetPasswordPage = lazy(() => import('./SetPasswordPage'));
const VerifyEmailPage = lazy(() => import('./VerifyEmailPage'));
const ForgotPasswordPage = lazy(() => import('./ForgotPasswordPage'));
const InvitationsPage = lazy(() => import('./InvitationsPage'));

/**
 * The pages links in emails and `palisade init` open. Their paths are the ones src/auth/link-tokens.ts
 * and the invitation emails write, and src/web/console.ts serves the console for them.
 */
const area: Area = {
  publicRoutes: [
    // Setup links (palisade init, organization creation) and invitations of new accounts.
    { path: '/setup', element: <SetPasswordPage kind="setup" /> },
    { path: '/reset-password', element: <SetPasswordPage kind="reset" /> },
    { path: '/verify-email', element: <VerifyEmailPage /> },
    { path: '/forgot-password', element: <ForgotPasswordPage /> },
  ],
  // Invitations of existing accounts: signing in first is the consent's half.
  routes: [{ path: '/invitations', element: <InvitationsPage /> }],
};
export default area;
