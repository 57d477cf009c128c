//! Texts (and emails, to customers with an address) that follow what happened to a
//! subscriber's account, in their language: a payment received (its receipt and the new expiry;
//! sent before anything else waiting), a service cut off at expiry, and a postpaid invoice
//! issued. (Prepaid subscribers are told before expiry by the reminders instead of by an invoice
//! each period.)
//!
//! Each comes from a row the change wrote in its own transaction (a `payment.received` outbox
//! event, a service's status and expiry, an invoice) and is queued under a key naming that
//! occurrence (`sms_outbox.dedupe_key`, unique per ISP) with `ON CONFLICT DO NOTHING`, in
//! batches of one transaction each. Running the job twice, or again after it died mid-way,
//! texts each occurrence once. Only occurrences of the last [`WINDOW`] are looked at, so a first
//! run does not text a year of history.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::{
    billing::ledger,
    customers::{
        pages::local_time,
        service::{offset_seconds, zone},
    },
    db::{TenantId, TenantTx},
    error::AppError,
    messaging::{
        email::{self, CustomerEmail},
        sms::{self, Sms},
        template::{self, Event, Language, Placeholder, Values, render},
        templates,
    },
    money::format_kes,
    payments::links::link_code,
    state::AppState,
};

/// How far back an occurrence still gets its message.
pub const WINDOW: Duration = Duration::days(2);

/// Messages queued per transaction.
pub const BATCH: i64 = 200;

/// Runs every ISP's account messages; how many were queued.
pub async fn run_all(state: &AppState) -> Result<usize, AppError> {
    let mut queued = 0;
    for tenant in state.db.billing_tenants().await? {
        queued += run_tenant(state, tenant, BATCH, None).await?;
    }
    Ok(queued)
}

/// The schedule the server runs: often, because a receipt is awaited.
pub async fn run_forever(state: AppState, every: std::time::Duration) {
    sms::queue_every(state, every, "account messages", |state| async move {
        run_all(&state).await
    })
    .await;
}

/// One ISP's due messages, `size` to a transaction; `batches` stops after that many (a run cut
/// short, as a crash would).
pub async fn run_tenant(
    state: &AppState,
    tenant: TenantId,
    size: i64,
    batches: Option<usize>,
) -> Result<usize, AppError> {
    let mut queued = 0;
    let mut done = 0;
    for source in [Source::Payments, Source::Expiries, Source::Invoices] {
        loop {
            if batches.is_some_and(|max| done >= max) {
                return Ok(queued);
            }
            let mut tx = state.db.tenant(tenant).await?;
            let mut isp = Isp::load(&mut tx, state).await?;
            let (batch, seen) = source.batch(&mut tx, state, &mut isp, size).await?;
            tx.commit().await?;
            queued += batch;
            done += 1;
            if seen < size {
                break;
            }
        }
    }
    Ok(queued)
}

/// The key that makes each occurrence one message.
pub fn payment_key(payment: Uuid) -> String {
    format!("payment_received:{payment}")
}

pub fn expired_key(service: Uuid, expires_at: DateTime<Utc>) -> String {
    format!("expired:{service}:{}", expires_at.timestamp())
}

pub fn invoice_key(invoice: Uuid) -> String {
    format!("invoice_issued:{invoice}")
}

pub fn reconnected_key(service: Uuid, expires_at: DateTime<Utc>) -> String {
    format!("reactivated:{service}:{}", expires_at.timestamp())
}

