//! The network worker: one background task per server that cuts off what has expired, queues
//! what changed and pushes commands to the routers it can reach.
//!
//! It wakes on a nudge (a staff action in this process), on PostgreSQL's `jasiyo_network`
//! notification (the desired-state trigger sends one whenever an entry changes, whichever
//! process made the change) and every `TICK`. Each round: the expiry sweep, the reconciler
//! (desired states into commands), then a delivery task per pushed router with work. A router
//! is never contacted by two tasks of this server at once; claiming with `SKIP LOCKED` keeps two
//! servers from delivering the same command.

use std::{
    collections::HashSet,
    fmt,
    net::SocketAddr,
    sync::{Arc, Mutex, OnceLock, PoisonError},
    time::Duration,
};

use chrono::{DateTime, Utc};
use serde_json::json;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::{
    audit::store::{Entry, record},
    auth::session::RequestMeta,
    db::TenantId,
    error::AppError,
    network::{
        command_spec::RouterSession,
        queue::{self, Outcome},
        router_error::RouterError,
        routeros_rest::RestClient,
        routeros_v6::V6Client,
        routers::secret_binding,
    },
    state::AppState,
};

/// How often the worker looks for work it was not told about.
pub const TICK: Duration = Duration::from_secs(1);

/// How long one router exchange may take.
pub const ROUTER_TIMEOUT: Duration = Duration::from_secs(10);

/// Commands handed to a pushed router and not answered for within this go back to the queue.
pub const STALE: chrono::Duration = chrono::Duration::minutes(2);

/// A handle on the worker task; cheap to clone.
#[derive(Clone, Default)]
pub struct NetworkWorker {
    nudges: Arc<OnceLock<mpsc::UnboundedSender<()>>>,
    busy: Arc<Mutex<HashSet<Uuid>>>,
    /// When RADIUS housekeeping (stale sessions, partitions) last ran.
    housekeeping: Arc<Mutex<Option<std::time::Instant>>>,
}

impl fmt::Debug for NetworkWorker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetworkWorker")
            .field("started", &self.nudges.get().is_some())
            .finish()
    }
}

impl NetworkWorker {
    /// Starts the task if it is not running.
    pub fn start(&self, state: &AppState) {
        self.nudges.get_or_init(|| {
            let (nudges, waiting) = mpsc::unbounded_channel();
            tokio::spawn(run(state.clone(), waiting));
            nudges
        });
    }

    /// Asks for a round now (no-op when the worker is not running: tests drive it by hand).
    pub fn nudge(&self) {
        if let Some(nudges) = self.nudges.get() {
            let _ = nudges.send(());
        }
    }

    fn take(&self, router: Uuid) -> bool {
        self.busy
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(router)
    }

    /// Whether RADIUS housekeeping is due (once a minute).
    fn housekeeping_due(&self) -> bool {
        let mut last = self
            .housekeeping
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let due = last.is_none_or(|at| at.elapsed() >= Duration::from_secs(60));
        if due {
            *last = Some(std::time::Instant::now());
        }
        due
    }

    fn release(&self, router: Uuid) {
        self.busy
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&router);
    }
}

async fn run(state: AppState, mut nudges: mpsc::UnboundedReceiver<()>) {
    let (notified, mut notifications) = mpsc::unbounded_channel();
    tokio::spawn(listen(state.clone(), notified));
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            nudge = nudges.recv() => if nudge.is_none() { return },
            Some(()) = notifications.recv() => {}
            _ = tick.tick() => {}
        }
        // Whatever else arrived meanwhile is covered by this round.
        while nudges.try_recv().is_ok() || notifications.try_recv().is_ok() {}
        if let Err(err) = round(&state, true).await {
            tracing::error!(error = %err, "network round");
        }
        if state.network.housekeeping_due()
            && let Err(err) = radius_housekeeping(&state).await
        {
            tracing::error!(error = %err, "RADIUS housekeeping");
        }
    }
}

