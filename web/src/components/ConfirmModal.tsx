import { Button, Group, Modal, Stack, TextInput } from '@mantine/core';
import { type ReactNode, useState } from 'react';
import { ApiErrorAlert } from '../app/errors';

/**
 * Asks before a destructive action. With `typeToConfirm`, the button stays disabled until the
 * person types that text exactly (crypto-shredding: the organization id), as the API itself asks.
 * The API's refusal is shown in the dialog, with its request id.
 */
export function ConfirmModal({
  opened,
  title,
  children,
  confirmLabel,
  typeToConfirm,
  loading,
  error,
  onConfirm,
  onClose,
}: {
  opened: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  typeToConfirm?: string;
  loading?: boolean;
  error?: unknown;
  onConfirm: () => void;
  onClose: () => void;
}) {
  const [typed, setTyped] = useState('');
  const close = () => {
    setTyped('');
    onClose();
  };
  const ready = typeToConfirm === undefined || typed === typeToConfirm;
  return (
    <Modal opened={opened} onClose={close} title={title} closeButtonProps={{ 'aria-label': 'Cancel' }}>
      <Stack>
        {children}
        {typeToConfirm !== undefined ? (
          <TextInput
            label={`Type ${typeToConfirm} to confirm`}
            value={typed}
            onChange={(e) => setTyped(e.currentTarget.value)}
            autoComplete="off"
            data-autofocus
          />
        ) : null}
        <ApiErrorAlert error={error} />
        <Group justify="flex-end">
          <Button variant="default" onClick={close}>
            Cancel
          </Button>
          <Button color="red.9" disabled={!ready} loading={loading} onClick={onConfirm}>
            {confirmLabel}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
