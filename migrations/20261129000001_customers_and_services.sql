-- Customers (an ISP's subscribers) and their services (subscriptions: one plan each).

-- The last account number handed out by the generator (numbers are digits only, so a subscriber
-- can type them on any phone's M-Pesa paybill menu).
alter table tenants add column last_account_number bigint not null default 1000;

create table customers (
    tenant_id uuid not null references tenants (id) on delete cascade,
    id uuid not null,
    -- The M-Pesa paybill account reference: short, upper-case letters and digits.
    account_number text not null check (account_number ~ '^[A-Z0-9]{1,12}$'),
    name text not null check (length(btrim(name)) between 1 and 120),
    -- Normalised Kenyan mobile number (2547XXXXXXXX or 2541XXXXXXXX).
    phone text not null check (phone ~ '^254[17][0-9]{8}$'),
    email text check (email is null or email ~ '^[^@\s]+@[^@\s]+$'),
    location text check (location is null or length(location) <= 200),
    notes text check (notes is null or length(notes) <= 2000),
    sms_consent boolean not null default false,
    -- When consent was last given or withdrawn (null: never asked).
    sms_consent_at timestamptz,
    -- Archived customers keep their money history and leave every list.
    archived_at timestamptz,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    -- Kept by triggers below: the services' user names and soonest expiry (for sorting), and
    -- the words search matches.
    service_usernames text not null default '',
    next_expiry timestamptz,
    search_text text not null default '',
    primary key (tenant_id, id),
    constraint customers_tenant_account_key unique (tenant_id, account_number)
);

create index customers_tenant_name on customers (tenant_id, name, id) where archived_at is null;
create index customers_tenant_next_expiry on customers (tenant_id, next_expiry, id) where archived_at is null;
create index customers_tenant_phone on customers (tenant_id, phone);

alter table customers enable row level security;
alter table customers force row level security;

create policy customers_tenant_isolation on customers
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

grant select, insert, update, delete on customers to jasiyo_app;

create table services (
    tenant_id uuid not null,
    id uuid not null,
    customer_id uuid not null,
    plan_id uuid not null,
    -- The router the service lives on; a foreign key arrives with the routers table.
    router_id uuid,
    -- PPPoE or hotspot user name, unique per ISP (routers need it so).
    username text not null check (username ~ '^[A-Za-z0-9._@-]{3,64}$'),
    -- AES-256-GCM: version byte, nonce, ciphertext and tag; bound to (tenant, service).
    password_enc bytea not null,
    status text not null check (status in ('active', 'expired', 'suspended')),
    billing_mode text not null check (billing_mode in ('prepaid', 'postpaid')),
    -- Postpaid services are billed on this day of the month (1-28 so every month has it).
    billing_day smallint check (billing_day between 1 and 28),
    starts_at timestamptz not null,
    expires_at timestamptz not null,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    primary key (tenant_id, id),
    constraint services_tenant_username_key unique (tenant_id, username),
    foreign key (tenant_id, customer_id) references customers (tenant_id, id) on delete cascade,
    -- A plan in use cannot be deleted, only archived.
    constraint services_plan_fkey foreign key (tenant_id, plan_id)
        references plans (tenant_id, id) on delete restrict,
    check (expires_at > starts_at),
    check ((billing_mode = 'postpaid') = (billing_day is not null))
);

create index services_tenant_customer on services (tenant_id, customer_id);
create index services_tenant_plan on services (tenant_id, plan_id);
create index services_tenant_expiry on services (tenant_id, status, expires_at);

alter table services enable row level security;
alter table services force row level security;

create policy services_tenant_isolation on services
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

grant select, insert, update, delete on services to jasiyo_app;

-- Derived columns and the search index are kept by triggers that work on whole statements
-- (transition tables), so a 10,000-row import is a few set-based statements, not 10,000 lookups
-- each planned when the tables were still empty.

-- What a search matches: name, phone as stored and as typed locally (07..., 01...), account
-- number and every service's user name, lower-cased. Computed from the row itself.
create function customers_derive() returns trigger language plpgsql as $$
begin
    new.search_text := lower(concat_ws(' ', new.name, new.phone, '0' || substr(new.phone, 4),
                                       new.account_number, nullif(new.service_usernames, '')));
    return new;
end
$$;

create trigger customers_derive before insert or update on customers
    for each row execute function customers_derive();

-- Search: every word of a customer's search text, found by prefix through a b-tree. Row-level
-- security lets an index serve only leakproof operators (the policy must filter first), and of
-- the candidates only plain comparisons are leakproof: LIKE, trigram similarity and full-text
-- matching are not, so a trigram or tsvector index on `customers` would never be used. Text
-- comparisons in the "C" collation are, so "wanj" finds every word in ['wanj', 'wanj\U+10FFFF').
create table customer_search_terms (
    tenant_id uuid not null,
    customer_id uuid not null,
    term text collate "C" not null,
    primary key (tenant_id, term, customer_id),
    foreign key (tenant_id, customer_id) references customers (tenant_id, id) on delete cascade
);

create index customer_search_terms_customer on customer_search_terms (tenant_id, customer_id);

alter table customer_search_terms enable row level security;
alter table customer_search_terms force row level security;

create policy customer_search_terms_tenant_isolation on customer_search_terms
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

grant select, insert, update, delete on customer_search_terms to jasiyo_app;

create function customers_terms_on_insert() returns trigger language plpgsql as $$
begin
    insert into customer_search_terms (tenant_id, customer_id, term)
    select distinct n.tenant_id, n.id, w
      from new_rows n, regexp_split_to_table(n.search_text, '\s+') w
     where w <> ''
    on conflict do nothing;
    return null;
end
$$;

create trigger customers_terms_on_insert after insert on customers
    referencing new table as new_rows
    for each statement execute function customers_terms_on_insert();

create function customers_terms_on_update() returns trigger language plpgsql as $$
begin
    delete from customer_search_terms t
     using new_rows n join old_rows o on o.tenant_id = n.tenant_id and o.id = n.id
     where o.search_text is distinct from n.search_text
       and t.tenant_id = n.tenant_id and t.customer_id = n.id;
    insert into customer_search_terms (tenant_id, customer_id, term)
    select distinct n.tenant_id, n.id, w
      from new_rows n join old_rows o on o.tenant_id = n.tenant_id and o.id = n.id,
           regexp_split_to_table(n.search_text, '\s+') w
     where o.search_text is distinct from n.search_text and w <> ''
    on conflict do nothing;
    return null;
end
$$;

create trigger customers_terms_on_update after update on customers
    referencing old table as old_rows new table as new_rows
    for each statement execute function customers_terms_on_update();

-- A change to services re-derives their customers' user names and soonest expiry (and through
-- customers_derive, their search words).
create function refresh_service_summaries(p_tenant uuid, p_ids uuid[]) returns void
language sql as $$
    update customers c
       set service_usernames = coalesce(a.usernames, ''), next_expiry = a.next_expiry
      from (select ids.id, string_agg(s.username, ' ' order by s.username) as usernames,
                   min(s.expires_at) as next_expiry
              from unnest(p_ids) as ids(id)
              left join services s on s.tenant_id = p_tenant and s.customer_id = ids.id
             group by ids.id) a
     where c.tenant_id = p_tenant and c.id = a.id
       and (c.service_usernames is distinct from coalesce(a.usernames, '')
            or c.next_expiry is distinct from a.next_expiry)
$$;

create function services_on_insert() returns trigger language plpgsql as $$
declare t uuid;
begin
    for t in select distinct tenant_id from new_rows loop
        perform refresh_service_summaries(t, array(select distinct customer_id from new_rows where tenant_id = t));
    end loop;
    return null;
end
$$;

create function services_on_update() returns trigger language plpgsql as $$
declare t uuid;
begin
    for t in select tenant_id from new_rows union select tenant_id from old_rows loop
        perform refresh_service_summaries(t, array(
            select customer_id from new_rows where tenant_id = t
            union select customer_id from old_rows where tenant_id = t));
    end loop;
    return null;
end
$$;

create function services_on_delete() returns trigger language plpgsql as $$
declare t uuid;
begin
    for t in select distinct tenant_id from old_rows loop
        perform refresh_service_summaries(t, array(select distinct customer_id from old_rows where tenant_id = t));
    end loop;
    return null;
end
$$;

create trigger services_on_insert after insert on services
    referencing new table as new_rows
    for each statement execute function services_on_insert();

create trigger services_on_update after update on services
    referencing old table as old_rows new table as new_rows
    for each statement execute function services_on_update();

create trigger services_on_delete after delete on services
    referencing old table as old_rows
    for each statement execute function services_on_delete();
