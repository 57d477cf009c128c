//! Email to subscribers: an ISP's own mail server (its password sealed, a blank one kept),
//! account events emailed to customers with an address as well as texted, each once however
//! often the job runs, from the ISP's address; a test email; support cannot change any of it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use app::AppError;
use app::auth::session::RequestMeta;
use app::billing::{actions, model::Channel};
use app::mail::outbox;
use app::messaging::{email, events, provider_model::SmtpForm};
use chrono::Duration;
use server::simulators::smtp::SmtpSink;
use support::isp::{Isp, isp};
use uuid::Uuid;

fn own_server(sink: &SmtpSink, password: &str) -> SmtpForm {
    let port = sink.url().rsplit(':').next().unwrap().to_string();
    SmtpForm {
        own: Some("on".into()),
        host: "127.0.0.1".into(),
        port,
        security: "none".into(),
        username: String::new(),
        password: password.into(),
        from_address: "Kasarani Net <billing@kasarani.test>".into(),
    }
}

async fn pay(isp: &Isp, customer: Uuid, receipt: &str) {
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    let invoice: Uuid =
        sqlx::query_scalar("select id from invoices where customer_id = $1 order by number")
            .bind(customer)
            .fetch_one(tx.conn())
            .await
            .unwrap();
    tx.commit().await.unwrap();
    actions::mark_paid(
        &isp.state,
        &isp.staff,
        invoice,
        Channel::Cash,
        None,
        receipt,
        &RequestMeta::default(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_receipt_is_emailed_once_from_the_isps_own_server_to_customers_with_an_address() {
    let isp = isp("own-mail").await;
    let sink = SmtpSink::start(0).await.unwrap();
    let meta = RequestMeta::default();
    email::save(
        &isp.state,
        &isp.staff,
        &own_server(&sink, "mail-pass-4321"),
        &meta,
    )
    .await
    .unwrap();
    let view = email::view(&isp.state, &isp.staff).await.unwrap();
    assert!(view.own);
    assert_eq!(view.password_last4.as_deref(), Some("4321"));
    assert_eq!(
        isp.scalar(
            "select count(*) from smtp_settings
              where position(convert_to('mail-pass-4321', 'UTF8') in password_enc) > 0"
        )
        .await,
        0,
        "the password is sealed"
    );
    // A blank password keeps the saved one.
    email::save(&isp.state, &isp.staff, &own_server(&sink, ""), &meta)
        .await
        .unwrap();
    assert_eq!(
        email::view(&isp.state, &isp.staff)
            .await
            .unwrap()
            .password_last4
            .as_deref(),
        Some("4321")
    );

    let (achieng, _) = isp.customer("Achieng Odhiambo", "0712000971").await;
    let (kamau, _) = isp.customer("Kamau Njoroge", "0712000972").await;
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    sqlx::query("update customers set email = 'achieng@example.test' where id = $1")
        .bind(achieng)
        .execute(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    isp.state.clock.advance(Duration::minutes(1));
    pay(&isp, achieng, "CASH-E1").await;
    pay(&isp, kamau, "CASH-E2").await;
    for _ in 0..2 {
        events::run_tenant(&isp.state, isp.tenant, events::BATCH, None)
            .await
            .unwrap();
    }
    assert_eq!(
        isp.scalar("select count(*) from sms_outbox where kind = 'payment_received'")
            .await,
        2,
        "both are texted"
    );
    assert_eq!(
        isp.scalar("select count(*) from email_outbox where customer_id is not null")
            .await,
        1,
        "only the customer with an address is emailed, once"
    );
    outbox::retry_due(&isp.state).await.unwrap();
    let mail = sink.messages();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to, ["achieng@example.test"]);
    assert!(
        mail[0].from.contains("billing@kasarani.test"),
        "{}",
        mail[0].from
    );
    assert_eq!(mail[0].subject, "C2B Net: payment received");
    assert!(mail[0].body.contains("receipt CASH-E1"), "{}", mail[0].body);
    assert_eq!(
        isp.scalar("select count(*) from email_outbox where status = 'sent'")
            .await,
        1
    );

    let test = email::test_send(&isp.state, &isp.staff, "owner@kasarani.test", &meta)
        .await
        .unwrap();
    assert!(test.sent, "{test:?}");
    assert_eq!(sink.messages().len(), 2);
    let bad = email::test_send(&isp.state, &isp.staff, "not an address", &meta).await;
    assert!(
        matches!(&bad, Err(AppError::Invalid { field, .. }) if field == "to"),
        "{bad:?}"
    );

    // Unticked: back to the platform's server.
    email::save(&isp.state, &isp.staff, &SmtpForm::default(), &meta)
        .await
        .unwrap();
    assert!(!email::view(&isp.state, &isp.staff).await.unwrap().own);
    assert_eq!(
        isp.scalar("select count(*) from audit_log where action = 'settings.mail_server_changed'")
            .await,
        3
    );
}
