//! What the RADIUS server needs to accept an active service's user, kept in memory so that an
//! Access-Request for a paying subscriber costs no database round trip.
//!
//! Only accepts are served from here: an entry exists only for a service that was active, not
//! archived and within its expiry plus grace when read, and a request that would not be
//! accepted from the entry (wrong password, the expiry passed since) goes to the database for
//! the exact answer. What the database says always wins within milliseconds:
//!
//! - the triggers of migration `radius_cache` send `NOTIFY jasiyo_radius` at commit for every
//!   change an answer depends on, and [`listen`] forgets those user names (or the whole ISP);
//! - a read that began before a change it did not see is never stored: every fill carries the
//!   ISP's generation from before its query, and a notification moves it on;
//! - while the notification connection is down (and so notifications may be lost) nothing is
//!   served or stored, and everything is forgotten when it comes back;
//! - an entry is trusted for [`TRUST_FOR`] at most, whatever happens.
//!
//! Passwords stay sealed in the entries, as in the database; each use opens them.

use std::{
    collections::HashMap,
    sync::{
        Arc, PoisonError, RwLock,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::TenantId;

/// How long an entry is used before it is read again, notifications or not: a bound on the
/// damage of a change made where no trigger sees it.
pub const TRUST_FOR: Duration = Duration::from_secs(60);

/// At most this many entries per ISP (about 200 bytes each); past it, users are looked up.
pub const MAX_PER_TENANT: usize = 250_000;

/// An ISP is preloaded at most this often (again after a change forgot all of it).
const PRELOAD_EVERY: Duration = Duration::from_secs(30);

/// The channel the triggers notify.
pub const CHANNEL: &str = "jasiyo_radius";

/// What an Access-Request for an active service is accepted with.
#[derive(Debug, Clone)]
pub struct Entry {
    pub service: Uuid,
    /// Sealed, as in `services.password_enc`.
    pub password_enc: Vec<u8>,
    /// The expiry plus the ISP's grace period.
    pub ends: DateTime<Utc>,
    pub rate_limit: String,
}

struct Stored {
    entry: Arc<Entry>,
    read_at: Instant,
}

#[derive(Default)]
struct TenantCache {
    /// Moved on by every notification for the ISP; fills from before it are refused.
    generation: u64,
    users: HashMap<String, Stored>,
    preloaded_at: Option<Instant>,
}

#[derive(Default)]
struct Inner {
    /// Moved on whenever the notification connection is lost or made.
    epoch: u64,
    tenants: HashMap<TenantId, TenantCache>,
}

/// Taken before a database read; a fill with a stale ticket is dropped.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    tenant: TenantId,
    epoch: u64,
    generation: u64,
}

impl Ticket {
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }
}

/// Counters, for tests, the benchmark and logs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub hits: u64,
    pub misses: u64,
    pub forgotten: u64,
}

#[derive(Default)]
pub struct AuthCache {
    inner: RwLock<Inner>,
    /// Notifications are being received: the cache may be used.
    live: AtomicBool,
    hits: AtomicU64,
    misses: AtomicU64,
    forgotten: AtomicU64,
}

