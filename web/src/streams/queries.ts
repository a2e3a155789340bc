import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, data } from '../api/client';
import type { CreateStreamInput, StreamView, UpdateStreamInput } from './types';

const listKey = (orgId: string) => ['org', orgId, 'audit-streams'];
// Health moves on its own (the delivery job runs every few seconds): pages poll while open.
const POLL_MS = 2000;

export function useStreams(orgId: string) {
  return useQuery({
    queryKey: listKey(orgId),
    refetchInterval: POLL_MS,
    queryFn: async () =>
      (await data(api.GET('/api/v1/orgs/{orgId}/audit-streams', { params: { path: { orgId } } }))) as unknown as {
        data: StreamView[];
      },
  });
}

export function useStream(orgId: string, streamId: string) {
  return useQuery({
    queryKey: [...listKey(orgId), streamId],
    refetchInterval: POLL_MS,
    queryFn: async () =>
      await data(api.GET('/api/v1/orgs/{orgId}/audit-streams/{streamId}', { params: { path: { orgId, streamId } } })),
  });
}

export function useCreateStream(orgId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (body: CreateStreamInput) =>
      await data(api.POST('/api/v1/orgs/{orgId}/audit-streams', { params: { path: { orgId } }, body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: listKey(orgId) }),
  });
}

export function useUpdateStream(orgId: string, streamId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (body: UpdateStreamInput) =>
      await data(
        api.PATCH('/api/v1/orgs/{orgId}/audit-streams/{streamId}', { params: { path: { orgId, streamId } }, body }),
      ),
    onSuccess: (view) => {
      qc.setQueryData([...listKey(orgId), streamId], view);
      return qc.invalidateQueries({ queryKey: listKey(orgId) });
    },
  });
}

export function useDeleteStream(orgId: string, streamId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () =>
      data(api.DELETE('/api/v1/orgs/{orgId}/audit-streams/{streamId}', { params: { path: { orgId, streamId } } })),
    onSuccess: () => {
      qc.removeQueries({ queryKey: [...listKey(orgId), streamId] });
      return qc.invalidateQueries({ queryKey: listKey(orgId) });
    },
  });
}

/** Sends one synthetic event and returns the receiver's exact answer (not in the chain, cursor unmoved). */
export function useTestStream(orgId: string, streamId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async () =>
      await data(
        api.POST('/api/v1/orgs/{orgId}/audit-streams/{streamId}/test', { params: { path: { orgId, streamId } } }),
      ),
    onSettled: () => qc.invalidateQueries({ queryKey: listKey(orgId) }),
  });
}

export function useRetryStream(orgId: string, streamId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async () =>
      await data(
        api.POST('/api/v1/orgs/{orgId}/audit-streams/{streamId}/retry', { params: { path: { orgId, streamId } } }),
      ),
    onSuccess: (view) => {
      qc.setQueryData([...listKey(orgId), streamId], view);
      return qc.invalidateQueries({ queryKey: listKey(orgId) });
    },
  });
}
