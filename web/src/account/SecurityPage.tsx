import {
  Alert,
  Button,
  Code,
  CopyButton,
  Group,
  Image,
  Loader,
  Modal,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import QRCode from 'qrcode';
import { type FormEvent, useEffect, useState } from 'react';
import { type Created, api, data } from '../api/client';
import { ApiErrorAlert, notifyDone } from '../app/errors';
import { useSession } from '../app/session';

type Enrollment = Created<'startTotpEnrollment'>;
const TOTP_KEY = ['me', 'totp'];

/** The otpauth:// URI as a QR code image (a data: URL, which the console's CSP allows for images). */
function QrCode({ uri }: { uri: string }) {
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    void QRCode.toDataURL(uri, { margin: 2, width: 220, errorCorrectionLevel: 'M' }).then((url) => live && setSrc(url));
    return () => {
      live = false;
    };
  }, [uri]);
  if (!src) return <Loader role="status" aria-label="Drawing the QR code" />;
  return (
    <Image
      src={src}
      w={220}
      h={220}
      alt="QR code of your authenticator secret: scan it with your authenticator app"
      data-testid="totp-qr"
    />
  );
}

function Enroll({ enrollment, onDone }: { enrollment: Enrollment; onDone: () => void }) {
  const qc = useQueryClient();
  const [code, setCode] = useState('');
  const [touched, setTouched] = useState(false);
  const confirm = useMutation({
    mutationFn: () => data(api.POST('/api/v1/me/totp/confirm', { body: { code } })),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: TOTP_KEY });
      notifyDone('Your authenticator app is enrolled.');
      onDone();
    },
  });
  // The API accepts exactly six digits (src/sso/totp.ts).
  const problem = /^\d{6}$/.test(code) ? null : 'Enter the 6-digit code your app shows now.';
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (!problem) confirm.mutate();
  };
  return (
    <Stack data-testid="totp-enroll">
      <Text>
        1. Scan this QR code with your authenticator app (1Password, Google Authenticator, Microsoft Authenticator…), or
        type the secret into it.
      </Text>
      <QrCode uri={enrollment.otpauthUri} />
      <Group gap="xs">
        <Text size="sm">Secret:</Text>
        <Code data-testid="totp-secret">{enrollment.secret}</Code>
        <CopyButton value={enrollment.secret}>
          {({ copied, copy }) => (
            <Button size="xs" variant="light" onClick={copy}>
              {copied ? 'Copied' : 'Copy secret'}
            </Button>
          )}
        </CopyButton>
      </Group>
      <Text size="sm" c="dimmed">
        The secret is shown this once. If you leave before confirming, start again.
      </Text>
      <form onSubmit={submit} noValidate>
        <Stack maw={320}>
          <TextInput
            label="2. Code from the app"
            inputMode="numeric"
            autoComplete="one-time-code"
            maxLength={6}
            value={code}
            onChange={(e) => setCode(e.currentTarget.value.trim())}
            error={touched ? problem : null}
          />
          <ApiErrorAlert error={confirm.error} title="Not confirmed" />
          <Button type="submit" loading={confirm.isPending} w="fit-content">
            Confirm
          </Button>
        </Stack>
      </form>
    </Stack>
  );
}

export default function SecurityPage() {
  const session = useSession();
  const qc = useQueryClient();
  const status = useQuery({
    queryKey: TOTP_KEY,
    queryFn: async () => await data(api.GET('/api/v1/me/totp')),
  });
  const [enrollment, setEnrollment] = useState<Enrollment | null>(null);
  const [confirmRemove, setConfirmRemove] = useState(false);
  const start = useMutation({
    mutationFn: () => data(api.POST('/api/v1/me/totp')),
    onSuccess: setEnrollment,
  });
  const remove = useMutation({
    mutationFn: () => data(api.DELETE('/api/v1/me/totp')),
    onSuccess: () => {
      setConfirmRemove(false);
      void qc.invalidateQueries({ queryKey: TOTP_KEY });
      notifyDone('Your authenticator app was removed.');
    },
  });
  return (
    <Stack maw={760}>
      <Title order={1}>Account security</Title>
      <Text>Signed in as {session.data?.user.email}.</Text>
      <Title order={2} size="h3">
        Authenticator app (break-glass sign-in)
      </Title>
      <Text size="sm">
        A primary owner with an authenticator app can still sign in with password and code when single sign-on is
        enforced or the identity provider is down. Every such sign-in is recorded and flagged in the audit log.
      </Text>
      {status.isPending ? <Loader role="status" aria-label="Loading" /> : null}
      <ApiErrorAlert error={status.error} />
      {status.data?.enrolled && !enrollment ? (
        <Stack>
          <Alert color="teal" title="Enrolled" data-testid="totp-enrolled">
            Your authenticator app is enrolled
            {status.data.confirmedAt ? ` since ${new Date(status.data.confirmedAt).toLocaleString()}` : ''}.
          </Alert>
          <Group>
            <Button color="red" variant="light" onClick={() => setConfirmRemove(true)}>
              Remove authenticator app
            </Button>
          </Group>
        </Stack>
      ) : null}
      {status.data && !status.data.enrolled && !enrollment ? (
        <Group>
          <Button onClick={() => start.mutate()} loading={start.isPending}>
            Set up an authenticator app
          </Button>
        </Group>
      ) : null}
      <ApiErrorAlert error={start.error} />
      {enrollment ? <Enroll enrollment={enrollment} onDone={() => setEnrollment(null)} /> : null}
      <Modal opened={confirmRemove} onClose={() => setConfirmRemove(false)} title="Remove your authenticator app?">
        <Stack>
          <Text>
            Without it you cannot use break-glass sign-in. If single sign-on is enforced and fails, another primary
            owner would have to let you in.
          </Text>
          <ApiErrorAlert error={remove.error} />
          <Group justify="end">
            <Button variant="default" onClick={() => setConfirmRemove(false)} data-autofocus>
              Keep it
            </Button>
            <Button color="red" onClick={() => remove.mutate()} loading={remove.isPending}>
              Remove
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}
