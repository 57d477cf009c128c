//! Signing in and out, sessions and throttling, through the real server functions.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use app::db::TenantId;
use app::{AppError, clock::Clock};
use axum::http::{StatusCode, header};
use chrono::Duration;
use support::{TestDb, client::Client, fresh_database};

const EMAIL: &str = "owner@alpha-net.test";
const PASSWORD: &str = "alpha-net-password";

struct Setup {
    db: TestDb,
    tenant: TenantId,
}

async fn setup() -> (Setup, Client, Clock) {
    let db = fresh_database().await;
    let (tenant, _) = db.tenant("alpha-net", "Alpha Net").await;
    let state = db.state();
    let clock = state.clock.clone();
    (Setup { db, tenant }, Client::new(state), clock)
}

impl Setup {
    /// Runs `sql` (binding `email` as $1 when it has a parameter) inside the tenant's
    /// transaction: the owner role is subject to forced RLS too, so data goes through the tenant.
    async fn exec(&self, sql: &'static str, bind: Option<&str>) {
        let mut tx = self.db.db().tenant(self.tenant).await.unwrap();
        let mut query = sqlx::query(sql);
        if let Some(value) = bind {
            query = query.bind(value.to_string());
        }
        query.execute(tx.conn()).await.unwrap();
        tx.commit().await.unwrap();
    }

