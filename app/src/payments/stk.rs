//! M-Pesa STK push ("Lipa na M-Pesa Online"): the prompt sent to a payer's phone, its callback,
//! and the query that settles pushes whose callback never arrives.
//!
//! A push is written as a `payment_requests` row before Daraja is called; Daraja's
//! CheckoutRequestID is stored on it when the push is acknowledged, and the callback is matched
//! through that id (it does not echo the account). Settling locks the request's row, so the
//! callback, a duplicate or late callback and the poller can all try and only the first
//! credits. The payment's reference is the M-Pesa receipt when the callback brought one (the
//! receipt is then unique across STK and paybill payments), else the CheckoutRequestID.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    billing::{invoices, ledger},
    db::{TenantId, TenantTx},
    error::AppError,
    payments::{
        c2b::bad_payload,
        daraja::{self, CallError, DarajaError},
        daraja_wire::{
            ACCOUNT_REFERENCE_MAX, StkAck, StkPush, StkQuery, StkQueryAnswer, StkResult,
            TRANSACTION_DESC_MAX, clip, stk_password, timestamp,
        },
        events::{self, EventKind, Outcome, UnmatchedIn},
        model::RequestStatus,
        requests::{
            Settled, Settlement, customer_account, expire, fail, lock_by_id, lock_by_ref,
            reschedule, settle,
        },
        settings,
    },
    phone::normalise_phone,
    state::AppState,
};

/// How long a push is waited on before it counts as expired (the prompt itself times out on
/// the phone after about a minute).
pub const WAIT: Duration = Duration::minutes(2);
/// The first STK query, if no callback came first.
const FIRST_QUERY: Duration = Duration::seconds(15);
/// Between queries while the payer has not answered.
const QUERY_EVERY: Duration = Duration::seconds(10);

/// Where a request started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Staff,
    Link,
    Portal,
    Hotspot,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Staff => "staff",
            Source::Link => "link",
            Source::Portal => "portal",
            Source::Hotspot => "hotspot",
        }
    }
}

/// A push to send.
#[derive(Debug, Clone)]
pub struct PushIn {
    pub customer: Uuid,
    /// As typed: normalised here.
    pub phone: String,
    /// Cents; `None` asks for what the customer owes (or a period of their plan, when they owe
    /// nothing).
    pub amount: Option<i64>,
    pub invoice: Option<Uuid>,
    pub source: Source,
    pub requested_by: Option<Uuid>,
}

/// What a customer would pay now: what they owe, or when nothing is owed the price of their
/// dearest active plan (a period paid ahead, kept as credit for the next renewal).
pub async fn amount_due(tx: &mut TenantTx, customer: Uuid) -> Result<i64, AppError> {
    let owed = ledger::balance(tx, customer).await?;
    amount_due_from(tx, customer, owed).await
}

/// `amount_due` for a customer whose balance (`owed`) the caller has already read.
pub async fn amount_due_from(
    tx: &mut TenantTx,
    customer: Uuid,
    owed: i64,
) -> Result<i64, AppError> {
    if owed > 0 {
        return Ok(owed);
    }
    let tenant = tx.tenant();
    let price = sqlx::query_scalar!(
        r#"select max(p.price_minor) from services s
             join plans p on p.tenant_id = s.tenant_id and p.id = s.plan_id
            where s.tenant_id = $1 and s.customer_id = $2"#,
        tenant.0,
        customer
    )
    .fetch_one(tx.conn())
    .await?;
    Ok(price.unwrap_or(0))
}

/// Whole shillings for Daraja, rounded up (M-Pesa takes no cents; anything over is credit).
fn whole_shillings(minor: i64) -> i64 {
    (minor + 99) / 100
}

