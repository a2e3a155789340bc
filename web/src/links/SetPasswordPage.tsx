import { Alert, Button, PasswordInput, Stack, Text } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { type FormEvent, useState } from 'react';
import { useNavigate } from 'react-router';
import { api, data } from '../api/client';
import { ApiErrorAlert } from '../app/errors';
import { useSignedIn } from '../app/session';
import { LinkFrame, MissingToken, forgetLinkToken, linkToken } from './LinkFrame';
import { PASSWORD_MIN, passwordProblems } from './password';

const TEXT = {
  setup: {
    title: 'Set your password',
    intro:
      'Choose a password for your Palisade account. If this link came with an invitation, setting the password accepts it.',
    path: '/setup',
  },
  reset: {
    title: 'Choose a new password',
    intro:
      'Choose a new password for your Palisade account. Setting it signs you out everywhere else and revokes your API tokens and gateway keys.',
    path: '/reset-password',
  },
} as const;

/**
 * A setup, invitation or password-reset link (/setup#token=…, /reset-password#token=…): one API call
 * (redeemPasswordLink) sets the password, accepts the invitation the link carries and signs the
 * person in; they land in the console.
 */
export default function SetPasswordPage({ kind }: { kind: 'setup' | 'reset' }) {
  const text = TEXT[kind];
  const [token] = useState(linkToken);
  const navigate = useNavigate();
  const signedIn = useSignedIn();
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const problems = passwordProblems(password, repeat);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (!token || problems.password || problems.repeat) return;
    setError(null);
    setBusy(true);
    try {
      const answer = await data(api.POST('/api/v1/auth/setup-password', { body: { token, password } }));
      forgetLinkToken();
      await signedIn(answer);
      notifications.show({
        color: 'green',
        message: `Password set. You are signed in as ${answer.user.email}; your other sessions were ended.`,
      });
      navigate('/', { replace: true });
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <LinkFrame title={text.title}>
      <Text>{text.intro}</Text>
      {!token ? <MissingToken example={`${text.path}#token=pls_lnk_…`} /> : null}
      <form onSubmit={submit} noValidate>
        <Stack>
          <PasswordInput
            label="New password"
            description={`At least ${PASSWORD_MIN} characters`}
            autoComplete="new-password"
            required
            autoFocus
            value={password}
            onChange={(e) => setPassword(e.currentTarget.value)}
            error={touched ? problems.password : null}
          />
          <PasswordInput
            label="Repeat the password"
            autoComplete="new-password"
            required
            value={repeat}
            onChange={(e) => setRepeat(e.currentTarget.value)}
            error={touched && !problems.password ? problems.repeat : null}
          />
          <Button type="submit" loading={busy} disabled={!token}>
            Set password and sign in
          </Button>
        </Stack>
      </form>
      <ApiErrorAlert error={error} title="The password was not set" />
      {kind === 'reset' ? (
        <Alert color="gray" variant="light">
          Did not ask for this? Close the page: your password stays as it is.
        </Alert>
      ) : null}
    </LinkFrame>
  );
}
