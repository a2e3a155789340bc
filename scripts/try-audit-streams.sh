#!/usr/bin/env bash
# Try Palisade's audit streams end to end, as a new administrator would, on this machine only.
#
#   bash scripts/try-audit-streams.sh            (TRY_KEEP=1 keeps the temporary directory)
#
# It builds Palisade, starts it on a free loopback port with embedded SQLite in a temporary
# directory, starts two real rsyslogd receivers (plain TCP, and TLS with a CA made by openssl) and a
# small webhook receiver that checks the signature as docs/audit-streams.md says, creates three OCSF
# destinations through the HTTP API, generates activity, stops the receivers, generates more,
# restarts them, and checks that every event arrived exactly once, in order, as OCSF. Then it exports
# the audit log as CSV (API and CLI), tampers with copies and checks that `palisade audit verify
# --file` names each change. It prints PASS/FAIL per check and exits 1 if any check failed.
# Needs: Node.js 20 with this repository's node_modules (npm ci), curl, openssl, rsyslog and
# rsyslog-gnutls (Debian: apt-get install rsyslog rsyslog-gnutls). No network beyond loopback.
# Not part of the test suite.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/palisade-try-XXXXXX")"
PIDS=()
PASSED=0
FAILED=0

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  if [ "${TRY_KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { PASSED=$((PASSED + 1)); printf 'PASS  %s\n' "$*"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL  %s\n' "$*"; }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
die() {
  fail "$*"
  [ -f "$WORK/palisade.log" ] && { echo '--- last lines of the Palisade log:'; tail -n 20 "$WORK/palisade.log"; }
  echo "$PASSED passed, $FAILED failed"
  exit 1
}
step() { printf '\n== %s\n' "$*"; }
# JSON from stdin, one JavaScript expression over `d`: strings print raw, the rest as JSON.
js() { node -e 'const d = JSON.parse(require("fs").readFileSync(0, "utf8")); const v = (0, eval)("(d) => (" + process.argv[1] + ")")(d); console.log(typeof v === "string" ? v : JSON.stringify(v));' "$1"; }
free_port() { node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'; }
wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# --- prerequisites -----------------------------------------------------------------------------------
step "prerequisites"
RSYSLOGD="$(command -v rsyslogd || echo /usr/sbin/rsyslogd)"
[ -x "$RSYSLOGD" ] || die "rsyslogd is not installed (Debian: apt-get install rsyslog rsyslog-gnutls)"
compgen -G '/usr/lib/*/rsyslog/lmnsd_gtls.so' >/dev/null || compgen -G '/usr/lib*/rsyslog/lmnsd_gtls.so' >/dev/null || die "rsyslog's TLS driver is missing (Debian: apt-get install rsyslog-gnutls)"
for tool in node curl openssl; do command -v "$tool" >/dev/null || die "$tool is not installed"; done
[ -d "$ROOT/node_modules" ] || die "run 'npm ci' in $ROOT first (the README's first command)"
if [ "${TRY_SKIP_BUILD:-0}" != 1 ]; then
  (cd "$ROOT" && npm run --silent build >"$WORK/build.log" 2>&1) || { cat "$WORK/build.log"; die "npm run build failed"; }
fi
pass "built Palisade; working in $WORK"
PALISADE=(node "$ROOT/dist/src/cli.js")

PORT=$(free_port); TCP_PORT=$(free_port); TLS_PORT=$(free_port); HOOK_PORT=$(free_port)
export DATABASE_URL="sqlite:$WORK/data/palisade.db" PALISADE_PORT="$PORT" PALISADE_HOST=127.0.0.1
export PALISADE_AUDIT_STREAMS_ALLOW_HTTP=true   # the webhook receiver below is plain http on loopback
export PALISADE_OUTBOUND_ALLOW_CIDRS=127.0.0.1/32 # the receivers are on this machine; loopback is refused by default
export PALISADE_AUDIT_STREAM_INTERVAL_SECONDS=1 PALISADE_LOG_LEVEL=warn
B="http://127.0.0.1:$PORT"

# --- Palisade: init, serve, set the owner's password, an API token ------------------------------------
step "Palisade on $B (SQLite in $WORK/data)"
"${PALISADE[@]}" init --org "Acme" --email admin@acme.example >"$WORK/init.txt" 2>&1 || { cat "$WORK/init.txt"; die "palisade init failed"; }
SETUP_TOKEN=$(grep -o 'pls_lnk_[A-Za-z0-9_-]*' "$WORK/init.txt" | head -n1)
ORG=$(grep -o 'org_[a-z0-9]*' "$WORK/init.txt" | head -n1)
[ -n "$SETUP_TOKEN" ] && [ -n "$ORG" ] || die "palisade init printed no setup link: $(cat "$WORK/init.txt")"
"${PALISADE[@]}" serve >"$WORK/palisade.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do curl -sf "$B/readyz" >/dev/null && break; sleep 0.2; done
curl -sf "$B/readyz" >/dev/null || die "Palisade did not become ready"
PASSWORD='try-audit-streams-Passw0rd!'
curl -sS -c "$WORK/jar" -H 'content-type: application/json' -d "{\"token\":\"$SETUP_TOKEN\",\"password\":\"$PASSWORD\"}" "$B/api/v1/auth/setup-password" >"$WORK/setup.json"
CSRF=$(js d.csrfToken <"$WORK/setup.json")
[ -n "$CSRF" ] && [ "$CSRF" != undefined ] || die "setting the owner's password failed: $(cat "$WORK/setup.json")"
TOKEN=$(curl -sS -b "$WORK/jar" -H "x-csrf-token: $CSRF" -H 'content-type: application/json' -d '{"name":"try-audit-streams"}' "$B/api/v1/me/tokens" | js d.token)
[[ "$TOKEN" == pls_pat_* ]] || die "could not create an API token"
pass "init, setup link redeemed, API token created (org $ORG)"
api() { curl -sS -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' "$@"; }
apinobody() { curl -sS -H "authorization: Bearer $TOKEN" "$@"; }

# --- receivers ---------------------------------------------------------------------------------------
step "receivers: rsyslogd TCP :$TCP_PORT, rsyslogd TLS :$TLS_PORT, webhook :$HOOK_PORT"
mkdir -p "$WORK/tcp" "$WORK/tls"
(
  cd "$WORK/tls" || exit 1
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 2 -subj '/CN=Try CA' &&
    openssl req -newkey rsa:2048 -nodes -keyout key.pem -out req.pem -subj '/CN=localhost' &&
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >ext.cnf &&
    openssl x509 -req -in req.pem -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out cert.pem -days 2 -extfile ext.cnf
) >"$WORK/openssl.log" 2>&1 || { cat "$WORK/openssl.log"; die "openssl could not make the test CA"; }
rsyslog_conf() { # name port tls?
  local d="$WORK/$1" tlsg='' tlsm=''
  if [ "$3" = tls ]; then
    tlsg="global(DefaultNetstreamDriver=\"gtls\" DefaultNetstreamDriverCAFile=\"$d/ca.pem\" DefaultNetstreamDriverCertFile=\"$d/cert.pem\" DefaultNetstreamDriverKeyFile=\"$d/key.pem\")"
    tlsm=' StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon"'
  fi
  cat >"$d/rsyslog.conf" <<EOF
global(workDirectory="$d")
$tlsg
module(load="imtcp"$tlsm)
input(type="imtcp" port="$2" address="127.0.0.1" ruleset="palisade")
template(name="rec" type="string" string="%msgid%\t%structured-data%\t%msg%\n")
ruleset(name="palisade") { action(type="omfile" file="$d/received.log" template="rec") }
EOF
}
rsyslog_conf tcp "$TCP_PORT" plain
rsyslog_conf tls "$TLS_PORT" tls
cat >"$WORK/hook.mjs" <<'EOF'
// A webhook receiver that checks Palisade-Signature exactly as docs/audit-streams.md says.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
const [port, secretFile, outFile] = process.argv.slice(2);
http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const rawBody = Buffer.concat(chunks).toString('utf8');
    try {
      const secret = fs.readFileSync(secretFile, 'utf8').trim();
      const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(req.headers['palisade-signature'] ?? '');
      if (!m) throw new Error('no signature');
      const [, t, v1] = m;
      if (Math.abs(Date.now() / 1000 - Number(t)) > 300) throw new Error('stale');
      const mac = crypto.createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
      if (!crypto.timingSafeEqual(mac, Buffer.from(v1, 'hex'))) throw new Error('bad signature');
      for (const e of JSON.parse(rawBody).events) fs.appendFileSync(outFile, JSON.stringify(e) + '\n');
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    } catch (err) {
      fs.appendFileSync(`${outFile}.rejected`, `${err.message}\n`);
      res.writeHead(401, { 'content-type': 'text/plain' }).end(err.message);
    }
  });
}).listen(Number(port), '127.0.0.1');
EOF
: >"$WORK/hook.secret"
TCP_PID='' TLS_PID='' HOOK_PID=''
start_receivers() {
  "$RSYSLOGD" -n -f "$WORK/tcp/rsyslog.conf" -i "$WORK/tcp/rsyslogd.pid" >>"$WORK/tcp/rsyslogd.log" 2>&1 &
  TCP_PID=$!; PIDS+=("$TCP_PID")
  "$RSYSLOGD" -n -f "$WORK/tls/rsyslog.conf" -i "$WORK/tls/rsyslogd.pid" >>"$WORK/tls/rsyslogd.log" 2>&1 &
  TLS_PID=$!; PIDS+=("$TLS_PID")
  node "$WORK/hook.mjs" "$HOOK_PORT" "$WORK/hook.secret" "$WORK/hook.ndjson" >>"$WORK/hook.log" 2>&1 &
  HOOK_PID=$!; PIDS+=("$HOOK_PID")
  wait_port "$TCP_PORT" && wait_port "$TLS_PORT" && wait_port "$HOOK_PORT"
}
stop_receivers() {
  kill "$TCP_PID" "$TLS_PID" "$HOOK_PID" 2>/dev/null
  wait "$TCP_PID" "$TLS_PID" "$HOOK_PID" 2>/dev/null
  true
}
start_receivers || die "a receiver did not start (see $WORK/tcp/rsyslogd.log, $WORK/tls/rsyslogd.log, $WORK/hook.log)"
pass "rsyslogd (TCP), rsyslogd (TLS, gtls) and the webhook receiver listen"

