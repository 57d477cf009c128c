//! Paybill and till payments made from the phone's M-Pesa menu (C2B): the validation answer,
//! and each confirmation applied exactly once.
//!
//! A confirmation is stored raw first, under its TransID, and committed: from then on it cannot
//! be lost, and a replay finds the TransID taken and changes nothing. Daraja hears success
//! then. The applier (`payments::applier`) credits stored confirmations many per transaction
//! (`apply_stored`), each exactly once: the payment (ledger, allocation to open invoices oldest
//! first, renewal, outbox) or, when nobody matches what the payer typed, the Unmatched payments
//! queue.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    billing::{
        actions::{PaymentIn, apply_payments},
        invoices,
        model::Channel,
    },
    db::{Db, TenantId, TenantTx},
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
    /// Delivered before, or its receipt was already credited: nothing changed.
    Replay,
    /// Stored; the applier applies it in a moment.
    Stored,
    /// Stored, and refused for good (the reason is kept on the provider event).
    Failed,
}

pub(crate) fn bad_payload(err: WireError) -> AppError {
    AppError::invalid(err.field, err.reason)
}

/// The customer a payer meant by what they typed as the account: an account number (case and
/// spaces ignored), else a service's user name, else a phone number the customer is known by.
/// Never the payer's MSISDN, which Daraja masks. `None` when nothing or more than one matches.
pub async fn match_account(tx: &mut TenantTx, typed: &str) -> Result<Option<Uuid>, AppError> {
    Ok(match_accounts(tx, &[typed]).await?.pop().flatten())
}

/// `match_account` for many payments in one statement; the answers are in the order asked.
pub async fn match_accounts(
    tx: &mut TenantTx,
    typed: &[&str],
) -> Result<Vec<Option<Uuid>>, AppError> {
    let tenant = tx.tenant();
    let mut compact = Vec::with_capacity(typed.len());
    let mut accounts = Vec::with_capacity(typed.len());
    let mut phones = Vec::with_capacity(typed.len());
    for text in typed {
        let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if squeezed.is_empty() || squeezed.len() > 64 {
            compact.push(None);
            accounts.push(None);
            phones.push(None);
            continue;
        }
        accounts.push(Some(squeezed.to_uppercase()));
        phones.push(normalise_phone("account", &squeezed).ok());
        compact.push(Some(squeezed));
    }
    let rows = sqlx::query!(
        r#"select u.ord as "ord!", coalesce(
                  (select c.id from customers c
                    where c.tenant_id = $1 and c.account_number = u.account
                      and c.archived_at is null),
                  (select s.customer_id from services s
                    where s.tenant_id = $1 and lower(s.username) = lower(u.compact)
                    order by s.username limit 1),
                  -- A phone counts only when exactly one customer has it.
                  (select (array_agg(c.id))[1] from customers c
                    where c.tenant_id = $1 and c.phone = u.phone and c.archived_at is null
                   having count(*) = 1)) as customer
             from unnest($2::text[], $3::text[], $4::text[]) with ordinality
                  as u(compact, account, phone, ord)"#,
        tenant.0,
        &compact as &[Option<String>],
        &accounts as &[Option<String>],
        &phones as &[Option<String>],
    )
    .fetch_all(tx.conn())
    .await?;
    let mut matched = vec![None; typed.len()];
    for row in rows {
        if let Some(slot) = usize::try_from(row.ord - 1)
            .ok()
            .and_then(|i| matched.get_mut(i))
        {
            *slot = row.customer;
        }
    }
    Ok(matched)
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

/// Takes a C2B confirmation in `tx` (the ISP's, opened by the hook-token lookup): stores it
/// and nudges the applier. A replay is recognised by its TransID and changes nothing.
#[tracing::instrument(level = "info", skip_all, fields(tenant = %tx.tenant()))]
pub async fn confirm(state: &AppState, mut tx: TenantTx, body: &[u8]) -> Result<Applied, AppError> {
    let c2b = C2b::parse(body).map_err(bad_payload)?;
    let payload: Value =
        serde_json::from_slice(body).map_err(|e| AppError::invalid("body", e.to_string()))?;
    let trans_id = c2b.trans_id.trim();
    let tenant = tx.tenant();
    let stored = events::claim(
        &mut tx,
        EventKind::C2bConfirmation,
        trans_id,
        &payload,
        state.clock.now(),
    )
    .await?;
    tx.commit().await?;
    if stored.is_none() {
        tracing::info!(trans_id, "replayed C2B confirmation ignored");
        return Ok(Applied::Replay);
    }
    state.c2b.nudge(state, tenant);
    tracing::info!(
        trans_id,
        amount = c2b.trans_amount,
        "C2B confirmation stored"
    );
    Ok(Applied::Stored)
}

