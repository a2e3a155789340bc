import { lazy } from 'react';
import type { Area } from '../app/area';

const ScimPage = lazy(() => import('./ScimPage'));
const DirectoryPage = lazy(() => import('./DirectoryPage'));

const area: Area = {
  orgRoutes: [
    { path: 'scim', element: <ScimPage /> },
    // One route for the tabs (connection, roles, log), so each tab has its own link.
    { path: 'scim/:directoryId/:tab?', element: <DirectoryPage /> },
  ],
  nav: [{ label: 'SCIM', path: 'scim' }],
};
export default area;
