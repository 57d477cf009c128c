-- Network enforcement: the ISP's routers, the state each service should have on its router, and
-- the durable queue of commands that takes each router there.
--
-- The desired state is kept by triggers, so every change that moves it (expiry, suspension,
-- reactivation, payment, plan or password change, moving or deleting a service, archiving a
-- customer, editing a plan's speeds) moves it in its own transaction whatever code made it.
-- A worker (app/src/network/reconciler.rs) turns entries whose desired state is newer than what
-- was queued into commands, and delivers them; nothing talks to a router inside a request.

create table routers (
    tenant_id uuid not null references tenants (id) on delete cascade,
    id uuid not null,
    name text not null check (length(btrim(name)) between 1 and 80),
    site text check (site is null or length(site) <= 120),
    -- agent: the router calls us (phone-home); rest: RouterOS v7 REST API; api: RouterOS binary
    -- API (v6, also served by v7); radius: a NAS that asks our RADIUS server.
    mode text not null check (mode in ('agent', 'rest', 'api', 'radius')),
    -- Where the server reaches the router (rest, api) or where its packets come from (radius).
    host text check (host is null or host ~ '^[A-Za-z0-9.:_-]{1,253}$'),
    port integer check (port between 1 and 65535),
    -- REST over https, the API over API-SSL (8729).
    tls boolean not null default true,
    api_username text check (api_username is null or length(api_username) between 1 and 64),
    -- AES-256-GCM sealed, bound to (tenant, router, 'api-password').
    api_password_enc bytea,
    -- The agent's secret or the RADIUS shared secret: sealed, bound to (tenant, router, 'secret').
    secret_enc bytea not null,
    -- How often the agent checks in (and the server looks at a pushed router), in seconds.
    interval_secs integer not null default 10 check (interval_secs between 5 and 3600),
    -- The agent's one-time check-in nonce: each check-in must carry the last one handed out.
    agent_nonce_hash bytea,
    last_seen_at timestamptz,
    routeros_version text check (length(routeros_version) <= 60),
    last_error text check (length(last_error) <= 500),
    last_error_at timestamptz,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    primary key (tenant_id, id),
    constraint routers_tenant_name_key unique (tenant_id, name),
    check ((mode in ('rest', 'api')) <= (host is not null and api_username is not null
                                         and api_password_enc is not null)),
    check ((mode = 'radius') <= (host is not null))
);

create unique index routers_id on routers (id);

alter table routers enable row level security;
alter table routers force row level security;

create policy routers_tenant_isolation on routers
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

-- A check-in names its router by id before the tenant is known: the request's router id shows
-- that one row, whose tenant the check-in then switches to (the secret is checked after).
create policy routers_lookup_by_id on routers for select
    using (id = nullif(current_setting('app.router_id', true), '')::uuid);

-- The network worker finds routers to contact across tenants, read only.
create policy routers_network_worker on routers for select
    using (current_setting('app.worker', true) = 'network');

grant select, insert, update, delete on routers to jasiyo_app;

alter table services add constraint services_router_fkey foreign key (tenant_id, router_id)
    references routers (tenant_id, id) on delete restrict;
create index services_tenant_router on services (tenant_id, router_id);

-- What one user name should be on one router. Keyed by what the router knows (its user name),
-- not by service: a renamed or moved service leaves an 'absent' entry behind for the old name.
create table network_entries (
    tenant_id uuid not null,
    router_id uuid not null,
    username text not null,
    -- The service it is for (kept once the service is deleted and the entry 'absent').
    service_id uuid,
    kind text not null check (kind in ('pppoe', 'hotspot')),
    desired text not null check (desired in ('enabled', 'disabled', 'absent')),
    plan_id uuid,
    -- Change when what the router must be told changes: the plan's speeds and limits, the
    -- sealed password (a digest of the ciphertext, nothing of the password).
    plan_stamp text,
    password_tag text,
    -- Why the desired state last changed: added, cut_off, suspended, reconnected, plan,
    -- password, moved, removed.
    reason text not null,
    version bigint not null default 1,
    queued_version bigint not null default 0,
    confirmed_version bigint not null default 0,
    -- When the change was made, and when it was due (a cut-off is due at expiry plus grace,
    -- which the sweep notices up to a few seconds later): the latency figures start there.
    changed_at timestamptz not null,
    due_at timestamptz not null,
    confirmed_at timestamptz,
    primary key (tenant_id, router_id, username),
    foreign key (tenant_id, router_id) references routers (tenant_id, id) on delete cascade
);

create index network_entries_service on network_entries (tenant_id, service_id);
create index network_entries_unqueued on network_entries (tenant_id) where version > queued_version;

alter table network_entries enable row level security;
alter table network_entries force row level security;

create policy network_entries_tenant_isolation on network_entries
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

create policy network_entries_network_worker on network_entries for select
    using (current_setting('app.worker', true) = 'network');

grant select, insert, update, delete on network_entries to jasiyo_app;

-- The durable per-router queue. One command carries the whole desired state of one user name
-- (so running it twice is harmless); while it waits, a newer desired state replaces it rather
-- than queueing behind it (at most one queued command per user name and router).
create table router_commands (
    tenant_id uuid not null,
    id bigint generated always as identity,
    router_id uuid not null,
    username text not null,
    service_id uuid,
    -- The entry version this command takes the router to.
    version bigint not null,
    -- {kind, desired, profile, rate_limit, shared_users, limit_bytes_total}
    spec jsonb not null,
    reason text not null,
    status text not null check (status in ('queued', 'delivered', 'executed', 'confirmed',
                                           'failed', 'superseded')),
    attempts integer not null default 0,
    next_attempt_at timestamptz not null,
    last_error text check (length(last_error) <= 500),
    due_at timestamptz not null,
    created_at timestamptz not null,
    delivered_at timestamptz,
    executed_at timestamptz,
    confirmed_at timestamptz,
    failed_at timestamptz,
    primary key (tenant_id, id),
    foreign key (tenant_id, router_id) references routers (tenant_id, id) on delete cascade
);

create unique index router_commands_one_queued on router_commands (tenant_id, router_id, username)
    where status = 'queued';
create index router_commands_router on router_commands (tenant_id, router_id, id desc);
create index router_commands_due on router_commands (next_attempt_at) where status = 'queued';
create index router_commands_in_flight on router_commands (delivered_at)
    where status in ('delivered', 'executed');

alter table router_commands enable row level security;
alter table router_commands force row level security;

create policy router_commands_tenant_isolation on router_commands
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

create policy router_commands_network_worker on router_commands for select
    using (current_setting('app.worker', true) = 'network');

grant select, insert, update, delete on router_commands to jasiyo_app;

-- The expiry sweep finds ISPs with services due to be cut off across tenants, read only.
create policy services_network_worker on services for select
    using (current_setting('app.worker', true) = 'network');
create policy invoices_network_worker on invoices for select
    using (current_setting('app.worker', true) = 'network');
-- ...through these, not by reading every ISP's services each second.
create index services_active_expiry on services (expires_at) where status = 'active';
create index invoices_unpaid_service_due on invoices (due_at)
    where status in ('pending', 'overdue') and service_id is not null;

-- Recomputes the desired state of `ids` (services of `tenant`) from the tables as they are now.
-- `at` is when the change was made (the services' own updated_at, written by the app's clock).
create function network_refresh(tenant uuid, ids uuid[], at timestamptz) returns void
language plpgsql as $$
declare
    changed bigint;
begin
    with target as (
        select s.router_id, s.username, s.id as service_id, p.kind, p.id as plan_id,
               case when c.archived_at is not null then 'absent'
                    when s.status = 'active' then 'enabled'
                    else 'disabled' end as desired,
               md5(concat_ws('/', p.download_kbps, p.upload_kbps, p.burst_download_kbps,
                             p.burst_upload_kbps, p.shared_users, p.data_cap_bytes)) as plan_stamp,
               md5(s.password_enc) as password_tag,
               case when c.archived_at is not null then 'removed'
                    when s.status = 'active' then 'reconnected'
                    when s.status = 'suspended' then 'suspended'
                    else 'cut_off' end as why,
               coalesce(s.updated_at, at) as changed_at,
               case when s.status = 'expired' and c.archived_at is null
                    then least(s.updated_at, s.expires_at + make_interval(days => t.grace_period_days))
                    else s.updated_at end as due_at
          from services s
          join plans p on p.tenant_id = s.tenant_id and p.id = s.plan_id
          join customers c on c.tenant_id = s.tenant_id and c.id = s.customer_id
          join tenants t on t.id = s.tenant_id
         where s.tenant_id = tenant and s.id = any(ids) and s.router_id is not null
           and p.kind in ('pppoe', 'hotspot')
    ),
    gone as (
        update network_entries e
           set desired = 'absent', reason = case when e.service_id is null
                                                   or not exists (select 1 from services s
                                                                   where s.tenant_id = tenant
                                                                     and s.id = e.service_id)
                                                 then 'removed' else 'moved' end,
               version = e.version + 1, changed_at = at, due_at = at
         where e.tenant_id = tenant and e.service_id = any(ids) and e.desired <> 'absent'
           and not exists (select 1 from target g
                            where g.router_id = e.router_id and g.username = e.username)
        returning 1
    ),
    upserted as (
        insert into network_entries as e (tenant_id, router_id, username, service_id, kind,
                                          desired, plan_id, plan_stamp, password_tag, reason,
                                          changed_at, due_at)
        select tenant, g.router_id, g.username, g.service_id, g.kind, g.desired, g.plan_id,
               g.plan_stamp, g.password_tag,
               case when g.desired = 'enabled' then 'added' else g.why end,
               g.changed_at, g.due_at
          from target g
        on conflict (tenant_id, router_id, username) do update
           set reason = case when e.desired is distinct from excluded.desired then
                                  case excluded.desired when 'enabled' then 'reconnected'
                                       else excluded.reason end
                             when e.service_id is distinct from excluded.service_id then 'moved'
                             when e.plan_stamp is distinct from excluded.plan_stamp
                               or e.kind is distinct from excluded.kind then 'plan'
                             else 'password' end,
               service_id = excluded.service_id, kind = excluded.kind,
               desired = excluded.desired, plan_id = excluded.plan_id,
               plan_stamp = excluded.plan_stamp, password_tag = excluded.password_tag,
               version = e.version + 1, changed_at = excluded.changed_at,
               due_at = excluded.due_at
         where (e.service_id, e.kind, e.desired, e.plan_stamp, e.password_tag)
               is distinct from (excluded.service_id, excluded.kind, excluded.desired,
                                 excluded.plan_stamp, excluded.password_tag)
        returning 1
    )
    select (select count(*) from gone) + (select count(*) from upserted) into changed;
    if changed > 0 then
        perform pg_notify('jasiyo_network', tenant::text);
    end if;
end
$$;

create function services_network_on_insert() returns trigger language plpgsql as $$
declare
    r record;
begin
    for r in select n.tenant_id, array_agg(n.id) as ids, max(n.updated_at) as at
               from new_rows n where n.router_id is not null group by n.tenant_id loop
        perform network_refresh(r.tenant_id, r.ids, r.at);
    end loop;
    return null;
end
$$;

create trigger services_network_on_insert after insert on services
    referencing new table as new_rows
    for each statement execute function services_network_on_insert();

-- Only what a router is told matters: a renewal that moves an active service's expiry (most
-- payments) changes nothing here and costs one join over the statement's rows.
create function services_network_on_update() returns trigger language plpgsql as $$
declare
    r record;
