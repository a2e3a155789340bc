import { useQuery } from '@tanstack/react-query';
import { api, data } from '../api/client';
import type { PresetId } from './types';

/** The wizards offered: the API's presets, with the protocols each identity provider is set up with. */
export const WIZARDS: { key: string; label: string; preset: PresetId; protocols: ('saml' | 'oidc')[] }[] = [
  { key: 'okta', label: 'Okta', preset: 'okta', protocols: ['saml', 'oidc'] },
  { key: 'entra', label: 'Microsoft Entra ID', preset: 'entra', protocols: ['saml', 'oidc'] },
  // Google's OIDC sends no groups, so group-to-role mapping needs SAML (src/sso/presets.ts).
  { key: 'google', label: 'Google Workspace', preset: 'google', protocols: ['saml', 'oidc'] },
  { key: 'saml', label: 'Other SAML identity provider', preset: 'custom', protocols: ['saml'] },
  { key: 'oidc', label: 'Other OpenID Connect provider', preset: 'custom', protocols: ['oidc'] },
];

/** Connections to Palisade's built-in test identity provider carry this preset (src/sso/test-idp-policy.ts). */
export const TEST_IDP_PRESET = 'palisade_test';

/** The API's presets, and whether the installation serves the built-in test identity provider. */
export function usePresets() {
  return useQuery({
    queryKey: ['sso', 'presets'],
    staleTime: Infinity,
    queryFn: async () => await data(api.GET('/api/v1/sso/presets')),
  });
}
