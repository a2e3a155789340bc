import { Stack, Text, Title } from '@mantine/core';
import { Link, useLocation } from 'react-router';

export function NotFound() {
  const location = useLocation();
  return (
    <Stack maw={640}>
      <Title order={1}>Page not found</Title>
      <Text>
        The console has no page at <code>{location.pathname}</code>. <Link to="/">Go to the start</Link>.
      </Text>
    </Stack>
  );
}