begin
    for r in select n.tenant_id, array_agg(n.id) as ids, max(n.updated_at) as at
               from new_rows n join old_rows o on o.tenant_id = n.tenant_id and o.id = n.id
              where (n.router_id is not null or o.router_id is not null)
                and (o.status, o.plan_id, o.router_id, o.username, o.password_enc, o.customer_id)
                    is distinct from
                    (n.status, n.plan_id, n.router_id, n.username, n.password_enc, n.customer_id)
              group by n.tenant_id loop
        perform network_refresh(r.tenant_id, r.ids, r.at);
    end loop;
    return null;
end
$$;

create trigger services_network_on_update after update on services
    referencing new table as new_rows old table as old_rows
    for each statement execute function services_network_on_update();

create function services_network_on_delete() returns trigger language plpgsql as $$
declare
    r record;
begin
    for r in select o.tenant_id, array_agg(o.id) as ids
               from old_rows o where o.router_id is not null group by o.tenant_id loop
        perform network_refresh(r.tenant_id, r.ids, now());
    end loop;
    return null;
end
$$;

create trigger services_network_on_delete after delete on services
    referencing old table as old_rows
    for each statement execute function services_network_on_delete();

-- A plan's speeds, limits or kind reach every router its services are on.
create function plans_network_on_update() returns trigger language plpgsql as $$
declare
    r record;
