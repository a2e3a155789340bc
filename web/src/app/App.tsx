import {
  Alert,
  type CSSVariablesResolver,
  Loader,
  MantineProvider,
  Modal,
  Notification,
  createTheme,
} from '@mantine/core';
import { Suspense, lazy } from 'react';
import { Notifications } from '@mantine/notifications';
import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { RouterProvider, createBrowserRouter } from 'react-router';
import { ApiError, onUnauthorized } from '../api/client';
import { RouteError } from './errors';
import { accountRoutes, orgRoutes, publicRoutes } from './routes';
import { SESSION_KEY } from './session';

import { Home } from './Home';
import { NotFound } from './NotFound';
import { OrgLayout } from './OrgLayout';

// The frame behind sign-in (shell, session guard) is its own chunk: the sign-in page, the first page
// of most visits, loads only the framework and its form. Any other first page starts loading the
// frame at once, beside the session request, instead of after it.
const loadSignedIn = () => import('./SignedIn');
const SignedIn = lazy(loadSignedIn);
if (!publicRoutes.some((r) => r.path === window.location.pathname)) void loadSignedIn();

// Contrast (WCAG AA, checked by axe-core in the e2e tests): Mantine's default primary shade (6) and
// its dimmed grey are below 4.5:1 on white; shade 8 and grey 7 pass.
const theme = createTheme({
  primaryColor: 'indigo',
  primaryShade: { light: 8, dark: 8 },
  // People who ask their system for less motion get no transitions (the e2e tests ask, too, so
  // axe-core never measures a dialog half faded in).
  respectReducedMotion: true,
  // Mantine's icon-only close button has no name of its own.
  components: {
    // A light alert's title is in its colour on a pale tint of it (2.7:1 for yellow): the text of
    // every alert is the body colour, the tint and the border say which kind it is.
    Alert: Alert.extend({
      styles: { title: { color: 'var(--mantine-color-text)' }, message: { color: 'var(--mantine-color-text)' } },
    }),
    Modal: Modal.extend({ defaultProps: { closeButtonProps: { 'aria-label': 'Close' } } }),
    Notification: Notification.extend({ defaultProps: { closeButtonProps: { 'aria-label': 'Close' } } }),
  },
  fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", sans-serif',
});

const cssVariables: CSSVariablesResolver = (t) => ({
  variables: {},
  // Form errors too: the default red (shade 6) is 3.3:1 on white; shade 9 passes.
  light: { '--mantine-color-dimmed': t.colors.gray[7]!, '--mantine-color-error': t.colors.red[9]! },
  dark: {},
});

const queryClient = new QueryClient({
  defaultOptions: {
    // A 4xx is an answer (the same request gives the same one); only a network failure is retried.
    queries: { retry: (n, err) => err instanceof ApiError && err.status === 0 && n < 2, refetchOnWindowFocus: false },
  },
  queryCache: new QueryCache(),
  mutationCache: new MutationCache(),
});

// The session expired or was ended elsewhere: forget it; RequireSession sends the person to sign in
// with the page they were on as `next`, and signing in brings them back to it.
onUnauthorized(() => queryClient.setQueryData(SESSION_KEY, null));

const router = createBrowserRouter([
  ...publicRoutes.map((r) => ({
    ...r,
    element: <Suspense fallback={<Loader role="status" aria-label="Loading" />}>{r.element}</Suspense>,
    errorElement: <RouteError />,
  })),
  {
    element: (
      <Suspense fallback={<Loader role="status" aria-label="Loading" />}>
        <SignedIn />
      </Suspense>
    ),
    errorElement: <RouteError />,
    children: [
      { index: true, element: <Home /> },
      ...accountRoutes,
      { path: 'orgs/:orgId', element: <OrgLayout />, errorElement: <RouteError />, children: orgRoutes },
      { path: '*', element: <NotFound /> },
    ],
  },
]);

export function App({ nonce }: { nonce: string | undefined }) {
  return (
    <MantineProvider
      theme={theme}
      cssVariablesResolver={cssVariables}
      defaultColorScheme="light"
      {...(nonce ? { getStyleNonce: () => nonce } : {})}
    >
      <Notifications position="top-right" />
      <QueryClientProvider client={queryClient}>
        <RouterProvider router={router} />
      </QueryClientProvider>
    </MantineProvider>
  );
}
