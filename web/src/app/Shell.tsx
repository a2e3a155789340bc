import {
  AppShell,
  Anchor,
  Burger,
  Group,
  Loader,
  Menu,
  NavLink,
  Select,
  Stack,
  Text,
  UnstyledButton,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useQueryClient } from '@tanstack/react-query';
import { Suspense } from 'react';
import { NavLink as RouterNavLink, Outlet, useLocation, useMatch, useNavigate } from 'react-router';
import { api, setCsrfToken } from '../api/client';
import { notifyError } from './errors';
import { orgTree, useMyOrgs } from './orgs';
import { navEntries } from './routes';
import { SESSION_KEY, useSession } from './session';

/** Switches organization and keeps the page: /orgs/A/members → /orgs/B/members. */
function OrgSwitcher({ orgId }: { orgId: string | undefined }) {
  const orgs = useMyOrgs();
  const navigate = useNavigate();
  const location = useLocation();
  if (!orgs.data) return null;
  const options = orgTree(orgs.data).map(({ org, depth }) => ({
    value: org.id,
    // Children are indented under their parent, so a business unit reads as part of its company.
    label: `${'\u2003'.repeat(depth)}${depth ? '↳ ' : ''}${org.name}`,
  }));
  return (
    <Select
      aria-label="Switch organization"
      data-testid="org-switcher"
      data={options}
      value={orgId ?? null}
      placeholder="Choose an organization"
      allowDeselect={false}
      searchable={options.length > 8}
      w={280}
      onChange={(id) => {
        if (!id) return;
        const rest = orgId ? location.pathname.replace(new RegExp(`^/orgs/${orgId}/?`), '') : '';
        // A detail page (members/xyz) of one organization does not exist in another: keep the section.
        const section = rest.split('/')[0] ?? '';
        navigate(`/orgs/${id}/${section}`);
      }}
    />
  );
}

function AccountMenu() {
  const session = useSession();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const signOut = async () => {
    try {
      await api.POST('/api/v1/auth/logout');
    } catch (err) {
      notifyError(err, 'Sign-out failed');
      return;
    }
    setCsrfToken(null);
    qc.clear();
    qc.setQueryData(SESSION_KEY, null);
    navigate('/sign-in?signedOut=1', { replace: true });
  };
  return (
    <Menu position="bottom-end" withinPortal>
      <Menu.Target>
        <UnstyledButton data-testid="account-menu" title="Account menu">
          <Text size="sm">{session.data?.user.email} ▾</Text>
        </UnstyledButton>
      </Menu.Target>
      <Menu.Dropdown>
        <Menu.Item onClick={() => navigate('/account/security')}>Account security</Menu.Item>
        <Menu.Item onClick={() => navigate('/invitations')}>Invitations</Menu.Item>
        <Menu.Item component="a" href="/docs">
          API reference
        </Menu.Item>
        <Menu.Divider />
        <Menu.Item color="red" onClick={() => void signOut()}>
          Sign out
        </Menu.Item>
      </Menu.Dropdown>
    </Menu>
  );
}

export function Shell() {
  const [opened, { toggle }] = useDisclosure();
  const match = useMatch('/orgs/:orgId/*');
  const orgId = match?.params.orgId;
  return (
    <AppShell
      header={{ height: 60 }}
      navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !opened, desktop: !orgId } }}
      padding="md"
    >
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group wrap="nowrap">
            {/* Keyboard users skip the header and navigation. */}
            <Anchor href="#main" className="skip-link">
              Skip to content
            </Anchor>
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Navigation" />
            <Anchor component={RouterNavLink} to="/" fw={700} c="dark" underline="never">
              Palisade
            </Anchor>
            <OrgSwitcher orgId={orgId} />
          </Group>
          <AccountMenu />
        </Group>
      </AppShell.Header>
      {orgId ? (
        <AppShell.Navbar p="xs" aria-label="Organization sections">
          <Stack gap={2}>
            {navEntries.map((n) => (
              <NavLink
                key={n.path}
                component={RouterNavLink}
                to={`/orgs/${orgId}/${n.path}`}
                end={n.path === ''}
                label={n.label}
              />
            ))}
          </Stack>
        </AppShell.Navbar>
      ) : null}
      <AppShell.Main id="main" tabIndex={-1}>
        <Suspense fallback={<Loader role="status" aria-label="Loading the page" />}>
          <Outlet />
        </Suspense>
      </AppShell.Main>
    </AppShell>
  );
}
