//! The built-in RADIUS server (RFC 2865 authentication, RFC 2866 accounting) on the axum host's
//! runtime, and the Disconnect-Request client (RFC 5176) that cuts RADIUS sessions off.
//!
//! A NAS is a router in RADIUS mode, known by the address its packets come from; packets from
//! any other address are dropped unanswered, as are packets whose Message-Authenticator (or,
//! for accounting, request authenticator) does not check out under that NAS's secret. Every
//! Access-Request must carry a Message-Authenticator (the BlastRADIUS fix; RouterOS 6.49.17 and
//! 7.15 send one) and every answer carries one.
//!
//! Access-Request: the user name is a service of the NAS's ISP; PAP or CHAP against the sealed
//! service password; Accept while the service is active and within expiry plus grace, with
//! `Session-Timeout` up to that moment, the plan's `Mikrotik-Rate-Limit` and
//! `Acct-Interim-Interval`. Reject otherwise, with a reason for the subscriber that does not
//! tell an unknown user from a wrong password; the exact reason is logged.
//!
//! Accounting: Start, Interim-Update and Stop land in `radius_sessions` (monthly partitions),
//! one session per NAS and Acct-Session-Id whatever order or how often packets arrive; byte
//! counts fold in the gigawords and only ever grow. Accounting-On/Off closes the NAS's open
//! sessions. The answer goes out only once the packet is stored, so a NAS retries until it is.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex, PoisonError, RwLock},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use tokio::net::UdpSocket;
use uuid::Uuid;

use crate::{
    db::TenantId,
    error::AppError,
    network::{
        radius_cache::{self, Entry, Ticket},
        radius_packet::{
            self as rp, ACCESS_ACCEPT, ACCESS_REJECT, ACCESS_REQUEST, ACCOUNTING_REQUEST,
            ACCOUNTING_RESPONSE, DISCONNECT_ACK, DISCONNECT_NAK, DISCONNECT_REQUEST, MAX_PACKET,
            MIKROTIK_RATE_LIMIT, MIKROTIK_VENDOR, Packet, attr,
        },
        routers::secret_binding,
    },
    plans::model::rate_limit,
    state::AppState,
};

/// Where the RADIUS server listens and what it tells NASes.
#[derive(Debug, Clone)]
pub struct RadiusSettings {
    /// Authentication (1812) and accounting (1813) addresses; `None` serves no RADIUS.
    pub auth: Option<SocketAddr>,
    pub acct: Option<SocketAddr>,
    /// `Acct-Interim-Interval` sent with every Accept, in seconds.
    pub interim_secs: u32,
    /// How long a Disconnect-Request waits for its answer, per try (three tries).
    pub dm_timeout: Duration,
    /// Accept active services' users from memory (`radius_cache`); off, every Access-Request
    /// reads the database (`JASIYO_RADIUS_CACHE=off`, for comparison).
    pub cache: bool,
}

impl Default for RadiusSettings {
    fn default() -> Self {
        Self {
            auth: None,
            acct: None,
            interim_secs: 300,
            dm_timeout: Duration::from_secs(2),
            cache: true,
        }
    }
}

/// Error-Cause 503: the NAS has no such session (it ended already).
pub const SESSION_NOT_FOUND: u32 = 503;

/// What the server knows about one NAS.
#[derive(Clone)]
pub struct Nas {
    pub tenant: TenantId,
    pub router: Uuid,
    pub secret: Vec<u8>,
    pub dm_port: u16,
}

/// The NASes by address, loaded from the routers table and reloaded when a packet comes from an
/// address not in it (at most every 5 s, so a flood of strangers costs one query per 5 s).
#[derive(Default)]
pub struct NasTable {
    by_ip: RwLock<HashMap<IpAddr, Nas>>,
    loaded: Mutex<Option<Instant>>,
    /// When each NAS's last_seen_at was last written (written at most every 5 s).
    seen: Mutex<HashMap<Uuid, Instant>>,
}

impl std::fmt::Debug for NasTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NasTable").finish_non_exhaustive()
    }
}

const RELOAD_AT_MOST: Duration = Duration::from_secs(5);

