//! Delivery reports: the gateway telling us, after a message was accepted, whether it reached
//! the phone. Africa's Talking posts a form (`id`, `status`, `phoneNumber`, `failureReason`, …)
//! to the URL set on the account; for the platform's account that is
//! `/hooks/sms/africastalking/{secret}` (see [`delivery_secret`]).
//!
//! A report moves a `sent` message to `delivered` or `failed` (a final report is kept; a later
//! one does not undo it) and records the gateway's last word on it. A report for an id we never
//! sent, or whose number is not the one we sent to, changes nothing: it is logged and answered
//! like any other, so a gateway does not retry it for hours.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::{error::AppError, secrets::Secrets, state::AppState};

/// A delivery report as Africa's Talking posts it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub phone_number: Option<String>,
    #[serde(default)]
    pub failure_reason: Option<String>,
}

/// What a report says about a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// It reached the phone.
    Delivered,
    /// It will not (rejected, failed, expired).
    Failed,
    /// Still on its way (sent, submitted, buffered).
    Pending,
}

/// Africa's Talking's delivery statuses; anything else is taken as still on its way.
pub fn verdict(status: &str) -> Verdict {
    match status {
        "Success" => Verdict::Delivered,
        "Failed" | "Rejected" | "Expired" | "AbsentSubscriber" => Verdict::Failed,
        _ => Verdict::Pending,
    }
}

/// What became of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The message's status or delivery status changed.
    Updated,
    /// No message of ours has that id (or it went to another number): nothing changed.
    Unknown,
    /// The message already had a final report: kept as it was.
    Settled,
}

/// The path secret of the platform account's delivery URL: derived from the server's key, so it
/// needs no setting of its own and changes with the key.
pub fn delivery_secret(secrets: &Secrets) -> String {
    let mac = secrets.mac(&[b"sms delivery reports"]);
    mac[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `given` is the platform account's delivery secret (compared as MACs, so the time
/// taken says nothing about how much of it matched).
pub fn is_delivery_secret(secrets: &Secrets, given: &str) -> bool {
    let expected = delivery_secret(secrets);
    secrets.mac(&[given.as_bytes()]) == secrets.mac(&[expected.as_bytes()])
}

/// Applies one report: from the platform's account (`scope` `None`), or from an ISP's own
/// account (only that ISP's messages).
pub async fn apply(
    state: &AppState,
    scope: Option<crate::db::TenantId>,
    report: &Report,
) -> Result<Applied, AppError> {
    let id = report.id.trim();
    if id.is_empty() || id.len() > 100 {
        return Err(AppError::invalid("id", "is not a message id"));
    }
    if report.status.trim().is_empty() || report.status.len() > 40 {
        return Err(AppError::invalid("status", "is not a delivery status"));
    }
    let found = state
        .db
        .sms_by_provider_id(id)
        .await?
        .filter(|(tenant, _)| scope.is_none_or(|only| only == *tenant));
    let Some((tenant, message)) = found else {
        tracing::info!(provider_id = %id, "delivery report for a message we do not know");
        return Ok(Applied::Unknown);
    };
    let now: DateTime<Utc> = state.clock.now();
    let mut tx = state.db.tenant(tenant).await?;
    let row = sqlx::query!(
        "select status, recipient from sms_outbox where id = $1 for update",
        message
    )
    .fetch_one(tx.conn())
    .await?;
    let number = report
        .phone_number
        .as_deref()
        .map(|n| n.trim().trim_start_matches('+'));
    if number.is_some_and(|n| n != row.recipient) {
        tracing::warn!(provider_id = %id, "delivery report names another number; ignored");
        tx.commit().await?;
        return Ok(Applied::Unknown);
    }
    if row.status != "sent" {
        tx.commit().await?;
        return Ok(Applied::Settled);
    }
    let reason: Option<String> = report
        .failure_reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| r.chars().take(200).collect());
    let (status, delivered_at, error) = match verdict(&report.status) {
        Verdict::Delivered => ("delivered", Some(now), None),
        Verdict::Failed => (
            "failed",
            None,
            Some(format!(
                "not delivered: {}",
                reason.as_deref().unwrap_or(report.status.as_str())
            )),
        ),
        Verdict::Pending => ("sent", None, None),
    };
    let delivery_status: String = report.status.trim().chars().take(40).collect();
    sqlx::query!(
        "update sms_outbox
            set status = $2, delivered_at = $3, error = coalesce($4, error),
                delivery_status = $5, delivery_reported_at = $6
          where id = $1",
        message,
        status,
        delivered_at,
        error,
        delivery_status,
        now
    )
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(Applied::Updated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_as_africas_talking_means_them() {
        assert_eq!(verdict("Success"), Verdict::Delivered);
        for failed in ["Failed", "Rejected", "Expired", "AbsentSubscriber"] {
            assert_eq!(verdict(failed), Verdict::Failed, "{failed}");
        }
        for pending in ["Sent", "Submitted", "Buffered", "Whatever"] {
            assert_eq!(verdict(pending), Verdict::Pending, "{pending}");
        }
    }
}
