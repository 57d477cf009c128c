-- Reminders before a service expires: how many days before, per ISP (3 and 1 by default), and a
-- key that makes each reminder one message however often, or however interrupted, the job runs.
alter table tenants add column reminder_days integer[] not null default '{3,1}'
    check (cardinality(reminder_days) <= 5 and 1 <= all (reminder_days)
           and 30 >= all (reminder_days));

alter table sms_outbox add column dedupe_key text check (length(dedupe_key) <= 200);
create unique index sms_outbox_once on sms_outbox (tenant_id, dedupe_key)
    where dedupe_key is not null;
