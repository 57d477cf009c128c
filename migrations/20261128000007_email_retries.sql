-- Retrying mail that could not be delivered. The retry worker looks across tenants for
-- undelivered mail with app.worker = 'email' set; this SELECT-only policy shows it exactly the
-- rows still to send, and each delivery then runs in its own tenant's transaction.
alter table email_outbox add column next_attempt_at timestamptz;

create policy email_outbox_worker_scan on email_outbox
    for select
    using (status <> 'sent' and current_setting('app.worker', true) = 'email');