/// Writes the request and sends the push. Returns the request to follow, which may be one
/// already in flight for this customer (a second press of Pay does not charge twice) or one
/// that failed at once (its message says why).
#[tracing::instrument(level = "info", skip(state, input), fields(%tenant, customer = %input.customer))]
pub async fn push(state: &AppState, tenant: TenantId, input: &PushIn) -> Result<Uuid, AppError> {
    let phone = normalise_phone("phone", &input.phone)?;
    let now = state.clock.now();
    let mut tx = state.db.tenant(tenant).await?;
    let account = customer_account(&mut tx, input.customer).await?;
    let amount = match input.amount {
        Some(a) if a <= 0 => return Err(AppError::invalid("amount", "must be more than zero")),
        Some(a) => a,
        None => match amount_due(&mut tx, input.customer).await? {
            0 => {
                return Err(AppError::invalid(
                    "amount",
                    "nothing is owed: enter the amount to pay",
                ));
            }
            due => due,
        },
    };
    let amount = whole_shillings(amount) * 100;
    if amount > 150_000 * 100 {
        return Err(AppError::invalid(
            "amount",
            "M-Pesa takes at most KES 150,000 in one payment",
        ));
    }
    // Fails early, before anything is written, when M-Pesa is not set up.
    let creds = settings::mpesa_credentials(&mut tx, &state.secrets).await?;
    let passkey = creds
        .passkey
        .clone()
        .ok_or_else(|| AppError::invalid("mpesa_passkey", "is not set"))?;
    let terms = invoices::terms(&mut tx).await?;
    let id = Uuid::new_v4();
    let inserted = sqlx::query!(
        r#"insert into payment_requests (tenant_id, id, customer_id, invoice_id, provider, source,
                                         payer, amount_minor, currency, status, requested_by,
                                         created_at, next_query_at)
           values ($1, $2, $3, $4, 'mpesa', $5, $6, $7, $8, 'sending', $9, $10, $11)
           on conflict (tenant_id, customer_id)
              where provider = 'mpesa' and status in ('sending', 'pending') do nothing"#,
        tenant.0,
        id,
        input.customer,
        input.invoice,
        input.source.as_str(),
        phone,
        amount,
        terms.currency,
        input.requested_by,
        now,
        now + WAIT
    )
    .execute(tx.conn())
    .await?;
    if inserted.rows_affected() == 0 {
        let open = sqlx::query_scalar!(
            "select id from payment_requests
              where tenant_id = $1 and customer_id = $2 and provider = 'mpesa'
                and status in ('sending', 'pending')",
            tenant.0,
            input.customer
        )
        .fetch_one(tx.conn())
        .await?;
        tx.commit().await?;
        tracing::info!(request = %open, "a push is already waiting on this customer");
        return Ok(open);
    }
    tx.commit().await?;
    send_prompt(
        state,
        tenant,
        &Prompt {
            id,
            creds: &creds,
            passkey: &passkey,
            phone,
            amount,
            account: &account,
            now,
        },
    )
    .await?;
    Ok(id)
}

/// A hotspot package to sell to whoever holds `phone`.
#[derive(Debug, Clone)]
pub struct SaleIn {
    pub plan: Uuid,
    /// The router the buyer stands behind, when the page knew it.
    pub router: Option<Uuid>,
    /// As typed: normalised here.
    pub phone: String,
}

/// What the M-Pesa statement shows as the account of a hotspot sale.
const SALE_ACCOUNT: &str = "WIFI";

/// Writes a hotspot sale's request and sends its prompt: the plan's price, rounded up to whole
/// shillings. A second press while a prompt waits on that phone returns the same request.
#[tracing::instrument(level = "info", skip(state, input), fields(%tenant, plan = %input.plan))]
pub async fn push_sale(
    state: &AppState,
    tenant: TenantId,
    input: &SaleIn,
) -> Result<Uuid, AppError> {
    let phone = normalise_phone("phone", &input.phone)?;
    let now = state.clock.now();
    let mut tx = state.db.tenant(tenant).await?;
    let price = sqlx::query_scalar!(
        "select price_minor from plans
          where tenant_id = $1 and id = $2 and kind = 'hotspot' and archived_at is null",
        tenant.0,
        input.plan
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| AppError::invalid("plan", "is not on sale here"))?;
    if price <= 0 {
        return Err(AppError::invalid("plan", "is free: ask for a voucher"));
    }
    let amount = whole_shillings(price) * 100;
    let creds = settings::mpesa_credentials(&mut tx, &state.secrets).await?;
    let passkey = creds
        .passkey
        .clone()
        .ok_or_else(|| AppError::invalid("mpesa_passkey", "is not set"))?;
    // A router of another ISP (or none) is simply not known here: the voucher then works on
    // whichever of the ISP's routers asks RADIUS about it.
    let router = match input.router {
        Some(router) => {
            sqlx::query_scalar!(
                "select id from routers where tenant_id = $1 and id = $2",
                tenant.0,
                router
            )
            .fetch_optional(tx.conn())
            .await?
        }
        None => None,
    };
    let terms = invoices::terms(&mut tx).await?;
    let id = Uuid::new_v4();
    let inserted = sqlx::query!(
        r#"insert into payment_requests (tenant_id, id, provider, source, payer, amount_minor,
                                         currency, status, plan_id, router_id, created_at,
                                         next_query_at)
           values ($1, $2, 'mpesa', 'hotspot', $3, $4, $5, 'sending', $6, $7, $8, $9)
           on conflict (tenant_id, payer)
              where source = 'hotspot' and provider = 'mpesa' and status in ('sending', 'pending')
              do nothing"#,
        tenant.0,
        id,
        phone,
        amount,
        terms.currency,
        input.plan,
        router,
        now,
        now + WAIT
    )
    .execute(tx.conn())
    .await?;
    if inserted.rows_affected() == 0 {
        let open = sqlx::query_scalar!(
            "select id from payment_requests
              where tenant_id = $1 and payer = $2 and source = 'hotspot' and provider = 'mpesa'
                and status in ('sending', 'pending')",
            tenant.0,
            phone
        )
        .fetch_one(tx.conn())
        .await?;
        tx.commit().await?;
        tracing::info!(request = %open, "a hotspot prompt is already waiting on this phone");
        return Ok(open);
    }
    tx.commit().await?;
    send_prompt(
        state,
        tenant,
        &Prompt {
            id,
            creds: &creds,
            passkey: &passkey,
            phone,
            amount,
            account: SALE_ACCOUNT,
            now,
        },
    )
    .await?;
    Ok(id)
}

