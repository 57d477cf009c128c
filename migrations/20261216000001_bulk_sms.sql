-- Messaging, part four: each ISP's own SMS gateway and mail server, customer email, and bulk
-- messages to a segment of its subscribers, sent only to those whose SMS consent is given (an
-- inbound STOP withdraws it).

-- What one SMS part costs the ISP, in cents: the bulk estimate is parts × this. Africa's
-- Talking's Kenyan price for a bulk SMS is about KES 0.80.
alter table tenants add column sms_part_price_minor integer not null default 80
    check (sms_part_price_minor between 0 and 100000);

-- One bulk message: to whom (the segment as chosen, and in words), what, and what it was
-- expected to cost. Its messages are sms_outbox rows naming it.
create table sms_campaigns (
    tenant_id uuid not null references tenants (id) on delete cascade,
    id uuid not null,
    segment text not null check (segment in ('active', 'expiring', 'plan', 'router', 'expired')),
    segment_days integer check (segment_days between 1 and 90),
    plan_id uuid,
    router_id uuid,
    segment_label text not null check (length(segment_label) between 1 and 200),
    body text not null check (length(body) between 1 and 918),
    recipients integer not null check (recipients >= 0),
    -- In the segment without SMS consent: not sent to.
    left_out integer not null check (left_out >= 0),
    parts integer not null check (parts >= 0),
    estimated_cost_minor bigint not null check (estimated_cost_minor >= 0),
    created_by uuid not null,
    created_at timestamptz not null,
    primary key (tenant_id, id),
    check ((segment = 'expiring') = (segment_days is not null)),
    check ((segment = 'plan') = (plan_id is not null)),
    check ((segment = 'router') = (router_id is not null))
);
create index sms_campaigns_recent on sms_campaigns (tenant_id, created_at desc);

alter table sms_campaigns enable row level security;
alter table sms_campaigns force row level security;
create policy sms_campaigns_tenant_isolation on sms_campaigns
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
grant select, insert on sms_campaigns to jasiyo_app;

alter table sms_outbox add column campaign_id uuid;
alter table sms_outbox add constraint sms_outbox_campaign_fkey
    foreign key (tenant_id, campaign_id) references sms_campaigns (tenant_id, id);
create index sms_outbox_campaign on sms_outbox (tenant_id, campaign_id);
-- Services cut off lately, for their notice (app::messaging::events).
create index services_tenant_status_updated on services (tenant_id, status, updated_at);
-- An inbound STOP names a number: which ISPs texted it through the platform's account.
create index sms_outbox_recipient on sms_outbox (recipient, tenant_id);

-- An ISP's own SMS gateway (without a row: Jasiyo's shared sender). The API key is sealed by the
-- server, bound to the ISP; only its last four characters are shown.
create table sms_providers (
    tenant_id uuid primary key references tenants (id) on delete cascade,
    provider text not null check (provider in ('platform', 'africastalking', 'generic')),
    at_username text check (length(at_username) <= 100),
    at_sender_id text check (length(at_sender_id) <= 11),
    generic_url text check (generic_url ~ '^https?://' and length(generic_url) <= 200),
    generic_partner_id text check (length(generic_partner_id) <= 40),
    generic_shortcode text check (length(generic_shortcode) <= 11),
    api_key_enc bytea,
    api_key_last4 text check (length(api_key_last4) <= 4),
    updated_at timestamptz not null,
    updated_by uuid,
    check (provider = 'platform' or api_key_enc is not null),
    check (provider <> 'africastalking' or at_username is not null),
    check (provider <> 'generic'
           or (generic_url is not null and generic_partner_id is not null
               and generic_shortcode is not null))
);

alter table sms_providers enable row level security;
alter table sms_providers force row level security;
create policy sms_providers_tenant_isolation on sms_providers
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
grant select, insert, update on sms_providers to jasiyo_app;

-- An ISP's own mail server for its customers' email (without a row: the platform's). The
-- password is sealed by the server, bound to the ISP.
create table smtp_settings (
    tenant_id uuid primary key references tenants (id) on delete cascade,
    host text not null check (host ~ '^[A-Za-z0-9.-]{1,200}$'),
    port integer not null check (port between 1 and 65535),
    security text not null check (security in ('starttls', 'tls', 'none')),
    username text check (length(username) <= 200),
    password_enc bytea,
    password_last4 text check (length(password_last4) <= 4),
    from_address text not null check (length(from_address) between 3 and 200),
    updated_at timestamptz not null,
    updated_by uuid
);

alter table smtp_settings enable row level security;
alter table smtp_settings force row level security;
create policy smtp_settings_tenant_isolation on smtp_settings
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
grant select, insert, update, delete on smtp_settings to jasiyo_app;

-- Customer email beside staff mail in the outbox: whose it is, and the key that makes an
-- occurrence one email however often its job runs.
alter table email_outbox add column customer_id uuid;
alter table email_outbox add constraint email_outbox_customer_fkey
    foreign key (tenant_id, customer_id) references customers (tenant_id, id)
    on delete set null (customer_id);
create index email_outbox_customer on email_outbox (tenant_id, customer_id);
alter table email_outbox add column dedupe_key text check (length(dedupe_key) <= 220);
create unique index email_outbox_once on email_outbox (tenant_id, dedupe_key)
    where dedupe_key is not null;
