//! Paystack: a checkout started from the payment link (initialize, then the payer is sent to
//! Paystack's page), verified by reference on return and on the `charge.success` webhook before
//! anything is credited; the amount and currency Paystack reports must be what we asked for.
//!
//! Our own thin client over `reqwest`, for the same reasons as the Daraja one: the Paystack
//! crates on crates.io are unmaintained and parse `metadata` strictly (it arrives as `""` or an
//! object).

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::{
    billing::invoices,
    db::{TenantId, TenantTx},
    error::AppError,
    payments::{
        c2b::bad_payload,
        daraja::http,
        events::{self, EventKind, Outcome, UnmatchedIn},
        paystack_wire::{Authorization, Envelope, Event, Initialize, Transaction, signature_valid},
        requests::{
            Settled, Settlement, customer_account, expire, fail, lock_by_ref, reschedule, settle,
        },
        settings,
        stk::{Source, amount_due},
    },
    state::AppState,
};

pub const API_URL: &str = "https://api.paystack.co";

/// A checkout whose webhook and return never came is verified this often (the payer may have
/// paid and closed the page), and given up after `CHECKOUT_WAIT`.
const VERIFY_EVERY: chrono::Duration = chrono::Duration::minutes(2);
const CHECKOUT_WAIT: chrono::Duration = chrono::Duration::hours(1);

/// The header Paystack signs webhooks in.
pub const SIGNATURE_HEADER: &str = "x-paystack-signature";

#[derive(Debug, thiserror::Error)]
pub enum PaystackError {
    #[error("Paystack could not be reached: {0}")]
    Unreachable(String),
    #[error("Paystack refused the request (HTTP {status}): {message}")]
    Refused { status: u16, message: String },
    #[error("Paystack answered something unexpected: {0}")]
    Unexpected(String),
}

impl From<PaystackError> for AppError {
    fn from(err: PaystackError) -> Self {
        AppError::Transport {
            message: err.to_string(),
        }
    }
}

fn base_url(state: &AppState) -> String {
    state
        .providers
        .paystack_url
        .as_deref()
        .unwrap_or(API_URL)
        .trim_end_matches('/')
        .to_string()
}

/// Reads Paystack's `{status, message, data}` answer.
async fn envelope<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, PaystackError> {
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .map_err(|e| PaystackError::Unreachable(e.to_string()))?;
    let parsed: Envelope<T> = serde_json::from_slice(&body).map_err(|e| {
        if (200..300).contains(&status) {
            PaystackError::Unexpected(e.to_string())
        } else {
            PaystackError::Refused {
                status,
                message: String::from_utf8_lossy(&body).chars().take(200).collect(),
            }
        }
    })?;
    match parsed {
        Envelope {
            status: true,
            data: Some(data),
            ..
        } if (200..300).contains(&status) => Ok(data),
        Envelope { message, .. } => Err(PaystackError::Refused { status, message }),
    }
}

/// `POST /transaction/initialize`.
pub async fn initialize(
    base: &str,
    secret: &str,
    body: &Initialize,
) -> Result<Authorization, PaystackError> {
    let client = http().map_err(|e| PaystackError::Unreachable(e.to_string()))?;
    let response = client
        .post(format!("{base}/transaction/initialize"))
        .bearer_auth(secret)
        .json(body)
        .send()
        .await
        .map_err(|e| PaystackError::Unreachable(e.to_string()))?;
    envelope(response).await
}

/// `GET /transaction/verify/{reference}`.
pub async fn verify(
    base: &str,
    secret: &str,
    reference: &str,
) -> Result<Transaction, PaystackError> {
    let client = http().map_err(|e| PaystackError::Unreachable(e.to_string()))?;
    let mut url = reqwest::Url::parse(&format!("{base}/transaction/verify/"))
        .map_err(|e| PaystackError::Unexpected(e.to_string()))?;
    url.path_segments_mut()
        .map_err(|()| PaystackError::Unexpected("base URL cannot take a path".into()))?
        .pop_if_empty()
        .push(reference);
    let response = client
        .get(url)
        .bearer_auth(secret)
        .send()
        .await
        .map_err(|e| PaystackError::Unreachable(e.to_string()))?;
    envelope(response).await
}

async fn secret(state: &AppState, tenant: TenantId) -> Result<String, AppError> {
    let mut tx = state.db.tenant(tenant).await?;
    let secret = settings::paystack_secret(&mut tx, &state.secrets).await?;
    tx.commit().await?;
    secret.ok_or_else(|| AppError::invalid("paystack_secret", "Paystack is not set up"))
}

/// Whether the ISP takes Paystack payments.
pub async fn enabled(tx: &mut TenantTx) -> Result<bool, AppError> {
    let tenant = tx.tenant();
    Ok(sqlx::query_scalar!(
        r#"select paystack_secret_enc is not null as "set!" from payment_settings where tenant_id = $1"#,
        tenant.0
    )
    .fetch_optional(tx.conn())
    .await?
    .unwrap_or(false))
}

