//! Paybill and till payments made from the phone's M-Pesa menu (C2B): the validation answer,
//! and each confirmation applied exactly once.
//!
//! A confirmation is stored raw first, under its TransID; the same transaction then records the
//! payment (ledger, allocation to open invoices oldest first, renewal) or, when nobody matches
//! what the payer typed, queues it as unmatched. A replay finds the TransID taken and changes
//! nothing; twenty deliveries at once wait on the first one's row and then find it taken.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    billing::{
        actions::{PaymentIn, apply_payment},
        invoices,
        model::Channel,
    },
    db::{TenantId, TenantTx},
    error::AppError,
    payments::{
        WireError,
        daraja_wire::{C2b, c2b_accept, c2b_reject},
        events::{self, EventKind, Outcome, UnmatchedIn},
    },
    phone::normalise_phone,
    state::AppState,
};

/// What a confirmation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Credited {
        payment: Uuid,
        customer: Uuid,
    },
    Unmatched,
    /// Delivered before: nothing changed.
    Replay,
}

pub(crate) fn bad_payload(err: WireError) -> AppError {
    AppError::invalid(err.field, err.reason)
}

/// The customer a payer meant by what they typed as the account: an account number (case and
/// spaces ignored), else a service's user name, else a phone number the customer is known by.
/// Never the payer's MSISDN, which Daraja masks. `None` when nothing or more than one matches.
pub async fn match_account(tx: &mut TenantTx, typed: &str) -> Result<Option<Uuid>, AppError> {
    let tenant = tx.tenant();
    let compact: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() || compact.len() > 64 {
        return Ok(None);
    }
    let by_account = sqlx::query_scalar!(
        "select id from customers where tenant_id = $1 and account_number = $2 and archived_at is null",
        tenant.0,
        compact.to_uppercase()
    )
    .fetch_optional(tx.conn())
    .await?;
    if by_account.is_some() {
        return Ok(by_account);
    }
    let by_username = sqlx::query_scalar!(
        "select customer_id from services where tenant_id = $1 and lower(username) = lower($2)",
        tenant.0,
        compact
    )
    .fetch_optional(tx.conn())
    .await?;
    if by_username.is_some() {
        return Ok(by_username);
    }
    let Ok(phone) = normalise_phone("account", &compact) else {
        return Ok(None);
    };
    let by_phone = sqlx::query_scalar!(
        "select id from customers where tenant_id = $1 and phone = $2 and archived_at is null limit 2",
        tenant.0,
        phone
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(match by_phone.as_slice() {
        [one] => Some(*one),
        _ => None,
    })
}

/// The answer to a C2B validation: accepted, unless the ISP refuses unknown accounts and nobody
/// matches (`C2B00012`, invalid account number).
pub async fn validate(state: &AppState, tenant: TenantId, body: &[u8]) -> Result<Value, AppError> {
    let c2b = C2b::parse(body).map_err(bad_payload)?;
    let mut tx = state.db.tenant(tenant).await?;
    let reject_unknown = sqlx::query_scalar!(
        "select c2b_reject_unknown from payment_settings where tenant_id = $1",
        tenant.0
    )
    .fetch_optional(tx.conn())
    .await?
    .unwrap_or(false);
    let known = match_account(&mut tx, &c2b.bill_ref_number)
        .await?
        .is_some();
    tx.commit().await?;
    Ok(if reject_unknown && !known {
        c2b_reject("C2B00012")
    } else {
        c2b_accept()
    })
}

/// `TransTime` (`YYYYMMDDHHmmss`, Nairobi time) as an instant.
pub(crate) fn trans_time(text: &str) -> Option<DateTime<Utc>> {
    let local = NaiveDateTime::parse_from_str(text.trim(), "%Y%m%d%H%M%S").ok()?;
    local
        .and_local_timezone(chrono_tz::Africa::Nairobi)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// Applies a C2B confirmation, in one transaction.
#[tracing::instrument(level = "info", skip(state, body), fields(%tenant))]
pub async fn confirm(state: &AppState, tenant: TenantId, body: &[u8]) -> Result<Applied, AppError> {
    let c2b = C2b::parse(body).map_err(bad_payload)?;
    let payload: Value =
        serde_json::from_slice(body).map_err(|e| AppError::invalid("body", e.to_string()))?;
    let now = state.clock.now();
    let trans_id = c2b.trans_id.trim().to_string();
    let mut tx = state.db.tenant(tenant).await?;
    let Some(event) = events::claim(
        &mut tx,
        EventKind::C2bConfirmation,
        &trans_id,
        &payload,
        now,
    )
    .await?
    else {
        tx.commit().await?;
        tracing::info!(trans_id, "replayed C2B confirmation ignored");
        return Ok(Applied::Replay);
    };
    let received_at = trans_time(&c2b.trans_time).unwrap_or(now);
    // The same receipt may have been credited already through an STK callback.
    if let Some(payment) = events::payment_by_reference(&mut tx, "mpesa", &trans_id).await? {
        events::set_outcome(&mut tx, event, Outcome::Ignored).await?;
        tx.commit().await?;
        tracing::info!(trans_id, %payment, "C2B confirmation of a receipt already credited");
        return Ok(Applied::Replay);
    }
    let applied = match match_account(&mut tx, &c2b.bill_ref_number).await? {
        Some(customer) => {
            let terms = invoices::terms(&mut tx).await?;
            let payment = apply_payment(
                &mut tx,
                &terms,
                now,
                &PaymentIn {
                    customer,
                    channel: Channel::Mpesa,
                    amount: c2b.trans_amount,
                    reference: trans_id.clone(),
                    received_at,
                    recorded_by: None,
                    invoice: None,
                },
            )
            .await?;
            events::set_outcome(&mut tx, event, Outcome::Credited(payment)).await?;
            Applied::Credited { payment, customer }
        }
        None => {
            events::queue_unmatched(
                &mut tx,
                &UnmatchedIn {
                    event,
                    channel: "mpesa",
                    reference: &trans_id,
                    amount_minor: c2b.trans_amount,
                    account_typed: &c2b.bill_ref_number,
                    payer_name: &c2b.payer_name(),
                    received_at,
                },
            )
            .await?;
            Applied::Unmatched
        }
    };
    tx.commit().await?;
    tracing::info!(
        trans_id,
        amount = c2b.trans_amount,
        ?applied,
        "C2B confirmation applied"
    );
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trans_time_is_nairobi_time() {
        let at = trans_time("20191122063845").unwrap();
        assert_eq!(at.to_rfc3339(), "2019-11-22T03:38:45+00:00");
        assert_eq!(trans_time("2019-11-22"), None);
    }
}
