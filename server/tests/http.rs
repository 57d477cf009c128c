//! The HTTP surface without a browser: health, server rendering, server functions, security
//! headers, cross-site refusal, 404s, and the demo seed behind `make run`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use app::state::AppState;
use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use server::demo;
use sqlx::postgres::PgPoolOptions;
use support::{TestDb, client::Client, fresh_database};

/// A seeded demo database and a client signed in as its owner.
async fn signed_in_owner() -> (TestDb, Client) {
    let db = fresh_database().await;
    demo::seed(&db.state()).await.expect("seed the demo ISP");
    let mut client = Client::new(db.state());
    let (_, email, _, password) = demo::DEMO_STAFF[0];
    let reply = client.sign_in(email, password).await;
    assert!(
        client.cookie.is_some(),
        "sign-in set no cookie: {} {}",
        reply.status,
        reply.body
    );
    (db, client)
}

#[tokio::test]
async fn health_is_ok_when_the_database_answers() {
    let db = fresh_database().await;
    let reply = Client::new(db.state()).get("/healthz").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["status"], "ok");
    assert_eq!(reply.json()["database"], "ok");
}

#[tokio::test]
async fn health_is_unavailable_when_the_database_is_unreachable() {
    // Nothing listens on port 9 of the loopback address: every connection is refused.
    let pool = PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_secs(1))
        .connect_lazy("postgres://jasiyo_app:x@127.0.0.1:9/jasiyo")
        .unwrap();
    let reply = Client::new(AppState::new(
        app::db::Db::new(pool),
        app::secrets::Secrets::random().unwrap(),
    ))
    .get("/healthz")
    .await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.json()["status"], "unavailable");
}

#[tokio::test]
async fn the_dashboard_is_rendered_on_the_server_with_the_isp_and_user() {
    let (_db, mut client) = signed_in_owner().await;
    let reply = client.get("/app").await;
    assert_eq!(reply.status, StatusCode::OK);
    let html = reply.body;
    assert!(
        html.contains("Demo Networks"),
        "ISP name missing from server-rendered HTML"
    );
    assert!(
        html.contains("Wanjiku Otieno"),
        "user name missing from server-rendered HTML"
    );
    for area in [
        "Customers",
        "Plans",
        "Invoices",
        "Payments",
        "Routers",
        "Vouchers",
        "Messages",
        "Reports",
        "Settings",
    ] {
        assert!(html.contains(area), "navigation lacks {area}");
    }
    assert!(
        html.contains("/pkg/jasiyo.js"),
        "the hydration script is not referenced"
    );
}

#[tokio::test]
async fn without_a_session_the_operator_app_sends_you_to_sign_in() {
    let db = fresh_database().await;
    demo::seed(&db.state()).await.unwrap();
    let mut client = Client::new(db.state());
    let page = client.get("/app").await;
    assert_eq!(page.status, StatusCode::FOUND, "{:?}", page.headers);
    assert_eq!(page.headers[header::LOCATION], "/login");
    let call = client.call("/api/workspace", &[]).await;
    assert_eq!(call.error(), app::AppError::Unauthenticated);
    let login = client.get("/login").await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.body.contains("name=\"password\""));
}

#[tokio::test]
async fn responses_carry_a_request_id_and_basic_security_headers() {
    let db = fresh_database().await;
    let reply = Client::new(db.state()).get("/healthz").await;
    assert!(reply.headers.contains_key("x-request-id"));
    assert_eq!(reply.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(reply.headers[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(
        reply.headers[header::CONTENT_SECURITY_POLICY],
        server::security::DEFAULT_CSP
    );
}

#[tokio::test]
async fn the_database_check_server_function_round_trips_to_postgresql() {
    let (_db, mut client) = signed_in_owner().await;
    let reply = client.call("/api/check-database", &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let version = reply.json()["server_version"].as_str().unwrap().to_string();
    assert!(version.starts_with("PostgreSQL "), "{version}");
}

#[tokio::test]
async fn an_unknown_address_answers_404_with_a_helpful_page() {
    let db = fresh_database().await;
    let reply = Client::new(db.state()).get("/app/no-such-page").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.body.contains("Page not found"));
}

#[tokio::test]
async fn seeding_the_demo_twice_changes_nothing() {
    let db = fresh_database().await;
    let first = demo::seed(&db.state()).await.unwrap();
    let second = demo::seed(&db.state()).await.unwrap();
    assert_eq!(first, second);
    let mut tx = db.db().tenant(first).await.unwrap();
    let staff: i64 =
        sqlx::query_scalar("select count(*) from users where password_hash is not null")
            .fetch_one(tx.conn())
            .await
            .unwrap();
    assert_eq!(staff, demo::DEMO_STAFF.len() as i64);
    let customers: i64 = sqlx::query_scalar("select count(*) from customers")
        .fetch_one(tx.conn())
        .await
        .unwrap();
    assert_eq!(customers, demo::DEMO_CUSTOMERS as i64);
    let states: Vec<String> = sqlx::query_scalar("select distinct status from services order by 1")
        .fetch_all(tx.conn())
        .await
        .unwrap();
    assert_eq!(states, ["active", "expired", "suspended"]);
    let plans: i64 = sqlx::query_scalar("select count(*) from plans")
        .fetch_one(tx.conn())
        .await
        .unwrap();
    assert_eq!(plans, 5, "the demo ISP sells five plans, once");
}

#[tokio::test]
async fn a_cross_site_post_to_a_server_function_is_refused_before_it_runs() {
    let (_db, client) = signed_in_owner().await;
    for (name, value) in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ] {
        let mut attacker = client.clone();
        let reply = attacker
            .send(
                Request::post("/api/sign-out")
                    .header(header::HOST, "127.0.0.1:3000")
                    .header(name, value)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{name}: {value}");
    }
    // The session survived both attempts: the same request from the page itself works.
    let mut page = client.clone();
    let reply = page
        .send(
            Request::post("/api/check-database")
                .header("sec-fetch-site", "same-origin")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCEPT, "application/json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[tokio::test]
async fn pages_carry_a_content_security_policy_bound_to_their_script_nonce() {
    let (_db, mut client) = signed_in_owner().await;
    let reply = client.get("/app").await;
    let policy = reply.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    let nonce = reply
        .body
        .split("nonce=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page's inline scripts carry a nonce");
    assert!(policy.contains(&format!("'nonce-{nonce}'")), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
}
