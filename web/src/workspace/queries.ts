import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, data } from '../api/client';
import type { SettingsInput, UpstreamInput } from './types';

const key = (orgId: string, ...rest: string[]) => ['org', orgId, ...rest];

export function useWorkspaceSettings(orgId: string) {
  return useQuery({
    queryKey: key(orgId, 'workspace-settings'),
    queryFn: () => data(api.GET('/api/v1/orgs/{orgId}/workspace/settings', { params: { path: { orgId } } })),
  });
}

export function useUpdateSettings(orgId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: SettingsInput) =>
      data(api.PATCH('/api/v1/orgs/{orgId}/workspace/settings', { params: { path: { orgId } }, body })),
    onSuccess: (view) => qc.setQueryData(key(orgId, 'workspace-settings'), view),
  });
}

/** What a retention period would delete now; a question asked with a button, so a mutation. */
export function useRetentionPreview(orgId: string) {
  return useMutation({
    mutationFn: (retentionDays: number) =>
      data(
        api.POST('/api/v1/orgs/{orgId}/workspace/retention-preview', {
          params: { path: { orgId } },
          body: { retentionDays },
        }),
      ),
  });
}

export function useHolds(orgId: string) {
  return useQuery({
    queryKey: key(orgId, 'legal-holds'),
    queryFn: () => data(api.GET('/api/v1/orgs/{orgId}/legal-holds', { params: { path: { orgId } } })),
  });
}

export function usePlaceHold(orgId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: { userId: string | null; reason: string }) =>
      data(api.POST('/api/v1/orgs/{orgId}/legal-holds', { params: { path: { orgId } }, body })),
    onSuccess: () =>
      Promise.all([
        qc.invalidateQueries({ queryKey: key(orgId, 'legal-holds') }),
        qc.invalidateQueries({ queryKey: key(orgId, 'workspace-settings') }),
      ]),
  });
}

export function useLiftHold(orgId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (holdId: string) =>
      data(api.DELETE('/api/v1/orgs/{orgId}/legal-holds/{holdId}', { params: { path: { orgId, holdId } } })),
    onSuccess: () =>
      Promise.all([
        qc.invalidateQueries({ queryKey: key(orgId, 'legal-holds') }),
        qc.invalidateQueries({ queryKey: key(orgId, 'workspace-settings') }),
      ]),
  });
}

/** Members, for choosing whose content a hold covers (first 200: enough to choose from; the id can be typed). */
export function useMemberChoices(orgId: string) {
  return useQuery({
    queryKey: key(orgId, 'members', 'choices'),
    queryFn: () =>
      data(api.GET('/api/v1/orgs/{orgId}/members', { params: { path: { orgId }, query: { limit: 200 } } })),
  });
}

export function useEncryption(orgId: string) {
  return useQuery({
    queryKey: key(orgId, 'encryption'),
    queryFn: () => data(api.GET('/api/v1/orgs/{orgId}/encryption', { params: { path: { orgId } } })),
  });
}

export function useRotateKey(orgId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => data(api.POST('/api/v1/orgs/{orgId}/encryption/rotate', { params: { path: { orgId } } })),
    onSuccess: (view) => qc.setQueryData(key(orgId, 'encryption'), view),
  });
}

export function useShredKeys(orgId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (confirm: string) =>
      data(api.POST('/api/v1/orgs/{orgId}/encryption/shred', { params: { path: { orgId } }, body: { confirm } })),
    onSuccess: (view) => qc.setQueryData(key(orgId, 'encryption'), view),
  });
}

export function useUpstream(orgId: string) {
  return useQuery({
    queryKey: key(orgId, 'gateway-upstream'),
    queryFn: () => data(api.GET('/api/v1/orgs/{orgId}/gateway/upstream', { params: { path: { orgId } } })),
  });
}

export function useSetUpstream(orgId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: UpstreamInput) =>
      data(api.PUT('/api/v1/orgs/{orgId}/gateway/upstream', { params: { path: { orgId } }, body })),
    onSuccess: (upstream) => qc.setQueryData(key(orgId, 'gateway-upstream'), { upstream }),
  });
}

export function useGatewayKeys(orgId: string) {
  return useQuery({
    queryKey: key(orgId, 'gateway-keys'),
    queryFn: () => data(api.GET('/api/v1/orgs/{orgId}/gateway/keys', { params: { path: { orgId } } })),
  });
}

export function useCreateGatewayKey(orgId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (name: string) =>
      data(api.POST('/api/v1/orgs/{orgId}/gateway/keys', { params: { path: { orgId } }, body: { name } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: key(orgId, 'gateway-keys') }),
  });
}

export function useRevokeGatewayKey(orgId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (keyId: string) =>
      data(api.DELETE('/api/v1/orgs/{orgId}/gateway/keys/{keyId}', { params: { path: { orgId, keyId } } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: key(orgId, 'gateway-keys') }),
  });
}

export function useUsage(orgId: string, from: string, to: string) {
  return useQuery({
    queryKey: key(orgId, 'gateway-usage', from, to),
    queryFn: () =>
      data(
        api.GET('/api/v1/orgs/{orgId}/gateway/usage', {
          params: { path: { orgId }, query: { ...(from ? { from } : {}), ...(to ? { to } : {}) } },
        }),
      ),
  });
}
