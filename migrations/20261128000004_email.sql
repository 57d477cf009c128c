-- Email: one-time tokens (verification, password reset) and the durable outbox.

-- Single-use tokens sent by email. Only the SHA-256 of the token is stored.
create table email_tokens (
    tenant_id uuid not null,
    id uuid not null,
    user_id uuid not null,
    purpose text not null check (purpose in ('verify_email', 'reset_password')),
    token_hash bytea not null check (length(token_hash) = 32),
    created_at timestamptz not null,
    expires_at timestamptz not null,
    used_at timestamptz,
    primary key (tenant_id, id),
    constraint email_tokens_token_hash_key unique (token_hash),
    foreign key (tenant_id, user_id) references users (tenant_id, id) on delete cascade
);
create index email_tokens_user_idx on email_tokens (tenant_id, user_id);

alter table email_tokens enable row level security;
alter table email_tokens force row level security;

create policy email_tokens_tenant_isolation on email_tokens
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

-- A link carries a token before its tenant is known: this shows the one token whose hash (hex)
-- the request put in app.email_token_hash.
create policy email_tokens_lookup_by_token on email_tokens
    for select
    using (token_hash = decode(nullif(current_setting('app.email_token_hash', true), ''), 'hex'));

grant select, insert, update on email_tokens to jasiyo_app;

-- Every email Jasiyo sends, written in the transaction that decides to send it and delivered
-- after commit; what failed stays queued with its error for a retry.
create table email_outbox (
    tenant_id uuid not null references tenants (id) on delete cascade,
    id uuid not null,
    kind text not null,
    to_address text not null,
    subject text not null,
    body_text text not null,
    status text not null default 'queued' check (status in ('queued', 'sent', 'failed')),
    attempts integer not null default 0,
    last_error text,
    created_at timestamptz not null,
    sent_at timestamptz,
    primary key (tenant_id, id)
);
create index email_outbox_queued_idx on email_outbox (tenant_id, created_at) where status <> 'sent';

alter table email_outbox enable row level security;
alter table email_outbox force row level security;

create policy email_outbox_tenant_isolation on email_outbox
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

grant select, insert, update on email_outbox to jasiyo_app;