/// One stored confirmation, claimed for applying.
struct Claimed {
    event: Uuid,
    c2b: C2b,
    received_at: DateTime<Utc>,
}

/// Applies the stored, not yet applied confirmations among `events` in one transaction, as many
/// as there are. Rows are locked in one order and waited for, not skipped: a replay counting
/// itself holds the row for a moment, and one the sweep applied meanwhile is no longer
/// unapplied once its lock is released. Returns what each applied one came to. Any error rolls
/// the whole batch back (see `apply_stored`).
pub async fn apply_batch(
    db: &Db,
    now: DateTime<Utc>,
    tenant: TenantId,
    events: &[Uuid],
) -> Result<HashMap<Uuid, Applied>, AppError> {
    let mut tx = db.tenant(tenant).await?;
    let rows = sqlx::query!(
        r#"select id, payload, received_at from provider_events
            where tenant_id = $1 and id = any($2) and kind = 'c2b_confirmation'
              and outcome is null
            order by received_at, id
              for update"#,
        tenant.0,
        events
    )
    .fetch_all(tx.conn())
    .await?;
    let mut claimed = Vec::with_capacity(rows.len());
    for row in rows {
        // It was parsed before it was stored; a payload that no longer parses is refused for
        // good rather than retried.
        let c2b: C2b = serde_json::from_value(row.payload)
            .map_err(|e| AppError::invalid("C2B payload", e.to_string()))?;
        let received_at = trans_time(&c2b.trans_time).unwrap_or(row.received_at);
        claimed.push(Claimed {
            event: row.id,
            c2b,
            received_at,
        });
    }
    if claimed.is_empty() {
        tx.commit().await?;
        return Ok(HashMap::new());
    }
    let references: Vec<&str> = claimed.iter().map(|c| c.c2b.trans_id.trim()).collect();
    // A receipt may have been credited already through an STK callback.
    let credited = events::payments_by_reference(&mut tx, "mpesa", &references).await?;
    let sold = events::sold_receipts(&mut tx, &references).await?;
    let fresh: Vec<&Claimed> = claimed
        .iter()
        .filter(|c| {
            let receipt = c.c2b.trans_id.trim();
            !credited.contains_key(receipt) && !sold.contains(receipt)
        })
        .collect();
    let typed: Vec<&str> = fresh
        .iter()
        .map(|c| c.c2b.bill_ref_number.as_str())
        .collect();
    let customers = match_accounts(&mut tx, &typed).await?;

    let mut applied = HashMap::with_capacity(claimed.len());
    let mut outcomes = Vec::with_capacity(claimed.len());
    for c in &claimed {
        if let Some(payment) = credited.get(c.c2b.trans_id.trim()) {
            tracing::info!(trans_id = %c.c2b.trans_id, %payment, "C2B confirmation of a receipt already credited");
            outcomes.push((c.event, Outcome::Ignored));
            applied.insert(c.event, Applied::Replay);
        } else if sold.contains(c.c2b.trans_id.trim()) {
            tracing::info!(trans_id = %c.c2b.trans_id, "C2B confirmation of a hotspot sale already settled");
            outcomes.push((c.event, Outcome::Sold));
            applied.insert(c.event, Applied::Replay);
        }
    }
    let mut paying = Vec::new();
    let mut payments = Vec::new();
    let names: Vec<String> = fresh.iter().map(|c| c.c2b.payer_name()).collect();
    let mut unmatched = Vec::new();
    for ((c, customer), name) in fresh.iter().zip(&customers).zip(&names) {
        match customer {
            Some(customer) => {
                paying.push((c.event, *customer));
                payments.push(PaymentIn {
                    customer: *customer,
                    channel: Channel::Mpesa,
                    amount: c.c2b.trans_amount,
                    reference: c.c2b.trans_id.trim().to_string(),
                    received_at: c.received_at,
                    recorded_by: None,
                    invoice: None,
                });
            }
            None => {
                unmatched.push(UnmatchedIn {
                    event: c.event,
                    channel: "mpesa",
                    reference: c.c2b.trans_id.trim(),
                    amount_minor: c.c2b.trans_amount,
                    account_typed: &c.c2b.bill_ref_number,
                    payer_name: name,
                    received_at: c.received_at,
                });
                applied.insert(c.event, Applied::Unmatched);
            }
        }
    }
    if !payments.is_empty() {
        let terms = invoices::terms(&mut tx).await?;
        let ids = apply_payments(&mut tx, &terms, now, &payments).await?;
        for ((event, customer), payment) in paying.into_iter().zip(ids) {
            outcomes.push((event, Outcome::Credited(payment)));
            applied.insert(event, Applied::Credited { payment, customer });
        }
    }
    events::set_outcomes(&mut tx, &outcomes).await?;
    events::queue_unmatched_all(&mut tx, &unmatched).await?;
    tx.commit().await?;
    Ok(applied)
}

