import { Alert, Button, Card, Group, Loader, Stack, Text, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { ApiError, type Ok, api, data } from '../api/client';
import { ApiErrorAlert, notifyDone } from '../app/errors';
import { SESSION_KEY, useSession } from '../app/session';
import { ConfirmModal } from '../components/ConfirmModal';

type Invitation = Ok<'listMyInvitations'>['data'][number];
const INVITATIONS_KEY = ['listMyInvitations'];

/**
 * Invitations of an existing account wait for its owner's consent (src/orgs/invitations.ts): the
 * email links here (/invitations); the console asks for sign-in first (RequireSession), then the
 * person accepts or declines each. Accepting needs a proven address: the page offers the
 * verification email when the account has none.
 */
export default function InvitationsPage() {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const session = useSession();
  const invitations = useQuery({
    queryKey: INVITATIONS_KEY,
    queryFn: () => data(api.GET('/api/v1/me/invitations')),
  });
  const [declining, setDeclining] = useState<Invitation | null>(null);
  const [verificationSent, setVerificationSent] = useState<string | null>(null);

  const accept = useMutation({
    mutationFn: (i: Invitation) =>
      data(
        api.POST('/api/v1/me/invitations/{membershipId}/accept', {
          params: { path: { membershipId: i.membershipId } },
        }),
      ),
    onSuccess: async (joined) => {
      await qc.invalidateQueries({ queryKey: ['orgs'] });
      void qc.invalidateQueries({ queryKey: INVITATIONS_KEY });
      notifyDone(`You joined ${joined.orgName}.`);
      navigate(`/orgs/${joined.orgId}/`);
    },
  });
  const decline = useMutation({
    mutationFn: (i: Invitation) =>
      api.POST('/api/v1/me/invitations/{membershipId}/decline', { params: { path: { membershipId: i.membershipId } } }),
    onSuccess: (_r, i) => {
      setDeclining(null);
      void qc.invalidateQueries({ queryKey: INVITATIONS_KEY });
      notifyDone(`You declined the invitation to ${i.orgName}.`);
    },
  });
  const verify = useMutation({
    mutationFn: () => data(api.POST('/api/v1/me/email-verification')),
    onSuccess: (r) => {
      void qc.invalidateQueries({ queryKey: SESSION_KEY });
      setVerificationSent(
        r.alreadyVerified
          ? 'Your address is already confirmed.'
          : `A confirmation link was sent to ${r.sentTo ?? 'your address'}. Open it, then accept here.`,
      );
    },
  });

  const unverified =
    session.data?.user.emailVerified === false ||
    (accept.error instanceof ApiError && accept.error.code === 'email_unverified');

  return (
    <Stack maw={720}>
      <Title order={1}>Invitations</Title>
      <Text>Organizations that invited you. You join only the ones you accept.</Text>
      {invitations.isPending ? <Loader role="status" aria-label="Loading invitations" /> : null}
      <ApiErrorAlert error={invitations.error} />
      {invitations.data && invitations.data.data.length === 0 ? (
        <Alert color="gray" role="status" data-testid="no-invitations">
          You have no pending invitations.
        </Alert>
      ) : null}
      {invitations.data?.data.map((i) => (
        <Card key={i.membershipId} withBorder data-testid="invitation">
          <Group justify="space-between" wrap="nowrap">
            <Stack gap={2}>
              <Text fw={600}>{i.orgName}</Text>
              <Text size="sm">
                as {i.role.replace('_', ' ')}
                {i.invitedBy ? `, invited by ${i.invitedBy}` : ''}
              </Text>
            </Stack>
            <Group wrap="nowrap">
              <Button
                onClick={() => accept.mutate(i)}
                loading={accept.isPending && accept.variables?.membershipId === i.membershipId}
                aria-label={`Accept the invitation to ${i.orgName}`}
              >
                Accept
              </Button>
              <Button
                variant="default"
                onClick={() => setDeclining(i)}
                aria-label={`Decline the invitation to ${i.orgName}`}
              >
                Decline
              </Button>
            </Group>
          </Group>
        </Card>
      ))}
      <ApiErrorAlert error={accept.error} title="The invitation was not accepted" />
      {unverified ? (
        <Stack gap="xs" data-testid="verify-email">
          <Text size="sm">
            Accepting an invitation needs a confirmed email address: Palisade mails you a link that proves the address
            is yours.
          </Text>
          <Group>
            <Button variant="light" onClick={() => verify.mutate()} loading={verify.isPending}>
              Send verification email
            </Button>
          </Group>
          {verificationSent ? (
            <Alert color="green" role="status">
              {verificationSent}
            </Alert>
          ) : null}
          <ApiErrorAlert error={verify.error} title="The verification email was not sent" />
        </Stack>
      ) : null}
      <ConfirmModal
        opened={declining !== null}
        title="Decline the invitation?"
        confirmLabel="Decline"
        loading={decline.isPending}
        error={decline.error}
        onConfirm={() => declining && decline.mutate(declining)}
        onClose={() => {
          setDeclining(null);
          decline.reset();
        }}
      >
        <Text>You will not join {declining?.orgName}. An administrator can invite you again later.</Text>
      </ConfirmModal>
    </Stack>
  );
}
