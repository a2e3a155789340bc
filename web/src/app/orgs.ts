import { useQuery } from '@tanstack/react-query';
import { useParams } from 'react-router';
import { type Ok, api, data } from '../api/client';

export type Organization = Ok<'listOrganizations'>['data'][number];

/** Every organization the person belongs to or administers (children included), all pages of it. */
export function useMyOrgs() {
  return useQuery({
    queryKey: ['orgs'],
    queryFn: async () => {
      const all: Organization[] = [];
      let cursor: string | undefined;
      do {
        const page = await data(api.GET('/api/v1/orgs', { params: { query: { limit: 200, cursor } } }));
        all.push(...page.data);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return all;
    },
  });
}

/** Organizations in tree order, each with its depth (a child right under its parent). */
export function orgTree(orgs: Organization[]): { org: Organization; depth: number }[] {
  const ids = new Set(orgs.map((o) => o.id));
  const children = new Map<string | null, Organization[]>();
  for (const o of orgs) {
    const parent = o.parentId && ids.has(o.parentId) ? o.parentId : null;
    children.set(parent, [...(children.get(parent) ?? []), o]);
  }
  const out: { org: Organization; depth: number }[] = [];
  const walk = (parent: string | null, depth: number) => {
    for (const o of (children.get(parent) ?? []).sort((a, b) => a.name.localeCompare(b.name))) {
      out.push({ org: o, depth });
      walk(o.id, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}

/** The organization of the current page (/orgs/:orgId/…). */
export function useOrgId(): string {
  const { orgId } = useParams();
  if (!orgId) throw new Error('useOrgId() is for pages under /orgs/:orgId/');
  return orgId;
}

export function useOrg(orgId: string) {
  return useQuery({
    queryKey: ['org', orgId],
    queryFn: () => data(api.GET('/api/v1/orgs/{orgId}', { params: { path: { orgId } } })),
  });
}
