-- Hotspot vouchers: codes an ISP prints and sells, each a hotspot user on a router (or answered
-- by RADIUS) until it is used up or its shelf life ends.

create table voucher_batches (
    tenant_id uuid not null references tenants (id) on delete cascade,
    id uuid not null,
    plan_id uuid not null,
    router_id uuid,
    count integer not null check (count between 1 and 1000),
    -- Unused vouchers stop working at this moment.
    expires_at timestamptz not null,
    created_by uuid,
    created_at timestamptz not null,
    primary key (tenant_id, id),
    foreign key (tenant_id, plan_id) references plans (tenant_id, id) on delete restrict,
    foreign key (tenant_id, router_id) references routers (tenant_id, id) on delete restrict,
    foreign key (tenant_id, created_by) references users (tenant_id, id)
);

create index voucher_batches_tenant_created on voucher_batches (tenant_id, created_at desc);
create index voucher_batches_tenant_plan on voucher_batches (tenant_id, plan_id);
create index voucher_batches_tenant_router on voucher_batches (tenant_id, router_id);
create index voucher_batches_tenant_created_by on voucher_batches (tenant_id, created_by);

alter table voucher_batches enable row level security;
alter table voucher_batches force row level security;

create policy voucher_batches_tenant_isolation on voucher_batches
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

grant select, insert on voucher_batches to jasiyo_app;

create table vouchers (
    tenant_id uuid not null,
    id uuid not null,
    batch_id uuid not null,
    -- `X7K2-P9MQ`: eight of 31 letters and digits nobody misreads, unique per ISP. It is both
    -- the hotspot user name and its password.
    code text not null check (code ~ '^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$'),
    plan_id uuid not null,
    router_id uuid,
    status text not null default 'available' check (status in ('available', 'used', 'expired')),
    expires_at timestamptz not null,
    used_at timestamptz,
    -- Once used: when its plan's validity from first use runs out.
    ends_at timestamptz,
    -- When it stopped working (shelf life or validity over).
    ended_at timestamptz,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    primary key (tenant_id, id),
    constraint vouchers_tenant_code_key unique (tenant_id, code),
    foreign key (tenant_id, batch_id) references voucher_batches (tenant_id, id) on delete cascade,
    foreign key (tenant_id, plan_id) references plans (tenant_id, id) on delete restrict,
    foreign key (tenant_id, router_id) references routers (tenant_id, id) on delete restrict,
    check ((status = 'used') <= (used_at is not null and ends_at is not null))
);

create index vouchers_tenant_batch on vouchers (tenant_id, batch_id);
create index vouchers_tenant_plan on vouchers (tenant_id, plan_id);
create index vouchers_tenant_router on vouchers (tenant_id, router_id);
create index vouchers_tenant_status on vouchers (tenant_id, status, created_at desc);
-- The sweep's way to vouchers whose time is up, across ISPs.
create index vouchers_live_expiry on vouchers (expires_at) where status = 'available';
create index vouchers_used_ends on vouchers (ends_at) where status = 'used';

alter table vouchers enable row level security;
alter table vouchers force row level security;

create policy vouchers_tenant_isolation on vouchers
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

create policy vouchers_network_worker on vouchers for select
    using (current_setting('app.worker', true) = 'network');

grant select, insert, update on vouchers to jasiyo_app;

-- A voucher on a router is a network entry like a service: enabled while it can be used,
-- absent once it has ended.
alter table network_entries add column voucher_id uuid;
create index network_entries_voucher on network_entries (tenant_id, voucher_id);

create function network_refresh_vouchers(tenant uuid, ids uuid[], at timestamptz) returns void
language plpgsql as $$
declare
    changed bigint;
begin
    with target as (
        select v.router_id, v.code as username, v.id as voucher_id, v.plan_id,
               case when v.status = 'expired' then 'absent' else 'enabled' end as desired,
               md5(concat_ws('/', p.download_kbps, p.upload_kbps, p.burst_download_kbps,
                             p.burst_upload_kbps, p.shared_users, p.data_cap_bytes,
                             p.validity_unit, p.validity_count)) as plan_stamp
          from vouchers v
          join plans p on p.tenant_id = v.tenant_id and p.id = v.plan_id
         where v.tenant_id = tenant and v.id = any(ids) and v.router_id is not null
    ),
    upserted as (
        insert into network_entries as e (tenant_id, router_id, username, voucher_id, kind,
                                          desired, plan_id, plan_stamp, password_tag, reason,
                                          changed_at, due_at)
        select tenant, g.router_id, g.username, g.voucher_id, 'hotspot', g.desired, g.plan_id,
               g.plan_stamp, 'voucher',
               case when g.desired = 'enabled' then 'added' else 'removed' end, at, at
          from target g
        on conflict (tenant_id, router_id, username) do update
           set reason = case when e.desired is distinct from excluded.desired
                             then excluded.reason else 'plan' end,
               voucher_id = excluded.voucher_id, service_id = null, kind = excluded.kind,
               desired = excluded.desired, plan_id = excluded.plan_id,
               plan_stamp = excluded.plan_stamp, password_tag = excluded.password_tag,
               version = e.version + 1, changed_at = excluded.changed_at,
               due_at = excluded.due_at
         where (e.voucher_id, e.desired, e.plan_stamp)
               is distinct from (excluded.voucher_id, excluded.desired, excluded.plan_stamp)
        returning 1
    )
    select count(*) from upserted into changed;
    if changed > 0 then
        perform pg_notify('jasiyo_network', tenant::text);
    end if;
end
$$;

create function vouchers_network_on_change() returns trigger language plpgsql as $$
declare
    r record;
begin
    for r in select n.tenant_id, array_agg(n.id) as ids, max(n.updated_at) as at
               from new_rows n where n.router_id is not null group by n.tenant_id loop
        perform network_refresh_vouchers(r.tenant_id, r.ids, r.at);
    end loop;
    return null;
end
$$;

create trigger vouchers_network_on_insert after insert on vouchers
    referencing new table as new_rows
    for each statement execute function vouchers_network_on_change();

create trigger vouchers_network_on_update after update on vouchers
    referencing new table as new_rows
    for each statement execute function vouchers_network_on_change();

-- A plan's speeds or validity reach its vouchers as well as its services.
create function plans_network_vouchers_on_update() returns trigger language plpgsql as $$
declare
    r record;
begin
    for r in select v.tenant_id, array_agg(v.id) as ids, max(n.updated_at) as at
               from new_rows n join old_rows o on o.tenant_id = n.tenant_id and o.id = n.id
               join vouchers v on v.tenant_id = n.tenant_id and v.plan_id = n.id
              where v.router_id is not null and v.status <> 'expired'
                and (o.download_kbps, o.upload_kbps, o.burst_download_kbps, o.burst_upload_kbps,
                     o.shared_users, o.data_cap_bytes, o.validity_unit, o.validity_count)
                    is distinct from
                    (n.download_kbps, n.upload_kbps, n.burst_download_kbps, n.burst_upload_kbps,
                     n.shared_users, n.data_cap_bytes, n.validity_unit, n.validity_count)
              group by v.tenant_id loop
        perform network_refresh_vouchers(r.tenant_id, r.ids, r.at);
    end loop;
    return null;
end
$$;

create trigger plans_network_vouchers_on_update after update on plans
    referencing new table as new_rows old table as old_rows
    for each statement execute function plans_network_vouchers_on_update();
