import { lazy } from 'react';
import type { Area } from '../app/area';

const AuditLogPage = lazy(() => import('./AuditLogPage'));
const IntegrityPage = lazy(() => import('./IntegrityPage'));

const area: Area = {
  orgRoutes: [
    { path: 'audit', element: <AuditLogPage /> },
    { path: 'audit/integrity', element: <IntegrityPage /> },
  ],
  nav: [{ label: 'Audit log', path: 'audit' }],
};
export default area;
