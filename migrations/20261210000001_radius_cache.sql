-- The RADIUS server keeps, in memory, what it needs to accept an active service's user
-- (`app/src/network/radius_cache.rs`). These triggers tell it, once a change commits, what to
-- forget: on channel `jasiyo_radius`, `<tenant>:<username>` for one user name, or `<tenant>` for
-- all of an ISP's. Anything the answer to an Access-Request depends on is covered: the service's
-- status, expiry, password, user name, plan and customer; the plan's speeds; the customer being
-- archived; the ISP's grace period. Notifications are sent at commit, never for a rollback.

-- One notification per user name; a statement touching many services forgets the whole ISP.
create function radius_forget(tenant uuid, names text[]) returns void
language plpgsql as $$
declare
    name text;
begin
    if names is null or cardinality(names) > 200 then
        perform pg_notify('jasiyo_radius', tenant::text);
    else
        foreach name in array names loop
            perform pg_notify('jasiyo_radius', tenant::text || ':' || name);
        end loop;
    end if;
end
$$;

create function services_radius_on_update() returns trigger language plpgsql as $$
declare
    r record;
begin
    for r in select n.tenant_id, array_agg(distinct u.name) as names
               from new_rows n join old_rows o on o.tenant_id = n.tenant_id and o.id = n.id
               cross join lateral (values (o.username), (n.username)) u(name)
              where (o.status, o.expires_at, o.password_enc, o.username, o.plan_id, o.customer_id)
                    is distinct from
                    (n.status, n.expires_at, n.password_enc, n.username, n.plan_id, n.customer_id)
              group by n.tenant_id loop
        perform radius_forget(r.tenant_id, r.names);
    end loop;
    return null;
end
$$;

create trigger services_radius_on_update after update on services
    referencing new table as new_rows old table as old_rows
    for each statement execute function services_radius_on_update();

create function services_radius_on_delete() returns trigger language plpgsql as $$
declare
    r record;
begin
    for r in select o.tenant_id, array_agg(distinct o.username) as names
               from old_rows o group by o.tenant_id loop
        perform radius_forget(r.tenant_id, r.names);
    end loop;
    return null;
end
$$;

create trigger services_radius_on_delete after delete on services
    referencing old table as old_rows
    for each statement execute function services_radius_on_delete();

-- Rare changes that reach many services forget the whole ISP.
create function radius_forget_tenant() returns trigger language plpgsql as $$
begin
    if tg_table_name = 'tenants' then
        perform radius_forget(new.id, null);
    else
        perform radius_forget(new.tenant_id, null);
    end if;
    return null;
end
$$;

create trigger plans_radius_on_update after update on plans
    for each row when ((old.download_kbps, old.upload_kbps, old.burst_download_kbps,
                        old.burst_upload_kbps)
                       is distinct from
                       (new.download_kbps, new.upload_kbps, new.burst_download_kbps,
                        new.burst_upload_kbps))
    execute function radius_forget_tenant();

create trigger customers_radius_on_update after update of archived_at on customers
    for each row when ((old.archived_at is null) <> (new.archived_at is null))
    execute function radius_forget_tenant();

create trigger tenants_radius_on_update after update of grace_period_days on tenants
    for each row when (old.grace_period_days is distinct from new.grace_period_days)
    execute function radius_forget_tenant();
