import { lazy } from 'react';
import type { Area } from '../app/area';

const DomainsPage = lazy(() => import('./DomainsPage'));
const DomainPage = lazy(() => import('./DomainPage'));

const area: Area = {
  orgRoutes: [
    { path: 'domains', element: <DomainsPage /> },
    { path: 'domains/:domainId', element: <DomainPage /> },
  ],
  nav: [{ label: 'Domains', path: 'domains' }],
};
export default area;
