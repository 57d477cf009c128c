//! The built-in RADIUS server over real UDP sockets, driven by the fake NAS: accept and reject,
//! the rate-limit attribute's bytes, Message-Authenticator required, unknown NASes ignored,
//! malformed packets survived, accounting with gigawords and out-of-order packets, and
//! Disconnect-Requests on cut-off answered with ACK and NAK.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use std::net::SocketAddr;

use app::{
    auth::session::RequestMeta,
    customers::service::{self as customers, ServiceChange},
    network::{
        radius_packet::{ACCESS_ACCEPT, ACCESS_REJECT, ACCOUNTING_RESPONSE, attr},
        radius_server, routers, worker,
    },
    state::AppState,
};
use server::simulators::nas::{Acct, DmMode, FakeNas};
use support::net::{Net, net, radius_nas};
use uuid::Uuid;

struct Radius {
    net: Net,
    /// The state the RADIUS server and the worker run with (short Disconnect timeouts).
    state: AppState,
    auth: SocketAddr,
    acct: SocketAddr,
    nas: FakeNas,
    router: Uuid,
    service: Uuid,
    username: String,
}

/// An ISP with a RADIUS router at 127.0.0.`last` (its fake NAS) and one PPPoE service on it
/// (password `pass-1234`), the server listening on free loopback ports.
async fn radius(slug: &str, last: u8) -> Radius {
    let net = net(slug, None).await;
    let (state, auth, acct, router, nas) = radius_nas(&net, last).await;
    let (_, service, username) = net
        .service(
            "Otieno",
            "0712000301",
            net.plan("Home 8").await,
            Some(router),
        )
        .await;
    Radius {
        net,
        state,
        auth,
        acct,
        nas,
        router,
        service,
        username,
    }
}

impl Radius {
    /// The service's user logging in with `password` (PAP); the answer must come.
    async fn login(&self, password: &str) -> server::simulators::nas::Answer {
        self.nas
            .access_pap(self.auth, &self.username, password)
            .await
            .unwrap()
            .unwrap()
    }

