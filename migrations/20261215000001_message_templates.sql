-- Messaging, part one: the subscriber's language and each ISP's own message templates.

-- The language messages go to a subscriber in (templates exist in English and Swahili).
alter table customers add column language text not null default 'en'
    check (language in ('en', 'sw'));

-- An ISP's own words for an event's message in one language; without a row the default that
-- ships with Jasiyo is sent (app::messaging::template).
create table message_templates (
    tenant_id uuid not null references tenants (id) on delete cascade,
    event text not null check (event ~ '^[a-z_]+$'),
    language text not null check (language in ('en', 'sw')),
    body text not null check (length(body) between 1 and 918),
    updated_at timestamptz not null,
    updated_by uuid,
    primary key (tenant_id, event, language)
);

alter table message_templates enable row level security;
alter table message_templates force row level security;
create policy message_templates_tenant_isolation on message_templates
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
grant select, insert, update, delete on message_templates to jasiyo_app;
