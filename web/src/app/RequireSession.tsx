import { Center, Loader } from '@mantine/core';
import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';
import { ApiErrorAlert } from './errors';
import { signInPath, useSession } from './session';

/** Pages behind sign-in: without a session the person goes to sign in, and comes back here after. */
export function RequireSession({ children }: { children: ReactNode }) {
  const session = useSession();
  const location = useLocation();
  if (session.isPending)
    return (
      <Center h="100vh">
        <Loader role="status" aria-label="Loading" />
      </Center>
    );
  if (session.isError)
    return (
      <Center p="lg">
        <ApiErrorAlert error={session.error} />
      </Center>
    );
  if (!session.data) return <Navigate to={signInPath(location.pathname + location.search + location.hash)} replace />;
  return <>{children}</>;
}
