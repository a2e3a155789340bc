import { SegmentedControl, Stack, Text } from '@mantine/core';

export type SsoProtocol = 'saml' | 'oidc';

/** SAML or OIDC, labelled for assistive technology by a visible heading (`labelId` names it). */
export function ProtocolPicker(props: { labelId: string; value: SsoProtocol; onChange: (p: SsoProtocol) => void }) {
  return (
    <Stack gap={4}>
      <Text size="sm" fw={600} id={props.labelId}>
        Protocol
      </Text>
      <SegmentedControl
        aria-labelledby={props.labelId}
        value={props.value}
        onChange={(v) => props.onChange(v as SsoProtocol)}
        data={[
          { value: 'saml', label: 'SAML 2.0' },
          { value: 'oidc', label: 'OpenID Connect' },
        ]}
        w={320}
      />
    </Stack>
  );
}
