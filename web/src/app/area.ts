import type { RouteObject } from 'react-router';

/** An entry in the navigation of an organization. */
export interface NavEntry {
  label: string;
  /** Relative to /orgs/:orgId/ ('members'); '' is the organization's overview. */
  path: string;
}

/**
 * What one area of the console (web/src/<area>/routes.tsx) adds. Pages are React.lazy imports so each
 * area is its own chunk, loaded on first visit; only this small description is in the initial bundle.
 */
export interface Area {
  /** Pages that need no sign-in (the sign-in page itself, links from email). Absolute paths. */
  publicRoutes?: RouteObject[];
  /** Pages of the signed-in person outside any organization. Absolute paths (/account/security). */
  routes?: RouteObject[];
  /** Pages of one organization. Paths relative to /orgs/:orgId/ ('members', 'members/:memberId'). */
  orgRoutes?: RouteObject[];
  /** Entries in the organization's navigation, in this order. */
  nav?: NavEntry[];
}
