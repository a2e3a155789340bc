import { Type } from '@sinclair/typebox';

/**
 * Identity-provider presets: the claim (OIDC) or attribute (SAML) names each IdP sends for email,
 * names and groups, and what the admin must configure on the IdP's side.
 */
export interface ClaimNames {
  email: string;
  firstName: string;
  lastName: string;
  groups: string;
}

export type PresetId = 'okta' | 'entra' | 'google' | 'custom';

export interface Preset {
  id: PresetId;
  name: string;
  oidc: ClaimNames;
  saml: ClaimNames;
  /** What to set up in the IdP's admin console, in plain words. */
  configure: string;
  docsUrl: string | null;
}

const ClaimNamesSchema = Type.Object({
  email: Type.String(),
  firstName: Type.String(),
  lastName: Type.String(),
  groups: Type.String(),
});
export const PresetList = Type.Object(
  {
    data: Type.Array(
      Type.Object({
        id: Type.Union([Type.Literal('okta'), Type.Literal('entra'), Type.Literal('google'), Type.Literal('custom')]),
        name: Type.String(),
        oidc: ClaimNamesSchema,
        saml: ClaimNamesSchema,
        configure: Type.String({ description: "What to set up in the IdP's admin console, in plain words." }),
        docsUrl: Type.Union([Type.String(), Type.Null()]),
      }),
    ),
    testIdpEnabled: Type.Boolean({
      description:
        "Whether this installation serves Palisade's built-in test identity provider (PALISADE_TEST_IDP): then POST /api/v1/orgs/{orgId}/sso/test-idp-connections creates a connection to it.",
    }),
  },
  { $id: 'SsoPresetList' },
);

const STANDARD_OIDC: ClaimNames = {
  email: 'email',
  firstName: 'given_name',
  lastName: 'family_name',
  groups: 'groups',
};

export const PRESETS: Record<PresetId, Preset> = {
  okta: {
    id: 'okta',
    name: 'Okta',
    oidc: STANDARD_OIDC,
    saml: { email: 'email', firstName: 'firstName', lastName: 'lastName', groups: 'groups' },
    configure:
      'In Okta Admin > Applications > Create App Integration, choose OIDC (Web Application) or SAML 2.0. For OIDC set the sign-in redirect URI to Palisade\'s callback URL and add a "groups" claim (filter: starts with your group prefix). For SAML paste the ACS URL and entity id from Palisade\'s SP metadata, add attribute statements email, firstName, lastName and a group attribute statement named "groups".',
    docsUrl: 'https://help.okta.com/en-us/content/topics/apps/apps_app_integration_wizard.htm',
  },
  entra: {
    id: 'entra',
    name: 'Microsoft Entra ID',
    oidc: { email: 'email', firstName: 'given_name', lastName: 'family_name', groups: 'groups' },
    saml: {
      email: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
      firstName: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname',
      lastName: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname',
      groups: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups',
    },
    configure:
      'In Entra admin center > Enterprise applications > New application > Create your own. For SAML, set Identifier (Entity ID) and Reply URL (ACS) from Palisade\'s SP metadata. Under Attributes & Claims add a group claim and choose "sAMAccountName" or "Cloud-only group display names" so group names (not object ids) are sent. For OIDC, register an app with a Web redirect URI to Palisade\'s callback and add the optional "groups" claim to the ID token.',
    docsUrl: 'https://learn.microsoft.com/en-us/entra/identity/enterprise-apps/add-application-portal-setup-sso',
  },
  google: {
    id: 'google',
    name: 'Google Workspace',
    oidc: STANDARD_OIDC,
    saml: { email: 'email', firstName: 'firstName', lastName: 'lastName', groups: 'groups' },
    configure:
      'In Google Admin console > Apps > Web and mobile apps > Add custom SAML app. Copy Google\'s IdP metadata into Palisade, then enter Palisade\'s ACS URL and entity id. Under Attribute mapping map Primary email to "email", First name to "firstName", Last name to "lastName", and under Group membership choose the groups to send as "groups". Google\'s OIDC does not send groups; use SAML if you need group-to-role mapping.',
    docsUrl: 'https://support.google.com/a/answer/6087519',
  },
  custom: {
    id: 'custom',
    name: 'Other identity provider',
    oidc: STANDARD_OIDC,
    saml: { email: 'email', firstName: 'firstName', lastName: 'lastName', groups: 'groups' },
    configure:
      "Register Palisade as an application. OIDC: redirect URI = Palisade's callback URL, scopes openid email profile (and groups if offered). SAML: ACS URL and entity id from the SP metadata; send email, firstName, lastName and groups attributes; sign assertions.",
    docsUrl: null,
  },
};
