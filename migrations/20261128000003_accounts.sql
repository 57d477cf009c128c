-- Accounts and access: trial and business settings on tenants, sign-in by email, server-side
-- sessions, an append-only audit log, and sign-in throttling.

alter table tenants
    add column trial_ends_at timestamptz,
    add column grace_period_days integer not null default 0
        check (grace_period_days between 0 and 60);

-- One email is one sign-in across Jasiyo, so a sign-in finds exactly one account.
alter table users
    add constraint users_email_key unique (email),
    add column email_verified_at timestamptz,
    add column password_changed_at timestamptz;

-- Signing in looks the account up by email before any tenant is known. This SELECT-only
-- policy shows the one row whose email the sign-in put in app.login_email, and nothing else.
create policy users_lookup_by_email on users
    for select
    using (email = nullif(current_setting('app.login_email', true), ''));

-- Server-side sessions. The cookie holds a random token; only its SHA-256 is stored.
create table sessions (
    tenant_id uuid not null,
    id uuid not null,
    user_id uuid not null,
    token_hash bytea not null check (length(token_hash) = 32),
    remember boolean not null,
    created_at timestamptz not null,
    last_seen_at timestamptz not null,
    idle_expires_at timestamptz not null,
    absolute_expires_at timestamptz not null,
    ip inet,
    user_agent text,
    primary key (tenant_id, id),
    constraint sessions_token_hash_key unique (token_hash),
    foreign key (tenant_id, user_id) references users (tenant_id, id) on delete cascade
);
create index sessions_user_idx on sessions (tenant_id, user_id);

alter table sessions enable row level security;
alter table sessions force row level security;

create policy sessions_tenant_isolation on sessions
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

-- A request presents a token before its tenant is known: this SELECT-only policy shows the one
-- session whose token hash (hex) the request put in app.session_token_hash.
create policy sessions_lookup_by_token on sessions
    for select
    using (token_hash = decode(nullif(current_setting('app.session_token_hash', true), ''), 'hex'));

grant select, insert, update, delete on sessions to jasiyo_app;

-- Who did what, when, from where. Written in the same transaction as the change it records;
-- the runtime role may add and read entries, never change or remove them.
create table audit_log (
    tenant_id uuid not null references tenants (id) on delete cascade,
    id bigint generated always as identity,
    at timestamptz not null,
    actor_user_id uuid,
    actor_label text not null,
    action text not null check (action ~ '^[a-z_]+(\.[a-z_]+)+$'),
    entity_type text,
    entity_id text,
    before jsonb,
    after jsonb,
    ip inet,
    user_agent text,
    primary key (tenant_id, id),
    foreign key (tenant_id, actor_user_id) references users (tenant_id, id)
);
create index audit_log_actor_idx on audit_log (tenant_id, actor_user_id);
create index audit_log_at_idx on audit_log (tenant_id, at desc);

alter table audit_log enable row level security;
alter table audit_log force row level security;

create policy audit_log_tenant_isolation on audit_log
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

grant select, insert on audit_log to jasiyo_app;

-- Sign-in and reset throttling, per account and per IP. Holds no tenant's data: keys are
-- SHA-256 digests ('account:…', 'ip:…'), so a global table without RLS.
create table auth_throttle (
    key text primary key,
    failures integer not null default 0 check (failures >= 0),
    locked_until timestamptz,
    updated_at timestamptz not null
);

grant select, insert, update, delete on auth_throttle to jasiyo_app;