impl NasTable {
    fn lookup(&self, ip: IpAddr) -> Option<Nas> {
        self.by_ip
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&ip)
            .cloned()
    }

    /// The NAS at `ip`, reloading the table if `ip` is unknown and it was not reloaded lately.
    pub async fn get(&self, state: &AppState, ip: IpAddr) -> Option<Nas> {
        if let Some(nas) = self.lookup(ip) {
            return Some(nas);
        }
        let due = {
            let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
            let due = loaded.is_none_or(|at| at.elapsed() >= RELOAD_AT_MOST);
            if due {
                *loaded = Some(Instant::now());
            }
            due
        };
        if due && let Err(err) = self.reload(state).await {
            tracing::error!(error = %err, "loading RADIUS clients");
        }
        self.lookup(ip)
    }

    /// Reads every RADIUS router and opens its secret.
    pub async fn reload(&self, state: &AppState) -> Result<(), AppError> {
        let mut table = HashMap::new();
        for (tenant, router, host, port, sealed) in state.db.radius_nases().await? {
            let Ok(ip) = host.parse::<IpAddr>() else {
                tracing::warn!(%tenant, %router, %host, "RADIUS router address is not an IP");
                continue;
            };
            let secret = state
                .secrets
                .open(&sealed, &secret_binding(tenant.0, router, "secret"))
                .map_err(|e| AppError::internal(&e))?;
            table.insert(
                ip,
                Nas {
                    tenant,
                    router,
                    secret,
                    dm_port: port.and_then(|p| u16::try_from(p).ok()).unwrap_or(3799),
                },
            );
        }
        *self.by_ip.write().unwrap_or_else(PoisonError::into_inner) = table;
        Ok(())
    }

    /// Whether the NAS's last_seen_at is due to be written again.
    fn mark_seen(&self, router: Uuid) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let due = seen
            .get(&router)
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(5));
        if due {
            seen.insert(router, Instant::now());
        }
        due
    }
}

/// Which port a socket serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    Auth,
    Acct,
}

/// Binds the configured sockets and serves them until the process ends. Returns the bound
/// addresses (port 0 picks free ones, for tests).
pub async fn start(state: &AppState) -> std::io::Result<(Option<SocketAddr>, Option<SocketAddr>)> {
    let mut bound = (None, None);
    for (addr, port) in [
        (state.radius.auth, Port::Auth),
        (state.radius.acct, Port::Acct),
    ] {
        let Some(addr) = addr else { continue };
        let socket = Arc::new(UdpSocket::bind(addr).await?);
        let local = socket.local_addr()?;
        tracing::info!(%local, ?port, "RADIUS listening");
        match port {
            Port::Auth => bound.0 = Some(local),
            Port::Acct => bound.1 = Some(local),
        }
        tokio::spawn(serve(state.clone(), socket, port));
    }
    if bound.0.is_some() && state.radius.cache {
        tokio::spawn(radius_cache::listen(state.clone()));
    }
    // Months ahead of the sessions table are made before packets need them.
    if let Err(err) = ensure_partitions(state).await {
        tracing::error!(error = %err, "making RADIUS session partitions");
    }
    Ok(bound)
}

/// At most this many packets are handled at once; more wait in the socket's buffer (and are
/// retransmitted by the NAS if they wait too long).
const IN_FLIGHT: usize = 256;

async fn serve(state: AppState, socket: Arc<UdpSocket>, port: Port) {
    let permits = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let mut buffer = vec![0u8; MAX_PACKET];
    loop {
        let (len, peer) = match socket.recv_from(&mut buffer).await {
            Ok(received) => received,
            Err(err) => {
                tracing::warn!(error = %err, "RADIUS receive failed");
                continue;
            }
        };
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let datagram = buffer[..len].to_vec();
        let (state, socket) = (state.clone(), socket.clone());
        tokio::spawn(async move {
            if let Some(reply) = handle(&state, port, peer, &datagram).await
                && let Err(err) = socket.send_to(&reply, peer).await
            {
                tracing::warn!(%peer, error = %err, "RADIUS reply not sent");
            }
            drop(permit);
        });
    }
}