/// Queues, in the transaction that reconnected it, the "welcome back" text for a service staff
/// put back online (reactivated, or extended after its expiry); once per service and expiry. A
/// payment's own receipt already says until when it is paid, so payments do not send this.
pub async fn reconnected(
    tx: &mut TenantTx,
    state: &AppState,
    service: Uuid,
    expires_at: DateTime<Utc>,
) -> Result<bool, AppError> {
    let mut isp = Isp::load(tx, state).await?;
    let r = sqlx::query!(
        "select c.id, c.name, c.account_number, c.phone, c.email, c.language, p.name as plan
           from services s
           join customers c on c.tenant_id = s.tenant_id and c.id = s.customer_id
           join plans p on p.tenant_id = s.tenant_id and p.id = s.plan_id
          where s.id = $1",
        service
    )
    .fetch_one(tx.conn())
    .await?;
    let balance = ledger::balance(tx, r.id).await?;
    let values = isp
        .values(r.name, r.account_number)
        .set(Placeholder::Plan, r.plan)
        .set(Placeholder::Expiry, local_time(expires_at, isp.offset))
        .set(Placeholder::Balance, balance_words(balance));
    let words = isp.words(tx, Event::Reactivated, &r.language).await?;
    let body = template::fit(render(&words, &values));
    let sms = Sms {
        customer: Some(r.id),
        kind: Event::Reactivated.as_str(),
        recipient: &r.phone,
        body: &body,
        urgent: false,
    };
    let key = reconnected_key(service, expires_at);
    let queued = sms::enqueue_once(tx, isp.now, &sms, &key).await?;
    if let Some(to) = &r.email {
        let subject = email::subject(Event::Reactivated, &isp.name);
        let mail = CustomerEmail {
            customer: r.id,
            event: Event::Reactivated,
            to,
            subject: &subject,
            body: &body,
        };
        email::enqueue_once(tx, isp.now, &mail, &key).await?;
    }
    if queued {
        state.sms.nudge();
    }
    Ok(queued)
}

/// "KES 500 due", "KES 200 in credit", "KES 0".
pub fn balance_words(balance_minor: i64) -> String {
    match balance_minor {
        0 => format_kes(0),
        owed if owed > 0 => format!("{} due", format_kes(owed)),
        credit => format!("{} in credit", format_kes(-credit)),
    }
}

#[derive(Debug, Clone, Copy)]
enum Source {
    Payments,
    Expiries,
    Invoices,
}

/// What every message of an ISP is written with.
struct Isp {
    name: String,
    paybill: Option<String>,
    offset: i32,
    public: String,
    now: DateTime<Utc>,
    /// Templates read so far: (event, language, words).
    words: Vec<(Event, Language, String)>,
}

impl Isp {
    async fn load(tx: &mut TenantTx, state: &AppState) -> Result<Self, AppError> {
        let now = state.clock.now();
        let row = sqlx::query!(
            r#"select t.name,
                      case when p.mpesa_kind = 'till' then p.mpesa_till else p.mpesa_shortcode end
                          as paybill
                 from tenants t left join payment_settings p on p.tenant_id = t.id
                where t.id = $1"#,
            tx.tenant().0
        )
        .fetch_one(tx.conn())
        .await?;
        let offset = offset_seconds(&zone(tx).await?, now);
        Ok(Self {
            name: row.name,
            paybill: row.paybill,
            offset,
            public: state.mailer.public_url.trim_end_matches('/').to_string(),
            now,
            words: Vec::new(),
        })
    }

    async fn words(
        &mut self,
        tx: &mut TenantTx,
        event: Event,
        language: &str,
    ) -> Result<String, AppError> {
        let language = Language::parse("language", language).unwrap_or_default();
        if let Some((.., text)) = self
            .words
            .iter()
            .find(|(e, l, _)| *e == event && *l == language)
        {
            return Ok(text.clone());
        }
        let text = templates::text_for(tx, event, language).await?;
        self.words.push((event, language, text.clone()));
        Ok(text)
    }

    /// The values every account message has.
    fn values(&self, name: String, account: String) -> Values {
        let values = Values::new()
            .set(Placeholder::Name, name)
            .set(Placeholder::Account, account)
            .set(Placeholder::Business, self.name.clone());
        match &self.paybill {
            Some(paybill) => values.set(Placeholder::Paybill, paybill.clone()),
            None => values,
        }
    }
}

/// One message to queue under its key (by SMS, and by email where the customer has an
/// address).
struct Due {
    customer: Uuid,
    phone: String,
    email: Option<String>,
    language: String,
    values: Values,
    key: String,
}

