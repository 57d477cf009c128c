-- What payment providers send us, stored raw before anything is applied, and payments that
-- matched no customer.
--
-- A delivery is stored once per provider event (the C2B TransID, the STK CheckoutRequestID,
-- Paystack's event + data.id): a replay finds its row and changes nothing. The row, the payment
-- it produced and the ledger transaction are written in one database transaction.
create table provider_events (
    tenant_id uuid not null references tenants (id) on delete cascade,
    id uuid not null,
    provider text not null check (provider in ('mpesa', 'paystack')),
    kind text not null check (kind in ('c2b_confirmation', 'stk_callback', 'paystack_webhook')),
    event_id text not null check (length(event_id) between 1 and 200),
    payload jsonb not null,
    received_at timestamptz not null,
    -- credited: a payment was applied; unmatched: queued for staff; ignored: nothing to apply
    -- (a failed STK result, an event type we do not use).
    outcome text check (outcome in ('credited', 'unmatched', 'ignored')),
    payment_id uuid,
    -- Later deliveries of the same event (providers retry), counted for troubleshooting.
    replays integer not null default 0,
    primary key (tenant_id, id),
    constraint provider_events_once unique (tenant_id, provider, kind, event_id),
    foreign key (tenant_id, payment_id) references payments (tenant_id, id)
);

create index provider_events_tenant_received on provider_events (tenant_id, received_at desc);
create index provider_events_tenant_payment on provider_events (tenant_id, payment_id);

alter table provider_events enable row level security;
alter table provider_events force row level security;

create policy provider_events_tenant_isolation on provider_events
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

grant select, insert on provider_events to jasiyo_app;
grant update (outcome, payment_id, replays) on provider_events to jasiyo_app;

-- Money that arrived for an account nobody has (a mistyped account number): it waits here
-- until staff assign it to a customer, which then applies it like any payment.
create table unmatched_payments (
    tenant_id uuid not null references tenants (id) on delete cascade,
    id uuid not null,
    event_id uuid not null,
    channel text not null check (channel in ('mpesa', 'paystack')),
    reference text not null check (length(btrim(reference)) between 1 and 100),
    amount_minor bigint not null check (amount_minor > 0),
    -- What the payer typed as the account, and the name M-Pesa gave.
    account_typed text not null default '' check (length(account_typed) <= 100),
    payer_name text not null default '' check (length(payer_name) <= 200),
    received_at timestamptz not null,
    assigned_customer_id uuid,
    assigned_at timestamptz,
    assigned_by uuid,
    payment_id uuid,
    primary key (tenant_id, id),
    constraint unmatched_payments_reference_key unique (tenant_id, channel, reference),
    foreign key (tenant_id, event_id) references provider_events (tenant_id, id),
    foreign key (tenant_id, assigned_customer_id) references customers (tenant_id, id),
    foreign key (tenant_id, assigned_by) references users (tenant_id, id),
    foreign key (tenant_id, payment_id) references payments (tenant_id, id)
);

create index unmatched_payments_tenant_event on unmatched_payments (tenant_id, event_id);
create index unmatched_payments_tenant_customer on unmatched_payments (tenant_id, assigned_customer_id);
create index unmatched_payments_tenant_assigned_by on unmatched_payments (tenant_id, assigned_by);
create index unmatched_payments_tenant_payment on unmatched_payments (tenant_id, payment_id);
create index unmatched_payments_tenant_received on unmatched_payments (tenant_id, received_at desc);

alter table unmatched_payments enable row level security;
alter table unmatched_payments force row level security;

create policy unmatched_payments_tenant_isolation on unmatched_payments
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

grant select, insert on unmatched_payments to jasiyo_app;
grant update (assigned_customer_id, assigned_at, assigned_by, payment_id) on unmatched_payments
    to jasiyo_app;