/// A written request's prompt, ready to send.
struct Prompt<'a> {
    id: Uuid,
    creds: &'a settings::MpesaCredentials,
    passkey: &'a str,
    phone: String,
    /// Cents, whole shillings.
    amount: i64,
    account: &'a str,
    now: DateTime<Utc>,
}

/// Sends the prompt of a request already written as `sending`, and records Daraja's answer.
async fn send_prompt(state: &AppState, tenant: TenantId, p: &Prompt<'_>) -> Result<(), AppError> {
    let (id, creds, now) = (p.id, p.creds, p.now);
    let stamp = timestamp(now);
    let (kind, party_b) = match (creds.kind.as_str(), &creds.till) {
        ("till", Some(till)) => ("CustomerBuyGoodsOnline", till.clone()),
        _ => ("CustomerPayBillOnline", creds.shortcode.clone()),
    };
    let body = StkPush {
        business_short_code: creds.shortcode.clone(),
        password: stk_password(&creds.shortcode, p.passkey, &stamp),
        timestamp: stamp,
        transaction_type: kind.into(),
        amount: whole_shillings(p.amount),
        party_a: p.phone.clone(),
        party_b,
        phone_number: p.phone.clone(),
        call_back_url: daraja::stk_callback_url(state, tenant).await?,
        account_reference: clip(p.account, ACCOUNT_REFERENCE_MAX),
        transaction_desc: clip("Internet", TRANSACTION_DESC_MAX),
    };
    let body = serde_json::to_value(&body).map_err(|e| AppError::internal(&e))?;
    let answer = daraja::call(state, tenant, "/mpesa/stkpush/v1/processrequest", &body).await;
    let mut tx = state.db.tenant(tenant).await?;
    match answer.and_then(|bytes| {
        serde_json::from_slice::<StkAck>(&bytes).map_err(|e| CallError {
            error: DarajaError::Unexpected {
                status: 200,
                detail: e.to_string(),
            },
            sent: true,
        })
    }) {
        Ok(ack) if ack.response_code == "0" => {
            sqlx::query!(
                "update payment_requests set provider_ref = $3, status = 'pending', next_query_at = $4
                  where tenant_id = $1 and id = $2 and status = 'sending'",
                tenant.0,
                id,
                ack.checkout_request_id,
                now + FIRST_QUERY
            )
            .execute(tx.conn())
            .await?;
            tracing::info!(checkout = %ack.checkout_request_id, "STK push sent");
        }
        Ok(ack) => {
            fail(
                &mut tx,
                id,
                &ack.response_code,
                &ack.response_description,
                now,
            )
            .await?;
            tracing::warn!(code = %ack.response_code, "STK push refused");
        }
        Err(CallError { error, sent: false }) => {
            fail(&mut tx, id, "unreachable", &error.to_string(), now).await?;
            tracing::warn!(error = %error, "STK push not sent");
        }
        Err(CallError {
            error: DarajaError::Api(api),
            ..
        }) => {
            let desc = if api.is_transient() {
                "M-Pesa is busy right now; try again in a minute.".to_string()
            } else {
                api.error_message.clone()
            };
            fail(&mut tx, id, &api.error_code, &desc, now).await?;
            tracing::warn!(code = %api.error_code, message = %api.error_message, "STK push refused");
        }
        Err(CallError { error, sent: true }) => {
            // It may have reached the phone; without a CheckoutRequestID it cannot be queried.
            // It stays "sending" until it expires, and a callback for it that does arrive is
            // kept in the Unmatched payments queue rather than lost.
            tracing::warn!(error = %error, "STK push outcome unknown");
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Applies an STK callback, in one transaction. A replay changes nothing.
#[tracing::instrument(level = "info", skip(state, body), fields(%tenant))]
pub async fn callback(
    state: &AppState,
    tenant: TenantId,
    body: &[u8],
) -> Result<Option<Outcome>, AppError> {
    let result = StkResult::from_callback(body).map_err(bad_payload)?;
    let payload: Value =
        serde_json::from_slice(body).map_err(|e| AppError::invalid("body", e.to_string()))?;
    let now = state.clock.now();
    let checkout = result.checkout_request_id.clone();
    let mut tx = state.db.tenant(tenant).await?;
    let Some(event) =
        events::claim(&mut tx, EventKind::StkCallback, &checkout, &payload, now).await?
    else {
        tx.commit().await?;
        tracing::info!(checkout, "replayed STK callback ignored");
        return Ok(None);
    };
    let paid_at = result
        .transaction_date
        .as_deref()
        .and_then(crate::payments::c2b::trans_time)
        .unwrap_or(now);
    let outcome = match (
        lock_by_ref(&mut tx, "mpesa", &checkout).await?,
        result.result_code,
    ) {
        (Some(request), 0) => {
            let paid = Settlement::Paid {
                amount: result.amount_minor.unwrap_or(request.amount),
                receipt: result.receipt.as_deref(),
                at: paid_at,
            };
            match settle(&mut tx, state, &request, paid).await? {
                Some(Settled::Payment(payment)) => Outcome::Credited(payment),
                Some(Settled::Sale(_)) => Outcome::Sold,
                None => Outcome::Ignored,
            }
        }
        (Some(request), code) => {
            let failed = Settlement::Failed {
                code: code.to_string(),
                desc: &result.result_desc,
            };
            settle(&mut tx, state, &request, failed).await?;
            Outcome::Ignored
        }
        // A payment for a push we have no CheckoutRequestID for (its acknowledgement never
        // reached us): the money is real, so staff assign it.
        (None, 0) => {
            let receipt = result.receipt.clone().unwrap_or_else(|| checkout.clone());
            events::queue_unmatched(
                &mut tx,
                &UnmatchedIn {
                    event,
                    channel: "mpesa",
                    reference: &receipt,
                    amount_minor: result.amount_minor.unwrap_or(0).max(1),
                    account_typed: "",
                    payer_name: result.phone.as_deref().unwrap_or(""),
                    received_at: paid_at,
                },
            )
            .await?;
            Outcome::Unmatched
        }
        (None, _) => Outcome::Ignored,
    };
    if outcome != Outcome::Unmatched {
        events::set_outcome(&mut tx, event, outcome).await?;
    }
    tx.commit().await?;
    if outcome == Outcome::Sold {
        // The buyer's code is in the SMS outbox now.
        state.sms.nudge();
    }
    tracing::info!(
        checkout,
        code = result.result_code,
        ?outcome,
        "STK callback applied"
    );
    Ok(Some(outcome))
}

/// One round of the poller: every open request whose turn has come is asked about (an STK
/// query, a Paystack verify) or expired.
/// Returns how many were looked at.
pub async fn poll_due(state: &AppState, now: DateTime<Utc>) -> Result<usize, AppError> {
    let due = state.db.payment_requests_due(now, 200).await?;
    for (tenant, id) in &due {
        if let Err(err) = poll_one(state, *tenant, *id, now).await {
            tracing::warn!(%tenant, request = %id, error = %err, "STK query failed");
        }
    }
    Ok(due.len())
}

/// Runs `poll_due` every `every` until the process ends.
pub async fn poll_forever(state: AppState, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(err) = poll_due(&state, state.clock.now()).await {
            tracing::error!(error = %err, "STK poll failed");
        }
    }
}

#[tracing::instrument(level = "debug", skip(state))]
async fn poll_one(
    state: &AppState,
    tenant: TenantId,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let row = {
        let mut tx = state.db.tenant(tenant).await?;
        let row = sqlx::query!(
            "select provider, status, provider_ref, created_at from payment_requests
              where tenant_id = $1 and id = $2",
            tenant.0,
            id
        )
        .fetch_optional(tx.conn())
        .await?;
        tx.commit().await?;
        row
    };
    let Some(row) = row else { return Ok(()) };
    if row.provider == "paystack" {
        return crate::payments::paystack::poll_one(state, tenant, id, row.created_at, now).await;
    }
    let deadline = row.created_at + WAIT;
    let checkout = match (row.status.as_str(), row.provider_ref) {
        ("pending", Some(checkout)) => checkout,
        ("sending", _) if now >= deadline => {
            let mut tx = state.db.tenant(tenant).await?;
            expire(&mut tx, id, "M-Pesa did not acknowledge the request.", now).await?;
            tx.commit().await?;
            return Ok(());
        }
        _ => return Ok(()),
    };
    let answer = query(state, tenant, &checkout, now).await;
    let mut tx = state.db.tenant(tenant).await?;
    let Some(request) = lock_by_id(&mut tx, id).await? else {
        return Ok(());
    };
    if request.status != RequestStatus::Pending {
        // A callback settled it while we asked.
        tx.commit().await?;
        return Ok(());
    }
    match answer {
        Ok(answer) if answer.result_code == 0 => {
            let paid = Settlement::Paid {
                amount: request.amount,
                receipt: None,
                at: now,
            };
            if let Some(Settled::Sale(_)) = settle(&mut tx, state, &request, paid).await? {
                tx.commit().await?;
                state.sms.nudge();
                tracing::info!(checkout, "hotspot sale settled by query");
                return Ok(());
            }
            tracing::info!(checkout, "STK push settled as paid by query");
        }
        Ok(answer) => {
            let failed = Settlement::Failed {
                code: answer.result_code.to_string(),
                desc: &answer.result_desc,
            };
            settle(&mut tx, state, &request, failed).await?;
            tracing::info!(
                checkout,
                code = answer.result_code,
                "STK push settled by query"
            );
        }
        // Still with the payer, or Daraja busy: ask again, until the wait is over.
        Err(err) => {
            if now >= deadline {
                expire(
                    &mut tx,
                    id,
                    "No answer from the phone within 2 minutes.",
                    now,
                )
                .await?;
                tracing::info!(checkout, error = %err, "STK push expired");
            } else {
                reschedule(&mut tx, id, (now + QUERY_EVERY).min(deadline)).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Asks Daraja where a push stands.
async fn query(
    state: &AppState,
    tenant: TenantId,
    checkout: &str,
    now: DateTime<Utc>,
) -> Result<StkQueryAnswer, DarajaError> {
    let creds = {
        let mut tx = state
            .db
            .tenant(tenant)
            .await
            .map_err(|e| DarajaError::Unreachable(e.to_string()))?;
        let creds = settings::mpesa_credentials(&mut tx, &state.secrets)
            .await
            .map_err(|e| DarajaError::Unreachable(e.to_string()))?;
        let _ = tx.commit().await;
        creds
    };
    let stamp = timestamp(now);
    let body = StkQuery {
        business_short_code: creds.shortcode.clone(),
        password: stk_password(
            &creds.shortcode,
            creds.passkey.as_deref().unwrap_or_default(),
            &stamp,
        ),
        timestamp: stamp,
        checkout_request_id: checkout.to_string(),
    };
    let body = serde_json::to_value(&body).map_err(|e| DarajaError::Unexpected {
        status: 0,
        detail: e.to_string(),
    })?;
    let bytes = daraja::call(state, tenant, "/mpesa/stkpushquery/v1/query", &body).await?;
    serde_json::from_slice(&bytes).map_err(|e| DarajaError::Unexpected {
        status: 200,
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_are_whole_shillings_rounded_up() {
        assert_eq!(whole_shillings(100), 1);
        assert_eq!(whole_shillings(150_050), 1501);
        assert_eq!(whole_shillings(1), 1);
        assert_eq!(whole_shillings(200_000), 2000);
    }
}
