import { lazy } from 'react';
import type { Area } from '../app/area';

const OrgOverviewPage = lazy(() => import('./OrgOverviewPage'));

const area: Area = {
  orgRoutes: [{ index: true, element: <OrgOverviewPage /> }],
  nav: [{ label: 'Overview', path: '' }],
};
export default area;
