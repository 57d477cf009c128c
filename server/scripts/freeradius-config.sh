#!/usr/bin/env bash
# freeradius-config.sh DIR PORT SECRET CONNINFO: a minimal FreeRADIUS 3.2 configuration (Debian's
# packages) for the RADIUS benchmark's reference: PAP users from its standard SQL schema through
# rlm_sql_postgresql (radcheck, radreply and the group tables, as FreeRADIUS queries them by
# default), one client at 127.0.0.1 with SECRET, listening on 127.0.0.1:PORT. Start it with
# `freeradius -f -d DIR`.
set -euo pipefail
dir=$1; port=$2; secret=$3; conninfo=$4
rm -rf "$dir"; mkdir -p "$dir/mods-enabled" "$dir/sites-enabled" "$dir/mods-config/sql/main"
cp /etc/freeradius/3.0/dictionary "$dir/"
cp -r /etc/freeradius/3.0/mods-config/sql/main/postgresql "$dir/mods-config/sql/main/"
cat >"$dir/radiusd.conf" <<CONF
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
logdir = $dir
raddbdir = $dir
radacctdir = $dir
name = freeradius
confdir = \${raddbdir}
modconfdir = \${confdir}/mods-config
run_dir = $dir
db_dir = $dir
libdir = /usr/lib/freeradius
pidfile = $dir/freeradius.pid
max_request_time = 30
cleanup_delay = 5
max_requests = 65536
hostname_lookups = no
log {
    destination = files
    file = $dir/freeradius.log
    auth = no
}
security {
    allow_core_dumps = no
    max_attributes = 200
    reject_delay = 0
    status_server = no
}
thread pool {
    start_servers = 8
    max_servers = 32
    min_spare_servers = 3
    max_spare_servers = 16
    max_requests_per_server = 0
}
\$INCLUDE clients.conf
modules {
    \$INCLUDE mods-enabled/
}
instantiate {
}
policy {
}
\$INCLUDE sites-enabled/
CONF
cat >"$dir/clients.conf" <<CONF
client bench {
    ipaddr = 127.0.0.1
    secret = $secret
}
CONF
# The SQL queries use %{tolower:...}, which the expr module provides.
printf 'expr {\n}\n' >"$dir/mods-enabled/expr"
cat >"$dir/mods-enabled/pap" <<'CONF'
pap {
    normalise = yes
}
CONF
cat >"$dir/mods-enabled/sql" <<CONF
sql {
    dialect = "postgresql"
    driver = "rlm_sql_postgresql"
    radius_db = "$conninfo"
    acct_table1 = "radacct"
    acct_table2 = "radacct"
    postauth_table = "radpostauth"
    authcheck_table = "radcheck"
    groupcheck_table = "radgroupcheck"
    authreply_table = "radreply"
    groupreply_table = "radgroupreply"
    usergroup_table = "radusergroup"
    delete_stale_sessions = yes
    client_table = "nas"
    read_clients = no
    group_attribute = "SQL-Group"
    # As many connections as threads, so no request waits for one (with fewer, requests past
    # the pool are rejected: "no connections available").
    pool {
        start = 32
        min = 16
        max = 32
        spare = 16
        uses = 0
        retry_delay = 30
        lifetime = 0
        idle_timeout = 60
    }
    \$INCLUDE \${modconfdir}/\${.:name}/main/\${dialect}/queries.conf
}
CONF
cat >"$dir/sites-enabled/default" <<CONF
server default {
    listen {
        type = auth
        ipaddr = 127.0.0.1
        port = $port
    }
    authorize {
        sql
        pap
    }
    authenticate {
        Auth-Type PAP {
            pap
        }
    }
    post-auth {
    }
}
CONF
