//! ISP sign-up, email verification and password reset, with mail caught by the SMTP sink.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use std::time::Duration as StdDuration;

use app::{AppError, clock::Clock, mail::mailer::Mailer};
use axum::http::StatusCode;
use chrono::Duration;
use server::simulators::smtp::{ReceivedMail, SmtpSink};
use support::{TestDb, client::Client, fresh_database};

struct World {
    db: TestDb,
    client: Client,
    clock: Clock,
    sink: SmtpSink,
}

async fn world() -> World {
    let db = fresh_database().await;
    let sink = SmtpSink::start(0).await.unwrap();
    let mut state = db.state();
    state.mailer = Mailer::smtp(
        &sink.url(),
        "Jasiyo <no-reply@jasiyo.test>",
        "http://isp.test",
    )
    .unwrap();
    let clock = state.clock.clone();
    World {
        db,
        client: Client::new(state),
        clock,
        sink,
    }
}

/// Waits (up to 10 s) for the `n`th message; delivery happens after the request answers.
async fn mail(sink: &SmtpSink, n: usize) -> ReceivedMail {
    for _ in 0..200 {
        if let Some(m) = sink.messages().get(n - 1) {
            return m.clone();
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("mail #{n} never arrived; got {:?}", sink.messages());
}

fn token_in(mail: &ReceivedMail, path: &str) -> String {
    let start = mail
        .body
        .find(&format!("http://isp.test{path}?token="))
        .expect("the link");
    let rest = &mail.body[start..];
    let token = rest.split("token=").nth(1).unwrap();
    token.chars().take_while(char::is_ascii_hexdigit).collect()
}

const FORM: [(&str, &str); 4] = [
    ("name", "Achieng Odhiambo"),
    ("email", "Achieng@Kisumu-Fibre.co.ke"),
    ("company", "Kisumu Fibre Ltd"),
    ("password", "lake victoria sunrise"),
];
const EMAIL: &str = "achieng@kisumu-fibre.co.ke";

#[tokio::test]
async fn sign_up_verify_then_sign_in() {
    let mut w = world().await;
    let reply = w.client.call("/api/sign-up", &FORM).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);

    // Not yet: the address is unconfirmed.
    assert_eq!(
        w.client
            .sign_in(EMAIL, "lake victoria sunrise")
            .await
            .error(),
        AppError::EmailNotVerified
    );

    let verify = mail(&w.sink, 1).await;
    assert_eq!(verify.to, [EMAIL]);
    assert_eq!(verify.subject, "Confirm your email for Jasiyo");
    let token = token_in(&verify, "/verify-email");
    assert_eq!(token.len(), 64);
    assert_eq!(
        w.client
            .call("/api/verify-email", &[("token", &token)])
            .await
            .status,
        StatusCode::OK
    );
    // Single use.
    let again = w
        .client
        .call("/api/verify-email", &[("token", &token)])
        .await;
    assert!(matches!(again.error(), AppError::Invalid { field, .. } if field == "token"));

    w.client.sign_in(EMAIL, "lake victoria sunrise").await;
    let workspace = w.client.call("/api/workspace", &[]).await.json();
    assert_eq!(workspace["isp_name"], "Kisumu Fibre Ltd");
    assert_eq!(workspace["role"], "owner");

    // The tenant was made with a 14-day trial and the Kenyan defaults.
    let tenant =
        w.db.db()
            .tenant_by_slug("kisumu-fibre-ltd")
            .await
            .unwrap()
            .expect("slug from the company");
    let mut tx = w.db.db().tenant(tenant).await.unwrap();
    let (zone, currency, grace, trial_days): (String, String, i32, f64) = sqlx::query_as(
        "select time_zone, currency::text, grace_period_days,
                (extract(epoch from trial_ends_at - created_at) / 86400)::float8 from tenants",
    )
    .fetch_one(tx.conn())
    .await
    .unwrap();
    assert_eq!(
        (zone.as_str(), currency.as_str(), grace),
        ("Africa/Nairobi", "KES", 0)
    );
    assert!((13.9..14.1).contains(&trial_days), "{trial_days}");
}

#[tokio::test]
async fn signing_up_with_a_registered_email_answers_the_same_and_tells_the_owner() {
    let mut w = world().await;
    let first = w.client.call("/api/sign-up", &FORM).await;
    mail(&w.sink, 1).await;
    let mut second_form = FORM;
    second_form[2] = ("company", "Copycat Networks");
    let second = w.client.call("/api/sign-up", &second_form).await;
    assert_eq!((first.status, &first.body), (second.status, &second.body));
    let notice = mail(&w.sink, 2).await;
    assert_eq!(notice.to, [EMAIL]);
    assert!(
        notice.subject.contains("tried to sign up"),
        "{}",
        notice.subject
    );
    assert!(
        w.db.db()
            .tenant_by_slug("copycat-networks")
            .await
            .unwrap()
            .is_none(),
        "no second tenant"
    );
}

#[tokio::test]
async fn sign_up_refuses_bad_fields_by_name() {
    let mut w = world().await;
    for (field, value) in [
        ("email", "not-an-email"),
        ("password", "short"),
        ("company", "  "),
        ("name", ""),
    ] {
        let mut form = FORM;
        for pair in form.iter_mut() {
            if pair.0 == field {
                pair.1 = value;
            }
        }
        let reply = w.client.call("/api/sign-up", &form).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            matches!(reply.error(), AppError::Invalid { field: f, .. } if f == field),
            "{}",
            reply.body
        );
    }
    assert!(w.sink.messages().is_empty());
}

