//! Settings → General: the business details, validated field by field and audited.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use app::AppError;
use axum::http::StatusCode;
use support::{client::Client, fresh_database};

fn form<'a>(overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("name", "Alpha Net Ltd"),
        ("county", "Kiambu"),
        ("address", "Thika Road, Ruiru"),
        ("phone", "0712 345 678"),
        ("support_email", "Help@Alpha-Net.co.ke"),
        ("whatsapp", "+254 110 123 456"),
        ("time_zone", "Africa/Nairobi"),
        ("grace_period_days", "2"),
    ];
    for (key, value) in overrides {
        if let Some(pair) = fields.iter_mut().find(|(k, _)| k == key) {
            pair.1 = value;
        }
    }
    fields
}

#[tokio::test]
async fn the_owner_saves_business_details_normalised_and_audited() {
    let db = fresh_database().await;
    db.tenant("alpha-net", "Alpha Net").await;
    let mut owner = Client::new(db.state());
    owner
        .sign_in("owner@alpha-net.test", "alpha-net-password")
        .await;

    let reply = owner
        .call("/api/settings/business/update", &form(&[]))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let saved = owner.call("/api/settings/business", &[]).await.json();
    assert_eq!(saved["name"], "Alpha Net Ltd");
    assert_eq!(saved["phone"], "254712345678");
    assert_eq!(saved["whatsapp"], "254110123456");
    assert_eq!(saved["support_email"], "help@alpha-net.co.ke");
    assert_eq!(saved["grace_period_days"], 2);
    assert_eq!(saved["editable"], true);
    // The shell shows the new name at once.
    assert_eq!(
        owner.call("/api/workspace", &[]).await.json()["isp_name"],
        "Alpha Net Ltd"
    );

    let log = owner
        .call("/api/audit/list", &[("action", "settings."), ("actor", "")])
        .await
        .json();
    assert_eq!(log.as_array().unwrap().len(), 1);
    assert!(
        log[0]["before"].as_str().unwrap().contains("\"Alpha Net\""),
        "{log}"
    );
    assert!(
        log[0]["after"]
            .as_str()
            .unwrap()
            .contains("\"Alpha Net Ltd\""),
        "{log}"
    );
}

#[tokio::test]
async fn each_bad_field_is_refused_by_name_and_nothing_is_saved() {
    let db = fresh_database().await;
    db.tenant("alpha-net", "Alpha Net").await;
    let mut owner = Client::new(db.state());
    owner
        .sign_in("owner@alpha-net.test", "alpha-net-password")
        .await;
    for (field, value) in [
        ("name", " "),
        ("county", "Atlantis"),
        ("phone", "0812 345 678"),
        ("whatsapp", "12345"),
        ("support_email", "help@"),
        ("time_zone", "Mars/Olympus"),
        ("grace_period_days", "90"),
    ] {
        let reply = owner
            .call("/api/settings/business/update", &form(&[(field, value)]))
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert!(
            matches!(reply.error(), AppError::Invalid { field: f, .. } if f == field),
            "{field}: {}",
            reply.body
        );
    }
    assert_eq!(
        owner.call("/api/settings/business", &[]).await.json()["name"],
        "Alpha Net"
    );
}
