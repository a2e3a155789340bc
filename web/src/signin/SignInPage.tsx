import {
  Alert,
  Anchor,
  Button,
  Center,
  Divider,
  Paper,
  PasswordInput,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { type FormEvent, useEffect, useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router';
import { type Ok, api, data } from '../api/client';
import { ApiErrorAlert } from '../app/errors';
import { SSO_NEXT_KEY } from '../app/Home';
import { goNext, safeNext, useSession, useSignedIn } from '../app/session';

type Discovery = Ok<'discoverLogin'>;

const NOTICES: Record<string, string> = {
  email_changed:
    'Your identity provider now uses a new email address for you; your Palisade account was updated to it (same account, same access).',
};

export default function SignInPage() {
  const [params] = useSearchParams();
  const next = safeNext(params.get('next'));
  const navigate = useNavigate();
  const session = useSession();
  const signedIn = useSignedIn();
  const [email, setEmail] = useState('');
  const [discovery, setDiscovery] = useState<Discovery | null>(null);
  const [password, setPassword] = useState('');
  const [breakGlass, setBreakGlass] = useState(false);
  const [code, setCode] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  // Already signed in (another tab, or a stale link): go on.
  useEffect(() => {
    if (session.data) goNext(navigate, next);
  }, [session.data, next, navigate]);

  const discover = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      setDiscovery(await data(api.GET('/api/v1/login/discover', { params: { query: { email } } })));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const signIn = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const answer = breakGlass
        ? await data(api.POST('/api/v1/auth/break-glass', { body: { email, password, code } }))
        : await data(api.POST('/api/v1/auth/login', { body: { email, password } }));
      await signedIn(answer);
      goNext(navigate, next);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  const sso = discovery?.methods.filter((m) => m.type === 'sso' && m.startUrl) ?? [];
  const passwordOffered = !!discovery?.methods.some((m) => m.type === 'password');
  const notice = params.get('sso_notice');

  return (
    <Center mih="100vh" p="md">
      <Paper withBorder shadow="sm" p="xl" w={420} component="main">
        <Stack>
          <Title order={1} size="h2">
            Sign in to Palisade
          </Title>
          {params.get('signedOut') ? (
            <Alert color="gray" role="status">
              You are signed out.
            </Alert>
          ) : null}
          {notice && NOTICES[notice] ? (
            <Alert color="blue" role="status">
              {NOTICES[notice]}
            </Alert>
          ) : null}
          {next !== '/' && !params.get('signedOut') ? (
            <Text size="sm" c="dimmed">
              Sign in to continue to <code>{next}</code>.
            </Text>
          ) : null}
          {!discovery ? (
            <form onSubmit={discover}>
              <Stack>
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
                  Continue
                </Button>
              </Stack>
            </form>
          ) : (
            <Stack>
              <Text size="sm">
                Signing in as <strong>{discovery.email}</strong>{' '}
                <Anchor
                  component="button"
                  type="button"
                  size="sm"
                  onClick={() => {
                    setDiscovery(null);
                    setPassword('');
                    setBreakGlass(false);
                    setError(null);
                  }}
                >
                  (change)
                </Anchor>
              </Text>
              {sso.map((m) => (
                <Button
                  key={m.connectionId}
                  component="a"
                  href={m.startUrl}
                  variant="filled"
                  onClick={() => sessionStorage.setItem(SSO_NEXT_KEY, next)}
                >
                  Continue with {m.name ?? 'single sign-on'}
                  {discovery.organization ? ` (${discovery.organization.name})` : ''}
                </Button>
              ))}
              {!passwordOffered && !breakGlass ? (
                <Alert color="blue" role="status" data-testid="sso-required">
                  {discovery.organization?.name ?? 'Your organization'} requires single sign-on: use the button above.
                  {sso.length === 0 ? ' No sign-in connection is active yet; ask an administrator.' : ''}
                </Alert>
              ) : null}
              {passwordOffered || breakGlass ? (
                <form onSubmit={signIn}>
                  <Stack>
                    {sso.length > 0 ? <Divider label="or" labelPosition="center" /> : null}
                    <PasswordInput
                      label="Password"
                      autoComplete="current-password"
                      required
                      autoFocus
                      value={password}
                      onChange={(e) => setPassword(e.currentTarget.value)}
                    />
                    {breakGlass ? (
                      <TextInput
                        label="Authenticator code"
                        description="The 6-digit code from your authenticator app"
                        inputMode="numeric"
                        autoComplete="one-time-code"
                        pattern="[0-9]{6,8}"
                        required
                        value={code}
                        onChange={(e) => setCode(e.currentTarget.value.trim())}
                      />
                    ) : null}
                    <Button type="submit" loading={busy}>
                      Sign in
                    </Button>
                  </Stack>
                </form>
              ) : null}
              <Text size="sm">
                {breakGlass ? (
                  <Anchor component="button" type="button" size="sm" onClick={() => setBreakGlass(false)}>
                    Sign in without an authenticator code
                  </Anchor>
                ) : (
                  <Anchor component="button" type="button" size="sm" onClick={() => setBreakGlass(true)}>
                    Primary owner locked out by SSO? Sign in with password and authenticator code
                  </Anchor>
                )}
              </Text>
            </Stack>
          )}
          <ApiErrorAlert error={error} title="Sign-in failed" />
          <Text size="sm">
            <Anchor href="/forgot-password">Forgot your password?</Anchor>
          </Text>
        </Stack>
      </Paper>
    </Center>
  );
}