/// The answer to one datagram, if any. Nothing from an unknown address, nothing for a packet
/// that does not parse or is not signed with the NAS's secret.
pub async fn handle(
    state: &AppState,
    port: Port,
    peer: SocketAddr,
    datagram: &[u8],
) -> Option<Vec<u8>> {
    let Some(nas) = state.radius_nases.get(state, peer.ip()).await else {
        tracing::debug!(%peer, "RADIUS packet from an unknown address dropped");
        return None;
    };
    let packet = match Packet::decode(datagram) {
        Ok(packet) => packet,
        Err(err) => {
            tracing::info!(%peer, error = %err, "malformed RADIUS packet dropped");
            return None;
        }
    };
    if state.radius_nases.mark_seen(nas.router) {
        let (state, nas) = (state.clone(), nas.clone());
        tokio::spawn(async move {
            if let Err(err) = mark_seen(&state, &nas).await {
                tracing::warn!(error = %err, "RADIUS router last seen");
            }
        });
    }
    let result = match (port, packet.code) {
        (Port::Auth, ACCESS_REQUEST) => authorize(state, &nas, &packet, datagram).await,
        (Port::Acct, ACCOUNTING_REQUEST) => account(state, &nas, &packet, datagram).await,
        _ => {
            tracing::info!(%peer, code = packet.code, ?port, "RADIUS packet of the wrong kind dropped");
            return None;
        }
    };
    match result {
        Ok(reply) => reply,
        Err(err) => {
            // No answer: the NAS retries, which is what should happen after a database error.
            tracing::error!(%peer, error = %err, "RADIUS packet not handled");
            None
        }
    }
}

async fn mark_seen(state: &AppState, nas: &Nas) -> Result<(), AppError> {
    let mut tx = state.db.tenant(nas.tenant).await?;
    sqlx::query!(
        "update routers set last_seen_at = $3 where tenant_id = $1 and id = $2",
        nas.tenant.0,
        nas.router,
        state.clock.now()
    )
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A reply to `request`: code, attributes and a Message-Authenticator, signed.
fn reply(
    request: &Packet,
    code: u8,
    attributes: Vec<(u8, Vec<u8>)>,
    secret: &[u8],
) -> Option<Vec<u8>> {
    let mut packet = Packet::new(code, request.identifier, request.authenticator);
    packet.attributes = attributes;
    packet.push(attr::MESSAGE_AUTHENTICATOR, [0u8; 16]);
    let mut bytes = packet.encode().ok()?;
    rp::set_message_authenticator(&mut bytes, secret);
    rp::sign(&mut bytes, secret);
    Some(bytes)
}

/// Why an Access-Request was refused: logged exactly, told to the subscriber gently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    UnknownUser,
    WrongPassword,
    NoPassword,
    Expired,
    Suspended,
    Removed,
}

impl Refusal {
    /// What the subscriber sees (a hotspot page shows Reply-Message).
    pub fn message(self) -> &'static str {
        match self {
            Refusal::UnknownUser | Refusal::WrongPassword | Refusal::NoPassword => {
                "Wrong user name or password"
            }
            Refusal::Expired => "Your package has expired: pay to reconnect",
            Refusal::Suspended => "Your account is suspended: contact your provider",
            Refusal::Removed => "This account is closed",
        }
    }
}

/// The decision on an Access-Request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Accept {
        session_timeout: u32,
        rate_limit: String,
    },
    Reject(Refusal),
}

async fn authorize(
    state: &AppState,
    nas: &Nas,
    packet: &Packet,
    raw: &[u8],
) -> Result<Option<Vec<u8>>, AppError> {
    if !rp::message_authenticator_valid(raw, &nas.secret, None) {
        tracing::warn!(router = %nas.router, "Access-Request without a valid Message-Authenticator dropped");
        return Ok(None);
    }
    if let Some(ticket) = state.radius_cache.preload_due(nas.tenant) {
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(err) = preload(&state, ticket).await {
                tracing::warn!(error = %err, "preloading the RADIUS cache");
            }
        });
    }
    let decision = decide(state, nas, packet).await?;
    let username = packet.text(attr::USER_NAME).unwrap_or_default();
    let reply_bytes = match decision {
        Decision::Accept {
            session_timeout,
            rate_limit,
        } => {
            tracing::debug!(router = %nas.router, %username, session_timeout, "RADIUS accept");
            let mut accept = Packet::new(ACCESS_ACCEPT, 0, [0; 16]);
            accept.push_integer(attr::SESSION_TIMEOUT, session_timeout);
            accept.push_integer(attr::ACCT_INTERIM_INTERVAL, state.radius.interim_secs);
            accept.push_vendor(MIKROTIK_VENDOR, MIKROTIK_RATE_LIMIT, rate_limit.as_bytes());
            reply(packet, ACCESS_ACCEPT, accept.attributes, &nas.secret)
        }
        Decision::Reject(why) => {
            tracing::info!(router = %nas.router, %username, reason = ?why, "RADIUS reject");
            reply(
                packet,
                ACCESS_REJECT,
                vec![(attr::REPLY_MESSAGE, why.message().as_bytes().to_vec())],
                &nas.secret,
            )
        }
    };
    Ok(reply_bytes)
}