impl Source {
    fn event(self) -> Event {
        match self {
            Source::Payments => Event::PaymentReceived,
            Source::Expiries => Event::Expired,
            Source::Invoices => Event::InvoiceIssued,
        }
    }

    /// Queues the next batch not yet queued; (queued, looked at).
    async fn batch(
        self,
        tx: &mut TenantTx,
        state: &AppState,
        isp: &mut Isp,
        size: i64,
    ) -> Result<(usize, i64), AppError> {
        let due = match self {
            Source::Payments => payments(tx, isp, size).await?,
            Source::Expiries => expiries(tx, state, isp, size).await?,
            Source::Invoices => invoices(tx, state, isp, size).await?,
        };
        let seen = due.len() as i64;
        let event = self.event();
        let mut queued = 0;
        for d in due {
            let words = isp.words(tx, event, &d.language).await?;
            let body = template::fit(render(&words, &d.values));
            let sms = Sms {
                customer: Some(d.customer),
                kind: event.as_str(),
                recipient: &d.phone,
                body: &body,
                urgent: event.urgent(),
            };
            if sms::enqueue_once(tx, isp.now, &sms, &d.key).await? {
                queued += 1;
            }
            if let Some(to) = &d.email {
                let subject = email::subject(event, &isp.name);
                let mail = CustomerEmail {
                    customer: d.customer,
                    event,
                    to,
                    subject: &subject,
                    body: &body,
                };
                email::enqueue_once(tx, isp.now, &mail, &d.key).await?;
            }
        }
        Ok((queued, seen))
    }
}

/// Payments received in the window without their receipt message.
async fn payments(tx: &mut TenantTx, isp: &Isp, size: i64) -> Result<Vec<Due>, AppError> {
    let rows = sqlx::query!(
        r#"select e.payment_id as "payment!", e.customer_id, c.name, c.account_number, c.phone,
                  c.email, c.language, (e.body->>'amount_minor')::bigint as "amount!",
                  e.body->>'reference' as "reference!", sv.plan as "plan?",
                  sv.expires_at as "expires_at?"
             from outbox_events e
             join customers c on c.tenant_id = e.tenant_id and c.id = e.customer_id
             left join lateral (
                    select p.name as plan, s.expires_at
                      from services s
                      join plans p on p.tenant_id = s.tenant_id and p.id = s.plan_id
                     where s.tenant_id = e.tenant_id and s.customer_id = e.customer_id
                     order by s.expires_at desc
                     limit 1) sv on true
            where e.topic = 'payment.received' and e.payment_id is not null
              and e.created_at > $1
              and not exists (select 1 from sms_outbox m
                               where m.tenant_id = e.tenant_id
                                 and m.dedupe_key = 'payment_received:' || e.payment_id)
            order by e.created_at
            limit $2"#,
        isp.now - WINDOW,
        size
    )
    .fetch_all(tx.conn())
    .await?;
    let mut due = Vec::with_capacity(rows.len());
    for r in rows {
        let balance = ledger::balance(tx, r.customer_id).await?;
        let mut values = isp
            .values(r.name, r.account_number)
            .set(Placeholder::Amount, format_kes(r.amount))
            .set(Placeholder::Receipt, r.reference)
            .set(Placeholder::Balance, balance_words(balance));
        if let Some(plan) = r.plan {
            values = values.set(Placeholder::Plan, plan);
        }
        if let Some(expires_at) = r.expires_at {
            values = values.set(Placeholder::Expiry, local_time(expires_at, isp.offset));
        }
        due.push(Due {
            customer: r.customer_id,
            phone: r.phone,
            email: r.email,
            language: r.language,
            values,
            key: payment_key(r.payment),
        });
    }
    Ok(due)
}

