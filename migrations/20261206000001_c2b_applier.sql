-- Paybill confirmations applied in batches, and the outbox the network and messaging work
-- consume.
--
-- A C2B confirmation is stored raw and committed on its own (the webhook answers then); an
-- applier credits the stored confirmations many per transaction. A stored row whose outcome is
-- still null is waiting to be applied. One whose application is
-- refused for good (a rule the payment breaks) is marked failed with the reason, so it is neither
-- retried forever nor lost: staff see it among the provider events.
alter table provider_events drop constraint provider_events_outcome_check;
alter table provider_events add constraint provider_events_outcome_check
    check (outcome in ('credited', 'unmatched', 'ignored', 'failed'));
alter table provider_events add column error text check (length(error) <= 500);
grant update (error) on provider_events to jasiyo_app;

-- What the applier looks for (and, every 2 s, anything a restart left waiting).
create index provider_events_unapplied on provider_events (received_at)
    where outcome is null;

-- The applier finds tenants with confirmations left unapplied (a restart between storing and
-- applying) across tenants, read only; each is then applied in its tenant's own transaction.
create policy provider_events_apply_worker on provider_events for select
    using (current_setting('app.worker', true) = 'payments');

-- A payer may type a service's user name as the account, in any case.
create index services_tenant_username_lower on services (tenant_id, lower(username));

-- What a change to money or service did that the network enforcement and messaging work act on,
-- written in the same transaction as the change: a payment received (the receipt message) and a
-- service whose paid period moved its expiry (reconnection when it was cut off). Their consumers
-- mark rows done; until then the rows wait here.
create table outbox_events (
    tenant_id uuid not null references tenants (id) on delete cascade,
    id uuid not null,
    topic text not null check (topic in ('payment.received', 'service.extended')),
    customer_id uuid not null,
    service_id uuid,
    payment_id uuid,
    body jsonb not null default '{}',
    created_at timestamptz not null,
    primary key (tenant_id, id),
    foreign key (tenant_id, customer_id) references customers (tenant_id, id) on delete cascade,
    foreign key (tenant_id, service_id) references services (tenant_id, id) on delete cascade,
    foreign key (tenant_id, payment_id) references payments (tenant_id, id)
);

create index outbox_events_tenant_created on outbox_events (tenant_id, created_at);
create index outbox_events_tenant_customer on outbox_events (tenant_id, customer_id);
create index outbox_events_tenant_service on outbox_events (tenant_id, service_id);
create index outbox_events_tenant_payment on outbox_events (tenant_id, payment_id);

alter table outbox_events enable row level security;
alter table outbox_events force row level security;

create policy outbox_events_tenant_isolation on outbox_events
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

grant select, insert on outbox_events to jasiyo_app;

-- When a delivery was applied (the database's wall clock as the applying transaction wrote its
-- outcome): with received_at, how long a paybill payment waited to be credited.
alter table provider_events add column applied_at timestamptz;
grant update (applied_at) on provider_events to jasiyo_app;
