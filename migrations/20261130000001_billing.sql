-- Billing: a double-entry ledger, invoices and credit notes, payments recorded by staff, gapless
-- document numbers, the billing job's runs, and the tenant's billing settings.

-- VAT (off by default; 16% when on, prices typed with or without it), the KRA PIN printed on
-- invoices, how long a postpaid invoice has before it is due, and how many days before expiry
-- a prepaid renewal is invoiced.
alter table tenants
    add column vat_enabled boolean not null default false,
    add column vat_inclusive boolean not null default true,
    add column kra_pin text check (kra_pin ~ '^[AP][0-9]{9}[A-Z]$'),
    add column invoice_due_days integer not null default 7 check (invoice_due_days between 0 and 60),
    add column renewal_notice_days integer not null default 3
        check (renewal_notice_days between 0 and 30);

-- The billing job walks every tenant: with app.worker = 'billing' it may read the tenants'
-- rows (ids and settings), nothing else; each tenant's work then runs with app.tenant_id set.
create policy tenants_billing_worker on tenants
    for select
    using (current_setting('app.worker', true) = 'billing');

-- Gapless numbers (INV-000123, CN-000007): the counter row is locked by the increment until the
-- transaction ends, so concurrent issuers queue and a rolled-back number is handed out again.
create table document_counters (
    tenant_id uuid not null references tenants (id) on delete cascade,
    kind text not null check (kind in ('invoice', 'credit_note')),
    last_number bigint not null check (last_number >= 0),
    primary key (tenant_id, kind)
);

alter table document_counters enable row level security;
alter table document_counters force row level security;

create policy document_counters_tenant_isolation on document_counters
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

grant select, insert, update on document_counters to jasiyo_app;

-- Invoices. Amounts and identity are written once (the runtime role may update only the
-- derived status and balance columns); `balance_minor` is kept equal to the sum of the
-- receivable ledger entries that name the invoice, in the same transaction as those entries.
create table invoices (
    tenant_id uuid not null references tenants (id) on delete cascade,
    id uuid not null,
    number bigint not null check (number > 0),
    customer_id uuid not null,
    service_id uuid,
    -- period: one subscription period; plan_change: the rest of a period on a new plan.
    purpose text not null check (purpose in ('period', 'plan_change')),
    period_start timestamptz not null,
    period_end timestamptz not null,
    -- 'period:<service>:<period start>' for periods, so a period is invoiced once however often
    -- the job runs; 'plan_change:<service>:<change id>' for plan changes.
    idempotency_key text not null,
    currency char(3) not null,
    subtotal_minor bigint not null check (subtotal_minor >= 0),
    vat_minor bigint not null check (vat_minor >= 0),
    total_minor bigint not null check (total_minor = subtotal_minor + vat_minor),
    issued_at timestamptz not null,
    due_at timestamptz not null,
    status text not null check (status in ('pending', 'paid', 'overdue', 'waived', 'cancelled')),
    balance_minor bigint not null,
    paid_at timestamptz,
    -- Why it was waived or cancelled.
    closed_reason text check (length(closed_reason) <= 500),
    created_at timestamptz not null,
    updated_at timestamptz not null,
    primary key (tenant_id, id),
    constraint invoices_tenant_number_key unique (tenant_id, number),
    constraint invoices_tenant_idempotency_key unique (tenant_id, idempotency_key),
    foreign key (tenant_id, customer_id) references customers (tenant_id, id),
    foreign key (tenant_id, service_id) references services (tenant_id, id) on delete set null (service_id),
    check (period_end > period_start),
    check (status <> 'paid' or balance_minor <= 0)
);

create index invoices_tenant_status on invoices (tenant_id, status, number desc);
create index invoices_tenant_customer on invoices (tenant_id, customer_id, number desc);
create index invoices_tenant_service_period on invoices (tenant_id, service_id, period_start);
create index invoices_tenant_total on invoices (tenant_id, total_minor);

alter table invoices enable row level security;
alter table invoices force row level security;

create policy invoices_tenant_isolation on invoices
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

grant select, insert on invoices to jasiyo_app;
grant update (status, balance_minor, paid_at, closed_reason, updated_at) on invoices to jasiyo_app;

