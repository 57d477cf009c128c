-- The portal shows each service's data used this period: sessions by user name and start.
create index radius_sessions_user on radius_sessions (tenant_id, username, started_at);
