-- Payments we asked for: an M-Pesa STK push sent to a phone, or a Paystack checkout, and the
-- public payment link each customer can be sent.
--
-- A request is written before the provider is called, so a push whose answer never arrives is
-- still on record; the provider's id for it (CheckoutRequestID, our Paystack reference) is
-- stored when the provider acknowledges it, and its callback is matched through that id (an STK
-- callback does not echo the account). Settling a request locks its row: a callback, a late
-- callback and the STK query poller can each try, and only the first credits.
create table payment_requests (
    tenant_id uuid not null references tenants (id) on delete cascade,
    id uuid not null,
    customer_id uuid not null,
    -- The invoice the payer meant (paid first); none pays the oldest open ones.
    invoice_id uuid,
    provider text not null check (provider in ('mpesa', 'paystack')),
    -- Where it started: a staff member's action, the public payment link, the portal, a hotspot.
    source text not null check (source in ('staff', 'link', 'portal', 'hotspot')),
    -- The phone the push went to (2547XXXXXXXX) or the payer's email for Paystack.
    payer text not null check (length(payer) between 1 and 254),
    amount_minor bigint not null check (amount_minor > 0),
    currency char(3) not null,
    -- CheckoutRequestID (STK) or our Paystack reference, once the provider has acknowledged.
    provider_ref text check (length(provider_ref) between 1 and 200),
    -- sending: not yet acknowledged; pending: the payer has it; paid; failed (cancelled, wrong
    -- PIN, insufficient funds, refused); expired: no result within the time we wait.
    status text not null check (status in ('sending', 'pending', 'paid', 'failed', 'expired')),
    result_code text check (length(result_code) <= 40),
    result_desc text not null default '' check (length(result_desc) <= 500),
    -- The M-Pesa receipt, once a callback has brought it (an STK query does not).
    receipt text check (length(receipt) <= 100),
    payment_id uuid,
    requested_by uuid,
    created_at timestamptz not null,
    -- When the STK query poller next asks about a pending push.
    next_query_at timestamptz,
    query_attempts integer not null default 0,
    settled_at timestamptz,
    primary key (tenant_id, id),
    constraint payment_requests_provider_ref_key unique (tenant_id, provider, provider_ref),
    foreign key (tenant_id, customer_id) references customers (tenant_id, id),
    foreign key (tenant_id, invoice_id) references invoices (tenant_id, id),
    foreign key (tenant_id, payment_id) references payments (tenant_id, id),
    foreign key (tenant_id, requested_by) references users (tenant_id, id)
);

-- One push in flight per customer: a second press of Pay finds the first instead of charging
-- twice.
create unique index payment_requests_one_push_in_flight on payment_requests (tenant_id, customer_id)
    where provider = 'mpesa' and status in ('sending', 'pending');
create index payment_requests_tenant_customer on payment_requests (tenant_id, customer_id, created_at desc);
create index payment_requests_tenant_invoice on payment_requests (tenant_id, invoice_id);
create index payment_requests_tenant_payment on payment_requests (tenant_id, payment_id);
create index payment_requests_tenant_requested_by on payment_requests (tenant_id, requested_by);
create index payment_requests_open on payment_requests (next_query_at)
    where status in ('sending', 'pending');

alter table payment_requests enable row level security;
alter table payment_requests force row level security;

create policy payment_requests_tenant_isolation on payment_requests
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

-- The STK query poller finds open requests across tenants (read only; it then settles each in
-- its tenant's own transaction).
create policy payment_requests_poll_worker on payment_requests for select
    using (current_setting('app.worker', true) = 'payments');

grant select, insert on payment_requests to jasiyo_app;
grant update (provider_ref, status, result_code, result_desc, receipt, payment_id, next_query_at,
              query_attempts, settled_at) on payment_requests to jasiyo_app;

-- Each customer's public payment link, /pay/{code}: the code is random, kept sealed (so staff
-- can copy the link again) and found by its SHA-256 through a lookup policy that shows only the
-- row whose hash the visitor presented.
create table payment_links (
    tenant_id uuid not null references tenants (id) on delete cascade,
    customer_id uuid not null,
    code_enc bytea not null,
    code_hash bytea not null check (length(code_hash) = 32),
    created_at timestamptz not null,
    primary key (tenant_id, customer_id),
    constraint payment_links_code_hash_key unique (code_hash),
    foreign key (tenant_id, customer_id) references customers (tenant_id, id)
);

alter table payment_links enable row level security;
alter table payment_links force row level security;

create policy payment_links_tenant_isolation on payment_links
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

create policy payment_links_lookup_by_code on payment_links for select
    using (code_hash = decode(nullif(current_setting('app.pay_code_hash', true), ''), 'hex'));

grant select, insert on payment_links to jasiyo_app;
