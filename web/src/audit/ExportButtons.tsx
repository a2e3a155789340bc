import { Button, Group, Loader, Stack, Text } from '@mantine/core';
import { useState } from 'react';
import { ApiErrorAlert, notifyDone } from '../app/errors';
import type { Filters } from './filters';
import { formatBytes } from './format';
import { type ExportProgress, streamExport } from './queries';
import type { ExportFormat } from './types';

const FORMATS: { format: ExportFormat; label: string }[] = [
  { format: 'csv', label: 'Export CSV' },
  { format: 'ndjson', label: 'Export NDJSON' },
  { format: 'json', label: 'Export JSON' },
];

/** Hands a finished export to the browser as a download (the file name is the server's). */
function download(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  // The browser has started the download from the URL by now; keep it a moment for slow starts.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** The events of the current filters, as a file. Each export is recorded in the audit log (audit.exported). */
export function ExportButtons({ orgId, filters, disabled }: { orgId: string; filters: Filters; disabled: boolean }) {
  const [progress, setProgress] = useState<ExportProgress | null>(null);
  const [error, setError] = useState<unknown>(null);
  const run = async (format: ExportFormat) => {
    setError(null);
    setProgress({ format, bytes: 0 });
    try {
      const done = await streamExport(orgId, filters, format, setProgress);
      download(done.blob, done.filename);
      notifyDone(`Exported ${done.filename} (${formatBytes(done.bytes)})`);
    } catch (err) {
      setError(err);
    } finally {
      setProgress(null);
    }
  };
  return (
    <Stack gap="xs">
      <Group gap="xs">
        {FORMATS.map((f) => (
          <Button
            key={f.format}
            variant="default"
            size="sm"
            disabled={disabled || progress !== null}
            onClick={() => void run(f.format)}
          >
            {f.label}
          </Button>
        ))}
        {progress ? (
          <Group gap="xs" role="status" aria-live="polite">
            <Loader size="xs" aria-hidden />
            <Text size="sm" data-testid="export-progress">
              Exporting {progress.format.toUpperCase()}: {formatBytes(progress.bytes)} received
            </Text>
          </Group>
        ) : (
          <Text size="xs" c="dimmed">
            Exports hold every event of the current filters, oldest first, and are themselves recorded.
          </Text>
        )}
      </Group>
      <ApiErrorAlert error={error} title="The export failed" />
    </Stack>
  );
}