/// Checks the user and password at `state.clock.now()`: from the cache when it holds an accept
/// for them, against the database otherwise (and for every refusal).
pub async fn decide(state: &AppState, nas: &Nas, packet: &Packet) -> Result<Decision, AppError> {
    let Some(username) = packet.text(attr::USER_NAME) else {
        return Ok(Decision::Reject(Refusal::UnknownUser));
    };
    let now = state.clock.now();
    if let Some(entry) = state.radius_cache.get(nas.tenant, &username)
        && entry.ends > now
        && password_matches(state, nas, packet, &entry)? == Some(true)
    {
        return Ok(accept(&entry, now));
    }
    let ticket = state.radius_cache.ticket(nas.tenant);
    let mut tx = state.db.tenant(nas.tenant).await?;
    let row = sqlx::query!(
        r#"select s.id, s.password_enc, s.status, s.expires_at, c.archived_at is not null as "archived!",
                  p.download_kbps, p.upload_kbps, p.burst_download_kbps, p.burst_upload_kbps,
                  t.grace_period_days
             from services s
             join plans p on p.tenant_id = s.tenant_id and p.id = s.plan_id
             join customers c on c.tenant_id = s.tenant_id and c.id = s.customer_id
             join tenants t on t.id = s.tenant_id
            where s.tenant_id = $1 and s.username = $2"#,
        nas.tenant.0,
        username
    )
    .fetch_optional(tx.conn())
    .await?;
    let Some(row) = row else {
        // Not a service: perhaps a voucher (its code is its user name and password).
        let decision = decide_voucher(&mut tx, &username, packet, &nas.secret, now).await?;
        tx.commit().await?;
        return Ok(decision);
    };
    tx.commit().await?;
    let entry = Entry {
        service: row.id,
        password_enc: row.password_enc,
        ends: row.expires_at + chrono::Duration::days(i64::from(row.grace_period_days)),
        rate_limit: rate_limit(
            row.download_kbps,
            row.upload_kbps,
            row.burst_download_kbps.zip(row.burst_upload_kbps),
        ),
    };
    match password_matches(state, nas, packet, &entry)? {
        None => return Ok(Decision::Reject(Refusal::NoPassword)),
        Some(false) => return Ok(Decision::Reject(Refusal::WrongPassword)),
        Some(true) => {}
    }
    if row.archived {
        return Ok(Decision::Reject(Refusal::Removed));
    }
    if row.status == "suspended" {
        return Ok(Decision::Reject(Refusal::Suspended));
    }
    if row.status != "active" || entry.ends <= now {
        return Ok(Decision::Reject(Refusal::Expired));
    }
    let decision = accept(&entry, now);
    if let Some(ticket) = ticket {
        state.radius_cache.fill(ticket, [(username, entry)]);
    }
    Ok(decision)
}

fn accept(entry: &Entry, now: DateTime<Utc>) -> Decision {
    Decision::Accept {
        session_timeout: session_timeout(entry.ends, now),
        rate_limit: entry.rate_limit.clone(),
    }
}

/// Whether the request's PAP or CHAP password is the service's; `None` when it carries neither.
fn password_matches(
    state: &AppState,
    nas: &Nas,
    packet: &Packet,
    entry: &Entry,
) -> Result<Option<bool>, AppError> {
    let stored = state
        .secrets
        .open(
            &entry.password_enc,
            &crate::customers::service::password_binding(nas.tenant.0, entry.service),
        )
        .map_err(|e| AppError::internal(&e))?;
    Ok(if let Some(hidden) = packet.get(attr::USER_PASSWORD) {
        Some(
            rp::reveal_password(hidden, &nas.secret, &packet.authenticator)
                .is_ok_and(|typed| constant_eq(&typed, &stored)),
        )
    } else if let Some(chap) = packet.get(attr::CHAP_PASSWORD) {
        let challenge = packet
            .get(attr::CHAP_CHALLENGE)
            .unwrap_or(&packet.authenticator);
        Some(rp::chap_matches(chap, &stored, challenge))
    } else {
        None
    })
}

