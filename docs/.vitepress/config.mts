import { defineConfig } from 'vitepress';

/**
 * The docs site: the Markdown in docs/, built with `npm run docs:build` (VitePress fails the build on
 * a broken internal link). Links into the source tree (../src/…) point at files, not pages, and are
 * not checked here.
 */
export default defineConfig({
  title: 'Palisade',
  description: 'Self-hostable security control plane for an AI-assistant workspace',
  cleanUrls: true,
  lastUpdated: false,
  ignoreDeadLinks: [/^\.\.\/(src|test|bench|scripts|\.ci)\//, /^\.\.\/README/],
  themeConfig: {
    search: { provider: 'local' },
    nav: [
      { text: 'Guides', link: '/accounts' },
      { text: 'Operations', link: '/configuration' },
      { text: 'Reference', link: '/reference/api' },
    ],
    sidebar: [
      { text: 'Start', items: [{ text: 'Overview', link: '/' }, { text: 'Getting started', link: '/getting-started' }, { text: 'Concepts', link: '/concepts' }, { text: 'Admin console', link: '/console' }] },
      {
        text: 'Task guides',
        items: [
          { text: 'Verify a domain', link: '/guides/verify-domain' },
          { text: 'SSO with Okta', link: '/guides/sso-okta' },
          { text: 'SSO with Entra ID', link: '/guides/sso-entra' },
          { text: 'SSO with Google Workspace', link: '/guides/sso-google' },
          { text: 'SSO: other SAML or OIDC', link: '/guides/sso-generic' },
          { text: 'Try SSO with the test IdP', link: '/sso-test-idp' },
          { text: 'Map roles, enforce SSO safely', link: '/guides/enforce-sso' },
          { text: 'SCIM with Okta', link: '/guides/scim-okta' },
          { text: 'SCIM with Entra ID', link: '/guides/scim-entra' },
          { text: 'Stream to your SIEM', link: '/guides/siem' },
          { text: 'Retention and legal holds', link: '/guides/retention' },
          { text: 'Bring your own key (HSM)', link: '/guides/byok-hsm' },
          { text: 'Gateway with the SDKs', link: '/guides/gateway-sdks' },
        ],
      },
      {
        text: 'Guides',
        items: [
          { text: 'Accounts, invitations, passwords', link: '/accounts' },
          { text: 'Domains', link: '/domains' },
          { text: 'Single sign-on', link: '/sso' },
          { text: 'SCIM provisioning', link: '/scim' },
          { text: 'Workspace and gateway', link: '/workspace' },
          { text: 'Audit log', link: '/audit-log' },
          { text: 'Audit streams (SIEM)', link: '/audit-streams' },
          { text: 'Compliance API', link: '/compliance-api' },
          { text: 'GitHub', link: '/github' },
          { text: 'Notifications', link: '/notifications' },
        ],
      },
      {
        text: 'Operations',
        items: [
          { text: 'Configuration and CLI', link: '/configuration' },
          { text: 'Production deployment', link: '/deployment' },
          { text: 'Health, metrics, alerts', link: '/operations' },
          { text: 'Email', link: '/email' },
          { text: 'Security model', link: '/security-model' },
          { text: 'Troubleshooting', link: '/troubleshooting' },
          { text: 'Performance', link: '/performance' },
        ],
      },
      {
        text: 'Reference',
        items: [
          { text: 'Settings (generated)', link: '/reference/configuration' },
          { text: 'Permissions (generated)', link: '/reference/permissions' },
          { text: 'CLI (generated)', link: '/reference/cli' },
          { text: 'HTTP API (generated)', link: '/reference/api' },
          { text: 'Audit actions (generated)', link: '/reference/audit-actions' },
          { text: 'Error codes (generated)', link: '/reference/errors' },
        ],
      },
      { text: 'Contributing', items: [{ text: 'Code layout', link: '/contributing' }] },
    ],
  },
});
