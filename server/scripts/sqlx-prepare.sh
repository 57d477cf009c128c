#!/usr/bin/env bash
# Regenerates the sqlx offline query data in app/.sqlx (or, with --check, fails when the
# committed data differs from what the current queries and migrations produce).
#
# The query macros describe each query against a live database when DATABASE_URL is set and
# SQLX_OFFLINE is not, and write what they learn into SQLX_OFFLINE_DIR. So: migrate a scratch
# database with the plain SQL files, force the app crate to recompile against it, and compare.
# Needs DATABASE_URL (the owner role, with CREATEDB): run it through `make sqlx-prepare`.
set -euo pipefail
cd "$(dirname "$0")/../.."
check=false
[ "${1:-}" = "--check" ] && check=true

: "${DATABASE_URL:?run through make sqlx-prepare / make sqlx-check}"
scratch="jasiyo_sqlx_$$"
scratch_url=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$DATABASE_URL" "$scratch")
out=$(mktemp -d)
cleanup() {
    psql "$DATABASE_URL" -qc "drop database if exists \"$scratch\" with (force)" >/dev/null 2>&1 || true
    rm -rf "$out"
}
trap cleanup EXIT

psql "$DATABASE_URL" -qc "create database \"$scratch\""
for f in $(ls migrations/*.sql | sort); do
    psql "$scratch_url" -q -v ON_ERROR_STOP=1 -1 -f "$f" >/dev/null
done

# A changed modification time makes cargo recompile the crate, so every macro runs again.
touch app/src/lib.rs
DATABASE_URL="$scratch_url" SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$out" \
    cargo check --quiet -p app --features ssr

if $check; then
    if ! diff -r "$out" app/.sqlx >/dev/null; then
        diff -r "$out" app/.sqlx | head -40 >&2 || true
        echo "app/.sqlx is out of date with the queries or migrations: run 'make sqlx-prepare' and commit app/.sqlx" >&2
        exit 1
    fi
    echo "app/.sqlx is up to date ($(ls "$out" | wc -l) queries)"
else
    rm -rf app/.sqlx
    mkdir -p app/.sqlx
    cp "$out"/*.json app/.sqlx/
    echo "wrote $(ls app/.sqlx | wc -l) query files to app/.sqlx"
fi
