#!/usr/bin/env bash
# Installs, only where missing, the tools a build or test needs, and says what it does.
#   tools.sh build     wasm32 target, cargo-leptos, the wasm-bindgen CLI matching Cargo.lock
#   tools.sh release   build + wasm-opt (binaryen from npm; Debian's binaryen 108 breaks hydration)
#   tools.sh browser   Node packages for the browser tests (playwright-core) and Debian's Chromium
#   tools.sh postgres  PostgreSQL server from Debian's packages, if no initdb is found
#   tools.sh fuzz      the nightly toolchain and cargo-fuzz (libFuzzer)
#   tools.sh radius    FreeRADIUS with its PostgreSQL module (the RADIUS benchmark's reference)
set -euo pipefail
cd "$(dirname "$0")/../.."

CARGO_LEPTOS_VERSION=0.3.11
say() { printf '\033[1m[tools]\033[0m %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=
apt_install() {
    if [ -z "$apt_updated" ]; then
        say "apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        apt_updated=1
    fi
    say "apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

need_wasm_target() {
    if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        say "installing the wasm32-unknown-unknown Rust target"
        rustup target add wasm32-unknown-unknown
    fi
}

need_cargo_leptos() {
    if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
        # --locked: its lock file is what was tested; --ignore-rust-version: that lock pins a
        # crate declaring a newer rustc than it needs. About 13 minutes on 2 cores.
        say "installing cargo-leptos $CARGO_LEPTOS_VERSION (compiles for about 13 minutes, once)"
        cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --ignore-rust-version
    fi
}

need_wasm_bindgen() {
    # cargo-leptos runs the CLI found on PATH; it must equal the library version in Cargo.lock,
    # otherwise it would try to download one (and fail offline).
    local want
    want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
    if ! wasm-bindgen --version 2>/dev/null | grep -q " $want\$"; then
        # Not --locked: its lock pins a crate version the registry no longer serves.
        say "installing wasm-bindgen-cli $want (matches Cargo.lock; about 2 minutes, once)"
        cargo install wasm-bindgen-cli --version "$want"
    fi
}

need_node_modules() {
    if [ ! -d end2end/node_modules ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
        say "installing Node packages for end2end/ (npm ci: playwright-core, binaryen; no browser download)"
        (cd end2end && npm ci --no-audit --no-fund --loglevel=error)
    fi
}

need_wasm_opt() {
    need_node_modules
    local v
    v=$(end2end/node_modules/.bin/wasm-opt --version 2>/dev/null || true)
    case "$v" in
        *"version 116"*) ;;
        *) say "wasm-opt is not binaryen 116 (got: ${v:-nothing})"; exit 1 ;;
    esac
}

need_chromium() {
    if [ ! -x /usr/bin/chromium ]; then
        say "installing Debian's Chromium for the browser tests"
        apt_install chromium
    fi
}

need_postgres() {
    if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        say "installing the PostgreSQL server from Debian's packages (no initdb found)"
        apt_install postgresql postgresql-contrib
    fi
    if ! command -v psql >/dev/null 2>&1; then
        apt_install postgresql-client
    fi
}

need_wrk() {
    if ! command -v wrk >/dev/null 2>&1; then
        say "installing Debian's wrk (HTTP load generator) for the benchmarks"
        apt_install wrk
    fi
}

need_fuzz() {
    if ! rustup toolchain list | grep -q '^nightly'; then
        say "installing the nightly Rust toolchain (cargo fuzz needs it)"
        rustup toolchain install nightly --profile minimal
    fi
    if ! cargo fuzz --version >/dev/null 2>&1; then
        say "installing cargo-fuzz (compiles for about 2 minutes, once)"
        cargo install cargo-fuzz --locked
    fi
}

need_freeradius() {
    if ! command -v freeradius >/dev/null 2>&1 || [ ! -e /usr/lib/freeradius/rlm_sql_postgresql.so ]; then
        say "installing Debian's FreeRADIUS and its PostgreSQL module for the RADIUS benchmark"
        apt_install freeradius freeradius-postgresql
    fi
}

for what in "$@"; do
    case "$what" in
        build) need_wasm_target; need_cargo_leptos; need_wasm_bindgen ;;
        release) need_wasm_target; need_cargo_leptos; need_wasm_bindgen; need_wasm_opt ;;
        browser) need_node_modules; need_chromium ;;
        postgres) need_postgres ;;
        bench) need_wrk; need_freeradius ;;
        fuzz) need_fuzz ;;
        radius) need_freeradius ;;
        *) echo "tools.sh: unknown tool set '$what'" >&2; exit 2 ;;
    esac
done
