import type { RouteObject } from 'react-router';
import type { Area, NavEntry } from './area';
import account from '../account/routes';
import audit from '../audit/routes';
import domains from '../domains/routes';
import links from '../links/routes';
import members from '../members/routes';
import orgs from '../orgs/routes';
import scim from '../scim/routes';
import signin from '../signin/routes';
import sso from '../sso/routes';
import streams from '../streams/routes';
import workspace from '../workspace/routes';
// Each area of the console adds one import here and one entry in AREAS (order = navigation order).

export const AREAS: Area[] = [orgs, members, domains, sso, scim, audit, streams, workspace, signin, links, account];

export const publicRoutes: RouteObject[] = AREAS.flatMap((a) => a.publicRoutes ?? []);
export const accountRoutes: RouteObject[] = AREAS.flatMap((a) => a.routes ?? []);
export const orgRoutes: RouteObject[] = AREAS.flatMap((a) => a.orgRoutes ?? []);
export const navEntries: NavEntry[] = AREAS.flatMap((a) => a.nav ?? []);
