-- Delivery reports: a sent message becomes delivered, or failed after all; the gateway's last
-- word is kept. A report names the message by the gateway's id, looked up across ISPs for the
-- platform's account (through the sender's policy).
alter table sms_outbox drop constraint sms_outbox_status_check;
alter table sms_outbox add constraint sms_outbox_status_check
    check (status in ('queued', 'sending', 'sent', 'delivered', 'failed', 'unknown'));
alter table sms_outbox
    add column delivered_at timestamptz,
    add column delivery_status text check (length(delivery_status) <= 40),
    add column delivery_reported_at timestamptz;
create index sms_outbox_provider_message on sms_outbox (provider_message_id)
    where provider_message_id is not null;