/// Reads the ISP's services that would be accepted now into the cache: one query instead of
/// one per user when a NAS (re)connects everyone at once, after a power cut for instance.
async fn preload(state: &AppState, ticket: Ticket) -> Result<(), AppError> {
    let tenant = ticket.tenant();
    let now = state.clock.now();
    let mut tx = state.db.tenant(tenant).await?;
    let rows = sqlx::query!(
        r#"select s.id, s.username, s.password_enc, s.expires_at, t.grace_period_days,
                  p.download_kbps, p.upload_kbps, p.burst_download_kbps, p.burst_upload_kbps
             from services s
             join plans p on p.tenant_id = s.tenant_id and p.id = s.plan_id
             join customers c on c.tenant_id = s.tenant_id and c.id = s.customer_id
             join tenants t on t.id = s.tenant_id
            where s.tenant_id = $1 and s.status = 'active' and c.archived_at is null
              and s.expires_at > $2::timestamptz - make_interval(days => t.grace_period_days)
            limit $3"#,
        tenant.0,
        now,
        radius_cache::MAX_PER_TENANT as i64
    )
    .fetch_all(tx.conn())
    .await?;
    tx.commit().await?;
    let count = rows.len();
    state.radius_cache.fill(
        ticket,
        rows.into_iter().filter_map(|row| {
            let ends = row.expires_at + chrono::Duration::days(i64::from(row.grace_period_days));
            (ends > now).then(|| {
                let entry = Entry {
                    service: row.id,
                    password_enc: row.password_enc,
                    ends,
                    rate_limit: rate_limit(
                        row.download_kbps,
                        row.upload_kbps,
                        row.burst_download_kbps.zip(row.burst_upload_kbps),
                    ),
                };
                (row.username, entry)
            })
        }),
    );
    tracing::info!(%tenant, count, "RADIUS cache preloaded");
    Ok(())
}

/// A voucher's Access-Request: accepted while it can be used, for the rest of its time.
async fn decide_voucher(
    tx: &mut crate::db::TenantTx,
    username: &str,
    packet: &Packet,
    secret: &[u8],
    now: DateTime<Utc>,
) -> Result<Decision, AppError> {
    let Some(code) = crate::vouchers::model::normalise_code(username) else {
        return Ok(Decision::Reject(Refusal::UnknownUser));
    };
    let tenant = tx.tenant();
    let Some(v) = sqlx::query!(
        r#"select v.status, v.expires_at, v.ends_at, p.download_kbps, p.upload_kbps,
                  p.burst_download_kbps, p.burst_upload_kbps, p.validity_unit, p.validity_count
             from vouchers v join plans p on p.tenant_id = v.tenant_id and p.id = v.plan_id
            where v.tenant_id = $1 and v.code = $2"#,
        tenant.0,
        code
    )
    .fetch_optional(tx.conn())
    .await?
    else {
        return Ok(Decision::Reject(Refusal::UnknownUser));
    };
    // The password is the code too; a hotspot page may send it as typed.
    let password_ok = if let Some(hidden) = packet.get(attr::USER_PASSWORD) {
        rp::reveal_password(hidden, secret, &packet.authenticator).is_ok_and(|typed| {
            String::from_utf8(typed)
                .ok()
                .and_then(|t| crate::vouchers::model::normalise_code(&t))
                .is_some_and(|t| t == code)
        })
    } else if let Some(chap) = packet.get(attr::CHAP_PASSWORD) {
        let challenge = packet
            .get(attr::CHAP_CHALLENGE)
            .unwrap_or(&packet.authenticator);
        rp::chap_matches(chap, code.as_bytes(), challenge)
    } else {
        false
    };
    if !password_ok {
        return Ok(Decision::Reject(Refusal::WrongPassword));
    }
    let ends = match (v.status.as_str(), v.ends_at) {
        ("used", Some(ends)) => ends,
        ("available", _) if v.expires_at > now => {
            now + chrono::Duration::seconds(validity_seconds(&v.validity_unit, v.validity_count))
        }
        _ => return Ok(Decision::Reject(Refusal::Expired)),
    };
    if ends <= now {
        return Ok(Decision::Reject(Refusal::Expired));
    }
    Ok(Decision::Accept {
        session_timeout: session_timeout(ends, now),
        rate_limit: rate_limit(
            v.download_kbps,
            v.upload_kbps,
            v.burst_download_kbps.zip(v.burst_upload_kbps),
        ),
    })
}

