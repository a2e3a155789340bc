import { Anchor, Loader, Stack, Text, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useEffect } from 'react';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import { ApiErrorAlert } from './errors';
import { useMyOrgs } from './orgs';
import { goNext, safeNext } from './session';

/** Where an SSO sign-in should land: the identity provider returns to / (the server's redirect). */
export const SSO_NEXT_KEY = 'palisade.sso.next';
/**
 * The outcome of an SSO test login (/?sso_test=ok&org=…), written to localStorage so the page that
 * opened the test in another tab sees it (a `storage` event), as well as this tab.
 */
export const SSO_TEST_RESULT_KEY = 'palisade.sso.testResult';

const NOTICES: Record<string, string> = {
  email_changed:
    'Your identity provider now uses a new email address for you; your Palisade account was updated to it (same account, same access).',
};

/** The start page: back where an SSO sign-in started, else into the first organization. */
export function Home() {
  const orgs = useMyOrgs();
  const [params] = useSearchParams();
  const navigate = useNavigate();

  useEffect(() => {
    const notice = params.get('sso_notice');
    if (notice && NOTICES[notice]) notifications.show({ color: 'blue', message: NOTICES[notice], autoClose: false });
    const testOrg = params.get('sso_test') === 'ok' ? params.get('org') : null;
    if (testOrg) {
      localStorage.setItem(SSO_TEST_RESULT_KEY, JSON.stringify({ ok: true, orgId: testOrg, at: Date.now() }));
      notifications.show({ color: 'teal', title: 'Test login succeeded', message: 'Single sign-on works for you.' });
    }
    const next = sessionStorage.getItem(SSO_NEXT_KEY);
    if (next) {
      sessionStorage.removeItem(SSO_NEXT_KEY);
      if (safeNext(next) !== '/') goNext(navigate, safeNext(next));
    }
  }, [params, navigate]);

  if (orgs.isPending) return <Loader role="status" aria-label="Loading" />;
  if (orgs.isError) return <ApiErrorAlert error={orgs.error} />;
  const top = orgs.data.find((o) => !o.parentId || !orgs.data.some((p) => p.id === o.parentId)) ?? orgs.data[0];
  if (top && !sessionStorage.getItem(SSO_NEXT_KEY)) return <Navigate to={`/orgs/${top.id}/`} replace />;
  return (
    <Stack maw={640}>
      <Title order={1}>Welcome to Palisade</Title>
      <Text>
        You do not belong to an organization yet. If you were invited, accept the invitation on the{' '}
        <Anchor href="/invitations">invitations page</Anchor>.
      </Text>
    </Stack>
  );
}