/// Services cut off within the window (marked expired: prepaid after expiry and grace,
/// postpaid for an invoice unpaid past due and grace), not yet told for this period.
async fn expiries(
    tx: &mut TenantTx,
    state: &AppState,
    isp: &Isp,
    size: i64,
) -> Result<Vec<Due>, AppError> {
    let rows = sqlx::query!(
        r#"select s.id, s.expires_at, c.id as customer_id, c.name, c.account_number, c.phone,
                  c.email, c.language, p.name as plan, p.price_minor
             from services s
             join customers c on c.tenant_id = s.tenant_id and c.id = s.customer_id
             join plans p on p.tenant_id = s.tenant_id and p.id = s.plan_id
            where s.status = 'expired' and c.archived_at is null
              and s.updated_at > $1 and s.updated_at <= $2
              and not exists (select 1 from sms_outbox m
                               where m.tenant_id = s.tenant_id
                                 and m.dedupe_key = 'expired:' || s.id || ':'
                                     || floor(extract(epoch from s.expires_at))::bigint)
            order by s.expires_at
            limit $3"#,
        isp.now - WINDOW,
        isp.now,
        size
    )
    .fetch_all(tx.conn())
    .await?;
    let mut due = Vec::with_capacity(rows.len());
    for r in rows {
        let balance = ledger::balance(tx, r.customer_id).await?;
        let code = link_code(tx, state, r.customer_id).await?;
        let owed = if balance > 0 { balance } else { r.price_minor };
        let values = isp
            .values(r.name, r.account_number)
            .set(Placeholder::Plan, r.plan)
            .set(Placeholder::Amount, format_kes(owed))
            .set(Placeholder::Balance, balance_words(balance))
            .set(Placeholder::Expiry, local_time(r.expires_at, isp.offset))
            .set(
                Placeholder::PaymentLink,
                format!("{}/pay/{code}", isp.public),
            );
        due.push(Due {
            customer: r.customer_id,
            phone: r.phone,
            email: r.email,
            language: r.language,
            values,
            key: expired_key(r.id, r.expires_at),
        });
    }
    Ok(due)
}

/// Postpaid invoices issued in the window and still to pay, not yet told.
async fn invoices(
    tx: &mut TenantTx,
    state: &AppState,
    isp: &Isp,
    size: i64,
) -> Result<Vec<Due>, AppError> {
    let rows = sqlx::query!(
        r#"select i.id, i.balance_minor, i.due_at, c.id as customer_id, c.name,
                  c.account_number, c.phone, c.email, c.language, p.name as plan, s.expires_at
             from invoices i
             join services s on s.tenant_id = i.tenant_id and s.id = i.service_id
             join plans p on p.tenant_id = s.tenant_id and p.id = s.plan_id
             join customers c on c.tenant_id = i.tenant_id and c.id = i.customer_id
            where i.issued_at > $1 and i.status in ('pending', 'overdue')
              and i.purpose = 'period' and s.billing_mode = 'postpaid'
              and i.balance_minor > 0 and c.archived_at is null
              and not exists (select 1 from sms_outbox m
                               where m.tenant_id = i.tenant_id
                                 and m.dedupe_key = 'invoice_issued:' || i.id)
            order by i.issued_at
            limit $2"#,
        isp.now - WINDOW,
        size
    )
    .fetch_all(tx.conn())
    .await?;
    let mut due = Vec::with_capacity(rows.len());
    for r in rows {
        let balance = ledger::balance(tx, r.customer_id).await?;
        let code = link_code(tx, state, r.customer_id).await?;
        let values = isp
            .values(r.name, r.account_number)
            .set(Placeholder::Plan, r.plan)
            .set(Placeholder::Amount, format_kes(r.balance_minor))
            .set(Placeholder::Balance, balance_words(balance))
            .set(Placeholder::Expiry, local_time(r.expires_at, isp.offset))
            .set(
                Placeholder::PaymentLink,
                format!("{}/pay/{code}", isp.public),
            );
        due.push(Due {
            customer: r.customer_id,
            phone: r.phone,
            email: r.email,
            language: r.language,
            values,
            key: invoice_key(r.id),
        });
    }
    Ok(due)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balances_read_as_owed_or_credit() {
        assert_eq!(balance_words(0), "KES 0");
        assert_eq!(balance_words(150_000), "KES 1,500 due");
        assert_eq!(balance_words(-20_050), "KES 200.50 in credit");
    }
}