impl std::fmt::Debug for AuthCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthCache")
            .field("live", &self.live.load(Ordering::Relaxed))
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl AuthCache {
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    pub fn stats(&self) -> Stats {
        Stats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            forgotten: self.forgotten.load(Ordering::Relaxed),
        }
    }

    /// How many of the ISP's user names are held.
    pub fn cached(&self, tenant: TenantId) -> usize {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        inner.tenants.get(&tenant).map_or(0, |t| t.users.len())
    }

    /// The entry for `username` if the cache is live and it is fresh; counts a hit or a miss.
    pub fn get(&self, tenant: TenantId, username: &str) -> Option<Arc<Entry>> {
        if !self.is_live() {
            return None;
        }
        let found = {
            let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
            inner
                .tenants
                .get(&tenant)
                .and_then(|t| t.users.get(username))
                .filter(|s| s.read_at.elapsed() < TRUST_FOR)
                .map(|s| s.entry.clone())
        };
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// A ticket for a read about to start, or `None` when nothing may be stored.
    pub fn ticket(&self, tenant: TenantId) -> Option<Ticket> {
        if !self.is_live() {
            return None;
        }
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        Some(Ticket {
            tenant,
            epoch: inner.epoch,
            generation: inner.tenants.get(&tenant).map_or(0, |t| t.generation),
        })
    }

    /// Stores what a read under `ticket` found, unless anything was forgotten since it began.
    pub fn fill(&self, ticket: Ticket, entries: impl IntoIterator<Item = (String, Entry)>) {
        if !self.is_live() {
            return;
        }
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        if inner.epoch != ticket.epoch {
            return;
        }
        let tenant = inner.tenants.entry(ticket.tenant).or_default();
        if tenant.generation != ticket.generation {
            return;
        }
        let now = Instant::now();
        for (username, entry) in entries {
            if tenant.users.len() >= MAX_PER_TENANT && !tenant.users.contains_key(&username) {
                break;
            }
            tenant.users.insert(
                username,
                Stored {
                    entry: Arc::new(entry),
                    read_at: now,
                },
            );
        }
    }

    /// A ticket for preloading the ISP's active services, if that is due: the first time one of
    /// its NASes speaks, and again at most every [`PRELOAD_EVERY`] after it was all forgotten.
    pub fn preload_due(&self, tenant: TenantId) -> Option<Ticket> {
        if !self.is_live() {
            return None;
        }
        {
            let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(t) = inner.tenants.get(&tenant)
                && t.preloaded_at
                    .is_some_and(|at| !t.users.is_empty() || at.elapsed() < PRELOAD_EVERY)
            {
                return None;
            }
        }
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let epoch = inner.epoch;
        let t = inner.tenants.entry(tenant).or_default();
        if t.preloaded_at
            .is_some_and(|at| !t.users.is_empty() || at.elapsed() < PRELOAD_EVERY)
        {
            return None;
        }
        t.preloaded_at = Some(Instant::now());
        Some(Ticket {
            tenant,
            epoch,
            generation: t.generation,
        })
    }

    /// Forgets one user name of the ISP, or all of them.
    pub fn forget(&self, tenant: TenantId, username: Option<&str>) {
        self.forgotten.fetch_add(1, Ordering::Relaxed);
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let t = inner.tenants.entry(tenant).or_default();
        t.generation += 1;
        match username {
            Some(name) => {
                t.users.remove(name);
            }
            None => t.users.clear(),
        }
    }

    /// Forgets everything and says whether notifications are now being received.
    pub fn reset(&self, live: bool) {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        inner.epoch += 1;
        inner.tenants.clear();
        self.live.store(live, Ordering::Release);
    }

    /// Applies one notification's payload; a payload it cannot read forgets everything.
    pub fn notified(&self, payload: &str) {
        let (tenant, username) = match payload.split_once(':') {
            Some((tenant, name)) => (tenant, Some(name)),
            None => (payload, None),
        };
        match Uuid::parse_str(tenant) {
            Ok(tenant) => self.forget(TenantId(tenant), username),
            Err(_) => {
                tracing::warn!(%payload, "unreadable RADIUS cache notification: forgetting all");
                let live = self.is_live();
                self.reset(live);
            }
        }
    }
}

