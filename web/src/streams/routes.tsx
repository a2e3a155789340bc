import { lazy } from 'react';
import type { Area } from '../app/area';

const StreamsPage = lazy(() => import('./StreamsPage'));
const NewStreamPage = lazy(() => import('./NewStreamPage'));
const StreamPage = lazy(() => import('./StreamPage'));

const area: Area = {
  orgRoutes: [
    { path: 'streams', element: <StreamsPage /> },
    { path: 'streams/new', element: <NewStreamPage /> },
    { path: 'streams/:streamId', element: <StreamPage /> },
  ],
  nav: [{ label: 'SIEM streams', path: 'streams' }],
};
export default area;
