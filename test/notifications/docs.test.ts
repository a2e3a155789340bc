import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { CONFIG_SPEC } from '../../src/config.js';
import { NOTIFICATIONS_AUDIT_ACTIONS } from '../../src/notifications/audit-actions.js';
import { NOTIFICATION_TYPES } from '../../src/notifications/catalog.js';
import { NOTIFICATIONS_ERROR_CODES } from '../../src/notifications/error-codes.js';

const page = readFileSync(new URL('../../docs/notifications.md', import.meta.url), 'utf8');

describe('docs/notifications.md documents everything notifications expose', () => {
  test('every notification type, error code (with its status), audit action and setting', () => {
    for (const type of Object.keys(NOTIFICATION_TYPES)) assert.ok(page.includes(`| \`${type}\` |`), `type ${type}`);
    for (const [code, { status }] of Object.entries(NOTIFICATIONS_ERROR_CODES))
      assert.ok(page.includes(`| \`${code}\` | ${status} |`), `error ${code} (${status})`);
    for (const action of Object.keys(NOTIFICATIONS_AUDIT_ACTIONS))
      assert.ok(page.includes(`| \`${action}\` |`), `audit action ${action}`);
    for (const key of [
      'notificationMaxAttempts',
      'notificationWebhooksAllowHttp',
      'notificationScimErrorsPerHour',
    ] as const) {
      const spec = CONFIG_SPEC[key];
      assert.ok(page.includes(`| \`${spec.variable}\` | ${String(spec.default)} |`), `setting ${spec.variable}`);
    }
  });
});
