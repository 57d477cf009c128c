#!/usr/bin/env bash
# The project's PostgreSQL.
#
# Where DATABASE_URL is set, that database is used as it is (DATABASE_URL: the owner role, which
# runs migrations; APP_DATABASE_URL: the runtime role). Otherwise a project-local cluster lives
# under .data/pg on its own port (JASIYO_PG_PORT, else the first free one from 54329, chosen
# when the cluster is made and kept in the URLs of .data/db.env; 127.0.0.1 only), started on
# demand and reused while it runs; a system cluster is never touched.
#
#   db.sh up          start (initialise on first use) and create roles and the database
#   db.sh env         print the environment (export lines) for the database
#   db.sh exec CMD..  up, then run CMD with that environment
#   db.sh down        stop the local cluster
#   db.sh psql        a psql shell as the owner role
#   db.sh drop-test-databases   drop the databases tests made (jasiyo_test_*, jasiyo_e2e_*)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

PORT=${JASIYO_PG_PORT:-}
DATA_LINK="$root/.data/pg"
ENV_FILE="$root/.data/db.env"
say() { printf '\033[1m[db]\033[0m %s\n' "$*" >&2; }

pg_bin() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [ -x "$dir/pg_ctl" ] && { echo "$dir"; return; }
    done
    dirname "$(command -v pg_ctl)"
}

# PostgreSQL refuses to run as root: when we are root, the cluster belongs to `postgres`.
run_pg() {
    if [ "$(id -u)" = 0 ]; then
        su postgres -s /bin/bash -c "$(printf '%q ' "$@")"
    else
        "$@"
    fi
}

