//! Consent to marketing texts, withdrawn by the subscriber replying STOP.
//!
//! Africa's Talking forwards replies to the account's inbound URL as a form: `from`, `to`,
//! `text`, `date`, `id`, `linkId`. A reply to an ISP's own account
//! (`/hooks/sms/isp/{token}/inbound`) concerns that ISP. The platform's sender
//! (`/hooks/sms/africastalking/{secret}/inbound`) is shared by every ISP that texts through it,
//! so a reply there cannot say which ISP it answers: a STOP withdraws consent with every ISP
//! that has texted that number (saying no to more than meant is safe; to less is not). Each withdrawal is recorded
//! with its time on the customer and in the ISP's audit log, and the bulk messages still queued
//! for that number are not sent. Sign-in codes, receipts and reminders are not marketing and
//! still go.

use serde::Deserialize;
use serde_json::json;

use crate::{
    audit::store::{Entry, record},
    auth::session::RequestMeta,
    error::AppError,
    messaging::bulk,
    state::AppState,
};

/// An inbound message as Africa's Talking posts it (the fields we use).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Inbound {
    pub from: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
}

/// Whether a reply asks for no more marketing: its first word is STOP (or a common variant,
/// in English or Swahili), in any case.
pub fn is_stop(text: &str) -> bool {
    let first = text
        .split(|c: char| c.is_whitespace() || c == '.' || c == '!')
        .find(|w| !w.is_empty())
        .unwrap_or_default()
        .to_uppercase();
    matches!(
        first.as_str(),
        "STOP" | "STOPALL" | "UNSUBSCRIBE" | "END" | "CANCEL" | "QUIT" | "SITISHA" | "ACHA"
    )
}

/// What became of an inbound message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A STOP: consent withdrawn from this many customers (0: none had it).
    Withdrawn(usize),
    /// Not a STOP: nothing to do.
    Ignored,
}

/// Applies a reply that came to the platform's account (`scope` `None`: every ISP that texted
/// the number), or to an ISP's own account (that ISP only).
pub async fn apply_inbound(
    state: &AppState,
    scope: Option<crate::db::TenantId>,
    inbound: &Inbound,
) -> Result<Outcome, AppError> {
    let phone = crate::phone::normalise_phone("from", &inbound.from)?;
    let phone = phone.as_str();
    if !is_stop(&inbound.text) {
        tracing::info!(id = ?inbound.id, "inbound text message that is not a STOP; ignored");
        return Ok(Outcome::Ignored);
    }
    let now = state.clock.now();
    let said: String = inbound.text.trim().chars().take(40).collect();
    let meta = RequestMeta::default();
    let mut withdrawn = 0;
    let tenants = match scope {
        Some(only) => vec![only],
        None => state.db.sms_tenants_by_recipient(phone).await?,
    };
    for tenant in tenants {
        let mut tx = state.db.tenant(tenant).await?;
        let customers = sqlx::query_scalar!(
            "update customers set sms_consent = false, sms_consent_at = $2, updated_at = $2
              where phone = $1 and sms_consent
             returning id",
            phone,
            now
        )
        .fetch_all(tx.conn())
        .await?;
        for customer in &customers {
            let entry = Entry {
                at: now,
                actor_user_id: None,
                actor_label: "subscriber, by SMS",
                action: "customer.sms_consent_withdrawn",
                entity: Some(("customer", customer.to_string())),
                before: Some(json!({ "sms_consent": true })),
                after: Some(json!({ "sms_consent": false, "via": "sms", "text": said })),
                meta: &meta,
            };
            record(&mut tx, entry).await?;
        }
        drop_queued_bulk(
            &mut tx,
            None,
            Some(phone),
            "not sent: the subscriber replied STOP",
        )
        .await?;
        tx.commit().await?;
        withdrawn += customers.len();
    }
    tracing::info!(withdrawn, "STOP received: marketing consent withdrawn");
    Ok(Outcome::Withdrawn(withdrawn))
}

/// Bulk messages still queued for a customer (or a number) whose consent was just withdrawn:
/// failed with `reason`, so none of them goes out after the withdrawal.
pub async fn drop_queued_bulk(
    tx: &mut crate::db::TenantTx,
    customer: Option<uuid::Uuid>,
    phone: Option<&str>,
    reason: &str,
) -> Result<u64, AppError> {
    Ok(sqlx::query!(
        "update sms_outbox set status = 'failed', error = $4
          where kind = $3 and status = 'queued'
            and (customer_id = $1 or recipient = $2)",
        customer,
        phone,
        bulk::KIND,
        reason
    )
    .execute(tx.conn())
    .await?
    .rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_is_the_first_word_in_any_case_and_language() {
        for yes in [
            "STOP",
            "stop",
            " Stop please",
            "STOP.",
            "sitisha",
            "Acha!",
            "unsubscribe",
        ] {
            assert!(is_stop(yes), "{yes}");
        }
        for no in ["", "Please don't stop", "STOPPED", "Asante", "stopwatch"] {
            assert!(!is_stop(no), "{no}");
        }
    }
}
