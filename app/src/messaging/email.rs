//! Email to subscribers: the ISP's own mail server (or the platform's), and the messages that
//! follow an account's events by email too, for customers with an address.
//!
//! Customer mail goes through the email outbox (`email_outbox` with `customer_id` set) and is
//! keyed like the SMS of the same occurrence (`email:` + its key, unique per ISP), so each
//! occurrence gets at most one email as well as at most one SMS. The email says what the SMS
//! says (the event's template in the customer's language), under a subject per event. Staff
//! account mail (invitations, password resets) keeps coming from Jasiyo's own server.

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::{
    audit::store::{Entry, record},
    auth::{identity::Staff, model::Permission, session::RequestMeta},
    db::{TenantId, TenantTx},
    error::AppError,
    mail::mailer::{Mailer, SmtpServer},
    messaging::{
        provider_model::{CheckedSmtp, SmtpForm, SmtpView, TestSend},
        template::Event,
    },
    payments::model::last4,
    state::AppState,
};

fn binding(tenant: TenantId) -> Vec<u8> {
    format!("smtp-settings:{}:password", tenant.0).into_bytes()
}

fn sealing_failed(err: crate::secrets::SecretError) -> AppError {
    AppError::internal(&err)
}

/// The subject of an event's email.
pub fn subject(event: Event, business: &str) -> String {
    let what = match event {
        Event::InvoiceIssued => "your invoice",
        Event::PaymentReceived => "payment received",
        Event::ExpiringSoon => "your internet expires soon",
        Event::Expired => "your internet has expired",
        Event::Reactivated => "you are back online",
        Event::PortalOtp => "your sign-in code",
        Event::TicketReply => "a reply to your ticket",
        Event::VoucherSold => "your WiFi code",
    };
    format!("{business}: {what}")
}

/// One email to a customer about an event.
#[derive(Debug, Clone, Copy)]
pub struct CustomerEmail<'a> {
    pub customer: Uuid,
    pub event: Event,
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
}

/// Queues `email` unless mail with `key` was queued before (the same key as the occurrence's
/// SMS); the id when queued.
pub async fn enqueue_once(
    tx: &mut TenantTx,
    now: DateTime<Utc>,
    email: &CustomerEmail<'_>,
    key: &str,
) -> Result<Option<Uuid>, AppError> {
    let id = Uuid::new_v4();
    let inserted = sqlx::query!(
        "insert into email_outbox (tenant_id, id, kind, to_address, subject, body_text, created_at,
                                   customer_id, dedupe_key)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         on conflict (tenant_id, dedupe_key) where dedupe_key is not null do nothing",
        tx.tenant().0,
        id,
        email.event.as_str(),
        email.to,
        email.subject,
        email.body,
        now,
        email.customer,
        format!("email:{key}")
    )
    .execute(tx.conn())
    .await?;
    Ok((inserted.rows_affected() == 1).then_some(id))
}

struct Row {
    host: String,
    port: i32,
    security: String,
    username: Option<String>,
    password_enc: Option<Vec<u8>>,
    password_last4: Option<String>,
    from_address: String,
}

async fn row(tx: &mut TenantTx) -> Result<Option<Row>, AppError> {
    Ok(sqlx::query_as!(
        Row,
        "select host, port, security, username, password_enc, password_last4, from_address
           from smtp_settings where tenant_id = $1",
        tx.tenant().0
    )
    .fetch_optional(tx.conn())
    .await?)
}

/// The mail server for the ISP's customer mail: its own, or the platform's.
pub async fn mailer_for(tx: &mut TenantTx, state: &AppState) -> Result<Mailer, AppError> {
    let tenant = tx.tenant();
    let Some(r) = row(tx).await? else {
        return Ok(state.mailer.clone());
    };
    let password = match &r.password_enc {
        Some(sealed) => Some(
            String::from_utf8(
                state
                    .secrets
                    .open(sealed, &binding(tenant))
                    .map_err(sealing_failed)?,
            )
            .map_err(|e| AppError::internal(&e))?,
        ),
        None => None,
    };
    let credentials = match (&r.username, &password) {
        (Some(user), Some(password)) => Some((user.as_str(), password.as_str())),
        _ => None,
    };
    let server = SmtpServer {
        host: &r.host,
        port: u16::try_from(r.port).unwrap_or(587),
        security: &r.security,
        credentials,
        from: &r.from_address,
    };
    Mailer::server(&server, &state.mailer.public_url).map_err(|e| AppError::internal(&e))
}

