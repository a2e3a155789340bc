import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, data } from '../api/client';
import { type Filters, toQuery } from './filters';
import type { AuditAction, ExportFormat } from './types';

const PAGE_SIZE = 50;

/** The action catalog (GET /api/v1/audit-actions): the same for every organization, so cached long. */
export function useAuditActions() {
  return useQuery({
    queryKey: ['audit-actions'],
    staleTime: 60 * 60_000,
    queryFn: async (): Promise<AuditAction[]> => (await data(api.GET('/api/v1/audit-actions'))).data,
  });
}

/** Search pages over the cursor; the key holds the filters, so each search is cached by itself. */
export function useAuditSearch(orgId: string, filters: Filters, enabled: boolean) {
  const query = toQuery(filters);
  return useInfiniteQuery({
    queryKey: ['org', orgId, 'audit-events', query],
    enabled,
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      data(
        api.GET('/api/v1/orgs/{orgId}/audit-events', {
          params: { path: { orgId }, query: { ...query, limit: PAGE_SIZE, cursor: pageParam } },
        }),
      ),
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
}

/** Walks the chain on the server; a button press, so a mutation (its answer is shown, not cached). */
export function useVerifyChain(orgId: string) {
  return useMutation({
    mutationFn: async () =>
      await data(api.GET('/api/v1/orgs/{orgId}/audit-events/verify', { params: { path: { orgId } } })),
  });
}

export function useCheckpoints(orgId: string) {
  return useQuery({
    queryKey: ['org', orgId, 'audit-checkpoints'],
    queryFn: async () => await data(api.GET('/api/v1/orgs/{orgId}/audit-checkpoints', { params: { path: { orgId } } })),
  });
}

export function useCreateCheckpoint(orgId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => data(api.POST('/api/v1/orgs/{orgId}/audit-checkpoints', { params: { path: { orgId } } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['org', orgId, 'audit-checkpoints'] }),
  });
}

export interface ExportProgress {
  format: ExportFormat;
  bytes: number;
}
export interface ExportDone {
  filename: string;
  bytes: number;
  blob: Blob;
}

/**
 * Streams an export (the same filters as the search) into a Blob, reporting bytes as they arrive,
 * so a long export shows progress and an error shows the API's message instead of saving a file
 * that holds an error body. The caller hands the Blob to the browser as a download.
 */
export async function streamExport(
  orgId: string,
  filters: Filters,
  format: ExportFormat,
  onProgress: (p: ExportProgress) => void,
): Promise<ExportDone> {
  const { order: _order, ...query } = toQuery(filters);
  const r = await api.GET('/api/v1/orgs/{orgId}/audit-events/export', {
    params: { path: { orgId }, query: { ...query, format } },
    parseAs: 'stream',
  });
  const body = r.data as ReadableStream<Uint8Array> | undefined;
  const type = r.response.headers.get('content-type') ?? 'application/octet-stream';
  const disposition = r.response.headers.get('content-disposition') ?? '';
  const filename = /filename="([^"]+)"/.exec(disposition)?.[1] ?? `audit-${orgId}.${format}`;
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  if (body) {
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      bytes += value.byteLength;
      onProgress({ format, bytes });
    }
  }
  return { filename, bytes, blob: new Blob(chunks as BlobPart[], { type }) };
}