# --- destinations (OCSF) -----------------------------------------------------------------------------
step "destinations"
api -d "{\"name\":\"rsyslog tcp\",\"kind\":\"syslog_tcp\",\"format\":\"ocsf\",\"host\":\"127.0.0.1\",\"port\":$TCP_PORT}" "$B/api/v1/orgs/$ORG/audit-streams" >"$WORK/tcp/stream.json"
CA_JSON=$(node -e 'console.log(JSON.stringify(require("fs").readFileSync(process.argv[1], "utf8")))' "$WORK/tls/ca.pem")
api -d "{\"name\":\"rsyslog tls\",\"kind\":\"syslog_tls\",\"format\":\"ocsf\",\"host\":\"127.0.0.1\",\"port\":$TLS_PORT,\"caPem\":$CA_JSON}" "$B/api/v1/orgs/$ORG/audit-streams" >"$WORK/tls/stream.json"
mkdir -p "$WORK/hook"
api -d "{\"name\":\"webhook\",\"kind\":\"webhook\",\"format\":\"ocsf\",\"url\":\"http://127.0.0.1:$HOOK_PORT/palisade\"}" "$B/api/v1/orgs/$ORG/audit-streams" >"$WORK/hook/stream.json"
js d.webhookSecret <"$WORK/hook/stream.json" >"$WORK/hook.secret"
for d in tcp tls hook; do
  id=$(js 'd.stream && d.stream.id' <"$WORK/$d/stream.json")
  [[ "$id" == ast_* ]] || die "creating the $d destination failed: $(cat "$WORK/$d/stream.json")"
  printf -v "ID_$d" '%s' "$id"
