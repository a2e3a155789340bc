import { lazy } from 'react';
import type { Area } from '../app/area';

const MembersPage = lazy(() => import('./MembersPage'));

const area: Area = {
  orgRoutes: [{ path: 'members', element: <MembersPage /> }],
  nav: [{ label: 'Members', path: 'members' }],
};
export default area;