    async fn scalar<T>(&self, sql: &'static str) -> T
    where
        T: Send + Unpin + for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    {
        let mut tx = self.db.db().tenant(self.tenant).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(tx.conn()).await.unwrap()
    }
}

async fn signed_in(client: &mut Client) -> bool {
    let reply = client.call("/api/workspace", &[]).await;
    match reply.status {
        StatusCode::OK => true,
        _ => {
            assert_eq!(reply.error(), AppError::Unauthenticated, "{}", reply.body);
            false
        }
    }
}

async fn audit_actions(setup: &Setup) -> Vec<String> {
    let mut tx = setup.db.db().tenant(setup.tenant).await.unwrap();
    sqlx::query_scalar("select action from audit_log order by id")
        .fetch_all(tx.conn())
        .await
        .unwrap()
}

#[tokio::test]
async fn signing_in_sets_a_secure_session_cookie_and_opens_the_dashboard() {
    let (_db, mut client, _) = setup().await;
    let reply = client.sign_in(EMAIL, PASSWORD).await;
    assert!(
        reply.status.is_success() || reply.status.is_redirection(),
        "{}",
        reply.body
    );
    let cookie = reply.session_cookie().expect("a session cookie");
    for part in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(signed_in(&mut client).await);
    assert_eq!(client.get("/app").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let (_db, mut client, _) = setup().await;
    let wrong = client.sign_in(EMAIL, "not-the-password").await;
    let unknown = client.sign_in("nobody@alpha-net.test", PASSWORD).await;
    let malformed = client.sign_in("not an email", PASSWORD).await;
    assert_eq!(wrong.error(), AppError::SignInFailed);
    assert_eq!(
        wrong.body, unknown.body,
        "the answer must not tell whether the email exists"
    );
    assert_eq!(wrong.body, malformed.body);
    assert_eq!(wrong.status, unknown.status);
    assert!(wrong.session_cookie().is_none() && unknown.session_cookie().is_none());
    assert!(!signed_in(&mut client).await);
}

/// A browser that submits the form itself (no WebAssembly yet, or none at all) is sent back to
/// the form with the reason in the address, and the form says it: a bare 401 body would leave a
/// subscriber on a slow phone looking at an error document.
#[tokio::test]
async fn a_refused_plain_form_post_comes_back_to_the_form_with_the_reason() {
    let (_db, mut client, _) = setup().await;
    let reply = client
        .send(
            axum::http::Request::post("/api/sign-in")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCEPT, "text/html,application/xhtml+xml")
                .header(header::REFERER, "http://localhost/login")
                .body(axum::body::Body::from(
                    "email=owner%40alpha-net.test&password=not-the-password",
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.body);
    assert!(reply.session_cookie().is_none());
    let location = reply.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        location.starts_with("http://localhost/login?") && location.contains("__err="),
        "{location}"
    );
    let path = location.trim_start_matches("http://localhost");
    let page = client.get(path).await;
    assert_eq!(page.status, StatusCode::OK);
    let error = page
        .body
        .split(r#"data-testid="sign-in-error""#)
        .nth(1)
        .and_then(|rest| rest.split("</p>").next())
        .unwrap_or_default();
    assert!(
        error.contains(">The email or password is not right."),
        "{}",
        page.body
    );
    assert!(!signed_in(&mut client).await);
}

#[tokio::test]
async fn repeated_failures_lock_the_account_then_back_off() {
    let (db, mut client, clock) = setup().await;
    for _ in 0..5 {
        assert_eq!(
            client.sign_in(EMAIL, "guess").await.error(),
            AppError::SignInFailed
        );
    }
    // Locked: even the right password is refused, and an unknown account locks the same way.
    match client.sign_in(EMAIL, PASSWORD).await.error() {
        AppError::Throttled {
            retry_after_seconds,
        } => assert!((1..=30).contains(&retry_after_seconds)),
        other => panic!("expected throttling, got {other:?}"),
    }
    for _ in 0..5 {
        client.sign_in("ghost@alpha-net.test", "guess").await;
    }
    assert!(matches!(
        client
            .sign_in("ghost@alpha-net.test", "guess")
            .await
            .error(),
        AppError::Throttled { .. }
    ));
    // Nothing was recorded in the clear.
    let keys: Vec<String> = sqlx::query_scalar("select key from auth_throttle")
        .fetch_all(&db.db.app)
        .await
        .unwrap();
    assert!(keys.len() >= 2, "{keys:?}");
    assert!(keys.iter().all(|k| !k.contains("alpha")), "{keys:?}");

    clock.advance(Duration::seconds(31));
    client.sign_in(EMAIL, PASSWORD).await;
    assert!(
        signed_in(&mut client).await,
        "the lock must lift after its back-off"
    );
}

#[tokio::test]
async fn signing_in_never_continues_a_previous_session() {
    let (_db, mut client, _) = setup().await;
    client.sign_in(EMAIL, PASSWORD).await;
    let mut earlier = client.clone();
    let first = client.cookie.clone().unwrap();
    client.sign_in(EMAIL, PASSWORD).await;
    let second = client.cookie.clone().unwrap();
    assert_ne!(first, second, "a sign-in must issue a new session id");
    assert!(signed_in(&mut client).await);
    assert!(
        !signed_in(&mut earlier).await,
        "the session the browser had before must end"
    );
}

#[tokio::test]
async fn a_made_up_session_cookie_is_not_a_session() {
    let (_db, mut client, _) = setup().await;
    client.cookie = Some(format!(
        "{}={}",
        app::auth::session::COOKIE,
        "ab".repeat(32)
    ));
    assert!(!signed_in(&mut client).await);
}

#[tokio::test]
async fn signing_out_ends_the_session_on_the_server() {
    let (db, mut client, _) = setup().await;
    client.sign_in(EMAIL, PASSWORD).await;
    let mut stolen_copy = client.clone();
    let reply = client.call("/api/sign-out", &[]).await;
    let cleared = reply.session_cookie().expect("the cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(
        !signed_in(&mut stolen_copy).await,
        "the old cookie must not work after sign-out"
    );
    assert_eq!(db.scalar::<i64>("select count(*) from sessions").await, 0);
    assert!(
        db.scalar::<i64>("select count(*) from users").await > 0,
        "the tenant transaction sees data"
    );
}

#[tokio::test]
async fn an_idle_session_expires_after_eight_hours() {
    let (_db, mut client, clock) = setup().await;
    client.sign_in(EMAIL, PASSWORD).await;
    clock.advance(Duration::hours(7));
    assert!(
        signed_in(&mut client).await,
        "activity within 8 hours keeps it alive"
    );
    clock.advance(Duration::hours(8) + Duration::minutes(1));
    assert!(!signed_in(&mut client).await);
}

#[tokio::test]
async fn an_active_session_still_ends_at_its_absolute_limit() {
    let (_db, mut client, clock) = setup().await;
    client.sign_in(EMAIL, PASSWORD).await;
    for _ in 0..3 {
        clock.advance(Duration::hours(3) + Duration::minutes(50));
        assert!(signed_in(&mut client).await);
    }
    clock.advance(Duration::hours(1)); // 12 h 30 min after sign-in, never idle
    assert!(!signed_in(&mut client).await);
}

#[tokio::test]
async fn remember_me_keeps_the_session_for_seven_days_of_use() {
    let (_db, mut client, clock) = setup().await;
    client
        .call(
            "/api/sign-in",
            &[("email", EMAIL), ("password", PASSWORD), ("remember", "on")],
        )
        .await;
    // Used every 7 h 50 min (never idle for 8 h) for 6 days 20 h...
    for _ in 0..21 {
        clock.advance(Duration::hours(7) + Duration::minutes(50));
        assert!(signed_in(&mut client).await);
    }
    // ...and past 7 days since sign-in it ends all the same.
    clock.advance(Duration::hours(4));
    assert!(!signed_in(&mut client).await);
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions() {
    let (_db, mut laptop, _) = setup().await;
    laptop.sign_in(EMAIL, PASSWORD).await;
    let mut phone = laptop.clone();
    phone.cookie = None;
    phone.sign_in(EMAIL, PASSWORD).await;

    let wrong = laptop
        .call(
            "/api/change-password",
            &[
                ("current_password", "nope-nope"),
                ("new_password", "a brand new one"),
            ],
        )
        .await;
    assert!(
        matches!(wrong.error(), AppError::Invalid { field, .. } if field == "current_password")
    );
    let short = laptop
        .call(
            "/api/change-password",
            &[("current_password", PASSWORD), ("new_password", "short")],
        )
        .await;
    assert!(matches!(short.error(), AppError::Invalid { field, .. } if field == "password"));

    let done = laptop
        .call(
            "/api/change-password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new one"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(
        signed_in(&mut laptop).await,
        "the session that changed it stays"
    );
    assert!(!signed_in(&mut phone).await, "every other session ends");
    assert_eq!(
        phone.sign_in(EMAIL, PASSWORD).await.error(),
        AppError::SignInFailed
    );
    phone.sign_in(EMAIL, "a brand new one").await;
    assert!(signed_in(&mut phone).await);
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_at_once() {
    let (db, mut client, _) = setup().await;
    client.sign_in(EMAIL, PASSWORD).await;
    db.exec(
        "update users set disabled_at = now() where email = $1",
        Some(EMAIL),
    )
    .await;
    assert!(!signed_in(&mut client).await);
    assert_eq!(
        client.sign_in(EMAIL, PASSWORD).await.error(),
        AppError::SignInFailed
    );
}

#[tokio::test]
async fn sign_in_sign_out_and_failures_are_in_the_audit_log() {
    let (db, mut client, _) = setup().await;
    client.sign_in(EMAIL, "wrong-password").await;
    client.sign_in(EMAIL, PASSWORD).await;
    client
        .send(
            axum::http::Request::post("/api/sign-out")
                .header(header::USER_AGENT, "AuditTest/1.0")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        audit_actions(&db).await,
        ["auth.sign_in_failed", "auth.signed_in", "auth.signed_out"]
    );
    let mut tx = db.db.db().tenant(db.tenant).await.unwrap();
    let (label, agent): (String, Option<String>) = sqlx::query_as(
        "select actor_label, user_agent from audit_log where action = 'auth.signed_out'",
    )
    .fetch_one(tx.conn())
    .await
    .unwrap();
    assert_eq!(label, EMAIL);
    assert_eq!(agent.as_deref(), Some("AuditTest/1.0"));
}

#[tokio::test]
async fn a_password_hashed_with_old_parameters_is_upgraded_at_sign_in() {
    use argon2::{Argon2, PasswordHasher, password_hash::SaltString};
    let (db, mut client, _) = setup().await;
    let weak = Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(8192, 1, 1, None).unwrap(),
    )
    .hash_password(
        PASSWORD.as_bytes(),
        &SaltString::encode_b64(b"0123456789abcdef").unwrap(),
    )
    .unwrap()
    .to_string();
    let mut tx = db.db.db().tenant(db.tenant).await.unwrap();
    sqlx::query("update users set password_hash = $1 where email = $2")
        .bind(&weak)
        .bind(EMAIL)
        .execute(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    client.sign_in(EMAIL, PASSWORD).await;
    assert!(signed_in(&mut client).await);
    let stored: String = db
        .scalar("select password_hash from users where tenant_id is not null limit 1")
        .await;
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );
}

/// An address's failures a day apart start the count afresh (an office or a mobile network's
/// shared address is not locked for ever by failures spread over months), while failures in
/// quick succession still lock it.
#[tokio::test]
async fn an_addresss_failures_a_day_apart_start_afresh() {
    use app::auth::throttle;
    let test_db = fresh_database().await;
    let db = test_db.db();
    let key = throttle::ip_key("198.51.100.20".parse().unwrap());
    let keys = vec![(key.clone(), throttle::IP_FREE_FAILURES)];
    let t0 = chrono::Utc::now();
    for i in 0..throttle::IP_FREE_FAILURES {
        throttle::record_failure(&db, &keys, t0 + Duration::seconds(i.into()))
            .await
            .unwrap();
    }
    let locked =
        throttle::locked_until(&db, std::slice::from_ref(&key), t0 + Duration::seconds(21))
            .await
            .unwrap();
    assert!(
        locked.is_some(),
        "twenty failures in a row lock the address"
    );

    let later = t0 + Duration::days(1) + Duration::hours(2);
    throttle::record_failure(&db, &keys, later).await.unwrap();
    let locked = throttle::locked_until(&db, std::slice::from_ref(&key), later)
        .await
        .unwrap();
    assert!(
        locked.is_none(),
        "a failure a day later is the first of a new count"
    );

    for i in 1..throttle::IP_FREE_FAILURES {
        throttle::record_failure(&db, &keys, later + Duration::seconds(i.into()))
            .await
            .unwrap();
    }
    let locked = throttle::locked_until(
        &db,
        std::slice::from_ref(&key),
        later + Duration::seconds(21),
    )
    .await
    .unwrap();
    assert!(locked.is_some(), "and twenty in a row lock it again");
}