data_dir() {
    # The cluster lives in .data/pg. As root, `postgres` must be able to reach it; where the
    # checkout's path is closed to other users, it lives in /var/tmp and .data/pg links there.
    if [ -L "$DATA_LINK" ] || [ -d "$DATA_LINK" ]; then
        readlink -f "$DATA_LINK"
        return
    fi
    mkdir -p "$root/.data"
    if [ "$(id -u)" = 0 ]; then
        mkdir -p "$DATA_LINK"
        chown postgres: "$DATA_LINK"
        if ! su postgres -s /bin/bash -c "test -w '$DATA_LINK'"; then
            rmdir "$DATA_LINK"
            local elsewhere
            elsewhere="/var/tmp/jasiyo-pg-$(printf '%s' "$root" | md5sum | cut -c1-12)"
            mkdir -p "$elsewhere"
            chown postgres: "$elsewhere"
            chmod 700 "$elsewhere"
            ln -s "$elsewhere" "$DATA_LINK"
            say "the checkout is not reachable by the postgres user; the cluster lives in $elsewhere"
        fi
    else
        mkdir -p "$DATA_LINK"
    fi
    readlink -f "$DATA_LINK"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The port of this checkout's cluster: as set, as recorded at creation, or the first free one.
choose_port() {
    if [ -n "$PORT" ]; then return; fi
    if [ -f "$ENV_FILE" ]; then
        PORT=$(sed -n 's#^DATABASE_URL=.*@127\.0\.0\.1:\([0-9]*\)/.*#\1#p' "$ENV_FILE")
        [ -n "$PORT" ] && return
    fi
    PORT=54329
    while port_in_use "$PORT"; do
        PORT=$((PORT + 1))
        [ "$PORT" -le 54399 ] || { say "no free port in 54329-54399; set JASIYO_PG_PORT"; exit 1; }
    done
}

random_secret() { head -c 18 /dev/urandom | base64 | tr -d '/+=' ; }

write_env() {
    # Passwords are made on first set-up and kept (mode 600) in .data/db.env, never in git.
    local su_pw=$1 owner_pw=$2 app_pw=$3
    umask 077
    cat >"$ENV_FILE" <<ENV
PG_SUPERUSER_URL=postgres://postgres:$su_pw@127.0.0.1:$PORT/postgres
DATABASE_URL=postgres://jasiyo_owner:$owner_pw@127.0.0.1:$PORT/jasiyo
APP_DATABASE_URL=postgres://jasiyo_app:$app_pw@127.0.0.1:$PORT/jasiyo
ENV
}

env_value() { sed -n "s/^$1=//p" "$ENV_FILE"; }

local_up() {
    "$root/server/scripts/tools.sh" postgres
    local bin dir
    bin=$(pg_bin)
    dir=$(data_dir)
    choose_port
    if [ ! -s "$dir/PG_VERSION" ]; then
        say "initialising a PostgreSQL cluster in .data/pg ($("$bin/postgres" --version))"
        local su_pw pwfile
        su_pw=$(random_secret)
        pwfile=$(mktemp)
        printf '%s\n' "$su_pw" >"$pwfile"
        chmod 644 "$pwfile"
        run_pg "$bin/initdb" -D "$dir" -U postgres --pwfile="$pwfile" \
            --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
        rm -f "$pwfile"
        cat >>"$dir/postgresql.conf" <<CONF
# Jasiyo's project-local cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
shared_buffers = 256MB
fsync = on
log_min_duration_statement = 2000
CONF
        write_env "$su_pw" "$(random_secret)" "$(random_secret)"
    fi
    [ -f "$ENV_FILE" ] || { say ".data/db.env is missing for an existing cluster; remove .data/pg to start over"; exit 1; }

    if ! run_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
        if port_in_use "$PORT"; then
            say "port $PORT is taken by another server: stop it, or set JASIYO_PG_PORT (and remove .data to re-create the cluster on a new port)"
            exit 1
        fi
        say "starting PostgreSQL on 127.0.0.1:$PORT (log: .data/pg/log)"
        run_pg "$bin/pg_ctl" -D "$dir" -o "-p $PORT" -l "$dir/log" -w -t 60 start >/dev/null \
            || { tail -20 "$dir/log" >&2; exit 1; }
    fi

    local su_url
    su_url=$(env_value PG_SUPERUSER_URL)
    local owner_pw app_pw
    owner_pw=$(env_value DATABASE_URL | sed -E 's#^postgres://[^:]+:([^@]+)@.*#\1#')
    app_pw=$(env_value APP_DATABASE_URL | sed -E 's#^postgres://[^:]+:([^@]+)@.*#\1#')
    # Roles and the database, idempotently. The owner may create databases (the tests make one
    # each); the runtime role is neither superuser nor BYPASSRLS and owns nothing.
    psql "$su_url" -q -v ON_ERROR_STOP=1 -v owner_pw="$owner_pw" -v app_pw="$app_pw" >/dev/null <<'SQL'
select format('create role jasiyo_owner login createdb password %L', :'owner_pw')
 where not exists (select 1 from pg_roles where rolname = 'jasiyo_owner') \gexec
select format('create role jasiyo_app login nosuperuser nobypassrls nocreatedb nocreaterole password %L', :'app_pw')
 where not exists (select 1 from pg_roles where rolname = 'jasiyo_app') \gexec
alter role jasiyo_app login;
select 'create database jasiyo owner jasiyo_owner'
 where not exists (select 1 from pg_database where datname = 'jasiyo') \gexec
SQL
}

up() {
    if [ -n "${DATABASE_URL:-}" ]; then
        [ -n "${APP_DATABASE_URL:-}" ] || { say "DATABASE_URL is set but APP_DATABASE_URL is not (see README: existing PostgreSQL)"; exit 1; }
        return
    fi
    local_up
}

print_env() {
    if [ -n "${DATABASE_URL:-}" ]; then
        printf 'export DATABASE_URL=%q\nexport APP_DATABASE_URL=%q\n' "$DATABASE_URL" "$APP_DATABASE_URL"
    else
        sed 's/^/export /' "$ENV_FILE"
    fi
}

case "${1:-}" in
    up) up ;;
    env) up; print_env ;;
    exec)
        shift
        up
        eval "$(print_env)"
        exec "$@"
        ;;
    down)
        if [ -n "${DATABASE_URL:-}" ]; then say "DATABASE_URL is set: not stopping an external database"; exit 0; fi
        if [ -e "$DATA_LINK" ]; then run_pg "$(pg_bin)/pg_ctl" -D "$(readlink -f "$DATA_LINK")" -m fast stop || true; fi
        ;;
    psql) up; eval "$(print_env)"; exec psql "$DATABASE_URL" ;;
    drop-test-databases)
        # The databases tests create (one per test) are dropped before and after a test run.
        up
        eval "$(print_env)"
        for name in $(psql "$DATABASE_URL" -Atc "select datname from pg_database
                        where datname like 'jasiyo\_test\_%' or datname like 'jasiyo\_e2e\_%'
                           or datname like 'jasiyo\_sqlx\_%'"); do
            # A test's pool may still be closing its connections (as jasiyo_app, which the owner
            # may not terminate): give them a few seconds to go.
            for attempt in $(seq 1 20); do
                if psql "$DATABASE_URL" -qc "drop database if exists \"$name\" with (force)" 2>/dev/null; then
                    break
                fi
                [ "$attempt" -lt 20 ] || psql "$DATABASE_URL" -qc "drop database if exists \"$name\" with (force)"
                sleep 0.5
            done
        done
        ;;
    *) echo "usage: db.sh up|env|exec CMD...|down|psql|drop-test-databases" >&2; exit 2 ;;
esac
