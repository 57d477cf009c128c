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
# checks and indexes, in the same run, for the ratio.
#
# Then M-Pesa paybill confirmations: an ISP with BENCH_C2B_CUSTOMERS (default 60,000) renewal
# invoices waiting; wrk posts confirmations to the release server's webhook for BENCH_SECONDS,
# each one stored, credited, allocated and renewing a service, and pgbench's single-row insert
# on the same database is the reference.
#
# Then RADIUS: an ISP with BENCH_RADIUS_USERS (default 10,000) PPPoE services; the same load
# generator sends Access-Requests to Jasiyo's RADIUS server and to Debian's FreeRADIUS reading the
# same users from its SQL schema. BENCH_ONLY=customers, subscriber, billing, c2b or radius runs one of them.
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

# start_server: the release build on a free loopback port; sets url and server_pid.
start_server() {
    local port
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
}

stop_server() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
    server_pid=
}

# Paybill confirmations end to end against pgbench's single-row inserts, on the same database.
bench_c2b() {
    local n=${BENCH_C2B_CUSTOMERS:-100000}
    # The paced run's target: confirmations per second offered, spread over the connections.
    local pace=${BENCH_C2B_PACE:-1000}
    say "C2B: an ISP with $n renewal invoices waiting; wrk posts confirmations, then pgbench inserts"
    target/release/server bench-c2b-seed "$n" >"$work/c2b.seed"
    local tenant hook seed_secs
    tenant=$(sed -n 's/^tenant=//p' "$work/c2b.seed")
    hook=$(sed -n 's/^hook=//p' "$work/c2b.seed")
    seed_secs=$(sed -n 's/^seed_seconds=//p' "$work/c2b.seed")
    start_server
    cat >"$work/c2b.lua" <<'LUA'
-- One paybill confirmation per request, each with its own TransID; BENCH_C2B_FIRST picks the
-- first account number (B1, B2, ... pay their renewal invoice), going down when BENCH_C2B_STEP
-- is -1 (the warm-up takes the top accounts so the measured run finds every invoice open).
-- With BENCH_C2B_DELAY_MS each connection waits that long between requests (the paced run).
local n = 0
local hook = os.getenv("BENCH_HOOK")
local prefix = os.getenv("BENCH_C2B_PREFIX")
local first = tonumber(os.getenv("BENCH_C2B_FIRST"))
local step = tonumber(os.getenv("BENCH_C2B_STEP"))
local path = "/hooks/mpesa/" .. hook .. "/c2b/confirmation"
local headers = { ["Content-Type"] = "application/json" }
local pause = tonumber(os.getenv("BENCH_C2B_DELAY_MS") or "0")
if pause > 0 then
  delay = function() return pause end
end
request = function()
  local account = "B" .. (first + step * n)
  n = n + 1
  local body = string.format('{"TransactionType":"Pay Bill","TransID":"%s%07d",'
    .. '"TransTime":"20261129101500","TransAmount":"2000.00","BusinessShortCode":"600000",'
    .. '"BillRefNumber":"%s","InvoiceNumber":"","OrgAccountBalance":"","ThirdPartyTransID":"",'
    .. '"MSISDN":"2547 ***** 126","FirstName":"Bench","MiddleName":"","LastName":"Payer"}',
    prefix, n, account)
  return wrk.format("POST", path, headers, body)
end
LUA
    c2b_run() { # PREFIX FIRST STEP SECONDS [DELAY_MS]
        BENCH_HOOK=$hook BENCH_C2B_PREFIX=$1 BENCH_C2B_FIRST=$2 BENCH_C2B_STEP=$3 BENCH_C2B_DELAY_MS=${5:-0} \
            wrk -t1 -c$CONNECTIONS -d"$4s" --latency -s "$work/c2b.lua" "$url" >"$work/wrk.c2b.$1" 2>&1
    }
    # The webhook answers once a confirmation is stored; the applier credits it a moment later.
    # Wait (up to 2 minutes) for the last one, so every confirmation counts as applied.
    c2b_drain() {
        for _ in $(seq 1 600); do
            # psql prints the last statement's result only.
            waiting=$(psql "$DATABASE_URL" -Atc "select set_config('app.tenant_id', '$tenant', false);
                select count(*) from provider_events where outcome is null")
            [ "$waiting" = 0 ] && break
            sleep 0.2
        done
    }
    say "C2B warm-up (3 s)"
    c2b_run WARM "$n" -1 3
    c2b_drain
    say "C2B: ${SECONDS_PER_RUN}s of confirmations as fast as they are answered, $CONNECTIONS connections"
    c2b_run BENCH 1 1 "$SECONDS_PER_RUN"
    c2b_drain
    say "C2B: ${SECONDS_PER_RUN}s paced at about $pace a second"
    c2b_run PACE $((n / 2)) 1 "$SECONDS_PER_RUN" $((CONNECTIONS * 1000 / pace))
    c2b_drain
    stop_server
    # The reference: pgbench's single-row insert, same connections and time, same database.
    psql "$DATABASE_URL" -qc 'drop table if exists bench_ref_insert' \
        -c 'create table bench_ref_insert (id bigserial primary key, at timestamptz not null default now(), v text not null)'
    printf "insert into bench_ref_insert (v) values ('confirmation');\n" >"$work/insert.sql"
    say "pgbench: ${SECONDS_PER_RUN}s of single-row inserts, $CONNECTIONS connections"
    (cd "$work" && pgbench -n -c $CONNECTIONS -j 1 -T "$SECONDS_PER_RUN" -f insert.sql -l --log-prefix=pgb "$DATABASE_URL" >"$work/pgbench.out" 2>&1)
    # What the run did, read back through the tenant's policy.
    psql "$DATABASE_URL" -At -v ON_ERROR_STOP=1 >"$work/c2b.check" <<SQL
begin;
select set_config('app.tenant_id', '$tenant', true);
select 'ledger=' || coalesce(sum(amount_minor), 0) from ledger_entries;
select 'waiting=' || count(*) from provider_events where outcome is null;
commit;
SQL
    for run in BENCH PACE; do
        psql "$DATABASE_URL" -At -v ON_ERROR_STOP=1 >>"$work/c2b.check" <<SQL
begin;
select set_config('app.tenant_id', '$tenant', true);
select '${run}_payments=' || count(*) from payments where reference like '$run%';
select '${run}_events=' || count(*) from provider_events where event_id like '$run%' and outcome = 'credited';
select '${run}_renewed=' || count(*) from invoices i join payments p on p.tenant_id = i.tenant_id
    and p.customer_id = i.customer_id and p.reference like '$run%' where i.status = 'paid';
-- From the first stored to the last applied, and each one's wait between the two.
select '${run}_span=' || extract(epoch from max(applied_at) - min(received_at))
  from provider_events where event_id like '$run%';
select '${run}_wait50=' || 1000 * extract(epoch from percentile_cont(0.5) within group (order by applied_at - received_at))
  from provider_events where event_id like '$run%';
select '${run}_wait99=' || 1000 * extract(epoch from percentile_cont(0.99) within group (order by applied_at - received_at))
  from provider_events where event_id like '$run%';
commit;
SQL
    done
    python3 - "$work" "$n" "$seed_secs" <<PY
import pathlib, re, sys
work, n, seed = pathlib.Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
check = dict(l.split("=", 1) for l in (work / "c2b.check").read_text().split() if "=" in l)
def wrk(run):
    text = (work / f"wrk.c2b.{run}").read_text()
    def ms(label):
        m = re.search(r'^\s*' + label + r'\s+([\d.]+)(us|ms|s)\b', text, re.M)
        v, u = float(m.group(1)), m.group(2)
        return v / 1000 if u == 'us' else v * 1000 if u == 's' else v
    bad = re.search(r'Non-2xx or 3xx responses:\s+(\d+)', text)
    sock = re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)', text)
    payments = int(check[f"{run}_payments"])
    return dict(
        requests=int(re.search(r'(\d+) requests in', text).group(1)),
        rps=float(re.search(r'Requests/sec:\s+([\d.]+)', text).group(1)),
        p50=ms('50%'), p99=ms('99%'),
        errors=(int(bad.group(1)) if bad else 0) + (sum(map(int, sock.groups())) if sock else 0),
        payments=payments, events=int(check[f"{run}_events"]), renewed=int(check[f"{run}_renewed"]),
        applied=payments / float(check[f"{run}_span"]),
        wait50=float(check[f"{run}_wait50"]), wait99=float(check[f"{run}_wait99"]))
full, paced = wrk("BENCH"), wrk("PACE")
pg = (work / "pgbench.out").read_text()
tps = float(re.search(r'tps = ([\d.]+)', pg).group(1))
lat = sorted(float(l.split()[2]) / 1000 for f in work.glob("pgb.*") for l in open(f) if l.strip())
pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
# wrk counts the answers it read; a request in flight when its time ran out may still have been
# stored and applied (at most one per connection).
ok = all(r["errors"] == 0 and r["requests"] <= r["payments"] <= r["requests"] + $CONNECTIONS
         and r["payments"] == r["events"] == r["renewed"] for r in (full, paced))
ok = ok and int(check["ledger"]) == 0 and int(check["waiting"]) == 0
if not ok:
    print(f"C2B check failed: {full} {paced} {check}", file=sys.stderr)
met = full["applied"] >= 1500 and paced["wait99"] < 50 and paced["p99"] < 50
row = lambda label, rate, p50, p99: f"| {label} | {rate:,.0f} | {p50:.2f} ms | {p99:.2f} ms |"
(work / "c2b.md").write_text(f"""### M-Pesa paybill confirmations against pgbench ({full['requests'] + paced['requests']:,} confirmations)

Measured $(date -u +%Y-%m-%d) on commit \`$commit\` with \`make bench\`: the release build, PostgreSQL $(psql "$DATABASE_URL" -Atc 'show server_version'),
on $machine. A fresh ISP with {n:,} customers whose renewal invoices (KES 2,000) were waiting
(seeding, the billing run that issued them and a vacuum took {seed} s, not measured). Debian's
\`wrk\` on the same machine posted paybill confirmations, each with its own TransID and the
next customer's account number, to \`/hooks/mpesa/{{token}}/c2b/confirmation\` over loopback,
1 thread and $CONNECTIONS connections, after a 3 s warm-up: first for ${SECONDS_PER_RUN} s as fast as
they were answered (*flat out*), then for ${SECONDS_PER_RUN} s with each connection pausing between
requests to offer about $pace a second (*paced*). The webhook stores each confirmation raw
(unique TransID) and answers; the applier then matches it by account number and, in one
transaction per batch of whatever has arrived, records the payment, posts it to the ledger,
allocates it to the open invoice, renews the service a month and writes the outbox rows.
*Answered* is what \`wrk\` saw. *Applied* counts from the first confirmation stored to the last
one credited, and its p50 and p99 are each confirmation's wait from stored to credited
(PostgreSQL's clock). The reference is \`pgbench\` inserting one row per transaction into a
plain table (bigserial key, two columns) in the same database, with the same $CONNECTIONS
connections for ${SECONDS_PER_RUN} s.

| | Per second | p50 | p99 |
|---|---:|---:|---:|
{row("Flat out: answered (stored)", full["rps"], full["p50"], full["p99"])}
{row("Flat out: applied end to end", full["applied"], full["wait50"], full["wait99"])}
{row("Paced: answered (stored)", paced["rps"], paced["p50"], paced["p99"])}
{row("Paced: applied end to end", paced["applied"], paced["wait50"], paced["wait99"])}
{row("Reference: pgbench single-row insert", tps, pct(0.5), pct(0.99))}
| Ratio (flat out, applied) | {tps / full["applied"]:.1f}× fewer | | |

Goal: at least 1,500 confirmations/s applied, p99 under 50 ms: {'met' if met else 'NOT met'}.
Checked afterwards: {full['errors'] + paced['errors']} failed requests; {full['payments'] + paced['payments']:,} payments,
as many credited provider events and renewal invoices paid, for {full['requests'] + paced['requests']:,} answered
confirmations (a request still in flight when the time ran out is applied but not counted by
wrk); nothing left waiting; the ledger sums to {check['ledger']}.
""")
sys.exit(0 if ok else 1)
PY
    write_section c2b "$work/c2b.md"
}