create table invoice_lines (
    tenant_id uuid not null,
    invoice_id uuid not null,
    line smallint not null check (line > 0),
    description text not null check (length(description) between 1 and 300),
    plan_id uuid,
    period_start timestamptz not null,
    period_end timestamptz not null,
    quantity integer not null check (quantity > 0),
    unit_price_minor bigint not null check (unit_price_minor >= 0),
    net_minor bigint not null check (net_minor >= 0),
    vat_minor bigint not null check (vat_minor >= 0),
    total_minor bigint not null check (total_minor = net_minor + vat_minor),
    primary key (tenant_id, invoice_id, line),
    foreign key (tenant_id, invoice_id) references invoices (tenant_id, id),
    foreign key (tenant_id, plan_id) references plans (tenant_id, id)
);

create index invoice_lines_tenant_plan on invoice_lines (tenant_id, plan_id);

alter table invoice_lines enable row level security;
alter table invoice_lines force row level security;

create policy invoice_lines_tenant_isolation on invoice_lines
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

grant select, insert on invoice_lines to jasiyo_app;

-- Credit notes: part or all of an invoice taken back (a plan change's unused days, a goodwill
-- credit). What the invoice still owes drops; anything beyond it becomes the customer's credit.
create table credit_notes (
    tenant_id uuid not null,
    id uuid not null,
    number bigint not null check (number > 0),
    invoice_id uuid not null,
    customer_id uuid not null,
    amount_minor bigint not null check (amount_minor > 0),
    vat_minor bigint not null check (vat_minor >= 0 and vat_minor <= amount_minor),
    reason text not null check (length(btrim(reason)) between 1 and 500),
    issued_at timestamptz not null,
    issued_by uuid,
    primary key (tenant_id, id),
    constraint credit_notes_tenant_number_key unique (tenant_id, number),
    foreign key (tenant_id, invoice_id) references invoices (tenant_id, id),
    foreign key (tenant_id, customer_id) references customers (tenant_id, id),
    foreign key (tenant_id, issued_by) references users (tenant_id, id)
);

create index credit_notes_tenant_invoice on credit_notes (tenant_id, invoice_id);
create index credit_notes_tenant_customer on credit_notes (tenant_id, customer_id);
create index credit_notes_tenant_issued_by on credit_notes (tenant_id, issued_by);

alter table credit_notes enable row level security;
alter table credit_notes force row level security;

create policy credit_notes_tenant_isolation on credit_notes
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

grant select, insert on credit_notes to jasiyo_app;

-- Money received. Staff record cash and offline (bank) payments against an invoice; M-Pesa and
-- Paystack add theirs with the payments work. A reference is unique per channel, so the same
-- receipt typed twice (or a form sent twice) is refused instead of counted twice.
create table payments (
    tenant_id uuid not null,
    id uuid not null,
    customer_id uuid not null,
    channel text not null check (channel in ('mpesa', 'paystack', 'cash', 'bank')),
    amount_minor bigint not null check (amount_minor > 0),
    currency char(3) not null,
    reference text not null check (length(btrim(reference)) between 1 and 100),
    received_at timestamptz not null,
    recorded_by uuid,
    created_at timestamptz not null,
    primary key (tenant_id, id),
    constraint payments_tenant_channel_reference_key unique (tenant_id, channel, reference),
    foreign key (tenant_id, customer_id) references customers (tenant_id, id),
    foreign key (tenant_id, recorded_by) references users (tenant_id, id)
);

create index payments_tenant_customer on payments (tenant_id, customer_id);
create index payments_tenant_received on payments (tenant_id, received_at);
create index payments_tenant_recorded_by on payments (tenant_id, recorded_by);

alter table payments enable row level security;
alter table payments force row level security;

create policy payments_tenant_isolation on payments
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

grant select, insert on payments to jasiyo_app;

-- The ledger. A journal transaction records one event (an invoice issued, a payment, a waiver,
-- a cancellation, a credit note, a refund, an adjustment) as two or more entries that sum to
-- zero per currency. Debits are positive, credits negative. Accounts are a fixed chart per
-- tenant (the `account` codes below); a customer's receivable is `receivable` with their id,
-- and a receivable entry may name the invoice it charges or settles (none: unallocated credit).
-- Posted rows are never changed: the runtime role may insert and read, nothing else, and a
-- correction is a new transaction that reverses the old.
create table ledger_transactions (
    tenant_id uuid not null references tenants (id) on delete cascade,
    id uuid not null,
    kind text not null check (kind in ('invoice', 'payment', 'waiver', 'cancellation',
                                       'credit_note', 'refund', 'adjustment')),
    source_type text not null check (source_type in ('invoice', 'credit_note', 'payment')),
    source_id uuid not null,
    -- The same event posted twice finds this key taken and is not posted again.
    idempotency_key text not null check (length(idempotency_key) between 1 and 200),
    memo text not null check (length(memo) <= 300),
    posted_at timestamptz not null,
    posted_by uuid,
    primary key (tenant_id, id),
    constraint ledger_transactions_tenant_idempotency_key unique (tenant_id, idempotency_key),
    foreign key (tenant_id, posted_by) references users (tenant_id, id)
);

