//! The SMS outbox (`sms_outbox`) and the sender that empties it.
//!
//! A message is written in the transaction of whatever caused it, so it exists exactly when
//! that change does. The sender finds due messages across ISPs, claims each in its ISP's
//! transaction with `FOR UPDATE SKIP LOCKED` (two servers never send the same one), marks it
//! `sending`, calls the gateway outside any transaction, and records the outcome:
//! sent; failed for good; queued again with back-off when nothing went out; or `unknown` when
//! the request may have left without an answer, which is never resent by itself (a resend
//! bills and delivers twice). A message left `sending` by a crash becomes `unknown` too.
//! Urgent messages (sign-in codes, payment confirmations) go first.

use std::{
    collections::HashMap,
    sync::{Arc, OnceLock},
    time::Duration,
};

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::{
    db::{TenantId, TenantTx},
    error::AppError,
    messaging::{
        africastalking::{AtConfig, Outcome},
        providers::{self, Gateway},
    },
    state::AppState,
};

/// Tries per message when the gateway keeps saying nothing was sent.
pub const MAX_ATTEMPTS: i32 = 5;

/// A message handed to the gateway and not settled within this is taken to be `unknown`.
const SETTLE_WITHIN: chrono::Duration = chrono::Duration::minutes(5);

/// Messages sent at once.
const IN_FLIGHT: usize = 8;

/// How long an ISP's messages wait when it has no gateway at all (saving one brings them back
/// at once: `providers::save`).
const SET_ASIDE: chrono::Duration = chrono::Duration::minutes(10);

/// One text message to queue.
#[derive(Debug, Clone)]
pub struct Sms<'a> {
    pub customer: Option<Uuid>,
    pub kind: &'a str,
    /// As stored: `2547…`.
    pub recipient: &'a str,
    pub body: &'a str,
    pub urgent: bool,
}

/// Queues `sms` in the caller's transaction; the sender is nudged once it commits.
pub async fn enqueue(
    tx: &mut TenantTx,
    now: DateTime<Utc>,
    sms: &Sms<'_>,
) -> Result<Uuid, AppError> {
    let id = Uuid::new_v4();
    let tenant = tx.tenant();
    sqlx::query!(
        "insert into sms_outbox (tenant_id, id, customer_id, kind, recipient, body, urgent,
                                 next_attempt_at, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        tenant.0,
        id,
        sms.customer,
        sms.kind,
        sms.recipient,
        sms.body,
        sms.urgent,
        now
    )
    .execute(tx.conn())
    .await?;
    Ok(id)
}

/// Queues `sms` unless a message with `key` was queued before (ever, by this ISP): false then.
/// What makes a reminder one message however often its job runs.
pub async fn enqueue_once(
    tx: &mut TenantTx,
    now: DateTime<Utc>,
    sms: &Sms<'_>,
    key: &str,
) -> Result<bool, AppError> {
    let tenant = tx.tenant();
    let inserted = sqlx::query!(
        "insert into sms_outbox (tenant_id, id, customer_id, kind, recipient, body, urgent,
                                 next_attempt_at, created_at, dedupe_key)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)
         on conflict (tenant_id, dedupe_key) where dedupe_key is not null do nothing",
        tenant.0,
        Uuid::new_v4(),
        sms.customer,
        sms.kind,
        sms.recipient,
        sms.body,
        sms.urgent,
        now,
        key
    )
    .execute(tx.conn())
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Africa's Talking's address, for ISPs' own accounts when the platform has none configured.
pub const AFRICASTALKING_URL: &str = "https://api.africastalking.com";

/// The sender: where messages go, and a handle to wake it.
#[derive(Clone, Default)]
pub struct SmsSender {
    /// The platform's shared gateway; `None`: ISPs without their own keep messages queued.
    pub gateway: Option<AtConfig>,
    /// Where ISPs' own Africa's Talking accounts are reached (the platform's address, or the
    /// simulator's in demo mode and tests).
    pub africastalking_url: String,
    wake: Arc<Notify>,
    started: Arc<OnceLock<()>>,
}

impl std::fmt::Debug for SmsSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsSender")
            .field("gateway", &self.gateway)
            .finish_non_exhaustive()
    }
}

impl SmsSender {
    pub fn new(gateway: Option<AtConfig>) -> Self {
        let africastalking_url = gateway
            .as_ref()
            .map_or_else(|| AFRICASTALKING_URL.to_string(), |g| g.base_url.clone());
        Self {
            gateway,
            africastalking_url,
            ..Self::default()
        }
    }

    /// Starts the sending task once per process.
    pub fn start(&self, state: &AppState) {
        self.started.get_or_init(|| {
            tokio::spawn(run(state.clone()));
        });
    }

    /// Sends what is due now rather than at the next tick.
    pub fn nudge(&self) {
        self.wake.notify_one();
    }
}

async fn run(state: AppState) {
    let wake = state.sms.wake.clone();
    loop {
        if let Err(err) = send_due(&state).await {
            tracing::error!(error = %err, "sending text messages");
        }
        // A nudge, or a second at most: retries fall due by time.
        let _ = tokio::time::timeout(Duration::from_secs(1), wake.notified()).await;
    }
}

