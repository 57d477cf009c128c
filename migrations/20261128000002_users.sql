-- ISP staff. Sign-in, sessions and invitations build on this table (accounts issue).

create type staff_role as enum ('owner', 'admin', 'support');

create table users (
    tenant_id uuid not null references tenants (id) on delete cascade,
    id uuid not null,
    email text not null check (email = lower(email) and email like '_%@_%'),
    name text not null check (length(btrim(name)) between 1 and 120),
    role staff_role not null,
    password_hash text,
    disabled_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    constraint users_tenant_email_key unique (tenant_id, email)
);

alter table users enable row level security;
alter table users force row level security;

create policy users_tenant_isolation on users
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

grant select, insert, update, delete on users to jasiyo_app;