create index ledger_transactions_tenant_source on ledger_transactions (tenant_id, source_id);
create index ledger_transactions_tenant_posted on ledger_transactions (tenant_id, posted_at);
create index ledger_transactions_tenant_posted_by on ledger_transactions (tenant_id, posted_by);

alter table ledger_transactions enable row level security;
alter table ledger_transactions force row level security;

create policy ledger_transactions_tenant_isolation on ledger_transactions
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

grant select, insert on ledger_transactions to jasiyo_app;

create table ledger_entries (
    tenant_id uuid not null,
    transaction_id uuid not null,
    line smallint not null check (line > 0),
    account text not null check (account in (
        'receivable', 'revenue:pppoe', 'revenue:hotspot', 'revenue:static_ip', 'vat_payable',
        'clearing:mpesa', 'clearing:paystack', 'clearing:cash', 'clearing:bank', 'write_off')),
    customer_id uuid,
    invoice_id uuid,
    amount_minor bigint not null check (amount_minor <> 0),
    currency char(3) not null,
    primary key (tenant_id, transaction_id, line),
    foreign key (tenant_id, transaction_id) references ledger_transactions (tenant_id, id),
    foreign key (tenant_id, customer_id) references customers (tenant_id, id),
    foreign key (tenant_id, invoice_id) references invoices (tenant_id, id),
    check ((account = 'receivable') = (customer_id is not null)),
    check (invoice_id is null or account = 'receivable')
);

create index ledger_entries_tenant_customer on ledger_entries (tenant_id, customer_id);
create index ledger_entries_tenant_invoice on ledger_entries (tenant_id, invoice_id);

alter table ledger_entries enable row level security;
alter table ledger_entries force row level security;

create policy ledger_entries_tenant_isolation on ledger_entries
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

grant select, insert on ledger_entries to jasiyo_app;

-- Every statement that adds entries leaves each transaction it touched balanced (zero per
-- currency) with at least two entries. Checked per statement over the whole transaction, not
-- per row: the application writes a transaction's entries in one statement, and a 1,000-row
-- billing batch costs one check instead of a thousand.
create function ledger_entries_balanced() returns trigger language plpgsql as $$
declare
    bad uuid;
begin
    with touched as (select distinct tenant_id, transaction_id from new_rows),
    per_currency as (
        select e.transaction_id, sum(e.amount_minor) as total, count(*) as entries
          from ledger_entries e join touched t using (tenant_id, transaction_id)
         group by e.transaction_id, e.currency)
    select transaction_id into bad
      from (select transaction_id from per_currency where total <> 0
            union all
            select transaction_id from per_currency group by transaction_id
            having sum(entries) < 2) unbalanced
     limit 1;
    if bad is not null then
        raise exception 'ledger transaction % does not balance', bad
            using errcode = 'check_violation', constraint = 'ledger_entries_balanced';
    end if;
    return null;
end
$$;

create trigger ledger_entries_balanced after insert on ledger_entries
    referencing new table as new_rows
    for each statement execute function ledger_entries_balanced();

-- Runs of the billing job a staff member asked for (Settings → Billing → Run billing now), with
-- progress for the page to show. Scheduled runs are not recorded here.
create table billing_runs (
    tenant_id uuid not null references tenants (id) on delete cascade,
    id uuid not null,
    requested_by uuid,
    requested_at timestamptz not null,
    finished_at timestamptz,
    status text not null check (status in ('running', 'done', 'failed')),
    due integer not null default 0 check (due >= 0),
    processed integer not null default 0 check (processed >= 0),
    invoices integer not null default 0 check (invoices >= 0),
    error text,
    primary key (tenant_id, id),
    foreign key (tenant_id, requested_by) references users (tenant_id, id)
);

create index billing_runs_tenant_requested_by on billing_runs (tenant_id, requested_by);

alter table billing_runs enable row level security;
alter table billing_runs force row level security;

create policy billing_runs_tenant_isolation on billing_runs
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

grant select, insert, update on billing_runs to jasiyo_app;