# RADIUS Access-Requests: Jasiyo's server against FreeRADIUS (Debian's, reading the same users
# from its standard SQL schema in the same database), driven by the same load generator.
bench_radius() {
    local n=${BENCH_RADIUS_USERS:-10000}
    local concurrency=${BENCH_RADIUS_CONCURRENCY:-32}
    say "RADIUS: $n users; Access-Requests for ${SECONDS_PER_RUN}s against Jasiyo, then FreeRADIUS"
    target/release/server bench-radius-seed "$n" >"$work/radius.seed"
    local secret seed_secs
    secret=$(sed -n 's/^secret=//p' "$work/radius.seed")
    seed_secs=$(sed -n 's/^seed_seconds=//p' "$work/radius.seed")
    # FreeRADIUS's schema beside ours, holding the same users, passwords and reply attributes.
    psql "$DATABASE_URL" -q -c 'drop schema if exists freeradius cascade' -c 'create schema freeradius'
    PGOPTIONS='-c search_path=freeradius' psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 \
        -f /etc/freeradius/3.0/mods-config/sql/main/postgresql/schema.sql >/dev/null
    PGOPTIONS='-c search_path=freeradius' psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 \
        -c "insert into radcheck (username, attribute, op, value)
            select 'bench' || g, 'Cleartext-Password', ':=', 'pw' || g from generate_series(1, $n) g" \
        -c "insert into radreply (username, attribute, op, value)
            select 'bench' || g, a, ':=', v from generate_series(1, $n) g,
                   (values ('Mikrotik-Rate-Limit', '4M/8M'), ('Session-Timeout', '86400'),
                           ('Acct-Interim-Interval', '300')) r(a, v)" \
        -c 'vacuum (analyze) radcheck, radreply, radusergroup, radgroupcheck, radgroupreply'
    psql "$DATABASE_URL" -qc 'vacuum (analyze) services, plans, customers, tenants, routers'
    local free_udp='import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
    local auth acct fr_port
    auth=$(python3 -c "$free_udp"); acct=$(python3 -c "$free_udp"); fr_port=$(python3 -c "$free_udp")
    radius_run() { # NAME PORT SECONDS
        target/release/server bench-radius-load "127.0.0.1:$2" "$secret" "$n" "$concurrency" "$3" >"$work/radius.$1"
    }
    export JASIYO_RADIUS_AUTH_ADDR=127.0.0.1:$auth JASIYO_RADIUS_ACCT_ADDR=127.0.0.1:$acct
    # First with every Access-Request read from the database, then as it runs by default
    # (active users accepted from memory, kept fresh by the triggers' notifications).
    for cache in off on; do
        JASIYO_RADIUS_CACHE=$cache start_server
        say "RADIUS: Jasiyo (cache $cache), 3 s warm-up, then ${SECONDS_PER_RUN}s, $concurrency requests in flight"
        radius_run "warm-$cache" "$auth" 3
        radius_run "jasiyo-$cache" "$auth" "$SECONDS_PER_RUN"
        say "RADIUS: Jasiyo (cache $cache): $(grep -E '^(rate|p99_us)=' "$work/radius.jasiyo-$cache" | tr '\n' ' ')"
        stop_server
    done
    unset JASIYO_RADIUS_AUTH_ADDR JASIYO_RADIUS_ACCT_ADDR
    local conninfo
    conninfo=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(f"host={p.hostname} port={p.port} dbname={p.path[1:]} user={p.username} password={p.password} options=\x27-c search_path=freeradius\x27")' "$DATABASE_URL")
    server/scripts/freeradius-config.sh "$work/raddb" "$fr_port" "$secret" "$conninfo"
    freeradius -f -d "$work/raddb" >"$work/freeradius.out" 2>&1 &
    local fr_pid=$!
    for _ in $(seq 1 50); do
        grep -q 'Ready to process requests' "$work/raddb/freeradius.log" 2>/dev/null && break
        sleep 0.2
    done
    grep -q 'Ready to process requests' "$work/raddb/freeradius.log" || { cat "$work/freeradius.out" "$work/raddb/freeradius.log" >&2; kill $fr_pid; exit 1; }
    # (sed reads all of `freeradius -v`: `head` would leave it to die of SIGPIPE under pipefail)
    local fr_version
    fr_version=$(freeradius -v 2>&1 | sed -n 's/.*Version \([0-9.]*\).*/\1/p' | sed -n 1p)
    say "RADIUS: FreeRADIUS $fr_version, 3 s warm-up, then ${SECONDS_PER_RUN}s"
    radius_run fr-warm "$fr_port" 3
    radius_run freeradius "$fr_port" "$SECONDS_PER_RUN"
    kill $fr_pid; wait $fr_pid 2>/dev/null || true
    python3 - "$work" "$work/radius.md" "$n" "$concurrency" "$seed_secs" "$fr_version" <<PY
import re, sys, pathlib
work, out, n, conc, seed, frv = pathlib.Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
def read(name):
    return {k: float(v) for k, v in re.findall(r"^([a-z0-9_]+)=(\S+)$", (work / f"radius.{name}").read_text(), re.M)}
j, d, f = read("jasiyo-on"), read("jasiyo-off"), read("freeradius")
for name, r in (("Jasiyo", j), ("Jasiyo, cache off", d), ("FreeRADIUS", f)):
    if r["accepted"] != r["sent"] - r["timeouts"] or r["accepted"] == 0:
        sys.exit(f"{name}: {r['accepted']:.0f} of {r['sent']:.0f} requests accepted, {r['timeouts']:.0f} unanswered")
ratio = j["rate"] / f["rate"]
met = ratio >= 3 and j["p99_us"] < 5000
row = lambda name, r: f"| {name} | {r['rate']:,.0f} | {r['p50_us'] / 1000:.2f} ms | {r['p99_us'] / 1000:.2f} ms | {r['accepted']:,.0f} | {r['timeouts']:.0f} |"
open(out, "w").write(f"""### RADIUS Access-Requests against FreeRADIUS ({n:,} users)

Measured $(date -u +%Y-%m-%d) on commit \`$commit\` with \`make bench\` (\`BENCH_ONLY=radius\` for this one): the
release build, PostgreSQL $(psql "$DATABASE_URL" -Atc 'show server_version'), on $machine. An ISP with {n:,} PPPoE services
(seeded in {seed} s, not measured) and a RADIUS router at 127.0.0.1. The load generator
(\`server bench-radius-load\`, on the same machine) keeps {conc} PAP Access-Requests in flight, each
with a Message-Authenticator, users taken in turn, for $SECONDS_PER_RUN s after a 3 s warm-up, against
Jasiyo's server and then against FreeRADIUS {frv} from Debian, which reads the same users,
passwords and reply attributes from its standard schema in the same database through
\`rlm_sql_postgresql\` (its default queries: check, reply and group lookups; up to 32 threads,
each with a pooled connection). Jasiyo checks the password against the sealed one (AES-GCM),
the service's status and expiry plus grace, and answers with the plan's rate limit, the session
timeout to the expiry and the interim interval. As it runs by default, Jasiyo answers an
active service's user from memory (\`radius_cache.rs\`: accepts only, filled from the database
and by one query for the whole ISP when its NAS first speaks, forgotten by the triggers'
notifications at every change); the second row reads the database for every request
(\`JASIYO_RADIUS_CACHE=off\`), as it did before the cache and as FreeRADIUS does. (FreeRADIUS's
\`rlm_cache\` could hold answers too, but for a fixed time only: a user suspended meanwhile would
be accepted until it ran out, where Jasiyo forgets at the change's commit.)

| Server | Accepts/s | p50 | p99 | Accepted | Unanswered |
|---|---:|---:|---:|---:|---:|
{row("Jasiyo", j)}
{row("Jasiyo, every request read from the database", d)}
{row("Reference: FreeRADIUS " + frv, f)}

Ratio {ratio:.2f}× (goal: at least 3× with p99 under 5 ms: {'met' if met else 'NOT met'}); reading the
database every time, {d['rate'] / f['rate']:.2f}×.
""")
PY
    write_section radius "$work/radius.md"
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
case "${BENCH_ONLY:-}" in
    billing) bench_billing; exit 0 ;;
    c2b) bench_c2b; exit 0 ;;
    radius) bench_radius; exit 0 ;;