done
check "three OCSF destinations created; the webhook secret is shown once" grep -q '^whsec_' "$WORK/hook.secret"
for d in tcp tls hook; do
  id_var="ID_$d"
  apinobody -X POST "$B/api/v1/orgs/$ORG/audit-streams/${!id_var}/test" >"$WORK/$d/test.json"
  check "send test event ($d): $(js 'd.ok ? (d.response || d.status) : d.error' <"$WORK/$d/test.json")" test "$(js d.ok <"$WORK/$d/test.json")" = true
done

# --- activity, with every receiver up ----------------------------------------------------------------
activity() { # tag
  local inv mid
  inv=$(api -d "{\"email\":\"bob-$1@acme.example\",\"role\":\"member\"}" "$B/api/v1/orgs/$ORG/members")
  mid=$(echo "$inv" | js d.member.id)
  api -X PATCH -d '{"role":"admin"}' "$B/api/v1/orgs/$ORG/members/$mid" >/dev/null
  api -d "{\"email\":\"carol-$1@acme.example\",\"role\":\"member\"}" "$B/api/v1/orgs/$ORG/members" >/dev/null
  curl -sS -o /dev/null -H 'content-type: application/json' -d '{"email":"admin@acme.example","password":"not-the-password"}' "$B/api/v1/auth/login"
  api -X PUT -d "{\"retentionDays\":$((90 + ${#1}))}" "$B/api/v1/orgs/$ORG/audit-settings" >/dev/null
  api -X PATCH -d '{"noTraining":true}' "$B/api/v1/orgs/$ORG/workspace/settings" >/dev/null
  api -X DELETE "$B/api/v1/orgs/$ORG/members/$mid" >/dev/null
}
streams() { apinobody "$B/api/v1/orgs/$ORG/audit-streams"; }
# Waits until every destination is healthy with lag 0 (twice in a row: a recovery event adds one).
wait_drained() {
  local deadline=$((SECONDS + ${1:-60})) ok=0
  while [ $SECONDS -lt $deadline ]; do
    if [ "$(streams | js 'd.data.every((s) => s.health.lag === 0 && s.health.state === "healthy")')" = true ]; then
      ok=$((ok + 1)); [ $ok -ge 2 ] && return 0
    else ok=0; fi
    sleep 1
  done
  streams | js 'd.data.map((s) => [s.name, s.health.state, s.health.lag, s.health.lastError])'
  return 1
}
step "activity with the receivers up"
activity one
check "every destination caught up (lag 0, healthy)" wait_drained 30