    /// Logs in until the answer is `code` (a change reaches the cache by a notification, within
    /// milliseconds): the last answer, after 3 s at most.
    async fn login_until(&self, code: u8, password: &str) -> server::simulators::nas::Answer {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        loop {
            let answer = self.login(password).await;
            if answer.packet.code == code || std::time::Instant::now() > deadline {
                return answer;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Waits until the RADIUS cache receives notifications.
    async fn cache_live(&self, live: bool) {
        for _ in 0..300 {
            if self.state.radius_cache.is_live() == live {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("the RADIUS cache never became live={live}");
    }

    async fn change(&self, change: ServiceChange) {
        customers::change_service(
            &self.state,
            &self.net.staff,
            self.service,
            change,
            &RequestMeta::default(),
        )
        .await
        .unwrap();
    }
}

fn reply_message(answer: &server::simulators::nas::Answer) -> String {
    answer.packet.text(attr::REPLY_MESSAGE).unwrap_or_default()
}

#[tokio::test]
async fn access_is_accepted_with_the_plan_and_rejected_for_every_reason() {
    let r = radius("radius-access", 11).await;
    let answer = r.login("pass-1234").await;
    assert!(
        answer.signed,
        "authenticator and Message-Authenticator check out"
    );
    assert_eq!(answer.packet.code, ACCESS_ACCEPT);
    // Mikrotik-Rate-Limit: vendor 14988, type 8, "4M/8M" (upload/download from the router).
    let vsa = answer.packet.get(attr::VENDOR_SPECIFIC).unwrap();
    assert_eq!(vsa, [&[0, 0, 0x3a, 0x8c, 8, 7][..], b"4M/8M"].concat());
    let expiry = r.net.expiry(r.service).await;
    let timeout = answer.packet.integer(attr::SESSION_TIMEOUT).unwrap();
    assert_eq!(
        i64::from(timeout),
        (expiry - r.state.clock.now()).num_seconds(),
        "Session-Timeout runs to the expiry"
    );
    assert_eq!(
        answer.packet.integer(attr::ACCT_INTERIM_INTERVAL),
        Some(300)
    );

    // CHAP as well.
    let chap = r.nas.access_chap_bytes(&r.username, "pass-1234");
    let answer = r.nas.send(r.auth, &chap).await.unwrap().unwrap();
    assert_eq!(answer.packet.code, ACCESS_ACCEPT);
    let chap = r.nas.access_chap_bytes(&r.username, "wrong");
    assert_eq!(
        r.nas
            .send(r.auth, &chap)
            .await
            .unwrap()
            .unwrap()
            .packet
            .code,
        ACCESS_REJECT
    );

    // A wrong password and an unknown user are told the same.
    let wrong = r
        .nas
        .access_pap(r.auth, &r.username, "pass-9999")
        .await
        .unwrap()
        .unwrap();
    let unknown = r
        .nas
        .access_pap(r.auth, "nobody", "pass-1234")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (wrong.packet.code, unknown.packet.code),
        (ACCESS_REJECT, ACCESS_REJECT)
    );
    assert!(wrong.signed && unknown.signed);
    assert_eq!(reply_message(&wrong), reply_message(&unknown));

    // Suspended (the accept above may be in the cache: its notification forgets it).
    r.change(ServiceChange::Suspend).await;
    let suspended = r.login_until(ACCESS_REJECT, "pass-1234").await;
    assert_eq!(suspended.packet.code, ACCESS_REJECT);
    assert!(reply_message(&suspended).contains("suspended"));
    r.change(ServiceChange::Reactivate).await;
    // Expired: a second past the expiry (no grace), even before the sweep has run.
    r.state
        .clock
        .advance(expiry - r.state.clock.now() + chrono::Duration::seconds(1));
    let expired = r.login("pass-1234").await;
    assert_eq!(expired.packet.code, ACCESS_REJECT);
    assert!(reply_message(&expired).contains("expired"));
}

/// The `Mikrotik-Rate-Limit` of an answer, as text.
fn rate_limit(answer: &server::simulators::nas::Answer) -> String {
    let vsa = answer.packet.get(attr::VENDOR_SPECIFIC).unwrap_or_default();
    String::from_utf8_lossy(vsa.get(6..).unwrap_or_default()).into_owned()
}

#[tokio::test]
async fn accepts_come_from_memory_and_every_change_reaches_it() {
    let r = radius("radius-cache", 17).await;
    let cache = r.state.radius_cache.clone();
    r.cache_live(true).await;
    let (_, _, second) = r
        .net
        .service(
            "Wanjiru",
            "0712000302",
            r.net.plan("Home 8").await,
            Some(r.router),
        )
        .await;
    // The NAS's first packet loads the ISP's active services: the second user's first log-in is
    // answered from memory.
    assert_eq!(r.login("pass-1234").await.packet.code, ACCESS_ACCEPT);
    for _ in 0..300 {
        if cache.cached(r.net.tenant) >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(cache.cached(r.net.tenant), 2, "both services preloaded");
    let before = cache.stats();
    let answer = r
        .nas
        .access_pap(r.auth, &second, "pass-1234")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer.packet.code, ACCESS_ACCEPT);
    assert_eq!(rate_limit(&answer), "4M/8M");
    assert_eq!(cache.stats().hits, before.hits + 1, "answered from memory");
    // A wrong password is not accepted from memory: the database refuses it.
    let wrong = r.login("pass-9999").await;
    assert_eq!(wrong.packet.code, ACCESS_REJECT);

    // A new password: the old one stops working, the new one works.
    r.change(ServiceChange::ChangePassword("fresh-pass-77".into()))
        .await;
    assert_eq!(
        r.login_until(ACCESS_REJECT, "pass-1234").await.packet.code,
        ACCESS_REJECT
    );
    assert_eq!(r.login("fresh-pass-77").await.packet.code, ACCESS_ACCEPT);

    // The plan's speed changes: the next accept carries it.
    let plan = r.net.plan("Home 8").await;
    r.net
        .exec("update plans set download_kbps = 16000 where id = $1", plan)
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    let mut answer = r.login("fresh-pass-77").await;
    while rate_limit(&answer) != "4M/16M" && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        answer = r.login("fresh-pass-77").await;
    }
    assert_eq!(rate_limit(&answer), "4M/16M");

    // The expiry brought forward to an hour from now, with 3 days of grace.
    let now = r.state.clock.now();
    let mut tx = r.net.db.db().tenant(r.net.tenant).await.unwrap();
    sqlx::query("update tenants set grace_period_days = 3")
        .execute(tx.conn())
        .await
        .unwrap();
    sqlx::query("update services set expires_at = $2 where id = $1")
        .bind(r.service)
        .bind(now + chrono::Duration::hours(1))
        .execute(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let r = &r;
    let timeout_until = |seconds: u32| async move {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        loop {
            let answer = r.login("fresh-pass-77").await;
            if answer.packet.integer(attr::SESSION_TIMEOUT) == Some(seconds)
                || std::time::Instant::now() > deadline
            {
                return answer;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    let grace = 3 * 86_400 + 3_600;
    let answer = timeout_until(grace).await;
    assert_eq!(answer.packet.code, ACCESS_ACCEPT);
    assert_eq!(answer.packet.integer(attr::SESSION_TIMEOUT), Some(grace));
    // The grace period taken away: the hour is all that is left...
    r.net
        .exec(
            "update tenants set grace_period_days = 0 where id = $1",
            r.net.tenant.0,
        )
        .await;
    let answer = timeout_until(3_600).await;
    assert_eq!(answer.packet.integer(attr::SESSION_TIMEOUT), Some(3_600));
    // ...and once it has passed, refused at once (no notification is needed for time).
    r.state.clock.advance(chrono::Duration::minutes(61));
    let expired = r.login("fresh-pass-77").await;
    assert_eq!(expired.packet.code, ACCESS_REJECT);
    assert!(reply_message(&expired).contains("expired"));
    // The customer archived (grace back first, so only the archiving refuses).
    r.net
        .exec(
            "update tenants set grace_period_days = 3 where id = $1",
            r.net.tenant.0,
        )
        .await;
    assert_eq!(
        r.login_until(ACCESS_ACCEPT, "fresh-pass-77")
            .await
            .packet
            .code,
        ACCESS_ACCEPT
    );
    r.net
        .exec(
            "update customers set archived_at = now() \
              where id = (select customer_id from services where id = $1)",
            r.service,
        )
        .await;
    let removed = r.login_until(ACCESS_REJECT, "fresh-pass-77").await;
    assert_eq!(removed.packet.code, ACCESS_REJECT);
    assert!(reply_message(&removed).contains("closed"));

    // The notification connection is lost: nothing held before it is used after it.
    let login_second = || async {
        let answer = r
            .nas
            .access_pap(r.auth, &second, "pass-1234")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(answer.packet.code, ACCESS_ACCEPT);
    };
    login_second().await;
    let before = cache.stats();
    login_second().await;
    assert_eq!(cache.stats().hits, before.hits + 1, "held");
    // As the runtime role, which may end its own connections; this test's database only (the
    // CTE keeps the planner from calling pg_terminate_backend before the other conditions).
    let killed: i64 = sqlx::query_scalar(
        "with listener as materialized (
             select pid from pg_stat_activity
              where pid <> pg_backend_pid() and datname = current_database()
                and query ilike '%listen%jasiyo_radius%')
         select count(*) from listener where pg_terminate_backend(pid)",
    )
    .fetch_one(&r.net.db.app)
    .await
    .unwrap();
    assert!(killed >= 1, "the listener's connection was found");
    r.cache_live(false).await;
    r.cache_live(true).await;
    let before = cache.stats();
    login_second().await;
    let after = cache.stats();
    assert_eq!(
        (after.hits, after.misses),
        (before.hits, before.misses + 1),
        "read from the database again"
    );
}

#[tokio::test]
async fn a_message_authenticator_is_required_and_strangers_are_ignored() {
    let r = radius("radius-blast", 12).await;
    // No Message-Authenticator: dropped unanswered.
    let mut bytes = r.nas.access_pap_bytes(&r.username, "pass-1234");
    bytes.truncate(bytes.len() - 18);
    let len = u16::try_from(bytes.len()).unwrap().to_be_bytes();
    bytes[2..4].copy_from_slice(&len);
    assert!(r.nas.send(r.auth, &bytes).await.unwrap().is_none());
    // A wrong one: dropped.
    let mut bytes = r.nas.access_pap_bytes(&r.username, "pass-1234");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xFF;
    assert!(r.nas.send(r.auth, &bytes).await.unwrap().is_none());
    // Malformed datagrams: dropped, and the server still answers.
    for junk in [vec![], vec![1u8; 3], vec![1, 1, 0xFF, 0xFF, 0], {
        let mut b = r.nas.access_pap_bytes(&r.username, "pass-1234");
        b[21] = 0; // an attribute length of 0
        b
    }] {
        assert!(r.nas.send(r.auth, &junk).await.unwrap().is_none());
    }
    // A NAS the ISP never added (another loopback address): ignored.
    let stranger = FakeNas::start(std::net::IpAddr::from([127, 0, 0, 99]), "guess")
        .await
        .unwrap();
    assert!(
        stranger
            .access_pap(r.auth, &r.username, "pass-1234")
            .await
            .unwrap()
            .is_none()
    );
    // An accounting packet on the authentication port: ignored.
    let acct = r.nas.accounting_bytes(&Acct {
        status: 1,
        session_id: "x",
        username: &r.username,
        ..Acct::default()
    });
    assert!(r.nas.send(r.auth, &acct).await.unwrap().is_none());
    let answer = r.login("pass-1234").await;
    assert_eq!(answer.packet.code, ACCESS_ACCEPT);
    // The router was heard from.
    assert_eq!(
        r.net
            .scalar("select count(*) from routers where last_seen_at is not null")
            .await,
        1
    );
}

async fn session(r: &Radius, id: &str) -> (i64, i64, i64, bool, Option<String>) {
    let mut tx = r.net.db.db().tenant(r.net.tenant).await.unwrap();
    let row = sqlx::query_as(
        "select input_bytes, output_bytes, session_time, stopped_at is not null, stop_cause
           from radius_sessions where session_id = $1",
    )
    .bind(id)
    .fetch_one(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    row
}

#[tokio::test]
async fn accounting_folds_gigawords_and_survives_duplicates_and_disorder() {
    let r = radius("radius-acct", 13).await;
    let acct = |status, bytes: u64, time| Acct {
        status,
        session_id: "81a00001",
        username: &r.username,
        input_bytes: bytes,
        output_bytes: bytes * 3,
        session_time: time,
        framed_ip: Some([10, 0, 0, 7]),
        cause: (status == 2).then_some(1),
    };
    let start = r
        .nas
        .accounting(r.acct, &acct(1, 0, 0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(start.packet.code, ACCOUNTING_RESPONSE);
    assert!(start.signed);
    // Past 4 GiB: the counter wraps and the gigawords carry it.
    let big = (1u64 << 32) + 5;
    for _ in 0..2 {
        // A retransmission changes nothing.
        r.nas
            .accounting(r.acct, &acct(3, big, 600))
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(
        session(&r, "81a00001").await,
        (big as i64, (big * 3) as i64, 600, false, None)
    );
    // The Stop, then a late Interim-Update with smaller counts: still stopped, counts kept.
    r.nas
        .accounting(r.acct, &acct(2, big + 100, 700))
        .await
        .unwrap()
        .unwrap();
    r.nas
        .accounting(r.acct, &acct(3, big, 650))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        session(&r, "81a00001").await,
        (
            (big + 100) as i64,
            ((big + 100) * 3) as i64,
            700,
            true,
            Some("1".into())
        )
    );
    assert_eq!(
        r.net.scalar("select count(*) from radius_sessions").await,
        1
    );
    // An Interim-Update whose Start was lost opens the session, begun session-time ago.
    let late = Acct {
        session_id: "81a00002",
        ..acct(3, 10, 120)
    };
    r.nas.accounting(r.acct, &late).await.unwrap().unwrap();
    let begun = r
        .net
        .scalar("select extract(epoch from updated_at - started_at)::bigint from radius_sessions where session_id = '81a00002'")
        .await;
    assert_eq!(begun, 120);
    // The session is linked to the service.
    assert_eq!(
        r.net
            .scalar(&format!(
                "select count(*) from radius_sessions where service_id = '{}'",
                r.service
            ))
            .await,
        2
    );
    // A NAS that restarts (Accounting-On) has no sessions open any more.
    r.nas
        .accounting(
            r.acct,
            &Acct {
                status: 7,
                ..Acct::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        session(&r, "81a00002").await.4.as_deref(),
        Some("nas-restart")
    );
    // A packet signed with another secret: dropped.
    let other = FakeNas::start(r.nas.ip(), "not-the-secret").await.unwrap();
    assert!(
        other
            .accounting(r.acct, &acct(1, 0, 0))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn quiet_sessions_are_closed_as_stale() {
    let r = radius("radius-stale", 14).await;
    let start = Acct {
        status: 1,
        session_id: "quiet",
        username: &r.username,
        ..Acct::default()
    };
    r.nas.accounting(r.acct, &start).await.unwrap().unwrap();
    let now = r.state.clock.now();
    assert_eq!(
        radius_server::close_stale(&r.state, r.net.tenant, now)
            .await
            .unwrap(),
        0
    );
    // Three interim intervals without a word.
    let later = now + chrono::Duration::seconds(901);
    assert_eq!(
        radius_server::close_stale(&r.state, r.net.tenant, later)
            .await
            .unwrap(),
        1
    );
    assert_eq!(session(&r, "quiet").await.4.as_deref(), Some("stale"));
}

#[tokio::test]
async fn a_cut_off_disconnects_the_session_with_ack_and_nak_recorded() {
    let r = radius("radius-dm", 15).await;
    let start = |id| Acct {
        status: 1,
        session_id: id,
        username: &r.username,
        framed_ip: Some([10, 0, 0, 9]),
        ..Acct::default()
    };
    r.nas
        .accounting(r.acct, &start("s-1"))
        .await
        .unwrap()
        .unwrap();
    // Expiry: the sweep cuts the service off, the worker sends the NAS a Disconnect-Request.
    let expiry = r.net.expiry(r.service).await;
    r.state.clock.advance(expiry - r.state.clock.now());
    let round = worker::round(&r.state, false).await.unwrap();
    assert_eq!(round.expired, 1);
    assert_eq!(
        r.nas.disconnects(),
        vec![(r.username.clone(), Some("s-1".to_string()))]
    );
    let cmds = r.net.commands(r.router).await;
    assert_eq!(
        (cmds[0].reason.as_str(), cmds[0].status.as_str()),
        ("cut_off", "confirmed")
    );
    let result = r
        .net
        .scalar("select count(*) from router_commands where result = 'ACK'")
        .await;
    assert_eq!(result, 1, "the ACK is recorded");
    // Reconnected by an extension: nothing to send (the next log-in is accepted).
    r.change(ServiceChange::ExtendDays(1)).await;
    worker::round(&r.state, false).await.unwrap();
    assert_eq!(r.net.commands(r.router).await.len(), 1);
    let answer = r.login("pass-1234").await;
    assert_eq!(answer.packet.code, ACCESS_ACCEPT);

    // A NAK the NAS means (resources unavailable): refused, retried later.
    r.nas
        .accounting(r.acct, &start("s-2"))
        .await
        .unwrap()
        .unwrap();
    r.nas.set_dm_mode(DmMode::Nak(506));
    r.change(ServiceChange::Suspend).await;
    worker::round(&r.state, false).await.unwrap();
    let last = r.net.commands(r.router).await.pop().unwrap();
    assert_eq!((last.status.as_str(), last.attempts), ("queued", 1));
    assert!(last.last_error.unwrap().contains("Error-Cause 506"));
    // The session had ended meanwhile: NAK 503 confirms.
    r.nas.set_dm_mode(DmMode::Nak(503));
    r.state.clock.advance(chrono::Duration::seconds(5));
    worker::round(&r.state, false).await.unwrap();
    assert_eq!(
        r.net.commands(r.router).await.pop().unwrap().status,
        "confirmed"
    );
    // A NAS that does not answer: the command waits, the router shows the problem.
    r.nas.set_dm_mode(DmMode::Silent);
    r.change(ServiceChange::Reactivate).await;
    r.nas
        .accounting(r.acct, &start("s-3"))
        .await
        .unwrap()
        .unwrap();
    r.change(ServiceChange::Suspend).await;
    worker::round(&r.state, false).await.unwrap();
    let last = r.net.commands(r.router).await.pop().unwrap();
    assert_eq!((last.status.as_str(), last.attempts), ("queued", 0));
    assert_eq!(
        r.net
            .scalar("select count(*) from routers where last_error like '%did not answer%'")
            .await,
        1
    );
}

#[tokio::test]
async fn the_router_page_shows_the_radius_settings_to_paste() {
    let r = radius("radius-page", 16).await;
    let detail = routers::detail(&r.state, &r.net.staff, r.router)
        .await
        .unwrap();
    let script = detail.install_script.unwrap();
    let mut tx = r.net.db.db().tenant(r.net.tenant).await.unwrap();
    let secret = routers::open_secret(&mut tx, &r.state, r.router)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(script.contains(&format!("secret=\"{secret}\"")));
    assert!(script.contains(&format!("authentication-port={}", r.auth.port())));
    assert!(script.contains(&format!(
        "/radius incoming set accept=yes port={}",
        r.nas.dm_port()
    )));
}
