import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { recordAuditBatch } from '../../src/audit/record.js';
import { sealOrganization } from '../../src/audit/seal.js';
import { sqliteHandleOf } from '../../src/db/connect.js';
import { createScheduler } from '../../src/scheduled-jobs.js';
import { pendingAuditRow } from '../helpers/audit-pending.js';
import { TEST_DIALECT } from '../helpers/db.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { type FakeSiem, startFakeSiem } from '../peers/fake-siem.js';
import { testAction } from '../helpers/audit-actions.js';

/**
 * The alert rules in deploy/prometheus/palisade-alerts.yml, checked with Prometheus's own promtool
 * (Debian package prometheus) against metrics scraped from a real Palisade: each rule fires on the
 * series Palisade exposes in the failing state (same names, same labels), and none fires once it
 * recovers. The scrape becomes promtool input series as Prometheus would store it (plus the
 * target's instance and job labels).
 */
const RULES = resolve('deploy/prometheus/palisade-alerts.yml');
const TARGET = { instance: 'palisade:8080', job: 'palisade' };

interface Rule {
  alert: string;
  expr: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
const rules = (parse(readFileSync(RULES, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function scrape(metrics: string): Series[] {
  return metrics
    .split('\n')
    .filter(
      (l) =>
        l.startsWith('palisade_') &&
        !l.startsWith('palisade_http') &&
        !l.startsWith('palisade_process') &&
        !l.startsWith('palisade_nodejs'),
    )
    .map((l) => {
      const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(l)!;
      const labels = Object.fromEntries(
        [...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1] as string, x[2] as string]),
      );
      return { name: m[1] as string, labels: { ...labels, ...TARGET }, value: Number(m[3]) };
    });
}

const selector = (s: Series) =>
  `${s.name}{${Object.entries(s.labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',')}}`;

/** Prometheus's template for the annotations this test's rules use: {{ $labels.x }} and {{ $value }}. */
const render = (text: string, labels: Record<string, string>, value: number) =>
  text
    .replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, k: string) => labels[k] ?? '')
    .replace(/\{\{ \$value \}\}/g, String(value));

