import { lazy } from 'react';
import type { Area } from '../app/area';

const SsoPage = lazy(() => import('./SsoPage'));
const NewConnectionPage = lazy(() => import('./NewConnectionPage'));
const ConnectionPage = lazy(() => import('./ConnectionPage'));
const TestIdpPage = lazy(() => import('./TestIdpPage'));

const area: Area = {
  orgRoutes: [
    { path: 'sso', element: <SsoPage /> },
    { path: 'sso/new/test-idp', element: <TestIdpPage /> },
    { path: 'sso/new/:preset', element: <NewConnectionPage /> },
    { path: 'sso/connections/:connectionId', element: <ConnectionPage /> },
  ],
  nav: [{ label: 'Single sign-on', path: 'sso' }],
};
export default area;