# --- outage ------------------------------------------------------------------------------------------
step "outage: receivers stopped"
stop_receivers
activity two
wait_failing() {
  local deadline=$((SECONDS + 30))
  while [ $SECONDS -lt $deadline ]; do
    [ "$(streams | js 'd.data.every((s) => s.health.consecutiveFailures >= 1 && s.health.lag > 0 && s.health.lastError !== null && s.health.state !== "healthy")')" = true ] && return 0
    sleep 1
  done
  return 1
}
check "health shows the failure and the lag for every destination" wait_failing
streams | js 'd.data.map((s) => `      ${s.name}: state=${s.health.state} lag=${s.health.lag} failures=${s.health.consecutiveFailures} lastError=${s.health.lastError}`).join("\n")'
activity three

step "receivers restarted"
start_receivers || die "a receiver did not restart"
"${PALISADE[@]}" jobs run streams.deliver | sed 's/^/      /'
check "every destination recovered and caught up (lag 0, healthy)" wait_drained 90

# --- what arrived ------------------------------------------------------------------------------------
step "what arrived"
apinobody "$B/api/v1/orgs/$ORG/audit-events/export?format=ndjson" >"$WORK/chain.ndjson"
cat >"$WORK/check.mjs" <<'EOF'
// Compares what each receiver got with the audit chain: exactly once, in seq order, valid OCSF.
import fs from 'node:fs';
const [work] = process.argv.slice(2);
const lines = (f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean) : []);
const chain = lines(`${work}/chain.ndjson`).map((l) => JSON.parse(l));
const bySeq = new Map(chain.map((e) => [e.seq, e]));
const lastSeq = chain[chain.length - 1].seq;
const results = [];
const check = (name, ok, detail = '') => results.push({ name, ok, detail });
const expectClass = {
  'member.invited': [3001, 1], 'member.role_changed': [3001, 7], 'member.removed': [3001, 6],
  'auth.login_failed': [3002, 1], 'audit.retention_changed': [6003, 3], 'workspace.settings_updated': [6003, 3],
  'stream.created': [6003, 1], 'stream.delivery_failed': [6003, 3], 'stream.recovered': [6003, 3],
};
for (const d of ['tcp', 'tls', 'hook']) {
  const stream = JSON.parse(fs.readFileSync(`${work}/${d}/stream.json`, 'utf8')).stream;
  const raw = d === 'hook'
    ? lines(`${work}/hook.ndjson`).map((l) => ({ ocsf: JSON.parse(l) }))
    : lines(`${work}/${d}/received.log`).map((l) => {
        const [msgid, sd, ...msg] = l.split('\t');
        return { msgid, sd, ocsf: JSON.parse(msg.join('\t').replace(/^\uFEFF/, '')) };
      });
  const real = raw.filter((r) => r.ocsf.metadata.sequence !== 0); // seq 0: "send test event"
  const want = chain.filter((e) => e.seq > stream.health.cursorSeq);
  const got = real.filter((r) => r.ocsf.metadata.sequence <= lastSeq);
  const ids = got.map((r) => r.ocsf.metadata.uid);
  const dups = ids.length - new Set(ids).size;
  const seqs = real.map((r) => r.ocsf.metadata.sequence);
  const ordered = seqs.every((s, i) => i === 0 || s > seqs[i - 1]);
  const missing = want.filter((e) => !ids.includes(e.id)).map((e) => e.seq);
  check(`${d}: every event arrived exactly once (${got.length} of ${want.length}, seq ${want[0]?.seq}–${lastSeq})`, missing.length === 0 && dups === 0 && got.length === want.length, missing.length ? `missing seq ${missing.join(',')}` : dups ? `${dups} duplicates` : '');
  check(`${d}: in seq order`, ordered, ordered ? '' : seqs.join(','));
  const problems = [];
  for (const r of got) {
    const o = r.ocsf;
    const e = bySeq.get(o.metadata.sequence);
    const p = (why) => problems.push(`seq ${o.metadata.sequence} ${o.message}: ${why}`);
    if (!e) { p('not in the chain'); continue; }
    if (o.metadata.uid !== e.id) p(`metadata.uid ${o.metadata.uid} is not ${e.id}`);
    if (![3001, 3002, 6003].includes(o.class_uid)) p(`class_uid ${o.class_uid}`);
    if (o.category_uid !== (o.class_uid === 6003 ? 6 : 3)) p(`category_uid ${o.category_uid}`);
    if (o.type_uid !== o.class_uid * 100 + o.activity_id) p(`type_uid ${o.type_uid}`);
    if (o.time !== Date.parse(e.occurredAt)) p(`time ${o.time} is not occurredAt ${e.occurredAt}`);
    if (o.metadata.version !== '1.1.0' || o.metadata.product?.vendor_name !== 'Palisade') p('metadata.version/product');
    if (o.metadata.tenant_uid !== e.orgId || o.metadata.correlation_uid !== e.requestId) p('metadata.tenant_uid/correlation_uid');
    if (o.message !== e.action || o.status_id !== (e.outcome === 'success' ? 1 : 2) || o.severity_id !== (e.outcome === 'success' ? 1 : 3)) p('message/status_id/severity_id');
    if (o.unmapped?.hash !== e.hash) p('unmapped.hash');
    const want = expectClass[e.action];
    if (want && (o.class_uid !== want[0] || o.activity_id !== want[1])) p(`class ${o.class_uid}/${o.activity_id}, the docs say ${want.join('/')}`);
    if (r.msgid !== undefined && (r.msgid !== e.action.slice(0, 32) || !r.sd.includes(`eventId="${e.id}"`) || !r.sd.includes(`seq="${e.seq}"`))) p(`syslog MSGID/structured data: ${r.msgid} ${r.sd}`);
  }
  check(`${d}: valid OCSF (class_uid, category_uid, type_uid, time, metadata.uid/sequence as documented)`, problems.length === 0, problems.slice(0, 5).join('; '));
  const own = chain.filter((e) => e.targets.some((t) => t.id === stream.id)).map((e) => e.action);
  check(`${d}: the outage and the recovery are audit events (stream.delivery_failed, stream.recovered)`, own.includes('stream.delivery_failed') && own.includes('stream.recovered'), own.join(','));
}
const rejected = lines(`${work}/hook.ndjson.rejected`);
check('webhook: every request carried a valid Palisade-Signature', rejected.length === 0, rejected.join(','));
for (const r of results) console.log(`${r.ok ? 'PASS' : 'FAIL'}  ${r.name}${r.detail ? `  (${r.detail})` : ''}`);
process.exitCode = results.every((r) => r.ok) ? 0 : 1;
EOF
node "$WORK/check.mjs" "$WORK" >"$WORK/check.txt"
cat "$WORK/check.txt"
PASSED=$((PASSED + $(grep -c '^PASS' "$WORK/check.txt"))); FAILED=$((FAILED + $(grep -c '^FAIL' "$WORK/check.txt")))

