import { lazy } from 'react';
import type { Area } from '../app/area';

const WorkspacePage = lazy(() => import('./WorkspacePage'));
const GatewayPage = lazy(() => import('./GatewayPage'));

const area: Area = {
  orgRoutes: [
    { path: 'workspace', element: <WorkspacePage /> },
    { path: 'gateway', element: <GatewayPage /> },
  ],
  nav: [
    { label: 'Workspace', path: 'workspace' },
    { label: 'Model gateway', path: 'gateway' },
  ],
};
export default area;
