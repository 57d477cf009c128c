-- Ground rules for every table that follows.
--
-- Two roles: the one running this migration owns every table (the "owner"); `jasiyo_app`, used
-- by the server for every request and job, owns nothing and is neither superuser nor BYPASSRLS.
-- Every tenant-owned table has `tenant_id`, row-level security ENABLED and FORCED (so even the
-- owner is filtered), and a policy with USING and WITH CHECK on
--   tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
-- which the server sets per transaction with set_config('app.tenant_id', $1, true).
-- With no tenant set the setting is '' or missing, the comparison is null, and no row is visible.

do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'jasiyo_app') then
        -- Normally created with a password by the set-up script before migrating; created here
        -- (without login) so the migrations also apply to a database prepared by hand.
        create role jasiyo_app nologin nosuperuser nobypassrls nocreatedb nocreaterole noinherit;
    end if;
end
$$;

-- Nobody but the owner creates objects here.
revoke create on schema public from public;
grant usage on schema public to jasiyo_app;

-- Tenants: the ISPs. Keyed by `id` rather than `tenant_id`; the policy shows a tenant's own row
-- (app.tenant_id) or, for public lookups by slug (portal, hotspot), the one row whose slug was
-- asked for (app.tenant_slug). Nothing lists tenants.
create table tenants (
    id uuid primary key,
    slug text not null unique
        check (slug ~ '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$'),
    name text not null check (length(btrim(name)) between 1 and 120),
    time_zone text not null default 'Africa/Nairobi',
    currency char(3) not null default 'KES' check (currency ~ '^[A-Z]{3}$'),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

alter table tenants enable row level security;
alter table tenants force row level security;

create policy tenants_own_row on tenants
    using (id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (id = nullif(current_setting('app.tenant_id', true), '')::uuid);

create policy tenants_lookup_by_slug on tenants
    for select
    using (slug = nullif(current_setting('app.tenant_slug', true), ''));

grant select, insert, update on tenants to jasiyo_app;
