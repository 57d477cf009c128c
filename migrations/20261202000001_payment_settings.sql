-- Each ISP's payment providers: M-Pesa Daraja and Paystack credentials and choices.
--
-- Secrets (consumer key and secret, passkey, Paystack secret key, the cached Daraja token) are
-- sealed by the server with AES-256-GCM, each bound to its tenant and field; only their last
-- four characters are kept in clear, for the settings page. The hook token is the secret in the
-- ISP's webhook URLs: sealed (the server builds the URLs from it) and hashed (a delivery finds
-- its ISP by the hash before the ISP is known, through the lookup policy below).
create table payment_settings (
    tenant_id uuid primary key references tenants (id) on delete cascade,
    hook_token_enc bytea not null,
    hook_token_hash bytea not null unique check (length(hook_token_hash) = 32),
    mpesa_environment text not null default 'sandbox'
        check (mpesa_environment in ('sandbox', 'production')),
    -- The paybill number, or for buy goods the store number (head office).
    mpesa_shortcode text check (mpesa_shortcode ~ '^[0-9]{5,7}$'),
    mpesa_kind text not null default 'paybill' check (mpesa_kind in ('paybill', 'till')),
    -- Buy goods: the till number the money goes to (the STK push's PartyB).
    mpesa_till text check (mpesa_till ~ '^[0-9]{5,8}$'),
    mpesa_consumer_key_enc bytea,
    mpesa_consumer_key_last4 text check (length(mpesa_consumer_key_last4) <= 4),
    mpesa_consumer_secret_enc bytea,
    mpesa_consumer_secret_last4 text check (length(mpesa_consumer_secret_last4) <= 4),
    mpesa_passkey_enc bytea,
    mpesa_passkey_last4 text check (length(mpesa_passkey_last4) <= 4),
    paystack_secret_enc bytea,
    paystack_secret_last4 text check (length(paystack_secret_last4) <= 4),
    -- Who takes "Pay now" pushes: M-Pesa STK directly, or Paystack's checkout.
    stk_provider text check (stk_provider in ('mpesa', 'paystack')),
    -- C2B validation: refuse payments to an account number nobody has (else they queue as
    -- unmatched for staff to assign).
    c2b_reject_unknown boolean not null default false,
    -- Daraja issues one live token per app: a new one invalidates the old, so every worker
    -- shares this one, refreshed under this row's lock.
    mpesa_token_enc bytea,
    mpesa_token_expires_at timestamptz,
    updated_at timestamptz not null,
    check ((mpesa_kind = 'till') = (mpesa_till is not null))
);

alter table payment_settings enable row level security;
alter table payment_settings force row level security;

create policy payment_settings_tenant_isolation on payment_settings
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

-- A webhook delivery presents its token before its ISP is known: this SELECT-only policy shows
-- the one row whose token hash (hex) the request put in app.hook_token_hash.
create policy payment_settings_lookup_by_hook on payment_settings
    for select
    using (hook_token_hash = decode(nullif(current_setting('app.hook_token_hash', true), ''), 'hex'));

grant select, insert, update on payment_settings to jasiyo_app;