/// A checkout to start.
pub struct CheckoutIn<'a> {
    pub customer: Uuid,
    pub email: &'a str,
    pub source: Source,
    /// Where Paystack sends the payer back (it adds `?trxref=…&reference=…`).
    pub callback_url: &'a str,
}

/// Records the request and initializes the transaction; returns the request and the page to
/// send the payer to.
#[tracing::instrument(level = "info", skip(state, input), fields(%tenant, customer = %input.customer))]
pub async fn start(
    state: &AppState,
    tenant: TenantId,
    input: &CheckoutIn<'_>,
) -> Result<(Uuid, String), AppError> {
    let email = input.email.trim().to_lowercase();
    if email.len() > 254 || !email.contains('@') || email.starts_with('@') || email.ends_with('@') {
        return Err(AppError::invalid(
            "email",
            "enter the email address for the receipt",
        ));
    }
    let secret = secret(state, tenant).await?;
    let now = state.clock.now();
    let id = Uuid::new_v4();
    let reference = format!("JSY-{}", id.simple());
    let mut tx = state.db.tenant(tenant).await?;
    let account = customer_account(&mut tx, input.customer).await?;
    let amount = match amount_due(&mut tx, input.customer).await? {
        0 => return Err(AppError::invalid("amount", "nothing is due")),
        due => due,
    };
    let terms = invoices::terms(&mut tx).await?;
    sqlx::query!(
        r#"insert into payment_requests (tenant_id, id, customer_id, provider, source, payer,
                                         amount_minor, currency, provider_ref, status, created_at,
                                         next_query_at)
           values ($1, $2, $3, 'paystack', $4, $5, $6, $7, $8, 'pending', $9, $10)"#,
        tenant.0,
        id,
        input.customer,
        input.source.as_str(),
        email,
        amount,
        terms.currency,
        reference,
        now,
        now + VERIFY_EVERY
    )
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    let body = Initialize {
        email: email.clone(),
        amount,
        currency: terms.currency.clone(),
        reference: reference.clone(),
        callback_url: input.callback_url.to_string(),
        metadata: serde_json::json!({"account": account, "request": id.to_string()}),
    };
    match initialize(&base_url(state), &secret, &body).await {
        Ok(auth) => {
            tracing::info!(reference, "Paystack checkout started");
            Ok((id, auth.authorization_url))
        }
        Err(err) => {
            let mut tx = state.db.tenant(tenant).await?;
            fail(&mut tx, id, "initialize", &err.to_string(), now).await?;
            tx.commit().await?;
            Err(err.into())
        }
    }
}

/// When Paystack says it was paid, from `paid_at`.
fn paid_at(txn: &Transaction, now: DateTime<Utc>) -> DateTime<Utc> {
    txn.paid_at
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map_or(now, |t| t.with_timezone(&Utc))
}

/// Applies a verified transaction to its request, under the request's lock. Returns the
/// payment when it is (or was already) credited.
async fn apply_verified(
    tx: &mut TenantTx,
    state: &AppState,
    txn: &Transaction,
) -> Result<Option<Uuid>, AppError> {
    let now = state.clock.now();
    let Some(request) = lock_by_ref(tx, "paystack", &txn.reference).await? else {
        return Err(AppError::NotFound {
            what: "That Paystack payment".into(),
        });
    };
    if !txn.succeeded() {
        if txn.status == "failed" {
            fail(tx, request.id, "failed", "The card payment failed.", now).await?;
        }
        return Ok(None);
    }
    if txn.amount != request.amount || !txn.currency.eq_ignore_ascii_case(&request.currency) {
        // Never credit what we did not ask for; the raw event stays for staff to look at.
        let desc = format!(
            "Paystack reported {} {} for a request of {} {}: not credited.",
            txn.currency, txn.amount, request.currency, request.amount
        );
        tracing::warn!(reference = %txn.reference, %desc, "Paystack amount mismatch");
        fail(tx, request.id, "amount_mismatch", &desc, now).await?;
        return Ok(None);
    }
    let paid = Settlement::Paid {
        amount: txn.amount,
        receipt: Some(&txn.reference),
        at: paid_at(txn, now),
    };
    Ok(settle(tx, state, &request, paid)
        .await?
        .and_then(Settled::payment))
}

