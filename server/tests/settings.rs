//! Settings → General: the business details, validated field by field and audited.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use app::AppError;
use axum::http::StatusCode;
use support::{client::Client, fresh_database};

const BUSINESS: &[(&str, &str)] = &[
    ("name", "Alpha Net Ltd"),
    ("county", "Kiambu"),
    ("address", "Thika Road, Ruiru"),
    ("phone", "0712 345 678"),
    ("support_email", "Help@Alpha-Net.co.ke"),
    ("whatsapp", "+254 110 123 456"),
    ("time_zone", "Africa/Nairobi"),
    ("grace_period_days", "2"),
];

fn form<'a>(overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    support::client::with(BUSINESS, overrides)
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

fn multipart(bytes: &[u8]) -> axum::http::Request<axum::body::Body> {
    let boundary = "jasiyo-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"logo\"; filename=\"logo.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    axum::http::Request::post("/app/settings/logo")
        .header(
            axum::http::header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(axum::body::Body::from(body))
        .unwrap()
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR fake but correctly signed";

#[tokio::test]
async fn a_logo_is_checked_by_its_bytes_stored_and_shown_in_the_shell() {
    let db = fresh_database().await;
    let (tenant, _) = db.tenant("alpha-net", "Alpha Net").await;
    let mut tx = db.db().tenant(tenant).await.unwrap();
    db.add_staff(
        &mut tx,
        "Support S",
        "support@alpha-net.test",
        app::auth::model::Role::Support,
        "support password",
    )
    .await;
    tx.commit().await.unwrap();
    let mut owner = Client::new(db.state());
    owner
        .sign_in("owner@alpha-net.test", "alpha-net-password")
        .await;
    let mut support = Client::new(db.state());
    support
        .sign_in("support@alpha-net.test", "support password")
        .await;
    let location = |r: &support::client::Reply| {
        r.headers[axum::http::header::LOCATION]
            .to_str()
            .unwrap()
            .to_string()
    };

    // Refused: not an image (whatever its name says), too large, or the wrong role.
    let text = owner.send(multipart(b"<svg onload=alert(1)>")).await;
    assert!(
        location(&text).contains("logo_error=must%20be%20a%20PNG"),
        "{}",
        location(&text)
    );
    let mut big = PNG.to_vec();
    big.resize(300 * 1024, 0);
    let too_big = owner.send(multipart(&big)).await;
    assert!(
        location(&too_big).contains("logo_error=must%20be%20at%20most%20256%20KB"),
        "{}",
        location(&too_big)
    );
    let by_support = support.send(multipart(PNG)).await;
    assert!(
        location(&by_support).contains("logo_error=You%20do%20not%20have%20permission"),
        "{}",
        location(&by_support)
    );
    assert_eq!(
        owner.get("/app/logo").await.status,
        StatusCode::NOT_FOUND,
        "nothing was stored"
    );

    let saved = owner.send(multipart(PNG)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&saved), "/app/settings?logo=saved");
    let image = owner.get("/app/logo").await;
    assert_eq!(image.status, StatusCode::OK);
    assert_eq!(image.headers[axum::http::header::CONTENT_TYPE], "image/png");
    assert_eq!(
        image.body.as_bytes(),
        String::from_utf8_lossy(PNG).as_bytes()
    );
    let version = owner.call("/api/workspace", &[]).await.json()["logo_version"]
        .as_i64()
        .unwrap();
    assert!(
        owner
            .get("/app")
            .await
            .body
            .contains(&format!("/app/logo?v={version}"))
    );

    // Only for the signed in: no session, no logo.
    let mut stranger = Client::new(db.state());
    assert_eq!(
        stranger.get("/app/logo").await.status,
        StatusCode::UNAUTHORIZED
    );
}
