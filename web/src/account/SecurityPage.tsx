import { Stack, Text, Title } from '@mantine/core';
import { useSession } from '../app/session';

export default function SecurityPage() {
  const session = useSession();
  return (
    <Stack maw={720}>
      <Title order={1}>Account security</Title>
      <Text>Signed in as {session.data?.user.email}.</Text>
    </Stack>
  );
}
