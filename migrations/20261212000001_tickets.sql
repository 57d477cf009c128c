-- Support tickets: a subscriber raises one from the portal, the ISP's staff answer, assign and
-- close it. Numbered per ISP (#1, #2, ...) for talking about them on the phone.

alter table tenants add column last_ticket_number bigint not null default 0;

create table tickets (
    tenant_id uuid not null references tenants (id) on delete cascade,
    id uuid not null,
    number bigint not null check (number > 0),
    customer_id uuid not null,
    subject text not null check (length(subject) between 3 and 120),
    category text not null check (category in ('no_internet', 'slow', 'billing', 'other')),
    -- open: waiting for the ISP; answered: waiting for the subscriber; closed.
    status text not null default 'open' check (status in ('open', 'answered', 'closed')),
    assigned_to uuid,
    created_at timestamptz not null,
    last_message_at timestamptz not null,
    closed_at timestamptz,
    primary key (tenant_id, id),
    constraint tickets_tenant_number_key unique (tenant_id, number),
    foreign key (tenant_id, customer_id) references customers (tenant_id, id),
    foreign key (tenant_id, assigned_to) references users (tenant_id, id) on delete set null (assigned_to)
);
create index tickets_status on tickets (tenant_id, status, last_message_at desc);
create index tickets_customer on tickets (tenant_id, customer_id, last_message_at desc);
-- For the foreign key (a member of staff removed) and "assigned to me".
create index tickets_assigned on tickets (tenant_id, assigned_to);

create table ticket_messages (
    tenant_id uuid not null references tenants (id) on delete cascade,
    -- Increasing: a conversation reads in the order it was written, even within one instant.
    id bigint generated always as identity,
    ticket_id uuid not null,
    -- Who wrote it: the subscriber, or a member of staff (named by staff_id).
    staff_id uuid,
    body text not null check (length(body) between 1 and 4000),
    created_at timestamptz not null,
    primary key (tenant_id, id),
    foreign key (tenant_id, ticket_id) references tickets (tenant_id, id) on delete cascade,
    foreign key (tenant_id, staff_id) references users (tenant_id, id)
);
create index ticket_messages_ticket on ticket_messages (tenant_id, ticket_id, created_at);
create index ticket_messages_staff on ticket_messages (tenant_id, staff_id);

alter table tickets enable row level security;
alter table tickets force row level security;
create policy tickets_tenant_isolation on tickets
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
grant select, insert, update on tickets to jasiyo_app;

alter table ticket_messages enable row level security;
alter table ticket_messages force row level security;
create policy ticket_messages_tenant_isolation on ticket_messages
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
grant select, insert on ticket_messages to jasiyo_app;
