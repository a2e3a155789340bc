import { Alert, Button, Group, Text } from '@mantine/core';
import { useState } from 'react';
import { type Ok, api, data } from '../api/client';
import { ApiErrorAlert } from '../app/errors';
import { LinkFrame, MissingToken, forgetLinkToken, linkToken } from './LinkFrame';

/**
 * An email verification link (/verify-email#token=…): proves the address (verifyEmail). It signs
 * no one in, so what comes next (the console, pending invitations) asks for sign-in when needed.
 */
export default function VerifyEmailPage() {
  const [token] = useState(linkToken);
  const [done, setDone] = useState<Ok<'verifyEmail'> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const confirm = async () => {
    if (!token) return;
    setError(null);
    setBusy(true);
    try {
      setDone(await data(api.POST('/api/v1/auth/verify-email', { body: { token } })));
      forgetLinkToken();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <LinkFrame title="Confirm your email address">
      {done ? (
        <>
          <Alert color="green" role="status" data-testid="email-verified">
            Confirmed: {done.user.email} is yours.
            {done.joinedOrgId ? " You joined your company's organization." : ''}
          </Alert>
          <Group>
            <Button component="a" href="/invitations">
              Your invitations
            </Button>
            <Button component="a" href="/" variant="default">
              Open the console
            </Button>
          </Group>
        </>
      ) : (
        <>
          <Text>Confirming proves this address is yours; then you can accept invitations to organizations.</Text>
          {!token ? <MissingToken example="/verify-email#token=pls_lnk_…" /> : null}
          <Button onClick={() => void confirm()} loading={busy} disabled={!token}>
            Confirm
          </Button>
        </>
      )}
      <ApiErrorAlert error={error} title="The address was not confirmed" />
    </LinkFrame>
  );
}
