import { Alert, Anchor, Center, Paper, Stack, Text, Title } from '@mantine/core';
import type { ReactNode } from 'react';

/**
 * The token of a one-time link. It travels in the fragment (#token=…), which browsers never send
 * to the server, so it stays out of access logs and proxies; only this page reads it.
 */
export function linkToken(): string | null {
  return new URLSearchParams(window.location.hash.slice(1)).get('token');
}

/** Once the link has done its work, its token leaves the address bar (and this history entry). */
export function forgetLinkToken(): void {
  window.history.replaceState(window.history.state, '', window.location.pathname + window.location.search);
}

/** The frame of the pages opened from a link (no navigation: the person may not be signed in). */
export function LinkFrame({ title, children }: { title: string; children: ReactNode }) {
  return (
    <Center mih="100vh" p="md">
      <Paper withBorder shadow="sm" p="xl" w={460} component="main">
        <Stack>
          <Title order={1} size="h2">
            {title}
          </Title>
          {children}
          <Text size="sm" c="dimmed">
            <Anchor href="/sign-in">Sign in</Anchor> · <Anchor href="/docs">API reference</Anchor>
          </Text>
        </Stack>
      </Paper>
    </Center>
  );
}

/** Opened without the token (a truncated link, or the bare path): say what the page needs. */
export function MissingToken({ example }: { example: string }) {
  return (
    <Alert color="yellow" role="alert" data-testid="missing-token">
      This page needs the link from your email (or from <code>palisade init</code>); it looks like{' '}
      <code>{example}</code>. Open the whole link, or ask for a new one.
    </Alert>
  );
}
