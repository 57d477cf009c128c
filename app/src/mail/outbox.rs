//! The email outbox: enqueue inside the change's transaction, deliver after commit.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    db::{TenantId, TenantTx},
    error::AppError,
    state::AppState,
};

/// What an email is for; stored with it so support can tell messages apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    VerifyEmail,
    ResetPassword,
    SignUpAgain,
    Invitation,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::VerifyEmail => "verify_email",
            Kind::ResetPassword => "reset_password",
            Kind::SignUpAgain => "sign_up_again",
            Kind::Invitation => "invitation",
        }
    }
}

pub struct Email<'a> {
    pub kind: Kind,
    pub to: &'a str,
    pub subject: &'a str,
    pub body: String,
}

pub async fn enqueue(
    tx: &mut TenantTx,
    now: DateTime<Utc>,
    email: Email<'_>,
) -> Result<Uuid, AppError> {
    let tenant = tx.tenant();
    let id = Uuid::new_v4();
    sqlx::query!(
        r#"insert into email_outbox (tenant_id, id, kind, to_address, subject, body_text, created_at)
           values ($1, $2, $3, $4, $5, $6, $7)"#,
        tenant.0,
        id,
        email.kind.as_str(),
        email.to,
        email.subject,
        email.body,
        now
    )
    .execute(tx.conn())
    .await?;
    Ok(id)
}

/// Sends one queued message and records the outcome. Safe to call twice: a sent row is skipped.
#[tracing::instrument(skip(state))]
pub async fn deliver(state: &AppState, tenant: TenantId, id: Uuid) -> Result<(), AppError> {
    let mut tx = state.db.tenant(tenant).await?;
    // Lock the row so two deliverers never send the same message.
    let row = sqlx::query!(
        r#"select to_address, subject, body_text, customer_id from email_outbox
            where tenant_id = $1 and id = $2 and status <> 'sent'
            for update skip locked"#,
        tenant.0,
        id
    )
    .fetch_optional(tx.conn())
    .await?;
    let Some(row) = row else { return Ok(()) };
    // A customer's mail comes from the ISP's own server when it has one; staff account mail
    // always from Jasiyo's.
    let outcome = match row.customer_id {
        Some(_) => match crate::messaging::email::mailer_for(&mut tx, state).await {
            Ok(mailer) => {
                mailer
                    .send(&row.to_address, &row.subject, &row.body_text)
                    .await
            }
            Err(err) => Err(format!("the mail server settings could not be used: {err}")),
        },
        None => {
            state
                .mailer
                .send(&row.to_address, &row.subject, &row.body_text)
                .await
        }
    };
    let now = state.clock.now();
    match &outcome {
        Ok(()) => {
            sqlx::query!(
                r#"update email_outbox set status = 'sent', sent_at = $3, attempts = attempts + 1,
                          last_error = null
                    where tenant_id = $1 and id = $2"#,
                tenant.0,
                id,
                now
            )
            .execute(tx.conn())
            .await?;
        }
        Err(error) => {
            tracing::warn!(%error, "email not delivered; it stays in the outbox for a retry");
            // Back off: 1, 2, 4, ... minutes after each failed attempt (the worker gives up
            // after 8 attempts; support sees the error in the outbox).
            sqlx::query!(
                r#"update email_outbox
                      set status = 'failed', attempts = attempts + 1, last_error = $3,
                          next_attempt_at = $4::timestamptz + make_interval(mins => power(2, least(attempts, 10))::int)
                    where tenant_id = $1 and id = $2"#,
                tenant.0,
                id,
                error,
                now
            )
            .execute(tx.conn())
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Delivers in the background, after the request has answered.
pub fn deliver_later(state: &AppState, tenant: TenantId, id: Uuid) {
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(err) = deliver(&state, tenant, id).await {
            tracing::error!(%tenant, %id, error = %err, "email delivery failed");
        }
    });
}

/// Delivers undelivered mail that is due, across tenants. Returns how many were attempted.
/// Run every so often by the server; safe on several servers at once (rows are locked).
pub async fn retry_due(state: &AppState) -> Result<usize, AppError> {
    let due = state.db.mail_due(state.clock.now(), 50).await?;
    for (tenant, id) in &due {
        deliver(state, *tenant, *id).await?;
    }
    Ok(due.len())
}

/// The retry loop the server runs in the background.
pub async fn retry_forever(state: AppState, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match retry_due(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(attempted = n, "retried undelivered mail"),
            Err(err) => tracing::error!(error = %err, "mail retry round failed"),
        }
    }
}
