import { lazy } from 'react';
import type { Area } from '../app/area';

const SecurityPage = lazy(() => import('./SecurityPage'));

const area: Area = {
  routes: [{ path: '/account/security', element: <SecurityPage /> }],
};
export default area;
