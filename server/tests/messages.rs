//! Settings → Messages: each event's SMS in English and Swahili, the ISP's own words checked,
//! saved, audited and used; the defaults otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use app::{
    AppError,
    auth::model::Role,
    messaging::{
        template::{Event, Language},
        templates::text_for,
    },
};
use axum::http::StatusCode;
use support::{client::Client, fresh_database};

fn row<'a>(list: &'a serde_json::Value, event: &str, language: &str) -> &'a serde_json::Value {
    list["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["event"] == event && r["language"] == language)
        .unwrap_or_else(|| panic!("no {event}/{language} in {list}"))
}

#[tokio::test]
async fn every_event_has_english_and_swahili_defaults_until_the_isp_writes_its_own() {
    let db = fresh_database().await;
    let (alpha, _) = db.tenant("alpha-net", "Alpha Net").await;
    let (beta, _) = db.tenant("beta-fibre", "Beta Fibre").await;
    let mut owner = Client::new(db.state());
    owner
        .sign_in("owner@alpha-net.test", "alpha-net-password")
        .await;

    let list = owner.call("/api/messages/templates", &[]).await.json();
    assert_eq!(list["rows"].as_array().unwrap().len(), Event::ALL.len() * 2);
    assert_eq!(list["editable"], true);
    let otp = row(&list, "portal_otp", "sw");
    assert_eq!(otp["custom"], false);
    assert_eq!(otp["text"], Event::PortalOtp.default_text(Language::Sw));

    let mine = "Nambari yako ni {code}. {business}";
    let saved = owner
        .call(
            "/api/messages/templates/save",
            &[("event", "portal_otp"), ("language", "sw"), ("text", mine)],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let list = owner.call("/api/messages/templates", &[]).await.json();
    assert_eq!(row(&list, "portal_otp", "sw")["text"], mine);
    assert_eq!(row(&list, "portal_otp", "sw")["custom"], true);
    assert_eq!(row(&list, "portal_otp", "en")["custom"], false);

    // What is sent: Alpha's own words in Swahili, the default in English, and Beta untouched.
    let mut tx = db.db().tenant(alpha).await.unwrap();
    assert_eq!(
        text_for(&mut tx, Event::PortalOtp, Language::Sw)
            .await
            .unwrap(),
        mine
    );
    assert_eq!(
        text_for(&mut tx, Event::PortalOtp, Language::En)
            .await
            .unwrap(),
        Event::PortalOtp.default_text(Language::En)
    );
    tx.commit().await.unwrap();
    let mut tx = db.db().tenant(beta).await.unwrap();
    assert_eq!(
        text_for(&mut tx, Event::PortalOtp, Language::Sw)
            .await
            .unwrap(),
        Event::PortalOtp.default_text(Language::Sw)
    );
    tx.commit().await.unwrap();

    // Back to the default, audited both times.
    let reset = owner
        .call(
            "/api/messages/templates/save",
            &[("event", "portal_otp"), ("language", "sw"), ("reset", "1")],
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    let list = owner.call("/api/messages/templates", &[]).await.json();
    assert_eq!(row(&list, "portal_otp", "sw")["custom"], false);
    let log = owner
        .call(
            "/api/audit/list",
            &[("action", "settings.message_template"), ("actor", "")],
        )
        .await
        .json();
    assert_eq!(log.as_array().unwrap().len(), 2, "{log}");
}

#[tokio::test]
async fn a_bad_template_is_refused_with_the_reason_and_nothing_is_saved() {
    let db = fresh_database().await;
    db.tenant("alpha-net", "Alpha Net").await;
    let mut owner = Client::new(db.state());
    owner
        .sign_in("owner@alpha-net.test", "alpha-net-password")
        .await;
    let long = "a".repeat(919);
    for (event, language, text, reason) in [
        (
            "portal_otp",
            "en",
            "Hi {nmae}",
            "uses {nmae}, which is not a placeholder",
        ),
        (
            "portal_otp",
            "en",
            "{code} for {name}",
            "uses {name}, which \"Portal sign-in code\" does not have",
        ),
        ("reactivated", "en", "   ", "is empty"),
        (
            "reactivated",
            "en",
            long.as_str(),
            "is longer than 918 characters",
        ),
    ] {
        let reply = owner
            .call(
                "/api/messages/templates/save",
                &[("event", event), ("language", language), ("text", text)],
            )
            .await;
        assert_eq!(reply.error(), AppError::invalid("text", reason), "{text}");
    }
    let reply = owner
        .call(
            "/api/messages/templates/save",
            &[("event", "birthday"), ("language", "en"), ("text", "Hi")],
        )
        .await;
    assert_eq!(
        reply.error(),
        AppError::invalid("event", "is not a message event")
    );
    let reply = owner
        .call(
            "/api/messages/templates/save",
            &[("event", "reactivated"), ("language", "fr"), ("text", "Hi")],
        )
        .await;
    assert!(matches!(reply.error(), AppError::Invalid { field, .. } if field == "language"));
    let list = owner.call("/api/messages/templates", &[]).await.json();
    assert!(
        list["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["custom"] == false),
        "{list}"
    );
}

#[tokio::test]
async fn support_staff_read_the_templates_but_cannot_change_them() {
    let db = fresh_database().await;
    let (alpha, _) = db.tenant("alpha-net", "Alpha Net").await;
    let mut tx = db.db().tenant(alpha).await.unwrap();
    db.add_staff(
        &mut tx,
        "Desk",
        "desk@alpha-net.test",
        Role::Support,
        "desk password",
    )
    .await;
    tx.commit().await.unwrap();
    let mut desk = Client::new(db.state());
    desk.sign_in("desk@alpha-net.test", "desk password").await;
    let list = desk.call("/api/messages/templates", &[]).await.json();
    assert_eq!(list["editable"], false);
    let reply = desk
        .call(
            "/api/messages/templates/save",
            &[
                ("event", "reactivated"),
                ("language", "en"),
                ("text", "Karibu {name}"),
            ],
        )
        .await;
    assert_eq!(reply.error(), AppError::Forbidden);
    let list = desk.call("/api/messages/templates", &[]).await.json();
    assert_eq!(row(&list, "reactivated", "en")["custom"], false);
}

#[tokio::test]
async fn the_reminder_days_are_set_by_the_owner_checked_and_audited() {
    let db = fresh_database().await;
    db.tenant("alpha-net", "Alpha Net").await;
    let mut owner = Client::new(db.state());
    owner
        .sign_in("owner@alpha-net.test", "alpha-net-password")
        .await;
    let list = owner.call("/api/messages/templates", &[]).await.json();
    assert_eq!(list["reminder_days"], serde_json::json!([3, 1]));

    let saved = owner
        .call("/api/messages/reminder-days", &[("days", "1, 7 1")])
        .await;
    assert_eq!(saved.json(), serde_json::json!([7, 1]));
    let list = owner.call("/api/messages/templates", &[]).await.json();
    assert_eq!(list["reminder_days"], serde_json::json!([7, 1]));
    let bad = owner
        .call("/api/messages/reminder-days", &[("days", "0")])
        .await;
    assert!(matches!(bad.error(), AppError::Invalid { field, .. } if field == "reminder_days"));
    let none = owner
        .call("/api/messages/reminder-days", &[("days", "")])
        .await;
    assert_eq!(none.json(), serde_json::json!([]));
    let log = owner
        .call(
            "/api/audit/list",
            &[("action", "settings.reminder_days"), ("actor", "")],
        )
        .await
        .json();
    assert_eq!(log.as_array().unwrap().len(), 2, "{log}");
}