function promtool(
  series: Series[],
  growing: (s: Series) => boolean,
  expected: { alert: string; series: Series; value: number }[],
): { ok: boolean; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-promtool-'));
  try {
    const alertTests = rules.map((r) => ({
      eval_time: '15m',
      alertname: r.alert,
      exp_alerts: expected
        .filter((e) => e.alert === r.alert)
        .map((e) => {
          const labels = { ...e.series.labels, ...r.labels };
          delete (labels as Record<string, string>).__name__;
          return {
            exp_labels: labels,
            exp_annotations: Object.fromEntries(
              Object.entries(r.annotations).map(([k, v]) => [k, render(v, labels, e.value)]),
            ),
          };
        }),
    }));
    // YAML is a superset of JSON: the test file is written as JSON.
    const file = join(dir, 'test.yml');
    writeFileSync(
      file,
      JSON.stringify({
        rule_files: [RULES],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: series.map((s) => ({
              series: selector(s),
              values: growing(s) ? `${s.value}+500x20` : `${s.value}x20`,
            })),
            alert_rule_test: alertTests,
          },
        ],
      }),
    );
    const r = spawnSync('promtool', ['test', 'rules', file], { encoding: 'utf8' });
    return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('Prometheus alert rules fire on what Palisade really exposes', () => {
  let t: TestApp;
  let siem: FakeSiem;
  let owner: Agent;
  let orgId: string;
  let secret: string | null = null;
  let lagOrgId: string;
  before(async () => {
    // inline sealing: no sweep runs, so an event left pending below stays pending until the test seals it.
    t = await createTestApp({ auditStreamsAllowHttp: true, auditSealing: 'inline' });
    siem = await startFakeSiem({
      hecToken: 'the-right-hec-token',
      ddApiKey: 'x',
      webhookSecret: () => secret,
      now: () => t.clock.now(),
    });
    ({ orgId, owner } = await t.seedOrg('Alerts', 'owner@alerts.example'));
    ({ orgId: lagOrgId } = await t.seedOrg('Sealing lag', 'owner@sealing-lag.example'));
  });
  after(async () => {
    await siem?.stop();
    await t?.close();
  });

  test('the rule file is valid for promtool', () => {
    const out = execFileSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
    assert.match(out, new RegExp(`SUCCESS: ${rules.length} rules found`));
    assert.deepEqual(rules.map((r) => r.alert).sort(), [
      'PalisadeAuditSealingBehind',
      'PalisadeAuditStreamDeadLetter',
      'PalisadeAuditStreamLagGrowing',
      'PalisadeAuditStreamStalled',
      'PalisadeDatabaseDown',
      'PalisadeJobStalled',
      'PalisadeStorageUnwritable',
    ]);
  });

  test('failing: a stalled stream falling behind, a stalled job, a dead-lettered stream, an event left unsealed (and on SQLite a read-only database) each raise their alert', async () => {
    const hook = await owner.post(`/api/v1/orgs/${orgId}/audit-streams`, {
      name: 'hook',
      kind: 'webhook',
      url: `${siem.url}/hook`,
    });
    secret = hook.body.webhookSecret;
    const wrongToken = await owner.post(`/api/v1/orgs/${orgId}/audit-streams`, {
      name: 'splunk',
      kind: 'splunk_hec',
      url: siem.url,
      token: 'not-the-right-token',
    });
    // A permanent refusal (403) dead-letters the Splunk destination; then the delivery job's holder dies.
    assert.equal(
      (await createScheduler({ db: t.db.database.db, clock: t.clock, config: t.config }).runNow('streams.deliver'))
        .status,
      'succeeded',
    );
    await t.db.database.db
      .updateTable('job_leases')
      .set({ owner: 'other-host:7:abcdef', lease_until: new Date(t.clock.now().getTime() + 15_000).toISOString() })
      .where('name', '=', 'streams.deliver')
      .execute();
    await t.db.database.db.transaction().execute((tx) =>
      recordAuditBatch(
        tx,
        t.system,
        Array.from({ length: 12_000 }, (_, i) => ({ orgId, action: testAction('test.activity'), metadata: { i } })),
      ),
    );
    // An event appended and never sealed (what a sealer that keeps failing leaves), 5 minutes old.
    await t.db.database.db
      .insertInto('audit_pending')
      .values(pendingAuditRow({ id: 'evt_never_sealed', org_id: lagOrgId, occurred_at: t.clock.now().toISOString() }))
      .execute();
    t.clock.advance(5 * 60_000);
    const sqlite = TEST_DIALECT === 'sqlite' ? sqliteHandleOf(t.db.database.db) : undefined;
    // A real engine refusal: SQLite's query_only makes every write fail with SQLITE_READONLY.
    sqlite?.pragma('query_only = 1');
    let metrics: string;
    try {
      metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    } finally {
      sqlite?.pragma('query_only = 0');
    }
    const series = scrape(metrics);
    const find = (name: string, labels: Record<string, string>) => {
      const s = series.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
      assert.ok(
        s,
        `${name} ${JSON.stringify(labels)} in ${metrics
          .split('\n')
          .filter((l) => l.startsWith(name))
          .join('\n')}`,
      );
      return s;
    };
    const stalled = find('palisade_audit_stream_stalled', {
      stream_id: hook.body.stream.id,
      code: 'delivery_job_not_running',
    });
    const lag = find('palisade_audit_stream_lag_events', { stream_id: hook.body.stream.id });
    const job = find('palisade_job_stalled', { job_name: 'streams.deliver', code: 'holder_gone' });
    const dead = find('palisade_audit_stream_dead_letter', { stream_id: wrongToken.body.stream.id });
    const unsealed = find('palisade_audit_unsealed_oldest_seconds', {});
    assert.equal(unsealed.value, 300, 'the oldest unsealed event is 5 minutes old');
    assert.equal(find('palisade_audit_unsealed_events', {}).value, 1);
    const expected = [
      { alert: 'PalisadeAuditStreamStalled', series: stalled, value: 1 },
      { alert: 'PalisadeAuditStreamLagGrowing', series: lag, value: lag.value + 500 * 15 },
      { alert: 'PalisadeJobStalled', series: job, value: 1 },
      { alert: 'PalisadeAuditStreamDeadLetter', series: dead, value: 1 },
      { alert: 'PalisadeAuditSealingBehind', series: unsealed, value: 300 },
    ];
    if (sqlite) {
      const writable = find('palisade_storage_writable', {});
      assert.equal(writable.value, 0, 'the read-only database is seen by the storage probe');
      assert.equal(find('palisade_storage_fault', { cause: 'read_only' }).value, 1);
      expected.push({ alert: 'PalisadeStorageUnwritable', series: writable, value: 0 });
    }
    const r = promtool(series, (s) => s === lag, expected);
    assert.ok(r.ok, r.out);
  });

  test('recovered: the same series after delivery caught up and the event was sealed raise no alert', async () => {
    t.clock.advance(60_000);
    assert.equal(await sealOrganization(t.db.database.db, lagOrgId), 1);
    const r0 = await createScheduler({ db: t.db.database.db, clock: t.clock, config: t.config }).runNow(
      'streams.deliver',
    );
    assert.equal(r0.status, 'succeeded');
    await t.db.database.db
      .updateTable('audit_streams')
      .set({ status: 'paused' })
      .where('status', '=', 'dead_letter')
      .execute();
    const series = scrape((await t.app.inject({ method: 'GET', url: '/metrics' })).body);
    assert.ok(
      series.some((s) => s.name === 'palisade_audit_stream_stalled'),
      'the stream gauges are still exposed',
    );
    assert.equal(series.find((s) => s.name === 'palisade_audit_unsealed_oldest_seconds')?.value, 0);
    const r = promtool(series, () => false, []);
    assert.ok(r.ok, r.out);
  });
});
