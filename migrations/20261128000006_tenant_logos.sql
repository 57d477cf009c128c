-- The ISP's logo, shown in the shell (and later on invoices and the portal). Small by rule:
-- at most 256 KiB, PNG, JPEG or WebP, checked by content, not by name.
create table tenant_logos (
    tenant_id uuid primary key references tenants (id) on delete cascade,
    content_type text not null check (content_type in ('image/png', 'image/jpeg', 'image/webp')),
    bytes bytea not null check (length(bytes) between 1 and 262144),
    updated_at timestamptz not null
);

alter table tenant_logos enable row level security;
alter table tenant_logos force row level security;

create policy tenant_logos_tenant_isolation on tenant_logos
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

grant select, insert, update, delete on tenant_logos to jasiyo_app;
