import { Button, Code, CopyButton, Group, Loader, Modal, Stack, Text, Tooltip } from '@mantine/core';
import { type ReactNode, useState } from 'react';

/** A value to paste elsewhere (a DNS console, an identity provider) with its own copy button. */
export function CopyValue({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <Stack gap={2}>
      <Text size="sm" fw={600} component="div">
        {label}
      </Text>
      <Group gap="xs" wrap="nowrap" align="start">
        <Code block style={{ flex: 1, whiteSpace: 'pre-wrap', wordBreak: 'break-all' }} data-testid={testId}>
          {value}
        </Code>
        <CopyButton value={value}>
          {({ copied, copy }) => (
            <Tooltip label={copied ? 'Copied' : `Copy ${label.toLowerCase()}`} withArrow>
              <Button
                size="xs"
                variant={copied ? 'filled' : 'default'}
                color={copied ? '#0b5e4a' : undefined}
                onClick={copy}
                aria-label={`${copied ? 'Copied' : 'Copy'} ${label.toLowerCase()}`}
              >
                {copied ? 'Copied' : 'Copy'}
              </Button>
            </Tooltip>
          )}
        </CopyButton>
      </Group>
    </Stack>
  );
}

/**
 * A button whose action happens only after the person confirms it in a dialog that says what it
 * does. Every destructive action of the console goes through one.
 */
export function ConfirmButton({
  children,
  title,
  body,
  confirmLabel,
  onConfirm,
  loading,
  color = 'red.9',
  variant = 'outline',
  disabled,
}: {
  children: ReactNode;
  title: string;
  body: ReactNode;
  confirmLabel: string;
  onConfirm: () => void;
  loading?: boolean;
  color?: string;
  variant?: 'outline' | 'filled' | 'light';
  disabled?: boolean;
}) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button color={color} variant={variant} onClick={() => setOpen(true)} loading={loading} disabled={disabled}>
        {children}
      </Button>
      <Modal opened={open} onClose={() => setOpen(false)} title={title} centered>
        <Stack>
          <div>{body}</div>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setOpen(false)}>
              Cancel
            </Button>
            <Button
              color={color}
              onClick={() => {
                setOpen(false);
                onConfirm();
              }}
            >
              {confirmLabel}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}

/** A spinner that screen readers announce (a labelled span needs a role for its label to be allowed). */
export function Loading({ label }: { label: string }) {
  return <Loader role="status" aria-label={label} />;
}
