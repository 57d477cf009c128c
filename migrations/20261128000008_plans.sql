-- Service plans: the packages an ISP sells.
create table plans (
    tenant_id uuid not null references tenants (id) on delete cascade,
    id uuid not null,
    name text not null check (length(btrim(name)) between 1 and 80),
    kind text not null check (kind in ('pppoe', 'hotspot', 'static_ip')),
    price_minor bigint not null check (price_minor >= 0),
    currency char(3) not null default 'KES',
    validity_unit text not null check (validity_unit in ('minutes', 'hours', 'days', 'weeks', 'months')),
    validity_count integer not null check (validity_count between 1 and 10000),
    download_kbps integer not null check (download_kbps between 1 and 100000000),
    upload_kbps integer not null check (upload_kbps between 1 and 100000000),
    burst_download_kbps integer check (burst_download_kbps > 0),
    burst_upload_kbps integer check (burst_upload_kbps > 0),
    data_cap_bytes bigint check (data_cap_bytes > 0),
    shared_users integer check (shared_users between 1 and 1000),
    archived_at timestamptz,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    primary key (tenant_id, id),
    constraint plans_tenant_name_key unique (tenant_id, name),
    check ((burst_download_kbps is null) = (burst_upload_kbps is null)),
    check (shared_users is null or kind = 'hotspot')
);

alter table plans enable row level security;
alter table plans force row level security;

create policy plans_tenant_isolation on plans
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

grant select, insert, update, delete on plans to jasiyo_app;
