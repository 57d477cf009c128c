//! The HTTP surface without a browser: health, server rendering, server functions, 404s, and
//! the demo seed behind `make run`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use app::state::AppState;
use axum::{
    Router,
    body::{Body, to_bytes},
    http::{Request, StatusCode, header},
};
use server::{demo, routes::router};
use sqlx::postgres::PgPoolOptions;
use support::fresh_database;
use tower::ServiceExt;

fn leptos_options() -> leptos::config::LeptosOptions {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../Leptos.toml");
    leptos::config::get_configuration(Some(path))
        .expect("Leptos.toml")
        .leptos_options
}

async fn demo_app() -> (support::TestDb, Router) {
    let db = fresh_database().await;
    demo::seed(&db.db()).await.expect("seed the demo ISP");
    let state = AppState {
        db: db.db(),
        demo_tenant: Some(demo::DEMO_SLUG.to_string()),
    };
    let app = router(state, leptos_options());
    (db, app)
}

async fn get(app: &Router, uri: &str) -> (StatusCode, String) {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = to_bytes(response.into_body(), 4 << 20).await.unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn health_is_ok_when_the_database_answers() {
    let (_db, app) = demo_app().await;
    let (status, body) = get(&app, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["database"], "ok");
}

#[tokio::test]
async fn health_is_unavailable_when_the_database_is_unreachable() {
    // Nothing listens on port 9 of the loopback address: every connection is refused.
    let pool = PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_secs(1))
        .connect_lazy("postgres://jasiyo_app:x@127.0.0.1:9/jasiyo")
        .unwrap();
    let state = AppState {
        db: app::db::Db::new(pool),
        demo_tenant: None,
    };
    let (status, body) = get(&router(state, leptos_options()), "/healthz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "unavailable");
}

#[tokio::test]
async fn the_dashboard_is_rendered_on_the_server_with_the_isp_and_user() {
    let (_db, app) = demo_app().await;
    let (status, html) = get(&app, "/app").await;
    assert_eq!(status, StatusCode::OK);
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
async fn responses_carry_a_request_id_and_basic_security_headers() {
    let (_db, app) = demo_app().await;
    let response = app
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let headers = response.headers();
    assert!(headers.contains_key("x-request-id"));
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
}

#[tokio::test]
async fn the_database_check_server_function_round_trips_to_postgresql() {
    let (_db, app) = demo_app().await;
    let response = app
        .oneshot(
            Request::post("/api/check-database")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCEPT, "application/json")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(
        json["server_version"]
            .as_str()
            .unwrap()
            .starts_with("PostgreSQL "),
        "{json}"
    );
}

#[tokio::test]
async fn outside_demo_mode_nobody_is_signed_in() {
    let db = fresh_database().await;
    demo::seed(&db.db()).await.unwrap();
    let state = AppState {
        db: db.db(),
        demo_tenant: None,
    };
    let response = router(state, leptos_options())
        .oneshot(
            Request::post("/api/workspace")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let err: app::AppError = serde_json::from_slice(&body).unwrap();
    assert_eq!(err, app::AppError::Unauthenticated);
}

#[tokio::test]
async fn an_unknown_address_answers_404_with_a_helpful_page() {
    let (_db, app) = demo_app().await;
    let (status, html) = get(&app, "/app/no-such-page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Page not found"));
}

#[tokio::test]
async fn seeding_the_demo_twice_changes_nothing() {
    let db = fresh_database().await;
    let first = demo::seed(&db.db()).await.unwrap();
    let second = demo::seed(&db.db()).await.unwrap();
    assert_eq!(first, second);
    let mut tx = db.db().tenant(first).await.unwrap();
    let staff: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(tx.conn())
        .await
        .unwrap();
    assert_eq!(staff, demo::DEMO_STAFF.len() as i64);
}
