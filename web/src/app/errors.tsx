import { Alert, Code, Stack, Text } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { isRouteErrorResponse, useRouteError } from 'react-router';
import { ApiError } from '../api/client';

/** Any thrown value as an ApiError, so every failure is shown the same way. */
export function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (isRouteErrorResponse(err))
    return new ApiError(err.status, 'page_error', err.statusText || 'This page failed.', null);
  const message = err instanceof Error ? err.message : String(err);
  return new ApiError(0, 'console_error', message, null);
}

/** The one way the console shows an error: the API's message, its code and the request id to quote. */
export function ApiErrorAlert({ error, title }: { error: unknown; title?: string }) {
  if (error === null || error === undefined) return null;
  const e = asApiError(error);
  return (
    <Alert color="red" variant="light" title={title ?? 'That did not work'} role="alert" data-testid="api-error">
      <Stack gap={4}>
        <Text size="sm">{e.message}</Text>
        <Text size="xs" c="dimmed">
          Error <Code>{e.code}</Code>
          {e.requestId ? (
            <>
              {' '}
              · request id <Code data-testid="request-id">{e.requestId}</Code>
            </>
          ) : null}
        </Text>
      </Stack>
    </Alert>
  );
}

/** For actions (mutations): the same content as a notification that stays until dismissed. */
export function notifyError(error: unknown, title = 'That did not work'): void {
  const e = asApiError(error);
  notifications.show({
    color: 'red',
    title,
    autoClose: false,
    message: `${e.message} (error ${e.code}${e.requestId ? `, request id ${e.requestId}` : ''})`,
  });
}

export function notifyDone(message: string): void {
  notifications.show({ color: 'green', message });
}

/** Route errorElement: a page that failed to load (a lost chunk, a thrown error) says so in place. */
export function RouteError() {
  const error = useRouteError();
  return (
    <Stack p="lg" maw={720}>
      <ApiErrorAlert error={error} title="This page could not be shown" />
      <Text size="sm">
        <a href="/">Back to the start</a>
      </Text>
    </Stack>
  );
}
