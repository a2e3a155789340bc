import type { AuditActionCatalog } from '../audit/action-spec.js';

/** The workspace: conversations, files, retention and network policy. See src/audit/action-spec.ts for the fields. */
export const WORKSPACE_AUDIT_ACTIONS = {
  'conversation.created': { ocsf: 'API Activity: Create', security: false, description: 'A conversation was started.' },
  'conversation.renamed': {
    ocsf: 'API Activity: Update',
    security: false,
    description: 'A conversation was renamed (never the title text).',
  },
  'conversation.message_sent': {
    ocsf: 'API Activity: Other',
    security: false,
    description:
      'A message was sent in a conversation: ids, sizes, model; never its text unless the content tier allows an excerpt.',
  },
  'conversation.deleted': {
    ocsf: 'API Activity: Delete',
    security: true,
    description: 'A conversation was deleted; denied (reason legal_hold_active) while a legal hold covers it.',
  },
  'file.uploaded': {
    ocsf: 'API Activity: Create',
    security: false,
    description: 'A file was uploaded (name, size, type).',
  },
  'file.deleted': {
    ocsf: 'API Activity: Delete',
    security: true,
    description: 'A file was deleted; denied (reason legal_hold_active) while a legal hold covers it.',
  },
  'legal_hold.placed': {
    ocsf: 'API Activity: Create',
    security: true,
    description: "A legal hold was placed on members' content: nothing it covers can be deleted or purged.",
  },
  'legal_hold.lifted': { ocsf: 'API Activity: Update', security: true, description: 'A legal hold was lifted.' },
  'workspace.settings_updated': {
    ocsf: 'API Activity: Update',
    security: true,
    description: 'Workspace settings (retention periods) changed.',
  },
  'retention.purged': {
    ocsf: 'API Activity: Delete',
    security: true,
    description: 'Retention removed expired conversations and files (counts; their keys destroyed).',
  },
  'network.request_blocked': {
    ocsf: 'API Activity: Other',
    security: true,
    description: "A request from an address outside the organization's IP allowlist was refused.",
  },
} as const satisfies AuditActionCatalog;
