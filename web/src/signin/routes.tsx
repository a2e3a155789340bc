import { lazy } from 'react';
import type { Area } from '../app/area';

const SignInPage = lazy(() => import('./SignInPage'));

const area: Area = {
  publicRoutes: [{ path: '/sign-in', element: <SignInPage /> }],
};
export default area;