esac
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

start_server
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
    BENCH_COOKIES="${COOKIES:-$work/cookies}" BENCH_PATHS="$work/paths.$name" \
        wrk -t$THREADS -c"${CONNS:-$CONNECTIONS}" -d"${SECONDS_PER_RUN}s" --latency -s "$work/requests.lua" "$url" \
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

# The subscriber's pages against the same 100,000 customers: the portal home of signed-in
# customers picked at random, and the hotspot page as a router sends visitors to it; one
# connection (the render time a phone waits for) and 16 (under load). Then the browser bundle's
# shipped size, compressed as it is served.
bench_subscriber() {
    say "subscriber pages: portal home and hotspot page"
    target/release/server bench-portal-sessions $CONNECTIONS >"$work/portal_cookies"
    local home
    home=$(curl -fs -H "cookie: $(head -1 "$work/portal_cookies")" "$url/portal/demo")
    grep -q 'data-testid="portal-customer"' <<<"$home" || { say "the portal home did not render"; exit 1; }
    local hotspot="/hotspot/demo?mac=AA%3ABB%3ACC%3A00%3A11%3A22&ip=10.5.50.23&link-login=http%3A%2F%2F10.5.50.1%2Flogin"
    curl -fs "$url$hotspot" | grep -q 'data-testid="hotspot-plan"' || { say "the hotspot page did not render"; exit 1; }
    SECONDS_PER_RUN=5 COOKIES="$work/portal_cookies" run warm-portal /portal/demo "$hotspot" >/dev/null
    read -r portal1_rps portal1_p50 portal1_p99 portal1_err < <(CONNS=1 COOKIES="$work/portal_cookies" run portal1 /portal/demo)
    read -r portal_rps portal_p50 portal_p99 portal_err < <(COOKIES="$work/portal_cookies" run portal /portal/demo)
    read -r hot1_rps hot1_p50 hot1_p99 hot1_err < <(CONNS=1 COOKIES="$work/portal_cookies" run hot1 "$hotspot")
    read -r hot_rps hot_p50 hot_p99 hot_err < <(COOKIES="$work/portal_cookies" run hot "$hotspot")
    # Each bundle as served: wasm plus its JS loader, raw, gzip -9 and the brotli copy served.
    : >"$work/sizes"
    for name in jasiyo_portal jasiyo_hotspot jasiyo_pay jasiyo; do
        local wasm=target/site/pkg/$name.wasm js=target/site/pkg/$name.js
        [ -f "$wasm" ] || { say "$wasm is missing (make release builds it)"; exit 1; }
        printf '%s %s %s %s %s %s %s\n' "$name" "$(stat -c %s $wasm)" "$(gzip -9c $wasm | wc -c)" \
            "$(stat -c %s $wasm.br)" "$(stat -c %s $js)" "$(gzip -9c $js | wc -c)" "$(stat -c %s $js.br)" \
            >>"$work/sizes"
    done
    local sub_errors=$((portal1_err + portal_err + hot1_err + hot_err))
    python3 - "$work/subscriber.md" "$work/sizes" <<PY
import sys
kb = lambda b: f"{int(b) / 1024:.0f} KB"
ok = lambda p99: "yes" if float(p99) < 50 else "NO"
budget = 250 * 1024
pages = {"jasiyo_portal": "portal (\`/portal/…\`)", "jasiyo_hotspot": "hotspot page (\`/hotspot/…\`)",
         "jasiyo_pay": "payment link (\`/pay/…\`)", "jasiyo": "operator app (every other page)"}
rows = []
for line in open(sys.argv[2]):
    name, wasm, wasm_gz, wasm_br, js, js_gz, js_br = line.split()
    gz, br = int(wasm_gz) + int(js_gz), int(wasm_br) + int(js_br)
    verdict = "(no budget)" if name == "jasiyo" else ("yes" if br <= budget else "NO") + f" (gzip: {'yes' if gz <= budget else 'NO'})"
    rows.append(f"| {pages[name]} | \`{name}\` | {kb(int(wasm) + int(js))} | {kb(gz)} | {kb(br)} | {verdict} |")
table = "\n".join(rows)
open(sys.argv[1], "w").write(f"""### Subscriber pages ({int('$CUSTOMERS'):,} customers)

Measured $(date -u +%Y-%m-%d) on commit \`$commit\` with \`make bench\` (\`BENCH_ONLY=subscriber\` for this one), the release
build on $machine, against the demo ISP with {int('$CUSTOMERS'):,} customers. The portal home is
server-rendered for $CONNECTIONS signed-in customers picked at random (services, usage from
accounting, balance, invoices, tickets); the hotspot page as a router sends a visitor to it. One
connection measures the render time a phone waits for; 16 the same under load.

| Page | Connections | Requests/s | p50 | p99 | Errors | Target (p99 < 50 ms) |
|---|---:|---:|---:|---:|---:|---|
| \`/portal/demo\` (signed in) | 1 | $portal1_rps | ${portal1_p50} ms | ${portal1_p99} ms | $portal1_err | {ok("$portal1_p99")} |
| \`/portal/demo\` (signed in) | $CONNECTIONS | $portal_rps | ${portal_p50} ms | ${portal_p99} ms | $portal_err | |
| \`/hotspot/demo?…\` | 1 | $hot1_rps | ${hot1_p50} ms | ${hot1_p99} ms | $hot1_err | {ok("$hot1_p99")} |
| \`/hotspot/demo?…\` | $CONNECTIONS | $hot_rps | ${hot_p50} ms | ${hot_p99} ms | $hot_err | |

Browser bundles as served (\`make release\`: views erased, wasm-opt -Oz, gzip and brotli copies;
Chromium asks for brotli). Each public page has its own bundle (\`frontend-public\`) and no
client-side router (\`app::surface\`); wasm plus its JS loader:

| Page | Bundle | Raw | gzip -9 | brotli | Budget: 250 KB compressed |
|---|---|---:|---:|---:|---|
{table}
""")
PY
    write_section subscriber "$work/subscriber.md"
    [ "$sub_errors" -eq 0 ] || { say "$sub_errors subscriber requests failed"; exit 1; }
}

if [ "${BENCH_ONLY:-}" = subscriber ]; then
    bench_subscriber
    exit 0
fi

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
bench_subscriber

# The server's work is done; the billing run gets both cores.
stop_server
[ "${BENCH_ONLY:-}" = customers ] && exit 0
bench_billing
bench_c2b
bench_radius
