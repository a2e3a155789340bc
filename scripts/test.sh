#!/usr/bin/env bash
# Palisade's one test command: installs what the tests need when it is missing, builds, type-checks,
# then runs the whole suite on SQLite and again on PostgreSQL.
#   bash scripts/test.sh            both dialects
#   TEST_DIALECTS=sqlite bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n=== %s\n' "$*"; }
export DEBIAN_FRONTEND=noninteractive
PG_URL="${PALISADE_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
export PALISADE_TEST_PG_URL="$PG_URL"

# --- Debian peers the tests talk to (installed only when missing; needs root, as on CI) -------------
APT_PACKAGES=()
need_pkg() { dpkg -s "$1" >/dev/null 2>&1 || APT_PACKAGES+=("$1"); }
need_pkg postgresql
need_pkg dnsmasq-base   # a real DNS server for the domain-verification tests
need_pkg knot   # an authoritative DNS server with zone files (CNAME into another zone, many TXT records)
need_pkg openssl   # test/sso: self-signed IdP test certificates
need_pkg xmlsec1   # test/sso: an independent XML signer and verifier for SAML responses
need_pkg softhsm2
need_pkg rsyslog          # test/streams: a real syslog receiver (TCP and TLS)
need_pkg rsyslog-gnutls
need_pkg opensmtpd        # test/email: a real MTA delivering into a Maildir
need_pkg git              # test/github: repositories served by git http-backend and fetched with git
need_pkg jq               # test/docs: the runnable blocks of the guides read JSON answers with jq
need_pkg chromium         # test/web: the admin console driven by playwright-core in a real browser
need_pkg fonts-liberation # test/web: text in the console's screenshots and axe-core's contrast checks
if [ "${#APT_PACKAGES[@]}" -gt 0 ]; then
  log "installing Debian packages: ${APT_PACKAGES[*]}"
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null
fi
# promtool (Debian package prometheus) checks and unit-tests deploy/prometheus/palisade-alerts.yml
# (test/health/alerts.test.ts). Only the tool is wanted: the package's daemon is kept from starting.
if ! command -v promtool >/dev/null 2>&1; then
  log "installing prometheus (for promtool)"
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1; fi
  apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  if [ "$own_policy" -eq 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

# --- PostgreSQL on 127.0.0.1:5432 with a database "test" -------------------------------------------
pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432; }
if [[ "${TEST_DIALECTS:-sqlite postgres}" == *postgres* ]] && ! pg_ready; then
  log "starting PostgreSQL"
  cluster=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$cluster" main start || true
  for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
  pg_ready || { echo "PostgreSQL did not start on 127.0.0.1:5432; see /var/log/postgresql" >&2; exit 1; }
  # A fresh cluster: trust local TCP connections and create the test database.
  su postgres -c "psql -tAc \"select 1 from pg_database where datname='test'\"" | grep -q 1 || su postgres -c "createdb test"
fi

# --- npm dependencies from the lockfile ---------------------------------------------------------------
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund
fi

log "build and type-check (server, then the admin console: web/ -> dist/web)"
npx tsc -p tsconfig.json
npx tsc -p web/tsconfig.json
npx vite build --config web/vite.config.ts --logLevel warn

log "formatting (Prettier; npm run format fixes it)"
npm run --silent format:check >/dev/null || { npm run --silent format:check 2>&1 | tail -n 20; echo "some files are not formatted: run npm run format" >&2; exit 1; }

log "docs site (VitePress; a broken internal link fails the build)"
npx vitepress build docs >/dev/null

mapfile -t FILES < <(find test -name '*.test.ts' | sort)
total_pass=0; total_fail=0
for dialect in ${TEST_DIALECTS:-sqlite postgres}; do
  log "test suite on $dialect (${#FILES[@]} files)"
  out=$(mktemp)
  # On SQLite every test app also logs at trace into one file, grepped below for credentials.
  logs=""
  if [ "$dialect" = sqlite ]; then logs=$(mktemp); fi
  set +e
  PALISADE_TEST_LOG_FILE="$logs" PALISADE_TEST_DB=$dialect node --import tsx --test --test-concurrency=2 --test-reporter=spec "${FILES[@]}" 2>&1 | tee "$out"
  status=${PIPESTATUS[0]}
  set -e
  if [ -n "$logs" ]; then
    lines=$(wc -l < "$logs")
    leaks=$(grep -cE 'pls_(ses|pat|lnk|scim|gwk|cmp|nwh)_[A-Za-z0-9_-]{20}|correct horse battery staple' "$logs" || true)
    echo "secret scan of $lines trace log lines: $leaks line(s) with a credential"
    if [ "$lines" -lt 1000 ] || [ "$leaks" -ne 0 ]; then
      grep -nE 'pls_(ses|pat|lnk|scim|gwk|cmp|nwh)_[A-Za-z0-9_-]{20}|correct horse battery staple' "$logs" | head -n 5 | cut -c1-400 >&2
      echo "$dialect: the trace logs of the run contain credentials (or too few lines were logged to tell)" >&2
      total_fail=$((total_fail + 1))
    fi
    rm -f "$logs"
  fi
  pass=$(grep -E '^ℹ pass [0-9]+' "$out" | tail -n1 | awk '{print $3}'); pass=${pass:-0}
  fail=$(grep -E '^ℹ fail [0-9]+' "$out" | tail -n1 | awk '{print $3}'); fail=${fail:-0}
  rm -f "$out"
  echo "$dialect: $pass passed, $fail failed"
  total_pass=$((total_pass + pass)); total_fail=$((total_fail + fail))
  if [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then total_fail=$((total_fail + 1)); echo "$dialect: the test runner exited with $status" >&2; fi
done

# Every benchmark, with tiny sizes, on the dialects tested: `npm run bench` must keep running to the end.
log "benchmark smoke run (BENCH_SMOKE=1 npm run bench)"
if ! BENCH_SMOKE=1 BENCH_DIALECTS="${TEST_DIALECTS:-sqlite postgres}" npm run --silent bench; then
  echo "bench: a benchmark failed (BENCH_SMOKE=1 npm run bench)" >&2
  total_fail=$((total_fail + 1))
fi

echo
echo "total: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ] && [ "$total_pass" -gt 0 ]