/// Sends every message due now (up to a few hundred per call) through each ISP's gateway (its
/// own, or the shared one); returns how many were tried. An ISP with no gateway at all keeps
/// its messages queued.
pub async fn send_due(state: &AppState) -> Result<usize, AppError> {
    let now = state.clock.now();
    settle_stale(state, now).await?;
    let due = state.db.sms_rows("queued", now, 200).await?;
    let client = crate::payments::daraja::http()?;
    let mut gateways: HashMap<TenantId, Option<Arc<Gateway>>> = HashMap::new();
    let mut tried = 0;
    let mut tasks = tokio::task::JoinSet::new();
    for (tenant, id) in due {
        let gateway = match gateways.get(&tenant) {
            Some(known) => known.clone(),
            None => {
                let mut tx = state.db.tenant(tenant).await?;
                let found = match providers::gateway_for(&mut tx, state).await {
                    Ok(found) => found.map(Arc::new),
                    Err(err) => {
                        // A gateway that cannot be opened (a key sealed under another server
                        // key) holds this ISP's messages, not everyone's.
                        tracing::error!(%tenant, error = %err, "SMS gateway not usable");
                        None
                    }
                };
                if found.is_none() {
                    // Nowhere to send them yet: set aside, so they do not fill every round's
                    // batch ahead of other ISPs' messages.
                    sqlx::query!(
                        "update sms_outbox set next_attempt_at = $2
                          where tenant_id = $1 and status = 'queued' and next_attempt_at <= $3",
                        tenant.0,
                        now + SET_ASIDE,
                        now
                    )
                    .execute(tx.conn())
                    .await?;
                }
                tx.commit().await?;
                gateways.insert(tenant, found.clone());
                found
            }
        };
        let Some(gateway) = gateway else {
            continue;
        };
        while tasks.len() >= IN_FLIGHT {
            if let Some(done) = tasks.join_next().await {
                tried += finished(done);
            }
        }
        let state = state.clone();
        tasks.spawn(async move { send_one(&state, client, &gateway, tenant, id).await });
    }
    while let Some(done) = tasks.join_next().await {
        tried += finished(done);
    }
    Ok(tried)
}

/// One send task's end: 1 when it sent, and its error logged when it failed (whether it was
/// joined to free a slot or at the end of the round).
fn finished(done: Result<Result<bool, AppError>, tokio::task::JoinError>) -> usize {
    match done {
        Ok(Ok(sent)) => usize::from(sent),
        Ok(Err(err)) => {
            tracing::error!(error = %err, "sending a text message");
            0
        }
        Err(err) => {
            tracing::error!(error = %err, "a text message task failed");
            0
        }
    }
}

/// Claims, sends and records one message; `false` when another sender had it.
async fn send_one(
    state: &AppState,
    client: &reqwest::Client,
    gateway: &Gateway,
    tenant: TenantId,
    id: Uuid,
) -> Result<bool, AppError> {
    let now = state.clock.now();
    let mut tx = state.db.tenant(tenant).await?;
    let Some(claimed) = sqlx::query!(
        "select recipient, body, attempts from sms_outbox
          where tenant_id = $1 and id = $2 and status = 'queued' and next_attempt_at <= $3
          for update skip locked",
        tenant.0,
        id,
        now
    )
    .fetch_optional(tx.conn())
    .await?
    else {
        return Ok(false);
    };
    // `next_attempt_at` holds when it was handed over while `sending`.
    sqlx::query!(
        "update sms_outbox set status = 'sending', attempts = attempts + 1, next_attempt_at = $3
          where tenant_id = $1 and id = $2",
        tenant.0,
        id,
        now
    )
    .execute(tx.conn())
    .await?;
    tx.commit().await?;

    let outcome = gateway
        .send(client, &claimed.recipient, &claimed.body)
        .await;
    let attempts = claimed.attempts + 1;
    let at = state.clock.now();
    let (status, message_id, cost, error, next) = match outcome {
        Outcome::Sent { message_id, cost } => ("sent", Some(message_id), cost, None, at),
        Outcome::Rejected { reason } => ("failed", None, None, Some(reason), at),
        Outcome::Unknown { reason } => ("unknown", None, None, Some(reason), at),
        Outcome::Retry { reason } if attempts >= MAX_ATTEMPTS => {
            ("failed", None, None, Some(reason), at)
        }
        Outcome::Retry { reason } => {
            let wait = chrono::Duration::seconds(10 << attempts.clamp(0, 10));
            ("queued", None, None, Some(reason), at + wait)
        }
    };
    if let Some(error) = &error {
        tracing::warn!(%tenant, %id, status, %error, "text message not sent");
    }
    let mut tx = state.db.tenant(tenant).await?;
    sqlx::query!(
        "update sms_outbox
            set status = $3, provider_message_id = $4, cost = $5, error = $6,
                next_attempt_at = $7, sent_at = case when $3 = 'sent' then $8 else sent_at end
          where tenant_id = $1 and id = $2 and status = 'sending'",
        tenant.0,
        id,
        status,
        message_id,
        cost,
        error,
        next,
        at
    )
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Messages a stopped sender left `sending` become `unknown`: whether they went is not known.
async fn settle_stale(state: &AppState, now: DateTime<Utc>) -> Result<(), AppError> {
    for (tenant, id) in state
        .db
        .sms_rows("sending", now - SETTLE_WITHIN, 500)
        .await?
    {
        let mut tx = state.db.tenant(tenant).await?;
        sqlx::query!(
            "update sms_outbox set status = 'unknown',
                    error = 'the sender stopped while sending: not sent again in case it went'
              where tenant_id = $1 and id = $2 and status = 'sending'",
            tenant.0,
            id
        )
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Runs a job that queues messages every `every` (the first run at once), nudging the sender
/// when it queued any; `what` names it in the log. The reminders and the account messages run
/// on it.
pub async fn queue_every<F, Fut>(state: AppState, every: Duration, what: &'static str, round: F)
where
    F: Fn(AppState) -> Fut,
    Fut: std::future::Future<Output = Result<usize, AppError>>,
{
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match round(state.clone()).await {
            Ok(0) => {}
            Ok(queued) => {
                tracing::info!(queued, what, "messages queued");
                state.sms.nudge();
            }
            Err(err) => tracing::error!(error = %err, what, "queueing messages"),
        }
    }
}
