-- The built-in RADIUS server: sessions from accounting, partitioned by month so old months are
-- dropped whole (retention), and what it needs to find a NAS by the address its packets come
-- from.

-- A NAS is known by its source address: one RADIUS router per address across ISPs.
create unique index routers_radius_host on routers (host) where mode = 'radius';

-- What the router answered a command that went through (a RADIUS NAS's ACK); a refusal's
-- words stay in last_error.
alter table router_commands add column result text check (length(result) <= 500);

create table radius_sessions (
    tenant_id uuid not null,
    router_id uuid not null,
    -- Acct-Session-Id as the NAS sent it.
    session_id text not null check (length(session_id) between 1 and 253),
    -- When the session began (the first packet's time less its Acct-Session-Time).
    started_at timestamptz not null,
    username text not null check (length(username) <= 253),
    service_id uuid,
    framed_ip inet,
    calling_station text check (length(calling_station) <= 253),
    -- The last packet about it.
    updated_at timestamptz not null,
    stopped_at timestamptz,
    -- Acct-Terminate-Cause as a number, or 'stale' (no word for three interim intervals),
    -- 'nas-restart' (Accounting-On/Off).
    stop_cause text check (length(stop_cause) <= 40),
    session_time bigint not null default 0 check (session_time >= 0),
    -- Octets with the gigawords folded in (64-bit), from the NAS's view: input is what the
    -- subscriber uploaded.
    input_bytes bigint not null default 0 check (input_bytes >= 0),
    output_bytes bigint not null default 0 check (output_bytes >= 0),
    primary key (tenant_id, router_id, session_id, started_at),
    foreign key (tenant_id, router_id) references routers (tenant_id, id) on delete cascade
) partition by range (started_at);

create index radius_sessions_session on radius_sessions (tenant_id, router_id, session_id);
create index radius_sessions_open on radius_sessions (tenant_id, username)
    where stopped_at is null;
create index radius_sessions_router_updated on radius_sessions (tenant_id, router_id, updated_at)
    where stopped_at is null;

alter table radius_sessions enable row level security;
alter table radius_sessions force row level security;

create policy radius_sessions_tenant_isolation on radius_sessions
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

grant select, insert, update on radius_sessions to jasiyo_app;

-- Makes the month partition holding `at` if it is missing. Run by the migration for the months
-- around now and by the network worker for the months ahead. Owned by the migration role, so
-- the runtime role can call it without being able to create tables itself.
create function radius_sessions_partition(at timestamptz) returns void
language plpgsql security definer set search_path = public, pg_temp as $$
declare
    month date := date_trunc('month', at at time zone 'UTC')::date;
    name text := 'radius_sessions_' || to_char(month, 'YYYY_MM');
begin
    if to_regclass(name) is null then
        execute format(
            'create table %I partition of radius_sessions for values from (%L) to (%L)',
            name, (month::timestamp at time zone 'UTC'),
            ((month + interval '1 month')::timestamp at time zone 'UTC'));
        -- Queries through the parent use its policy; the partition has the same one, so it
        -- is no way around it either.
        execute format('alter table %I enable row level security', name);
        execute format('alter table %I force row level security', name);
        execute format(
            'create policy %I on %I using (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid) '
            'with check (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)',
            name || '_tenant_isolation', name);
    end if;
end
$$;

revoke all on function radius_sessions_partition(timestamptz) from public;
grant execute on function radius_sessions_partition(timestamptz) to jasiyo_app;

select radius_sessions_partition(now() - interval '1 month');
select radius_sessions_partition(now());
select radius_sessions_partition(now() + interval '1 month');
select radius_sessions_partition(now() + interval '2 months');
