-- Hotspot sales. A visitor on an ISP's hotspot page buys a package by M-Pesa: a payment request
-- with no customer behind it, for a hotspot plan, bound to the router the visitor stands behind.
-- Paid, it becomes a voucher of that plan on that router (the voucher path already puts it on
-- the router or answers it by RADIUS), and the sale is posted to the ledger as revenue: there is
-- no receivable because nobody owes anything.

alter table payment_requests alter column customer_id drop not null;

alter table payment_requests
    add column plan_id uuid,
    add column router_id uuid,
    add column voucher_id uuid,
    -- A hotspot sale is for a plan and nobody; every other request is a customer's.
    add constraint payment_requests_hotspot_shape check (
        (source = 'hotspot') = (customer_id is null)
        and (source = 'hotspot') = (plan_id is not null)
        and (router_id is null or source = 'hotspot')
        and (voucher_id is null or source = 'hotspot')),
    add constraint payment_requests_plan_fkey foreign key (tenant_id, plan_id)
        references plans (tenant_id, id),
    -- A router deleted later leaves the sale on record without it.
    add constraint payment_requests_router_fkey foreign key (tenant_id, router_id)
        references routers (tenant_id, id) on delete set null (router_id),
    add constraint payment_requests_voucher_fkey foreign key (tenant_id, voucher_id)
        references vouchers (tenant_id, id);

create index payment_requests_tenant_plan on payment_requests (tenant_id, plan_id);
create index payment_requests_tenant_router on payment_requests (tenant_id, router_id);
create index payment_requests_tenant_voucher on payment_requests (tenant_id, voucher_id);

-- One prompt in flight per phone on a hotspot: pressing Buy twice finds the first.
create unique index payment_requests_hotspot_in_flight on payment_requests (tenant_id, payer)
    where source = 'hotspot' and provider = 'mpesa' and status in ('sending', 'pending');

grant update (voucher_id) on payment_requests to jasiyo_app;

-- A sold voucher is a batch of one; the vouchers page lists printed batches only.
alter table voucher_batches add column sold boolean not null default false;

-- The ledger learns the sale: clearing debited, revenue (and VAT) credited, recording the
-- payment request it came from.
alter table ledger_transactions drop constraint ledger_transactions_kind_check;
alter table ledger_transactions add constraint ledger_transactions_kind_check
    check (kind in ('invoice', 'payment', 'waiver', 'cancellation', 'credit_note', 'refund',
                    'adjustment', 'sale'));
alter table ledger_transactions drop constraint ledger_transactions_source_type_check;
alter table ledger_transactions add constraint ledger_transactions_source_type_check
    check (source_type in ('invoice', 'credit_note', 'payment', 'payment_request'));

-- A provider event that paid for a hotspot sale.
alter table provider_events drop constraint provider_events_outcome_check;
alter table provider_events add constraint provider_events_outcome_check
    check (outcome in ('credited', 'unmatched', 'ignored', 'failed', 'sold'));

-- A paybill confirmation of a receipt that already paid for a sale is recognised by it.
create index payment_requests_sold_receipt on payment_requests (tenant_id, receipt)
    where source = 'hotspot' and status = 'paid';