/// A plan's validity in seconds (months as 30 days).
fn validity_seconds(unit: &str, count: i32) -> i64 {
    let count = i64::from(count);
    match unit {
        "minutes" => count * 60,
        "hours" => count * 3_600,
        "days" => count * 86_400,
        "weeks" => count * 7 * 86_400,
        _ => count * 30 * 86_400,
    }
}

/// Seconds until `ends` (at least 1, at most what the attribute holds).
pub fn session_timeout(ends: DateTime<Utc>, now: DateTime<Utc>) -> u32 {
    u32::try_from((ends - now).num_seconds().max(1)).unwrap_or(u32::MAX)
}

pub fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Acct-Status-Type values.
const START: u32 = 1;
const STOP: u32 = 2;
const INTERIM: u32 = 3;
const ACCOUNTING_ON: u32 = 7;
const ACCOUNTING_OFF: u32 = 8;

async fn account(
    state: &AppState,
    nas: &Nas,
    packet: &Packet,
    raw: &[u8],
) -> Result<Option<Vec<u8>>, AppError> {
    if !rp::request_signed(raw, &nas.secret) {
        tracing::warn!(router = %nas.router, "Accounting-Request with a bad authenticator dropped");
        return Ok(None);
    }
    // A Message-Authenticator is optional in accounting; one that is there must be right.
    if packet.get(attr::MESSAGE_AUTHENTICATOR).is_some()
        && !rp::message_authenticator_valid(raw, &nas.secret, Some(&[0; 16]))
    {
        tracing::warn!(router = %nas.router, "Accounting-Request with a bad Message-Authenticator dropped");
        return Ok(None);
    }
    let status = packet.integer(attr::ACCT_STATUS_TYPE).unwrap_or(0);
    match status {
        START | STOP | INTERIM => record_session(state, nas, packet, status).await?,
        ACCOUNTING_ON | ACCOUNTING_OFF => close_all(state, nas).await?,
        other => tracing::info!(router = %nas.router, status = other, "accounting status ignored"),
    }
    Ok(reply(packet, ACCOUNTING_RESPONSE, Vec::new(), &nas.secret))
}

