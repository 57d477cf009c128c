-- The subscriber portal: one-time sign-in codes sent by SMS, an optional password a subscriber
-- sets, portal sessions (separate from staff sessions), and the SMS outbox the codes go out
-- through (the messaging work adds templates, providers per ISP and the other events to it).

-- A subscriber's own password (argon2id, as staff passwords), for signing in with the account
-- number instead of a code.
alter table customers add column portal_password_hash text;

-- A code sent to a phone number of the ISP's customers. Only its HMAC is kept (keyed by the
-- server's secret, bound to the ISP and the phone), so the table cannot be read back into codes.
create table portal_codes (
    tenant_id uuid not null references tenants (id) on delete cascade,
    id uuid not null,
    phone text not null check (phone ~ '^254[17][0-9]{8}$'),
    code_hash bytea not null check (length(code_hash) = 32),
    created_at timestamptz not null,
    expires_at timestamptz not null,
    attempts integer not null default 0 check (attempts between 0 and 5),
    used_at timestamptz,
    primary key (tenant_id, id)
);
create index portal_codes_phone on portal_codes (tenant_id, phone, created_at desc);

alter table portal_codes enable row level security;
alter table portal_codes force row level security;
create policy portal_codes_tenant_isolation on portal_codes
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
grant select, insert, update, delete on portal_codes to jasiyo_app;

-- Portal sessions: one customer of one ISP. `phone` is the number a code was verified for (the
-- subscriber may switch between that number's accounts); null after a password sign-in.
create table portal_sessions (
    tenant_id uuid not null references tenants (id) on delete cascade,
    id uuid not null,
    customer_id uuid not null,
    phone text,
    token_hash bytea not null check (length(token_hash) = 32),
    created_at timestamptz not null,
    last_seen_at timestamptz not null,
    idle_expires_at timestamptz not null,
    absolute_expires_at timestamptz not null,
    ip inet,
    user_agent text,
    primary key (tenant_id, id),
    foreign key (tenant_id, customer_id) references customers (tenant_id, id) on delete cascade
);
create unique index portal_sessions_token on portal_sessions (token_hash);
create index portal_sessions_customer on portal_sessions (tenant_id, customer_id);

alter table portal_sessions enable row level security;
alter table portal_sessions force row level security;
create policy portal_sessions_tenant_isolation on portal_sessions
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
-- A request presents a token before its ISP is known: this shows the one session whose token
-- hash (hex) the request put in app.portal_token_hash.
create policy portal_sessions_lookup_by_token on portal_sessions
    for select
    using (token_hash = decode(nullif(current_setting('app.portal_token_hash', true), ''), 'hex'));
grant select, insert, update, delete on portal_sessions to jasiyo_app;

-- Text messages to send. Sending claims rows with SKIP LOCKED; a message whose outcome is not
-- known (the request left, no answer came) is `unknown` and never sent again by itself.
create table sms_outbox (
    tenant_id uuid not null references tenants (id) on delete cascade,
    id uuid not null,
    customer_id uuid,
    kind text not null check (kind ~ '^[a-z_]+$'),
    recipient text not null check (recipient ~ '^254[17][0-9]{8}$'),
    body text not null check (length(body) between 1 and 918),
    -- Sign-in codes and payment confirmations go before anything else waiting.
    urgent boolean not null default false,
    status text not null default 'queued'
        check (status in ('queued', 'sending', 'sent', 'failed', 'unknown')),
    attempts integer not null default 0,
    next_attempt_at timestamptz not null,
    provider_message_id text,
    cost text,
    error text,
    created_at timestamptz not null,
    sent_at timestamptz,
    primary key (tenant_id, id),
    foreign key (tenant_id, customer_id) references customers (tenant_id, id)
        on delete set null (customer_id)
);
create index sms_outbox_due on sms_outbox (urgent desc, next_attempt_at) where status = 'queued';
create index sms_outbox_customer on sms_outbox (tenant_id, customer_id, created_at desc);

alter table sms_outbox enable row level security;
alter table sms_outbox force row level security;
create policy sms_outbox_tenant_isolation on sms_outbox
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
-- The sender finds what is due across ISPs (read only), then works in each ISP's transaction.
create policy sms_outbox_sender on sms_outbox for select
    using (current_setting('app.worker', true) = 'sms');
grant select, insert, update on sms_outbox to jasiyo_app;