/// Relays `jasiyo_network` notifications; reconnects after a lost connection.
async fn listen(state: AppState, notified: mpsc::UnboundedSender<()>) {
    loop {
        match state.db.listener("jasiyo_network").await {
            Ok(mut listener) => loop {
                match listener.recv().await {
                    Ok(_) => {
                        if notified.send(()).is_err() {
                            return;
                        }
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "network notifications: reconnecting");
                        break;
                    }
                }
            },
            Err(err) => tracing::warn!(error = %err, "network notifications: cannot listen"),
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Closes RADIUS sessions gone quiet and makes the sessions table's months ahead.
async fn radius_housekeeping(state: &AppState) -> Result<(), AppError> {
    crate::network::radius_server::ensure_partitions(state).await?;
    let now = state.clock.now();
    for tenant in state.db.radius_tenants().await? {
        crate::network::radius_server::close_stale(state, tenant, now).await?;
    }
    Ok(())
}

/// What one round did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Round {
    pub expired: u64,
    pub queued: usize,
    pub routers: usize,
}

/// One round: sweep, reconcile, deliver. With `spawn` each router's delivery runs as its own
/// task (the worker); without, they run one after another before this returns (tests).
pub async fn round(state: &AppState, spawn: bool) -> Result<Round, AppError> {
    let now = state.clock.now();
    let work = state.db.network_work(now).await?;
    let mut done = Round::default();
    for tenant in &work.expiring {
        done.expired += sweep(state, *tenant, now).await?;
    }
    // What the sweep just changed is queued in this round too.
    let mut unqueued: HashSet<TenantId> = work.unqueued.iter().copied().collect();
    unqueued.extend(work.expiring.iter().copied());
    for tenant in unqueued {
        loop {
            let queued = queue::enqueue(state, tenant, now, 1_000).await?;
            done.queued += queued;
            if queued < 1_000 {
                break;
            }
        }
    }
    // Routers the sweep or reconciler just gave work are looked at again.
    let work = if done.queued > 0 {
        state.db.network_work(state.clock.now()).await?
    } else {
        work
    };
    for (tenant, router) in work.routers {
        if !state.network.take(router) {
            continue;
        }
        done.routers += 1;
        if spawn {
            let state = state.clone();
            tokio::spawn(async move {
                if let Err(err) = deliver(&state, tenant, router).await {
                    tracing::warn!(%tenant, %router, error = %err, "router delivery");
                }
                state.network.release(router);
            });
        } else {
            let delivered = deliver(state, tenant, router).await;
            state.network.release(router);
            delivered?;
        }
    }
    Ok(done)
}

/// The expiry sweep for one ISP: marks expired what is past expiry plus grace (the desired
/// states follow in the same transaction) and records it in the audit log.
pub async fn sweep(
    state: &AppState,
    tenant: TenantId,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    let mut tx = state.db.tenant(tenant).await?;
    let zone = crate::customers::service::zone(&mut tx).await?;
    let expired = crate::billing::job::expire_due(&mut tx, now, zone.grace_period_days).await?;
    // Vouchers past their shelf life or their time leave their routers the same way.
    crate::vouchers::service::expire_due(&mut tx, now).await?;
    if expired > 0 {
        record(
            &mut tx,
            Entry {
                at: now,
                actor_user_id: None,
                actor_label: "expiry sweep",
                action: "services.expired",
                entity: None,
                before: None,
                after: Some(json!({ "expired": expired })),
                meta: &RequestMeta::default(),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(expired)
}

/// How to reach a pushed router.
struct Target {
    mode: String,
    host: String,
    port: u16,
    tls: bool,
    user: String,
    password: String,
    interval: chrono::Duration,
}

async fn target(
    state: &AppState,
    tenant: TenantId,
    router: Uuid,
) -> Result<Option<Target>, AppError> {
    let mut tx = state.db.tenant(tenant).await?;
    let row = sqlx::query!(
        r#"select mode, host, port, tls, api_username, api_password_enc, interval_secs
             from routers where tenant_id = $1 and id = $2"#,
        tenant.0,
        router
    )
    .fetch_optional(tx.conn())
    .await?;
    tx.commit().await?;
    let Some(r) = row else { return Ok(None) };
    if r.mode == "radius" {
        let Some(host) = r.host else { return Ok(None) };
        return Ok(Some(Target {
            port: r.port.and_then(|p| u16::try_from(p).ok()).unwrap_or(3799),
            mode: r.mode,
            host,
            tls: false,
            user: String::new(),
            password: String::new(),
            interval: chrono::Duration::seconds(i64::from(r.interval_secs)),
        }));
    }
    let (Some(host), Some(user), Some(sealed)) = (r.host, r.api_username, r.api_password_enc)
    else {
        return Ok(None);
    };
    let password = state
        .secrets
        .open(&sealed, &secret_binding(tenant.0, router, "api-password"))
        .map_err(|e| AppError::internal(&e))?;
    Ok(Some(Target {
        port: r
            .port
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(if r.mode == "rest" { 443 } else { 8728 }),
        mode: r.mode,
        host,
        tls: r.tls,
        user,
        password: String::from_utf8(password).map_err(|e| AppError::internal(&e))?,
        interval: chrono::Duration::seconds(i64::from(r.interval_secs)),
    }))
}

async fn connect(t: &Target) -> Result<RouterSession, RouterError> {
    // IPv6 literals go in brackets in URLs and socket addresses alike.
    let host = if t.host.contains(':') {
        format!("[{}]", t.host)
    } else {
        t.host.clone()
    };
    if t.mode == "rest" {
        let scheme = if t.tls { "https" } else { "http" };
        let client = RestClient::new(
            &format!("{scheme}://{host}:{}", t.port),
            &t.user,
            &t.password,
            ROUTER_TIMEOUT,
        )?;
        return Ok(RouterSession::Rest(client));
    }
    if t.tls {
        return Err(RouterError::Refused(
            "API-SSL (8729) is not supported yet: use the plain API over a private link, the \
             REST API or the phone-home agent"
                .into(),
        ));
    }
    let addr: SocketAddr = tokio::net::lookup_host(format!("{host}:{}", t.port))
        .await?
        .next()
        .ok_or_else(|| RouterError::Http(format!("{} has no address", t.host)))?;
    Ok(RouterSession::V6(
        V6Client::connect(addr, &t.user, &t.password, ROUTER_TIMEOUT).await?,
    ))
}

/// Contacts one pushed router: signs in (which also tells whether it is online and its
/// version), then delivers its due commands, one after another, recording each outcome.
pub async fn deliver(state: &AppState, tenant: TenantId, router: Uuid) -> Result<(), AppError> {
    let Some(target) = target(state, tenant, router).await? else {
        return Ok(());
    };
    if target.mode == "radius" {
        return deliver_radius(state, tenant, router, &target).await;
    }
    let mut session = match connect(&target).await {
        Ok(session) => session,
        Err(err) => return unreachable(state, tenant, router, &target, &err).await,
    };
    // REST has no session: the first request is the sign-in.
    let version = match session.version().await {
        Ok(version) => version,
        Err(err) => return unreachable(state, tenant, router, &target, &err).await,
    };
    // Vouchers waiting on this router are used once the router shows them logged in.
    let seen = vouchers_in_use(state, tenant, router, &mut session).await?;
    let now = state.clock.now();
    let mut tx = state.db.tenant(tenant).await?;
    crate::vouchers::service::mark_used(&mut tx, &seen, now).await?;
    queue::requeue_stale(&mut tx, router, now, STALE).await?;
    let claimed = queue::claim(&mut tx, state, router, now, queue::DELIVERY_BATCH).await?;
    sqlx::query!(
        r#"update routers set last_seen_at = $3, routeros_version = coalesce($4, routeros_version),
                              last_error = null, last_error_at = null
            where tenant_id = $1 and id = $2"#,
        tenant.0,
        router,
        now,
        version
    )
    .execute(tx.conn())
    .await?;
    tx.commit().await?;

    let mut outcomes = Vec::with_capacity(claimed.len());
    let mut lost: Option<String> = None;
    for command in &claimed {
        if let Some(why) = &lost {
            outcomes.push((command.id, Outcome::Lost(why.clone())));
            continue;
        }
        let outcome = match session
            .apply(
                &command.spec,
                &command.username,
                command.password.as_deref(),
            )
            .await
        {
            Ok(seen) if command.spec.matches(&seen) => Outcome::Confirmed,
            Ok(seen) => Outcome::Unconfirmed(format!(
                "the router shows {} after the command",
                if !seen.present {
                    "no such user".to_string()
                } else if seen.disabled {
                    "the user disabled".to_string()
                } else {
                    format!(
                        "the user enabled with profile {}",
                        seen.profile.unwrap_or_default()
                    )
                }
            )),
            Err(RouterError::Refused(why)) => Outcome::Refused(why),
            Err(err) => {
                let why = err.to_string();
                lost = Some(why.clone());
                Outcome::Lost(why)
            }
        };
        outcomes.push((command.id, outcome));
    }
    let now = state.clock.now();
    let mut tx = state.db.tenant(tenant).await?;
    queue::record(&mut tx, now, target.interval, &outcomes).await?;
    if let Some(why) = &lost {
        note_error(&mut tx, router, now, why).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Voucher codes logged in on the router's hotspot, when the router has vouchers not yet used.
async fn vouchers_in_use(
    state: &AppState,
    tenant: TenantId,
    router: Uuid,
    session: &mut RouterSession,
) -> Result<Vec<String>, AppError> {
    let mut tx = state.db.tenant(tenant).await?;
    let waiting = sqlx::query_scalar!(
        r#"select exists (select 1 from vouchers where tenant_id = $1 and router_id = $2
                                                   and status = 'available') as "waiting!""#,
        tenant.0,
        router
    )
    .fetch_one(tx.conn())
    .await?;
    tx.commit().await?;
    if !waiting {
        return Ok(Vec::new());
    }
    match session.list("/ip/hotspot/active").await {
        Ok(active) => Ok(active
            .iter()
            .filter_map(|a| a.get("user"))
            .filter_map(|u| crate::vouchers::model::normalise_code(u).filter(|c| c == u))
            .collect()),
        Err(err) => {
            tracing::info!(%router, error = %err, "reading the hotspot's active users");
            Ok(Vec::new())
        }
    }
}

async fn note_error(
    tx: &mut crate::db::TenantTx,
    router: Uuid,
    now: DateTime<Utc>,
    why: &str,
) -> Result<(), AppError> {
    let tenant = tx.tenant();
    let why: String = why.chars().take(500).collect();
    sqlx::query!(
        "update routers set last_error = $3, last_error_at = $4 where tenant_id = $1 and id = $2",
        tenant.0,
        router,
        why,
        now
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The router could not be reached: its commands wait an interval (costing no attempt).
async fn unreachable(
    state: &AppState,
    tenant: TenantId,
    router: Uuid,
    target: &Target,
    err: &RouterError,
) -> Result<(), AppError> {
    tracing::info!(%tenant, %router, error = %err, "router unreachable");
    let now = state.clock.now();
    let mut tx = state.db.tenant(tenant).await?;
    note_error(&mut tx, router, now, &err.to_string()).await?;
    sqlx::query!(
        r#"update router_commands set next_attempt_at = $3
            where tenant_id = $1 and router_id = $2 and status = 'queued'
              and next_attempt_at < $3"#,
        tenant.0,
        router,
        now + target.interval
    )
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Delivers a RADIUS NAS's cut-offs: a Disconnect-Request for each session the user has open
/// there (none open: nothing to cut, and the next log-in is refused). ACK, or NAK with
/// Error-Cause 503 (the session was gone already), confirms; another NAK is a refusal; no answer
/// leaves the command waiting, as for an unreachable router.
async fn deliver_radius(
    state: &AppState,
    tenant: TenantId,
    router: Uuid,
    target: &Target,
) -> Result<(), AppError> {
    use crate::network::radius_server::{DmAnswer, SESSION_NOT_FOUND, disconnect};
    let now = state.clock.now();
    let mut tx = state.db.tenant(tenant).await?;
    let secret = crate::network::routers::open_secret(&mut tx, state, router).await?;
    queue::requeue_stale(&mut tx, router, now, STALE).await?;
    let claimed = queue::claim(&mut tx, state, router, now, queue::DELIVERY_BATCH).await?;
    let mut sessions = Vec::with_capacity(claimed.len());
    for command in &claimed {
        let open = sqlx::query!(
            r#"select session_id, host(framed_ip) as framed_ip from radius_sessions
                where tenant_id = $1 and router_id = $2 and username = $3 and stopped_at is null"#,
            tenant.0,
            router,
            command.username
        )
        .fetch_all(tx.conn())
        .await?;
        sessions.push(open);
    }
    tx.commit().await?;
    let Ok(ip) = target.host.parse::<std::net::IpAddr>() else {
        return Err(AppError::invalid(
            "host",
            "a RADIUS router's address must be an IP",
        ));
    };
    let nas = SocketAddr::new(ip, target.port);
    let mut outcomes = Vec::with_capacity(claimed.len());
    let mut unreachable_why = None;
    // Sessions the NAS confirmed it ended (its Accounting-Stop may follow, or be lost).
    let mut ended = Vec::new();
    for (command, open) in claimed.iter().zip(sessions) {
        let mut answers = Vec::new();
        let mut outcome = None;
        for session in &open {
            let framed = session.framed_ip.as_deref().and_then(|ip| ip.parse().ok());
            let answer = disconnect(
                nas,
                secret.as_bytes(),
                &command.username,
                Some(&session.session_id),
                framed,
                state.radius.dm_timeout,
            )
            .await;
            match answer {
                Ok(DmAnswer::Ack) => {
                    answers.push("ACK".to_string());
                    ended.push(session.session_id.clone());
                }
                Ok(DmAnswer::Nak(Some(SESSION_NOT_FOUND))) => {
                    answers.push(format!("NAK {SESSION_NOT_FOUND} (session already gone)"));
                }
                Ok(DmAnswer::Nak(cause)) => {
                    outcome = Some(Outcome::Refused(format!(
                        "the NAS refused the disconnect (NAK{})",
                        cause
                            .map(|c| format!(", Error-Cause {c}"))
                            .unwrap_or_default()
                    )));
                    break;
                }
                Err(err) => {
                    let why = err.to_string();
                    unreachable_why = Some(why.clone());
                    outcome = Some(Outcome::Lost(why));
                    break;
                }
            }
        }
        let outcome = outcome.unwrap_or_else(|| {
            if answers.is_empty() {
                Outcome::ConfirmedWith("no open session".into())
            } else {
                Outcome::ConfirmedWith(answers.join(", "))
            }
        });
        outcomes.push((command.id, outcome));
    }
    let now = state.clock.now();
    let mut tx = state.db.tenant(tenant).await?;
    queue::record(&mut tx, now, target.interval, &outcomes).await?;
    sqlx::query!(
        r#"update radius_sessions set stopped_at = $4, stop_cause = 'disconnected'
            where tenant_id = $1 and router_id = $2 and session_id = any($3)
              and stopped_at is null"#,
        tenant.0,
        router,
        &ended,
        now
    )
    .execute(tx.conn())
    .await?;
    if let Some(why) = &unreachable_why {
        note_error(&mut tx, router, now, why).await?;
    }
    tx.commit().await?;
    Ok(())
}
