#!/usr/bin/env bash
# `make bench`: the customers page and customer search under load, on this machine.
#
# Builds the release server, makes a scratch database (jasiyo_bench) with the demo ISP and
# BENCH_CUSTOMERS customers (default 100,000), serves it on a free loopback port, signs in 16
# sessions, and drives it with Debian's wrk (1 thread, 16 connections, BENCH_SECONDS per run)
# from the same machine: the first page of /app/customers, a full-name search, a first-name
# search, and /healthz as the reference (the server with no database work). Each run is bounded
# by time; everything stays on 127.0.0.1. Results and the query plans go into BENCHMARKS.md and
# the README's performance section. Run through `make bench` (it provides the database).
# BENCH_KEEP=1 keeps the scratch database for the next run (which then skips the seeding).
#
# Then the billing job: a fresh ISP with BENCH_BILLING_SERVICES (default 100,000) prepaid
# services due for renewal, each customer holding a month's credit; one billing run renews them
# all, and the rows it wrote are copied with a bare COPY into tables with the same columns,
# checks and indexes, in the same run, for the ratio. BENCH_ONLY=customers or BENCH_ONLY=billing
# runs one of the two.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
say() { printf '\033[1m[bench]\033[0m %s\n' "$*" >&2; }

: "${DATABASE_URL:?run through make bench}"
CUSTOMERS=${BENCH_CUSTOMERS:-100000}
SECONDS_PER_RUN=${BENCH_SECONDS:-20}
CONNECTIONS=16
# One load-generator thread drives 16 connections comfortably and leaves the server more of
# the two cores than two threads do.
THREADS=${BENCH_THREADS:-1}

with_db() {
    python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$1" "$2"
}

DATABASE_URL_BASE=$DATABASE_URL
work=$(mktemp -d)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
    [ "${BENCH_KEEP:-}" = 1 ] || psql "$DATABASE_URL_BASE" -qc 'drop database if exists jasiyo_bench with (force)' >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# write_section NAME FILE: puts FILE between <!-- bench:NAME --> markers in BENCHMARKS.md and
# README.md (appending the markers where they are missing), and prints it.
write_section() {
    python3 - "$root" "$1" "$2" <<'PY'
import pathlib, sys
root, name, source = pathlib.Path(sys.argv[1]), sys.argv[2], pathlib.Path(sys.argv[3])
section = source.read_text()
start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
for file in ("BENCHMARKS.md", "README.md"):
    path = root / file
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if start not in text:
        text = text.rstrip() + "\n\n" + start + "\n" + end + "\n"
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(head + start + "\n" + section + end + tail)
print(section)
PY
}

machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
commit=$(git describe --always --dirty 2>/dev/null || echo unknown)

# The billing run against COPY, on its own ISP in the scratch database.
bench_billing() {
    local n=${BENCH_BILLING_SERVICES:-100000}
    say "billing: $n prepaid services due with credit; one billing run, then COPY of the rows it wrote"
    target/release/server bench-billing "$n" >"$work/billing.out"
    python3 - "$work/billing.out" "$work/billing.md" <<PY
import sys
# The figures are the "name=value" lines (log lines may share the output).
import re
figures = dict(re.findall(r"^([a-z_]+)=(\S+)$", open(sys.argv[1]).read(), re.M))
n = int(figures["services"])
tables = [("invoices", "invoices"), ("invoice_lines", "invoice lines"),
          ("ledger_transactions", "journal transactions"), ("ledger_entries", "journal entries"),
          ("services", "services (the expiry move)")]
rows = " · ".join(f"{int(figures['rows_' + t]):,} {label}" for t, label in tables)
total = sum(int(figures["rows_" + t]) for t, _ in tables)
ratio = float(figures["ratio"])
open(sys.argv[2], "w").write(f"""### Billing run against COPY ({n:,} prepaid renewals)

Measured $(date -u +%Y-%m-%d) on commit \`$commit\` with \`make bench\`: the release build, PostgreSQL $(psql "$DATABASE_URL" -Atc 'show server_version'),
on $machine. A fresh ISP with {n:,} customers, each with a prepaid monthly service expiring
within a day and a month's price already paid as credit (seeding and vacuuming took
{figures['seed_seconds']} s, not measured). One billing run (the job the server runs every
minute, batches of 1,000 services, one transaction each) invoiced every service, paid each
invoice from the customer's credit and moved each expiry a month on. The reference is a bare
\`COPY ... FROM STDIN\` of the rows that run wrote, in one transaction, into tables with the same
columns, checks and indexes (no foreign keys, triggers or row-level security): {rows}
({total:,} rows).

| | Time | Per service |
|---|---:|---:|
| Billing run | {figures['run_seconds']} s | {float(figures['run_seconds']) / n * 1e6:.0f} µs |
| Reference: \`COPY\` of the same rows | {figures['copy_seconds']} s | {float(figures['copy_seconds']) / n * 1e6:.0f} µs |
| Ratio (goal: under 3×) | {ratio:.2f}× {'(met)' if ratio < 3 else '(NOT met)'} | |

Beyond storing its rows the run finds and locks the due services, reads each customer's credit,
checks 13 foreign keys per renewal (the invoice's customer and service, the line's invoice and
plan, each journal entry's transaction, customer and invoice), runs the per-statement ledger
balance check and row-level security, and updates each customer's soonest expiry (kept by the
services trigger for the customers list). The foreign-key checks are about a quarter of the run;
they stay, because the ledger is worth more than the time.
""")
PY
    write_section billing "$work/billing.md"
}