/// Receives the triggers' notifications for as long as the process runs. The cache is live
/// only while they are being received; it starts empty each time the connection is made.
pub async fn listen(state: crate::state::AppState) {
    let cache = state.radius_cache.clone();
    loop {
        match state.db.listener(CHANNEL).await {
            Ok(mut listener) => {
                // Every change committed from here on is notified.
                cache.reset(true);
                tracing::info!("RADIUS cache live");
                loop {
                    match listener.try_recv().await {
                        Ok(Some(notification)) => cache.notified(notification.payload()),
                        Ok(None) => {
                            tracing::warn!("RADIUS cache: notifications lost, reconnecting");
                            break;
                        }
                        Err(err) => {
                            tracing::warn!(error = %err, "RADIUS cache: notifications failed");
                            break;
                        }
                    }
                }
                cache.reset(false);
            }
            Err(err) => tracing::warn!(error = %err, "RADIUS cache: cannot listen"),
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            service: Uuid::nil(),
            password_enc: vec![1, 2, 3],
            ends: DateTime::<Utc>::MAX_UTC,
            rate_limit: "4M/8M".into(),
        }
    }

    fn live() -> AuthCache {
        let cache = AuthCache::default();
        cache.reset(true);
        cache
    }

    const A: TenantId = TenantId(Uuid::from_u128(1));
    const B: TenantId = TenantId(Uuid::from_u128(2));

    #[test]
    fn nothing_is_served_or_stored_unless_live() {
        let cache = AuthCache::default();
        assert!(cache.ticket(A).is_none());
        assert!(cache.preload_due(A).is_none());
        let ticket = live().ticket(A).unwrap();
        cache.fill(ticket, [("u1".to_string(), entry())]);
        assert!(cache.get(A, "u1").is_none());

        let cache = live();
        let ticket = cache.ticket(A).unwrap();
        cache.fill(ticket, [("u1".to_string(), entry())]);
        assert!(cache.get(A, "u1").is_some());
        // The connection is lost: everything goes, and nothing is served until it is back.
        cache.reset(false);
        assert!(cache.get(A, "u1").is_none());
        cache.reset(true);
        assert!(
            cache.get(A, "u1").is_none(),
            "forgotten when the connection came back"
        );
    }

    #[test]
    fn a_read_that_began_before_a_change_is_not_stored() {
        let cache = live();
        let before = cache.ticket(A).unwrap();
        let other = cache.ticket(B).unwrap();
        cache.notified(&format!("{}:u1", A.0));
        cache.fill(before, [("u1".to_string(), entry())]);
        assert!(cache.get(A, "u1").is_none(), "a stale read is dropped");
        // Another ISP's change leaves this one's reads alone.
        cache.fill(other, [("u1".to_string(), entry())]);
        assert!(cache.get(B, "u1").is_some());
        // Nor is a read from before the connection was remade stored.
        let before = cache.ticket(A).unwrap();
        cache.reset(true);
        cache.fill(before, [("u1".to_string(), entry())]);
        assert!(cache.get(A, "u1").is_none());
    }

    #[test]
    fn notifications_forget_one_name_or_the_whole_isp() {
        let cache = live();
        let ticket = cache.ticket(A).unwrap();
        cache.fill(
            ticket,
            [("u1".to_string(), entry()), ("u2".to_string(), entry())],
        );
        let ticket = cache.ticket(B).unwrap();
        cache.fill(ticket, [("u1".to_string(), entry())]);
        cache.notified(&format!("{}:u1", A.0));
        assert!(cache.get(A, "u1").is_none());
        assert!(cache.get(A, "u2").is_some());
        assert!(cache.get(B, "u1").is_some(), "only that ISP's u1");
        cache.notified(&A.0.to_string());
        assert!(cache.get(A, "u2").is_none());
        assert!(cache.get(B, "u1").is_some());
        cache.notified("garbage");
        assert!(
            cache.get(B, "u1").is_none(),
            "an unreadable payload forgets all"
        );
        assert!(cache.is_live());
        let stats = cache.stats();
        assert_eq!((stats.forgotten, stats.hits), (2, 3));
    }

    #[test]
    fn an_isp_is_preloaded_once_and_again_only_after_it_was_all_forgotten() {
        let cache = live();
        let ticket = cache.preload_due(A).unwrap();
        assert!(cache.preload_due(A).is_none(), "one preload at a time");
        cache.fill(ticket, [("u1".to_string(), entry())]);
        assert!(cache.preload_due(A).is_none());
        cache.notified(&A.0.to_string());
        assert!(
            cache.preload_due(A).is_none(),
            "not again within PRELOAD_EVERY"
        );
        assert!(cache.preload_due(B).is_some(), "each ISP has its own");
    }
}
