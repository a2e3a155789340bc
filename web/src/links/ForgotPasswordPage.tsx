import { Alert, Button, Stack, Text, TextInput } from '@mantine/core';
import { type FormEvent, useState } from 'react';
import { api, data, type operations } from '../api/client';
import { ApiErrorAlert } from '../app/errors';
import { LinkFrame } from './LinkFrame';

type Accepted = operations['requestPasswordReset']['responses'][202]['content']['application/json'];

/** Asks for a reset link (requestPasswordReset); the API answers the same whether or not the account exists. */
export default function ForgotPasswordPage() {
  const [email, setEmail] = useState('');
  const [answer, setAnswer] = useState<Accepted | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      setAnswer(await data<Accepted>(api.POST('/api/v1/auth/password-reset', { body: { email } })));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <LinkFrame title="Forgot your password?">
      {answer ? (
        <Alert color="green" role="status" data-testid="reset-requested">
          {answer.message}
        </Alert>
      ) : (
        <form onSubmit={submit}>
          <Stack>
            <Text>
              Enter your email address. If it has a Palisade account, a link to choose a new password is sent there.
            </Text>
            <TextInput
              label="Email"
              type="email"
              autoComplete="username"
              required
              autoFocus
              value={email}
              onChange={(e) => setEmail(e.currentTarget.value)}
            />
            <Button type="submit" loading={busy}>
              Send the link
            </Button>
          </Stack>
        </form>
      )}
      <ApiErrorAlert error={error} title="The link was not sent" />
    </LinkFrame>
  );
}
