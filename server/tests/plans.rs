//! Service plans through their server functions: create, update, archive, delete, audited.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use app::AppError;
use axum::http::StatusCode;
use support::{client::Client, fresh_database};

const PLAN: &[(&str, &str)] = &[
    ("form[name]", "Home 10"),
    ("form[kind]", "pppoe"),
    ("form[price]", "2,500"),
    ("form[validity_count]", "1"),
    ("form[validity_unit]", "months"),
    ("form[download_mbps]", "10"),
    ("form[upload_mbps]", "5"),
    ("form[burst_download_mbps]", "20"),
    ("form[burst_upload_mbps]", "10"),
    ("form[data_cap_gb]", ""),
    ("form[shared_users]", ""),
];

fn plan_form<'a>(overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    support::client::with(PLAN, overrides)
}

#[tokio::test]
async fn an_owner_creates_changes_archives_and_deletes_a_plan_and_each_step_is_audited() {
    let db = fresh_database().await;
    db.tenant("alpha-net", "Alpha Net").await;
    let mut owner = Client::new(db.state());
    owner
        .sign_in("owner@alpha-net.test", "alpha-net-password")
        .await;

    let created = owner.call("/api/plans/create", &plan_form(&[])).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let plan = created.json();
    assert_eq!(plan["price_minor"], 250_000);
    assert_eq!(
        (plan["download_kbps"].as_i64(), plan["upload_kbps"].as_i64()),
        (Some(10_000), Some(5_000))
    );
    let id = plan["id"].as_str().unwrap().to_string();

    let duplicate = owner.call("/api/plans/create", &plan_form(&[])).await;
    assert!(matches!(duplicate.error(), AppError::Invalid { field, .. } if field == "name"));
    let bad = owner
        .call(
            "/api/plans/create",
            &plan_form(&[("form[name]", "Other"), ("form[price]", "free")]),
        )
        .await;
    assert!(matches!(bad.error(), AppError::Invalid { field, .. } if field == "price"));

    let mut update = plan_form(&[("form[price]", "3000")]);
    update.push(("id", &id));
    let updated = owner.call("/api/plans/update", &update).await;
    assert_eq!(updated.json()["price_minor"], 300_000, "{}", updated.body);

    owner
        .call("/api/plans/archive", &[("id", &id), ("archived", "true")])
        .await;
    assert_eq!(
        owner.call("/api/plans/list", &[]).await.json()[0]["archived"],
        true
    );
    owner
        .call("/api/plans/archive", &[("id", &id), ("archived", "false")])
        .await;
    assert_eq!(
        owner.call("/api/plans/list", &[]).await.json()[0]["archived"],
        false
    );

    let deleted = owner.call("/api/plans/delete", &[("id", &id)]).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    assert_eq!(
        owner
            .call("/api/plans/list", &[])
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let again = owner.call("/api/plans/delete", &[("id", &id)]).await;
    assert!(matches!(again.error(), AppError::NotFound { .. }));

    let log = owner
        .call("/api/audit/list", &[("action", "plan."), ("actor", "")])
        .await
        .json();
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "plan.deleted",
            "plan.restored",
            "plan.archived",
            "plan.updated",
            "plan.created"
        ]
    );
    assert!(
        log[3]["before"].as_str().unwrap().contains("250000"),
        "{log}"
    );
    assert!(
        log[3]["after"].as_str().unwrap().contains("300000"),
        "{log}"
    );
}