begin
    for r in select s.tenant_id, array_agg(s.id) as ids, max(n.updated_at) as at
               from new_rows n join old_rows o on o.tenant_id = n.tenant_id and o.id = n.id
               join services s on s.tenant_id = n.tenant_id and s.plan_id = n.id
              where s.router_id is not null
                and (o.kind, o.download_kbps, o.upload_kbps, o.burst_download_kbps,
                     o.burst_upload_kbps, o.shared_users, o.data_cap_bytes)
                    is distinct from
                    (n.kind, n.download_kbps, n.upload_kbps, n.burst_download_kbps,
                     n.burst_upload_kbps, n.shared_users, n.data_cap_bytes)
              group by s.tenant_id loop
        perform network_refresh(r.tenant_id, r.ids, r.at);
    end loop;
    return null;
end
$$;

create trigger plans_network_on_update after update on plans
    referencing new table as new_rows old table as old_rows
    for each statement execute function plans_network_on_update();

-- An archived customer's services leave their routers (and come back if restored).
create function customers_network_on_update() returns trigger language plpgsql as $$
declare
    r record;
begin
    for r in select s.tenant_id, array_agg(s.id) as ids, max(n.updated_at) as at
               from new_rows n join old_rows o on o.tenant_id = n.tenant_id and o.id = n.id
               join services s on s.tenant_id = n.tenant_id and s.customer_id = n.id
              where s.router_id is not null
                and (o.archived_at is null) <> (n.archived_at is null)
              group by s.tenant_id loop
        perform network_refresh(r.tenant_id, r.ids, r.at);
    end loop;
    return null;
end
$$;

create trigger customers_network_on_update after update on customers
    referencing new table as new_rows old table as old_rows
    for each statement execute function customers_network_on_update();