# The receiver follows the documented recipe: a forged or replayed request is refused.
sign() { printf '%s.%s' "$1" "$2" | openssl dgst -sha256 -hmac "$3" | sed 's/^.*= //'; }
BODY='{"events":[{"metadata":{"uid":"evt_forged","sequence":1}}]}'
NOW=$(date +%s)
FORGED=$(curl -s -o /dev/null -w '%{http_code}' -H "palisade-signature: t=$NOW,v1=$(sign "$NOW" "$BODY" whsec_not_the_secret)" -d "$BODY" "http://127.0.0.1:$HOOK_PORT/palisade")
OLD=$((NOW - 600))
REPLAYED=$(curl -s -o /dev/null -w '%{http_code}' -H "palisade-signature: t=$OLD,v1=$(sign "$OLD" "$BODY" "$(cat "$WORK/hook.secret")")" -d "$BODY" "http://127.0.0.1:$HOOK_PORT/palisade")
check "webhook receiver (docs recipe) refuses a wrong secret ($FORGED) and a 10-minute-old timestamp ($REPLAYED)" test "$FORGED$REPLAYED" = 401401

# --- CSV export and offline verification -------------------------------------------------------------
step "CSV export and tampering"
apinobody -X POST "$B/api/v1/orgs/$ORG/audit-checkpoints" >/dev/null
apinobody "$B/api/v1/orgs/$ORG/audit-events/export?format=csv" >"$WORK/api.csv"
"${PALISADE[@]}" audit export --org "$ORG" --format csv >"$WORK/cli.csv"
apinobody "$B/api/v1/orgs/$ORG/audit-checkpoints" >"$WORK/checkpoints.json"
verify() { "${PALISADE[@]}" audit verify --file "$1" --checkpoints "$WORK/checkpoints.json" >"$1.verify" 2>&1; }
for f in api cli; do
  verify "$WORK/$f.csv"
  check "$f.csv verifies untouched: $(head -n1 "$WORK/$f.csv.verify")" grep -q '^OK: all .* covered by a signed checkpoint' "$WORK/$f.csv.verify"