/// Applies stored confirmations: all of `events` in one transaction; should that fail, each on
/// its own, so one bad confirmation does not hold up the rest. One refused for good (a rule the
/// payment breaks) is marked failed with the reason; one that failed for another reason (the
/// database went away) stays stored for the sweep.
pub async fn apply_stored(
    db: &Db,
    now: DateTime<Utc>,
    tenant: TenantId,
    events: &[Uuid],
) -> HashMap<Uuid, Applied> {
    let err = match apply_batch(db, now, tenant, events).await {
        Ok(applied) => return applied,
        Err(err) => err,
    };
    if events.len() > 1 {
        tracing::warn!(error = %err, count = events.len(), "C2B batch failed; applying one by one");
    }
    let mut applied = HashMap::with_capacity(events.len());
    for event in events {
        let outcome = if events.len() == 1 {
            Err(err.clone())
        } else {
            apply_batch(db, now, tenant, std::slice::from_ref(event)).await
        };
        match outcome {
            Ok(one) => applied.extend(one),
            Err(AppError::Invalid { field, reason }) => {
                let why = format!("{field}: {reason}");
                tracing::warn!(%event, why, "C2B confirmation refused");
                match events::mark_failed(db, tenant, *event, &why).await {
                    Ok(()) => {
                        applied.insert(*event, Applied::Failed);
                    }
                    Err(err) => {
                        tracing::error!(%event, error = %err, "could not mark a C2B confirmation failed")
                    }
                }
            }
            Err(err) => {
                tracing::error!(%event, error = %err, "C2B confirmation left for the sweep")
            }
        }
    }
    applied
}

/// The stored, not yet applied confirmations of `tenant` received by `before`, oldest first.
async fn waiting(
    state: &AppState,
    tenant: TenantId,
    before: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Uuid>, AppError> {
    let mut tx = state.db.tenant(tenant).await?;
    let ids = sqlx::query_scalar!(
        r#"select id from provider_events
            where tenant_id = $1 and kind = 'c2b_confirmation' and outcome is null
              and received_at <= $2
            order by received_at limit $3"#,
        tenant.0,
        before,
        limit
    )
    .fetch_all(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(ids)
}

/// Applies every confirmation of `tenant` received by `before` and still waiting, `limit` per
/// transaction. Returns how many were applied.
pub async fn apply_waiting(
    state: &AppState,
    tenant: TenantId,
    before: DateTime<Utc>,
    limit: i64,
) -> Result<usize, AppError> {
    let mut done = 0;
    loop {
        let ids = waiting(state, tenant, before, limit).await?;
        if ids.is_empty() {
            return Ok(done);
        }
        let applied = apply_stored(&state.db, state.clock.now(), tenant, &ids).await;
        done += applied.len();
        tracing::debug!(%tenant, waiting = ids.len(), applied = applied.len(), "C2B batch");
        // A short batch took everything; none applied means an error that a later look retries.
        if applied.is_empty() || i64::try_from(ids.len()).unwrap_or(i64::MAX) < limit {
            return Ok(done);
        }
    }
}

/// Applies confirmations received by `before` and left waiting (a restart between storing and
/// applying, an error that passed), across ISPs, `limit` per transaction. Returns how many were
/// applied.
pub async fn sweep(state: &AppState, before: DateTime<Utc>, limit: i64) -> Result<usize, AppError> {
    let mut done = 0;
    for tenant in state.db.tenants_with_unapplied_c2b(before).await? {
        done += apply_waiting(state, tenant, before, limit).await?;
    }
    Ok(done)
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