export JASIYO_SECRET_KEY=$(head -c 32 /dev/urandom | base64)
export DATABASE_URL=$(with_db "$DATABASE_URL_BASE" jasiyo_bench)
export APP_DATABASE_URL=$(with_db "$APP_DATABASE_URL" jasiyo_bench)
if [ "${BENCH_KEEP:-}" = 1 ] && psql "$DATABASE_URL_BASE" -Atc "select 1 from pg_database where datname = 'jasiyo_bench'" | grep -q 1; then
    say "reusing the kept database jasiyo_bench"
    reused=1
else
    psql "$DATABASE_URL_BASE" -qc 'drop database if exists jasiyo_bench with (force)'
    psql "$DATABASE_URL_BASE" -qc 'create database jasiyo_bench'
fi
target/release/server migrate
if [ "${BENCH_ONLY:-}" = billing ]; then
    bench_billing
    exit 0
fi
target/release/server seed-demo
say "adding customers up to $CUSTOMERS"
seed_start=$(date +%s.%N)
target/release/server bench-seed "$CUSTOMERS"
# Vacuum and statistics now (as the owner; the runtime role may not), as a database that has
# been in use would have them, rather than autovacuum working through the fresh rows during
# the runs; the vacuum also lets the search words be read from their index alone.
psql "$DATABASE_URL" -qc 'vacuum (analyze) customers, services, customer_search_terms, plans' 
seed_secs=$(python3 -c "import time; print(f'{time.time() - $seed_start:.1f}')")
if [ -n "${reused:-}" ]; then
    seeding="The customers were seeded by an earlier run (BENCH_KEEP=1)."
else
    seeding="Seeding the customers took ${seed_secs} s."
fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
say "serving the release build on $url"
LEPTOS_SITE_ADDR="127.0.0.1:$port" RUST_LOG=${RUST_LOG:-warn} target/release/server serve >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    curl -fs "$url/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fs "$url/healthz" >/dev/null || { cat "$work/server.log" >&2; exit 1; }

say "signing in $CONNECTIONS sessions"
: >"$work/cookies"
for i in $(seq 1 $CONNECTIONS); do
    curl -fs -o /dev/null -D "$work/headers" -X POST "$url/api/sign-in" \
        -H 'content-type: application/x-www-form-urlencoded' \
        --data 'email=owner%40demo.jasiyo.test&password=demo-owner-pass'
    grep -i '^set-cookie: jasiyo_session=' "$work/headers" | sed -E 's/^[Ss]et-[Cc]ookie: ([^;]*).*/\1/' >>"$work/cookies"
done
[ "$(wc -l <"$work/cookies")" -eq $CONNECTIONS ] || { say "sign-in failed"; exit 1; }

# Sanity: a signed-in page really is the customers table, 25 rows of it.
rows=$(curl -fs -H "cookie: $(head -1 "$work/cookies")" "$url/app/customers" | grep -o 'data-testid="customer-row"' | wc -l)
[ "$rows" -eq 25 ] || { say "the customers page did not render 25 rows (got $rows)"; exit 1; }

cat >"$work/requests.lua" <<'LUA'
-- Rotates the signed-in sessions and the paths given in files (one per line).
local function lines(name)
  local t = {}
  for l in io.lines(os.getenv(name)) do table.insert(t, l) end
  return t