/// Writes what one Start, Interim-Update or Stop says about its session.
async fn record_session(
    state: &AppState,
    nas: &Nas,
    packet: &Packet,
    status: u32,
) -> Result<(), AppError> {
    let Some(session_id) = packet.text(attr::ACCT_SESSION_ID).filter(|s| !s.is_empty()) else {
        tracing::info!(router = %nas.router, "accounting without Acct-Session-Id ignored");
        return Ok(());
    };
    let username = packet.text(attr::USER_NAME).unwrap_or_default();
    let now = state.clock.now();
    let session_time = i64::from(packet.integer(attr::ACCT_SESSION_TIME).unwrap_or(0));
    let input = clamp_i64(packet.octets(attr::ACCT_INPUT_OCTETS, attr::ACCT_INPUT_GIGAWORDS));
    let output = clamp_i64(packet.octets(attr::ACCT_OUTPUT_OCTETS, attr::ACCT_OUTPUT_GIGAWORDS));
    let framed_ip = packet
        .get(attr::FRAMED_IP_ADDRESS)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(|b| IpAddr::from(b).to_string());
    let calling = packet.text(attr::CALLING_STATION_ID);
    // Never before last month's partition (a NAS with a wild session time).
    let started_at =
        (now - chrono::Duration::seconds(session_time)).max(now - chrono::Duration::days(28));
    let stop_cause = (status == STOP).then(|| {
        packet
            .integer(attr::ACCT_TERMINATE_CAUSE)
            .map(|cause| cause.to_string())
            .unwrap_or_else(|| "stop".into())
    });
    let mut tx = state.db.tenant(nas.tenant).await?;
    // Packets about one session are applied one at a time (retransmissions arrive together).
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 7))",
        nas.router.to_string(),
        session_id
    )
    .execute(tx.conn())
    .await?;
    let updated = sqlx::query!(
        r#"update radius_sessions
              set updated_at = greatest(updated_at, $4),
                  session_time = greatest(session_time, $5),
                  input_bytes = greatest(input_bytes, $6),
                  output_bytes = greatest(output_bytes, $7),
                  framed_ip = coalesce(framed_ip, $8::text::inet),
                  stopped_at = case when $9::text is not null then coalesce(stopped_at, $4)
                                    else stopped_at end,
                  stop_cause = coalesce(stop_cause, $9)
            where tenant_id = $1 and router_id = $2 and session_id = $3
              and started_at > $4::timestamptz - interval '62 days'"#,
        nas.tenant.0,
        nas.router,
        session_id,
        now,
        session_time,
        input,
        output,
        framed_ip,
        stop_cause
    )
    .execute(tx.conn())
    .await?
    .rows_affected();
    if updated == 0 {
        // The first packet of this session we hear of (a Start, or a later one whose Start was
        // lost): it began `session_time` ago.
        sqlx::query!(
            r#"insert into radius_sessions (tenant_id, router_id, session_id, started_at, username,
                                            service_id, framed_ip, calling_station, updated_at,
                                            stopped_at, stop_cause, session_time, input_bytes,
                                            output_bytes)
               values ($1, $2, $3, $4, $5,
                       (select id from services where tenant_id = $1 and username = $5),
                       $6::text::inet, $7, $8::timestamptz, case when $9::text is not null then $8::timestamptz end, $9, $10, $11, $12)"#,
            nas.tenant.0,
            nas.router,
            session_id,
            started_at,
            username,
            framed_ip,
            calling,
            now,
            stop_cause,
            session_time,
            input,
            output
        )
        .execute(tx.conn())
        .await?;
        // A voucher is used from its first session on.
        if let Some(code) = crate::vouchers::model::normalise_code(&username) {
            crate::vouchers::service::mark_used(&mut tx, &[code], now).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

fn clamp_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Accounting-On/Off: the NAS restarted, so none of its sessions are open any more.
async fn close_all(state: &AppState, nas: &Nas) -> Result<(), AppError> {
    let mut tx = state.db.tenant(nas.tenant).await?;
    sqlx::query!(
        r#"update radius_sessions set stopped_at = $3, stop_cause = 'nas-restart'
            where tenant_id = $1 and router_id = $2 and stopped_at is null"#,
        nas.tenant.0,
        nas.router,
        state.clock.now()
    )
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Closes sessions no packet has mentioned for three interim intervals (the NAS lost them, or
/// its Stop was lost).
pub async fn close_stale(
    state: &AppState,
    tenant: TenantId,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    let quiet = chrono::Duration::seconds(3 * i64::from(state.radius.interim_secs));
    let mut tx = state.db.tenant(tenant).await?;
    let closed = sqlx::query!(
        r#"update radius_sessions set stopped_at = updated_at, stop_cause = 'stale'
            where tenant_id = $1 and stopped_at is null and updated_at < $2"#,
        tenant.0,
        now - quiet
    )
    .execute(tx.conn())
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(closed)
}

/// Makes the partitions for this month and the next two.
pub async fn ensure_partitions(state: &AppState) -> Result<(), AppError> {
    let now = state.clock.now();
    for months in 0..3 {
        state
            .db
            .radius_partition(now + chrono::Duration::days(31 * months))
            .await?;
    }
    Ok(())
}

/// What a NAS answered a Disconnect-Request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DmAnswer {
    Ack,
    Nak(Option<u32>),
}

/// Sends a Disconnect-Request for one session and waits for the answer (three tries).
pub async fn disconnect(
    nas_addr: SocketAddr,
    secret: &[u8],
    username: &str,
    session_id: Option<&str>,
    framed_ip: Option<IpAddr>,
    timeout: Duration,
) -> Result<DmAnswer, std::io::Error> {
    let bind: SocketAddr = if nas_addr.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(bind).await?;
    socket.connect(nas_addr).await?;
    let mut id = [0u8; 1];
    getrandom::fill(&mut id).map_err(std::io::Error::other)?;
    let mut request = Packet::new(DISCONNECT_REQUEST, id[0], [0; 16]);
    request.push(attr::USER_NAME, username.as_bytes());
    if let Some(session) = session_id {
        request.push(attr::ACCT_SESSION_ID, session.as_bytes());
    }
    if let Some(IpAddr::V4(ip)) = framed_ip {
        request.push(attr::FRAMED_IP_ADDRESS, ip.octets());
    }
    request.push(attr::MESSAGE_AUTHENTICATOR, [0u8; 16]);
    let mut bytes = request.encode().map_err(std::io::Error::other)?;
    // As for accounting: the Message-Authenticator over zeros, then the authenticator.
    rp::set_message_authenticator(&mut bytes, secret);
    rp::sign(&mut bytes, secret);
    let mut sent_auth = [0u8; 16];
    sent_auth.copy_from_slice(&bytes[4..20]);
    let mut buffer = vec![0u8; MAX_PACKET];
    for _ in 0..3 {
        socket.send(&bytes).await?;
        let deadline = tokio::time::Instant::now() + timeout;
        while let Ok(received) = tokio::time::timeout_at(deadline, socket.recv(&mut buffer)).await {
            let len = received?;
            let answer = &buffer[..len];
            let Ok(reply) = Packet::decode(answer) else {
                continue;
            };
            // Only a signed answer to this request counts.
            if reply.identifier != id[0] || !rp::reply_signed(answer, secret, &sent_auth) {
                continue;
            }
            if reply.get(attr::MESSAGE_AUTHENTICATOR).is_some()
                && !rp::message_authenticator_valid(answer, secret, Some(&sent_auth))
            {
                continue;
            }
            return Ok(match reply.code {
                DISCONNECT_ACK => DmAnswer::Ack,
                DISCONNECT_NAK => DmAnswer::Nak(reply.integer(attr::ERROR_CAUSE)),
                _ => continue,
            });
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "the NAS did not answer the Disconnect-Request",
    ))
}

/// The router settings that point a MikroTik at this RADIUS server.
pub fn router_script(
    server_host: &str,
    settings: &RadiusSettings,
    secret: &str,
    dm_port: u16,
) -> String {
    let auth = settings.auth.map_or(1812, |a| a.port());
    let acct = settings.acct.map_or(1813, |a| a.port());
    let interim = settings.interim_secs;
    format!(
        "# Jasiyo RADIUS. Paste into the router's terminal (RouterOS 6.49.17 / 7.15 or later).\n\
         /radius add service=ppp,hotspot address={server_host} secret=\"{secret}\" authentication-port={auth} accounting-port={acct} require-message-auth=yes comment=\"jasiyo\"\n\
         /radius incoming set accept=yes port={dm_port}\n\
         /ppp aaa set use-radius=yes accounting=yes interim-update={interim}s\n\
         /ip hotspot profile set [find] use-radius=yes radius-accounting=yes radius-interim-update={interim}s\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_timeout_runs_to_the_end_and_never_below_one_second() {
        let now = Utc::now();
        assert_eq!(session_timeout(now + chrono::Duration::hours(2), now), 7200);
        assert_eq!(session_timeout(now - chrono::Duration::hours(2), now), 1);
        assert_eq!(
            session_timeout(now + chrono::Duration::days(400_000), now),
            u32::MAX
        );
    }

    #[test]
    fn refusals_do_not_tell_an_unknown_user_from_a_wrong_password() {
        assert_eq!(
            Refusal::UnknownUser.message(),
            Refusal::WrongPassword.message()
        );
        assert_ne!(Refusal::Expired.message(), Refusal::WrongPassword.message());
    }

    #[test]
    fn the_router_script_names_the_ports_and_the_secret() {
        let settings = RadiusSettings {
            auth: Some("0.0.0.0:1812".parse().unwrap()),
            acct: Some("0.0.0.0:1813".parse().unwrap()),
            ..RadiusSettings::default()
        };
        let script = router_script("radius.isp.example", &settings, "S3cret", 3799);
        assert!(script.contains("address=radius.isp.example secret=\"S3cret\""));
        assert!(script.contains("/radius incoming set accept=yes port=3799"));
        assert!(script.contains("interim-update=300s"));
    }
}
