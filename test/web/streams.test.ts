import assert from 'node:assert/strict';
import { type IncomingMessage, type Server, createServer } from 'node:http';
import { type Server as TcpServer, createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type ConsoleWorld, E2E_SKIP, checkAccessibility, screenshot, signIn, startConsoleWorld } from './harness.js';

/**
 * A local HTTP receiver standing in for a SIEM's intake (labelled as such: it accepts or refuses
 * as the test tells it, and keeps what it was sent), and a TCP listener for syslog.
 */
interface Receiver {
  url: string;
  status: number;
  answer: string;
  bodies: string[];
  close(): Promise<void>;
}
async function startReceiver(): Promise<Receiver> {
  const r = { status: 200, answer: 'accepted by the test receiver', bodies: [] as string[] };
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      r.bodies.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(r.status, { 'content-type': 'text/plain' }).end(r.answer);
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return Object.assign(r, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  });
}

interface Stream {
  id: string;
  name: string;
  kind: string;
  format: string;
  status: string;
  settings: Record<string, unknown>;
  health: { state: string; lag: number };
}

describe('console: SIEM streams', { skip: E2E_SKIP }, () => {
  let w: ConsoleWorld;
  let receiver: Receiver;
  let syslog: TcpServer;
  let syslogPort: number;
  const syslogData: string[] = [];
  before(async () => {
    receiver = await startReceiver();
    syslog = createTcpServer((sock) => sock.on('data', (d) => syslogData.push(d.toString('utf8'))));
    await new Promise<void>((ok) => syslog.listen(0, '127.0.0.1', ok));
    syslogPort = (syslog.address() as AddressInfo).port;
    // A lab receiver on plain http:// (allowed by the installation), and delivery every second.
    w = await startConsoleWorld({
      PALISADE_AUDIT_STREAMS_ALLOW_HTTP: 'true',
      PALISADE_AUDIT_STREAM_INTERVAL_SECONDS: '1',
    });
  });
  after(async () => {
    await w?.close();
    await receiver?.close();
    await new Promise<void>((ok) => (syslog ? syslog.close(() => ok()) : ok()));
  });

  const streams = async () =>
    (await w.api<{ data: Stream[] }>('GET', `/api/v1/orgs/${w.orgId}/audit-streams`)).body.data;

  test("a webhook: added through the form, tested with the receiver's answer, dead-lettered by a refusal, retried", async () => {
    const { page, problems } = await w.newPage();
    await page.goto(`/orgs/${w.orgId}/streams`);
    await signIn(page);
    await page.getByText('No destination yet').waitFor();
    await page.getByRole('link', { name: 'Add destination' }).click();
    await page.getByRole('heading', { name: 'Add a SIEM destination' }).waitFor();

    // The form says what is missing before anything is sent.
    await page.getByRole('button', { name: 'Add destination' }).click();
    await page.getByText('Name the destination.').waitFor();
    await page.getByText('A webhook URL.').waitFor();
    assert.deepEqual(await streams(), [], 'nothing sent');

    await page.getByLabel(/^Name/).fill('Lab webhook');
    await page.getByLabel(/^URL/).fill(`${receiver.url}/hook`);
    await page.getByRole('button', { name: 'Add destination' }).click();
    const secret = (await page.getByTestId('webhook-secret-value').innerText()).trim();
    assert.match(secret, /^whsec_/);
    const [made] = await streams();
    assert.deepEqual([made!.name, made!.kind, made!.settings.url], ['Lab webhook', 'webhook', `${receiver.url}/hook`]);
    await page.getByRole('link', { name: 'Open the destination' }).click();
    await page.getByRole('heading', { name: 'Lab webhook' }).waitFor();

    // The test event and the receiver's exact answer.
    receiver.bodies.length = 0;
    await page.getByRole('button', { name: 'Send test event' }).click();
    const result = page.getByTestId('test-result');
    await result.getByText('The receiver accepted the test event (HTTP 200)').waitFor();
    assert.equal(await page.getByTestId('test-response').innerText(), 'accepted by the test receiver');
    assert.ok(
      receiver.bodies.some((b) => b.includes('stream.test_sent')),
      'the receiver got the test event',
    );

    // The receiver starts refusing: a permanent refusal sends the destination to dead letter.
    receiver.status = 400;
    receiver.answer = 'refused: unknown index';
    await page.getByLabel(/^Name/).fill('Lab webhook (EU)');
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.locator('[data-state="dead_letter"]').waitFor({ timeout: 20_000 });
    await page
      .getByText(/refused: unknown index/)
      .first()
      .waitFor();
    const dead = (await streams())[0]!;
    assert.equal(dead.status, 'dead_letter');
    assert.ok(dead.health.lag > 0, 'events wait');
    await checkAccessibility(page, 'a dead-lettered destination');
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, 'stream-dead-letter');

    // Fixed: retry resumes from the cursor, and everything waiting arrives.
    receiver.status = 200;
    receiver.answer = 'ok';
    receiver.bodies.length = 0;
    await page.getByRole('button', { name: 'Retry from dead letter' }).click();
    await page.locator('[data-state="healthy"]').waitFor({ timeout: 20_000 });
    await page.locator('[data-field="Lag"]', { hasText: /^0 events waiting/ }).waitFor();
    const healthy = (await streams())[0]!;
    assert.deepEqual([healthy.status, healthy.health.state, healthy.health.lag], ['active', 'healthy', 0]);
    assert.ok(
      receiver.bodies.some((b) => b.includes('stream.updated')),
      'the waiting events were delivered',
    );

    await page.getByRole('button', { name: 'Pause delivery' }).click();
    await page.locator('[data-state="paused"]').waitFor();
    assert.equal((await streams())[0]!.status, 'paused');
    await page.getByRole('button', { name: 'Resume delivery' }).click();
    await page.getByRole('button', { name: 'Pause delivery' }).waitFor();
    assert.equal((await streams())[0]!.status, 'active');

    // A new signing secret, after confirming, shown once; the stored one changes with it.
    await page.getByRole('button', { name: 'Rotate the signing secret…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Rotate secret' }).click();
    const rotated = (await page.getByTestId('new-webhook-secret').locator('code').innerText()).trim();
    assert.match(rotated, /^whsec_/);
    assert.notEqual(rotated, secret);
    const hint = (await w.api<{ secretHint: string }>('GET', `/api/v1/orgs/${w.orgId}/audit-streams/${made!.id}`)).body
      .secretHint;
    assert.equal(hint, `…${rotated.slice(-4)}`);
    assert.deepEqual(problems.list, []);
  });

  test('each other kind through the form (Splunk HEC, Datadog, syslog TCP and TLS); a syslog test; delete', async () => {
    const { page, problems } = await w.newPage();
    await page.goto(`/orgs/${w.orgId}/streams/new`);
    await signIn(page);
    await page.getByRole('heading', { name: 'Add a SIEM destination' }).waitFor();
    const add = async (kind: string, fill: Record<string, string>) => {
      await page.goto(`/orgs/${w.orgId}/streams/new`);
      await page.getByRole('radio', { name: kind }).check();
      for (const [label, value] of Object.entries(fill)) await page.getByLabel(new RegExp(`^${label}`)).fill(value);
      await page.getByRole('button', { name: 'Add destination' }).click();
      await page.getByRole('heading', { name: 'Destination added' }).waitFor();
    };
    // A token that is too short is refused on the page.
    await page.getByRole('radio', { name: 'Splunk HEC' }).check();
    await page.getByLabel(/^Name/).fill('Splunk');
    await page.getByLabel(/^URL/).fill(`${receiver.url}/hec`);
    await page.getByLabel(/^HEC token/).fill('short');
    await page.getByRole('button', { name: 'Add destination' }).click();
    await page.getByText('The HEC token (8 to 500 characters).').waitFor();

    // What only the server knows (its outbound policy) comes back as its message and request id.
    await page.getByRole('radio', { name: 'Webhook' }).check();
    await page.getByLabel(/^Name/).fill('Metadata');
    await page.getByLabel(/^URL/).fill('http://169.254.169.254/latest');
    await page.getByRole('button', { name: 'Add destination' }).click();
    const refusal = page.getByTestId('api-error');
    await refusal.getByText(/Palisade refused to connect to .*169\.254\.169\.254/).waitFor();
    await refusal.getByText('destination_address_denied').waitFor();
    assert.ok((await refusal.getByTestId('request-id').innerText()).length > 0, 'with its request id');

    await add('Splunk HEC', {
      Name: 'Splunk',
      URL: `${receiver.url}/hec`,
      'HEC token': 'hec-0f3c6c1e-5d0b',
      Index: 'security',
    });
    await add('Datadog', {
      Name: 'Datadog',
      URL: `${receiver.url}/api/v2/logs`,
      'Datadog API key': 'dd-key-0123456789',
      Service: 'palisade',
    });
    await add('Syslog over TCP', { Name: 'Rsyslog', Host: '127.0.0.1', Port: String(syslogPort) });
    await add('Syslog over TLS', {
      Name: 'Syslog TLS',
      Host: '127.0.0.1',
      Port: '6514',
      'Server name': 'siem.example',
    });

    const all = await streams();
    const by = (name: string) => all.find((s) => s.name === name)!;
    assert.deepEqual(by('Splunk').settings, { url: `${receiver.url}/hec`, index: 'security' });
    assert.equal(by('Splunk').kind, 'splunk_hec');
    assert.deepEqual(by('Datadog').settings, { url: `${receiver.url}/api/v2/logs`, service: 'palisade' });
    assert.deepEqual(by('Rsyslog').settings, { host: '127.0.0.1', port: syslogPort });
    assert.deepEqual([by('Syslog TLS').kind, by('Syslog TLS').settings.serverName], ['syslog_tls', 'siem.example']);

    // Splunk: a new HEC token replaces the stored one (write-only: only its hint shows).
    await page.goto(`/orgs/${w.orgId}/streams/${by('Splunk').id}`);
    await page.getByLabel(/^New HEC token/).fill('hec-rotated-99887766');
    await page.getByRole('button', { name: 'Replace' }).click();
    await page.getByText('Credential replaced').waitFor();
    const splunk = await w.api<{ secretHint: string }>(
      'GET',
      `/api/v1/orgs/${w.orgId}/audit-streams/${by('Splunk').id}`,
    );
    assert.equal(splunk.body.secretHint, '…7766');

    // Syslog: the test event arrives at the TCP listener.
    await page.goto(`/orgs/${w.orgId}/streams/${by('Rsyslog').id}`);
    await page.getByRole('button', { name: 'Send test event' }).click();
    await page.getByTestId('test-result').getByText('The receiver accepted the test event').waitFor();
    assert.ok(syslogData.join('').includes('stream.test_sent'));

    await page.goto(`/orgs/${w.orgId}/streams`);
    await page.locator(`tr[data-stream="${by('Syslog TLS').id}"]`).waitFor();
    await checkAccessibility(page, 'the SIEM streams list');
    await screenshot(page, 'streams');

    await page.getByRole('link', { name: 'Syslog TLS' }).click();
    await page.getByRole('button', { name: 'Delete destination…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete destination' }).click();
    await page.getByRole('heading', { name: 'SIEM streams' }).waitFor();
    assert.equal(
      (await streams()).find((s) => s.name === 'Syslog TLS'),
      undefined,
      'deleted',
    );
    assert.deepEqual(problems.list, []);
  });
});