/// The payer is back from Paystack's page: verify by reference and apply (a webhook may have
/// done so already, which changes nothing).
pub async fn confirm_return(
    state: &AppState,
    tenant: TenantId,
    reference: &str,
) -> Result<Uuid, AppError> {
    let secret = secret(state, tenant).await?;
    let txn = verify(&base_url(state), &secret, reference.trim()).await?;
    let mut tx = state.db.tenant(tenant).await?;
    apply_verified(&mut tx, state, &txn).await?;
    let request = lock_by_ref(&mut tx, "paystack", &txn.reference)
        .await?
        .map(|r| r.id)
        .ok_or_else(|| AppError::NotFound {
            what: "That Paystack payment".into(),
        })?;
    tx.commit().await?;
    Ok(request)
}

/// A webhook delivery: signature first (nothing is read or stored for a bad one), then stored
/// once per event and data id, and a `charge.success` verified by reference and applied in the
/// same transaction.
#[tracing::instrument(level = "info", skip(state, body, signature), fields(%tenant))]
pub async fn webhook(
    state: &AppState,
    tenant: TenantId,
    body: &[u8],
    signature: Option<&str>,
) -> Result<Outcome, AppError> {
    let secret = secret(state, tenant).await?;
    if !signature.is_some_and(|s| signature_valid(&secret, body, s)) {
        return Err(AppError::invalid(
            SIGNATURE_HEADER,
            "is missing or does not sign this body",
        ));
    }
    let event = Event::parse(body).map_err(bad_payload)?;
    let key = event.key().map_err(bad_payload)?;
    let payload: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| AppError::invalid("body", e.to_string()))?;
    // Verified with Paystack before anything is granted (outside the transaction: no row is
    // locked while we wait on the network).
    let verified = if event.event == "charge.success" {
        let charge = event.transaction().map_err(bad_payload)?;
        Some(verify(&base_url(state), &secret, &charge.reference).await?)
    } else {
        None
    };
    let now = state.clock.now();
    let mut tx = state.db.tenant(tenant).await?;
    let Some(stored) =
        events::claim(&mut tx, EventKind::PaystackWebhook, &key, &payload, now).await?
    else {
        tx.commit().await?;
        tracing::info!(key, "replayed Paystack webhook ignored");
        return Ok(Outcome::Ignored);
    };
    let outcome = match verified {
        None => Outcome::Ignored,
        Some(txn) => match apply_verified(&mut tx, state, &txn).await {
            Ok(Some(payment)) => Outcome::Credited(payment),
            Ok(None) => Outcome::Ignored,
            // Paid on a page we did not start (the ISP's own Paystack link): staff assign it.
            Err(AppError::NotFound { .. }) if txn.succeeded() => {
                events::queue_unmatched(
                    &mut tx,
                    &UnmatchedIn {
                        event: stored,
                        channel: "paystack",
                        reference: &txn.reference,
                        amount_minor: txn.amount,
                        account_typed: txn.metadata_str("account").unwrap_or_default(),
                        payer_name: "",
                        received_at: paid_at(&txn, now),
                    },
                )
                .await?;
                Outcome::Unmatched
            }
            Err(AppError::NotFound { .. }) => Outcome::Ignored,
            Err(other) => return Err(other),
        },
    };
    if outcome != Outcome::Unmatched {
        events::set_outcome(&mut tx, stored, outcome).await?;
    }
    tx.commit().await?;
    tracing::info!(key, ?outcome, "Paystack webhook applied");
    Ok(outcome)
}

/// The poller's turn for a pending checkout: verify it with Paystack and apply what it says;
/// still open, ask again later, until an hour has passed.
pub async fn poll_one(
    state: &AppState,
    tenant: TenantId,
    id: Uuid,
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let reference = {
        let mut tx = state.db.tenant(tenant).await?;
        let reference = sqlx::query_scalar!(
            "select provider_ref from payment_requests
              where tenant_id = $1 and id = $2 and status = 'pending'",
            tenant.0,
            id
        )
        .fetch_optional(tx.conn())
        .await?
        .flatten();
        tx.commit().await?;
        reference
    };
    let Some(reference) = reference else {
        return Ok(());
    };
    let verified = match secret(state, tenant).await {
        Ok(secret) => verify(&base_url(state), &secret, &reference)
            .await
            .map_err(AppError::from),
        Err(err) => Err(err),
    };
    let mut tx = state.db.tenant(tenant).await?;
    match verified {
        Ok(txn) if txn.succeeded() || txn.status == "failed" => {
            apply_verified(&mut tx, state, &txn).await?;
            tracing::info!(reference, status = %txn.status, "Paystack checkout settled by verify");
        }
        // Abandoned or still open on Paystack's side, or Paystack unreachable.
        other => {
            if now >= created_at + CHECKOUT_WAIT {
                expire(&mut tx, id, "The card payment was not completed.", now).await?;
            } else {
                reschedule(&mut tx, id, now + VERIFY_EVERY).await?;
            }
            if let Err(err) = other {
                tracing::warn!(reference, error = %err, "Paystack verify failed");
            }
        }
    }
    tx.commit().await?;
    Ok(())
}