#[tokio::test]
async fn a_verification_link_expires_after_24_hours() {
    let mut w = world().await;
    w.client.call("/api/sign-up", &FORM).await;
    let token = token_in(&mail(&w.sink, 1).await, "/verify-email");
    w.clock.advance(Duration::hours(24) + Duration::minutes(1));
    let reply = w
        .client
        .call("/api/verify-email", &[("token", &token)])
        .await;
    assert!(matches!(reply.error(), AppError::Invalid { field, .. } if field == "token"));
}

#[tokio::test]
async fn a_password_reset_works_once_ends_every_session_and_never_says_who_exists() {
    let mut w = world().await;
    w.db.tenant("alpha-net", "Alpha Net").await;
    let email = "owner@alpha-net.test";
    w.client.sign_in(email, "alpha-net-password").await;
    let mut old_session = w.client.clone();

    let known = w
        .client
        .call("/api/forgot-password", &[("email", email)])
        .await;
    let unknown = w
        .client
        .call(
            "/api/forgot-password",
            &[("email", "nobody@alpha-net.test")],
        )
        .await;
    assert_eq!((known.status, &known.body), (unknown.status, &unknown.body));
    let reset = mail(&w.sink, 1).await;
    assert_eq!(reset.to, [email]);
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert_eq!(
        w.sink.messages().len(),
        1,
        "nothing is sent for an unknown address"
    );

    let token = token_in(&reset, "/reset-password");
    let short = w
        .client
        .call(
            "/api/reset-password",
            &[("token", &token), ("new_password", "short")],
        )
        .await;
    assert!(matches!(short.error(), AppError::Invalid { field, .. } if field == "password"));
    let done = w
        .client
        .call(
            "/api/reset-password",
            &[("token", &token), ("new_password", "a new and better one")],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let again = w
        .client
        .call(
            "/api/reset-password",
            &[("token", &token), ("new_password", "yet another one")],
        )
        .await;
    assert!(matches!(again.error(), AppError::Invalid { field, .. } if field == "token"));

    let check = old_session.call("/api/workspace", &[]).await;
    assert_eq!(
        check.error(),
        AppError::Unauthenticated,
        "sessions end on reset"
    );
    assert_eq!(
        w.client.sign_in(email, "alpha-net-password").await.error(),
        AppError::SignInFailed
    );
    w.client.sign_in(email, "a new and better one").await;
    assert_eq!(
        w.client.call("/api/workspace", &[]).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_reset_link_expires_after_an_hour() {
    let mut w = world().await;
    w.db.tenant("alpha-net", "Alpha Net").await;
    w.client
        .call("/api/forgot-password", &[("email", "owner@alpha-net.test")])
        .await;
    let token = token_in(&mail(&w.sink, 1).await, "/reset-password");
    w.clock.advance(Duration::minutes(61));
    let reply = w
        .client
        .call(
            "/api/reset-password",
            &[("token", &token), ("new_password", "too late now")],
        )
        .await;
    assert!(matches!(reply.error(), AppError::Invalid { field, .. } if field == "token"));
}

#[tokio::test]
async fn sent_mail_is_recorded_in_the_outbox() {
    let mut w = world().await;
    w.client.call("/api/sign-up", &FORM).await;
    mail(&w.sink, 1).await;
    let tenant =
        w.db.db()
            .tenant_by_slug("kisumu-fibre-ltd")
            .await
            .unwrap()
            .unwrap();
    let mut status = String::new();
    for _ in 0..100 {
        let mut tx = w.db.db().tenant(tenant).await.unwrap();
        status = sqlx::query_scalar("select status from email_outbox")
            .fetch_one(tx.conn())
            .await
            .unwrap();
        if status == "sent" {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    assert_eq!(status, "sent");
}

#[tokio::test]
async fn mail_that_could_not_be_sent_is_retried_later_across_tenants() {
    let db = fresh_database().await;
    // First the mail server is down: nothing listens on port 9.
    let mut state = db.state();
    state.mailer = Mailer::smtp(
        "smtp://127.0.0.1:9",
        "Jasiyo <no-reply@jasiyo.test>",
        "http://isp.test",
    )
    .unwrap();
    let clock = state.clock.clone();
    let mut client = Client::new(state.clone());
    client.call("/api/sign-up", &FORM).await;
    let tenant = db
        .db()
        .tenant_by_slug("kisumu-fibre-ltd")
        .await
        .unwrap()
        .unwrap();
    let outbox = |db: &TestDb| {
        let db = db.db();
        async move {
            let mut tx = db.tenant(tenant).await.unwrap();
            sqlx::query_as::<_, (String, i32, Option<String>)>(
                "select status, attempts, last_error from email_outbox",
            )
            .fetch_one(tx.conn())
            .await
            .unwrap()
        }
    };
    let mut row = outbox(&db).await;
    for _ in 0..100 {
        if row.0 == "failed" {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
        row = outbox(&db).await;
    }
    assert_eq!((row.0.as_str(), row.1), ("failed", 1));
    assert!(row.2.is_some(), "the error is kept");

    // The mail server is back; nothing is due until the back-off has passed.
    let sink = SmtpSink::start(0).await.unwrap();
    state.mailer = Mailer::smtp(
        &sink.url(),
        "Jasiyo <no-reply@jasiyo.test>",
        "http://isp.test",
    )
    .unwrap();
    assert_eq!(app::mail::outbox::retry_due(&state).await.unwrap(), 0);
    clock.advance(Duration::minutes(3));
    assert_eq!(app::mail::outbox::retry_due(&state).await.unwrap(), 1);
    assert_eq!(outbox(&db).await.0, "sent");
    assert_eq!(mail(&sink, 1).await.to, [EMAIL]);
    // Sent mail is never sent again.
    clock.advance(Duration::hours(1));
    assert_eq!(app::mail::outbox::retry_due(&state).await.unwrap(), 0);
}