/// The mail server card.
pub async fn view(state: &AppState, staff: &Staff) -> Result<SmtpView, AppError> {
    let mut tx = state.db.tenant(staff.tenant).await?;
    let r = row(&mut tx).await?;
    tx.commit().await?;
    Ok(match r {
        Some(r) => SmtpView {
            own: true,
            host: r.host,
            port: r.port.to_string(),
            security: r.security,
            username: r.username.unwrap_or_default(),
            from_address: r.from_address,
            password_last4: r.password_last4,
            editable: staff.role.can(Permission::ManageSystemSettings),
        },
        None => SmtpView {
            own: false,
            host: String::new(),
            port: "587".into(),
            security: "starttls".into(),
            username: String::new(),
            from_address: String::new(),
            password_last4: None,
            editable: staff.role.can(Permission::ManageSystemSettings),
        },
    })
}

/// Saves (or, unticked, removes) the ISP's own mail server. A blank password keeps the saved
/// one.
pub async fn save(
    state: &AppState,
    staff: &Staff,
    form: &SmtpForm,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    staff.require(Permission::ManageSystemSettings)?;
    let checked = form.check()?;
    let now = state.clock.now();
    let tenant = staff.tenant;
    let mut tx = state.db.tenant(tenant).await?;
    let before = row(&mut tx).await?;
    let after = match checked {
        CheckedSmtp::Platform => {
            sqlx::query!("delete from smtp_settings where tenant_id = $1", tenant.0)
                .execute(tx.conn())
                .await?;
            json!({ "own": false })
        }
        CheckedSmtp::Own {
            host,
            port,
            security,
            username,
            password,
            from_address,
        } => {
            let (sealed, password_last4) = match &password {
                Some(p) => (
                    Some(
                        state
                            .secrets
                            .seal(p.as_bytes(), &binding(tenant))
                            .map_err(sealing_failed)?,
                    ),
                    Some(last4(p)),
                ),
                None => match &before {
                    Some(b) => (b.password_enc.clone(), b.password_last4.clone()),
                    None => (None, None),
                },
            };
            sqlx::query!(
                "insert into smtp_settings (tenant_id, host, port, security, username,
                                            password_enc, password_last4, from_address,
                                            updated_at, updated_by)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 on conflict (tenant_id) do update
                    set host = excluded.host, port = excluded.port,
                        security = excluded.security, username = excluded.username,
                        password_enc = excluded.password_enc,
                        password_last4 = excluded.password_last4,
                        from_address = excluded.from_address,
                        updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                tenant.0,
                host,
                i32::from(port),
                security,
                username,
                sealed,
                password_last4,
                from_address,
                now,
                staff.user_id
            )
            .execute(tx.conn())
            .await?;
            json!({ "own": true, "host": host, "port": port, "security": security,
                    "from": from_address, "password_changed": password.is_some() })
        }
    };
    let entry = Entry::by_staff(
        staff,
        now,
        "settings.mail_server_changed",
        ("tenant", tenant.0.to_string()),
        meta,
    );
    record(
        &mut tx,
        entry
            .with_before(json!({ "own": before.is_some() }))
            .with_after(after),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Sends one email to `to` through the ISP's mail server now and says what happened. Audited.
pub async fn test_send(
    state: &AppState,
    staff: &Staff,
    to: &str,
    meta: &RequestMeta,
) -> Result<TestSend, AppError> {
    staff.require(Permission::ManageSystemSettings)?;
    let to = to.trim();
    if to.parse::<lettre::message::Mailbox>().is_err() {
        return Err(AppError::invalid("to", "must be an email address"));
    }
    let now = state.clock.now();
    let mut tx = state.db.tenant(staff.tenant).await?;
    let mailer = mailer_for(&mut tx, state).await?;
    let name = sqlx::query_scalar!("select name from tenants where id = $1", staff.tenant.0)
        .fetch_one(tx.conn())
        .await?;
    let entry = Entry::by_staff(
        staff,
        now,
        "settings.mail_test_sent",
        ("tenant", staff.tenant.0.to_string()),
        meta,
    );
    record(&mut tx, entry.with_after(json!({ "to": to }))).await?;
    tx.commit().await?;
    let outcome = mailer
        .send(
            to,
            &format!("{name}: a test message"),
            &format!("{name}: a test message from Jasiyo. Your mail server works."),
        )
        .await;
    Ok(match outcome {
        Ok(()) => TestSend {
            sent: true,
            answer: format!("Sent to {to}."),
        },
        Err(error) => TestSend {
            sent: false,
            answer: format!("Not sent: {error}"),
        },
    })
}