end
local cookies = lines("BENCH_COOKIES")
local paths = lines("BENCH_PATHS")
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[n % #paths + 1],
    { ["Cookie"] = cookies[n % #cookies + 1], ["Accept"] = "text/html" })
end
LUA

# run NAME PATHS...: one wrk run; prints "rps p50 p99 errors".
run() {
    local name=$1; shift
    printf '%s\n' "$@" >"$work/paths.$name"
    BENCH_COOKIES="$work/cookies" BENCH_PATHS="$work/paths.$name" \
        wrk -t$THREADS -c$CONNECTIONS -d"${SECONDS_PER_RUN}s" --latency -s "$work/requests.lua" "$url" \
        >"$work/wrk.$name" 2>&1
    python3 - "$work/wrk.$name" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def ms(label):
    m = re.search(r'^\s*' + label + r'\s+([\d.]+)(us|ms|s)\b', text, re.M)
    if not m: return float('nan')
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == 'us' else v * 1000 if u == 's' else v
rps = float(re.search(r'Requests/sec:\s+([\d.]+)', text).group(1))
bad = re.search(r'Non-2xx or 3xx responses:\s+(\d+)', text)
errors = re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)', text)
err = (int(bad.group(1)) if bad else 0) + (sum(int(x) for x in errors.groups()) if errors else 0)
print(f"{rps:.0f} {ms('50%'):.2f} {ms('99%'):.2f} {err}")
PY
}

full_names=(/app/customers?q=wanjiru+kariuki /app/customers?q=otieno+ochieng /app/customers?q=achieng+wafula
    /app/customers?q=kamau+njoroge /app/customers?q=chebet+rotich /app/customers?q=muthoni+waweru
    /app/customers?q=odera+keter /app/customers?q=moraa+okoth)
first_names=(/app/customers?q=wanjiru /app/customers?q=otieno /app/customers?q=chebet /app/customers?q=moraa)

say "warming up"
SECONDS_PER_RUN=5 run warm /app/customers "${full_names[@]}" >/dev/null
say "running: first page, full-name search, first-name search, /healthz (${SECONDS_PER_RUN}s each)"
read -r page_rps page_p50 page_p99 page_err < <(run page /app/customers)
read -r search_rps search_p50 search_p99 search_err < <(run search "${full_names[@]}")
read -r broad_rps broad_p50 broad_p99 broad_err < <(run broad "${first_names[@]}")
read -r health_rps health_p50 health_p99 health_err < <(run health /healthz)
rss_kb=$(ps -o rss= -p "$server_pid" | tr -d ' ')

# A 10,000-line CSV import through the server function, after the load runs (it adds customers).
# (New account numbers each run, so a kept database imports them too.)
python3 - "$work/import.csv" <<'PY'
import sys, time
run = int(time.time()) % 100000
with open(sys.argv[1], "w") as f:
    f.write("name,phone,account_number,plan,expiry,status\n")
    for i in range(10000):
        f.write(f"Import Person {i},07{i:08d},I{run:05d}{i:04d},Home 8 Mbps,2027-01-{1 + i % 28:02d},active\n")
PY
import_start=$(date +%s.%N)
curl -fs -o "$work/import.json" -H "cookie: $(head -1 "$work/cookies")" \
    --data-urlencode "csv@$work/import.csv" "$url/api/customers/import"
import_secs=$(python3 -c "import time; print(f'{time.time() - $import_start:.2f}')")
grep -q '"imported":10000' "$work/import.json" || { say "the import did not import 10,000 rows: $(head -c 300 "$work/import.json")"; exit 1; }

target/release/server bench-explain >"$work/plan.page"
target/release/server bench-explain "wanjiru kariuki" >"$work/plan.search"

errors=$((page_err + search_err + broad_err + health_err))
pass() { python3 -c "import sys; rps, p99, need = map(float, sys.argv[1:]); print('yes' if rps >= need and p99 < 50 else 'NO')" "$@"; }
pg=$(psql "$DATABASE_URL" -Atc 'show server_version')

python3 - "$work" <<PY
import pathlib, sys
work = pathlib.Path(sys.argv[1])
(work / "customers.md").write_text(f"""### Customers page and search ({int('$CUSTOMERS'):,} customers)

Measured $(date -u +%Y-%m-%d) on commit \`$commit\` with \`make bench\`: the release build, PostgreSQL $pg, on
$machine. Load: Debian's \`$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)\` on the same machine, $THREADS thread(s),
$CONNECTIONS connections rotating $CONNECTIONS signed-in sessions, ${SECONDS_PER_RUN} s per run, server-rendered
HTML (\`Accept: text/html\`). $seeding

| Run | Requests/s | p50 | p99 | Errors | Target (≥ rps, p99 < 50 ms) |
|---|---:|---:|---:|---:|---|
| \`/app/customers\` (first page of 25) | $page_rps | ${page_p50} ms | ${page_p99} ms | $page_err | ≥ 800: $(pass $page_rps $page_p99 800) |
| Full-name search (8 names, ~60 matches each) | $search_rps | ${search_p50} ms | ${search_p99} ms | $search_err | ≥ 300: $(pass $search_rps $search_p99 300) |
| First-name search (4 names, ~2,500 matches each) | $broad_rps | ${broad_p50} ms | ${broad_p99} ms | $broad_err | (no target) |
| Reference: \`/healthz\` (no database work) | $health_rps | ${health_p50} ms | ${health_p99} ms | $health_err | |

Server memory after the runs: $((rss_kb / 1024)) MiB resident. Importing a 10,000-line CSV (customers
with a plan and an expiry) through \`/api/customers/import\`, checked and written in one
transaction, took ${import_secs} s.

First page, as PostgreSQL ran it:
\`\`\`
{(work / 'plan.page').read_text().rstrip()}
\`\`\`

Search for "wanjiru kariuki" (word prefixes in \`customer_search_terms\`, ids fetched by primary key):
\`\`\`
{(work / 'plan.search').read_text().rstrip()}
\`\`\`
""")
PY
write_section customers "$work/customers.md"
[ "$errors" -eq 0 ] || { say "$errors requests failed"; exit 1; }

# The server's work is done; the billing run gets both cores.
kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
server_pid=
[ "${BENCH_ONLY:-}" = customers ] || bench_billing