done
"${PALISADE[@]}" audit verify --org "$ORG" >"$WORK/db.verify" 2>&1
check "the database chain verifies: $(cat "$WORK/db.verify")" grep -q '^OK' "$WORK/db.verify"
# Three tampered copies of the CLI export, made with plain text tools as someone with a spreadsheet would.
node - "$WORK" <<'EOF'
const fs = require('fs');
const work = process.argv[2];
const [header, ...rows] = fs.readFileSync(`${work}/cli.csv`, 'utf8').trimEnd().split('\n');
if (!rows.every((r) => r.startsWith('"evt_'))) throw new Error('a CSV record spans lines; this script edits line by line');
const id = (r) => r.slice(1, r.indexOf('"', 1));
const seq = (r) => Number(r.split('","')[2]);
const write = (name, list, expect) => {
  fs.writeFileSync(`${work}/${name}.csv`, [header, ...list].join('\n') + '\n');
  fs.writeFileSync(`${work}/${name}.expect`, expect);
};
const e = rows.findIndex((r) => r.includes('"member.role_changed"'));
const edited = [...rows];
edited[e] = edited[e].replace('""to"":""admin""', '""to"":""primary_owner""');
if (edited[e] === rows[e]) throw new Error('no cell to edit');
write('edited', edited, `EDITED ${id(rows[e])}`);
const k = Math.floor(rows.length / 2);
write('deleted', [...rows.slice(0, k), ...rows.slice(k + 1)], `DROPPED before ${id(rows[k + 1])} (record ${k + 1}): Event(s) with seq ${seq(rows[k])} are missing`);
const j = k + 3;
const swapped = [...rows];
[swapped[j], swapped[j + 1]] = [swapped[j + 1], swapped[j]];
write('reordered', swapped, `REORDERED ${id(rows[j + 1])}`);
EOF
for f in edited deleted reordered; do
  verify "$WORK/$f.csv"; code=$?
  sed 's/^/      /' "$WORK/$f.csv.verify"
  check "$f copy: exit 1 and named ($(cat "$WORK/$f.expect"))" test "$code" = 1 -a "$(grep -cF "$(cat "$WORK/$f.expect")" "$WORK/$f.csv.verify")" -ge 1
done

echo
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
