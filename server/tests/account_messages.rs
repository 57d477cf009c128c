//! Texts that follow an account's events: a payment's receipt (urgent, with the amount, the
//! receipt, the new expiry and the balance), a cut-off notice at expiry in the customer's
//! language with their payment link, and a postpaid invoice; each once however often, or
//! however interrupted, the job runs, and nothing for what happened before the window.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use app::auth::session::RequestMeta;
use app::billing::{actions, model::Channel};
use app::customers::{
    model::{CustomerForm, ServiceForm},
    service::{self as customers, ServiceChange},
};
use app::messaging::events;
use chrono::Duration;
use support::isp::{Isp, SHORTCODE, isp};
use uuid::Uuid;

/// (kind, recipient, body, urgent) of every account message, oldest first.
async fn texts(isp: &Isp) -> Vec<(String, String, String, bool)> {
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    let rows = sqlx::query_as(
        "select kind, recipient, body, urgent from sms_outbox
          where kind in ('payment_received', 'expired', 'invoice_issued')
          order by created_at, kind, recipient",
    )
    .fetch_all(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    rows
}

async fn run(isp: &Isp) -> usize {
    events::run_tenant(&isp.state, isp.tenant, events::BATCH, None)
        .await
        .unwrap()
}

async fn invoice_of(isp: &Isp, customer: Uuid) -> Uuid {
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    let id = sqlx::query_scalar("select id from invoices where customer_id = $1 order by number")
        .bind(customer)
        .fetch_one(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

#[tokio::test]
async fn a_payment_is_receipted_once_urgently_with_the_new_expiry_and_balance() {
    let isp = isp("receipts").await;
    let (achieng, _) = isp.customer("Achieng Odhiambo", "0712000801").await;
    let (kamau, _) = isp.customer("Kamau Njoroge", "0712000802").await;
    // Nothing has happened that needs a text (prepaid invoices are not texted).
    assert_eq!(run(&isp).await, 0);

    isp.state.clock.advance(Duration::minutes(1));
    for (customer, receipt) in [(achieng, "CASH-A1"), (kamau, "CASH-K1")] {
        let invoice = invoice_of(&isp, customer).await;
        actions::mark_paid(
            &isp.state,
            &isp.staff,
            invoice,
            Channel::Cash,
            Some(250_000),
            receipt,
            &RequestMeta::default(),
        )
        .await
        .unwrap();
    }
    // A run that dies after its first batch of one, then two full runs.
    assert_eq!(
        events::run_tenant(&isp.state, isp.tenant, 1, Some(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(run(&isp).await, 1);
    assert_eq!(run(&isp).await, 0);
    let sent = texts(&isp).await;
    assert_eq!(sent.len(), 2, "{sent:#?}");
    let (kind, to, body, urgent) = sent.iter().find(|t| t.1 == "254712000801").unwrap().clone();
    assert_eq!(
        (kind.as_str(), to.as_str(), urgent),
        ("payment_received", "254712000801", true)
    );
    assert!(body.starts_with("C2B Net: we received KES 2,500, receipt CASH-A1. Thank you, Achieng Odhiambo. Your Home 8 is paid until "), "{body}");
    // 2,500 paid against 2,000 owed: 500 in credit.
    assert!(body.ends_with("Balance KES 500 in credit."), "{body}");
}

#[tokio::test]
async fn a_cut_off_is_told_once_in_swahili_with_the_payment_link_and_old_ones_are_not() {
    let isp = isp("cut-off").await;
    let (wanjiru, _) = isp.customer("Wanjiru Kamau", "0712000811").await;
    let (old, _) = isp.customer("Otieno Okoth", "0712000812").await;
    let now = isp.state.clock.now();
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    for (customer, expired) in [
        (wanjiru, now - Duration::hours(3)),
        (old, now - Duration::days(5)),
    ] {
        // As the sweep leaves it: marked expired (updated) when its time ran out.
        sqlx::query(
            "update services set status = 'expired', starts_at = $2 - interval '30 days',
                    expires_at = $2, updated_at = $2 where customer_id = $1",
        )
        .bind(customer)
        .bind(expired)
        .execute(tx.conn())
        .await
        .unwrap();
    }
    sqlx::query("update customers set language = 'sw' where id = $1")
        .bind(wanjiru)
        .execute(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();

    assert_eq!(run(&isp).await, 1);
    assert_eq!(run(&isp).await, 0);
    let sent = texts(&isp).await;
    assert_eq!(
        sent.len(),
        1,
        "the one cut off five days ago is not texted now: {sent:#?}"
    );
    let (kind, to, body, urgent) = sent[0].clone();
    assert_eq!(
        (kind.as_str(), to.as_str(), urgent),
        ("expired", "254712000811", false)
    );
    assert!(
        body.starts_with("Habari Wanjiru Kamau, intaneti yako ya Home 8 imeisha. Lipa KES 2,000 kwa M-Pesa paybill "),
        "{body}"
    );
    assert!(
        body.contains(&format!("paybill {SHORTCODE}, akaunti ")),
        "{body}"
    );
    assert!(
        body.contains(&format!("{}/pay/", isp.state.mailer.public_url)),
        "{body}"
    );
}

#[tokio::test]
async fn a_postpaid_invoice_is_texted_once_and_a_prepaid_one_is_not() {
    let isp = isp("postpaid-sms").await;
    isp.customer("Prepaid Person", "0712000821").await;
    let plan: Uuid = isp.scalar_uuid("select id from plans limit 1").await;
    let customer = CustomerForm {
        name: "Baraka Mwangi".into(),
        phone: "0712000822".into(),
        ..CustomerForm::default()
    }
    .check()
    .unwrap();
    let service = ServiceForm {
        plan_id: plan.to_string(),
        billing_mode: "postpaid".into(),
        billing_day: "1".into(),
        ..ServiceForm::default()
    }
    .check_optional()
    .unwrap()
    .unwrap();
    customers::create(
        &isp.state,
        &isp.staff,
        &customer,
        Some(&service),
        &RequestMeta::default(),
    )
    .await
    .unwrap();
    assert_eq!(run(&isp).await, 1);
    assert_eq!(run(&isp).await, 0);
    let sent = texts(&isp).await;
    assert_eq!(sent.len(), 1, "{sent:#?}");
    let (kind, to, body, _) = sent[0].clone();
    assert_eq!(
        (kind.as_str(), to.as_str()),
        ("invoice_issued", "254712000822")
    );
    assert!(
        body.starts_with("Hi Baraka Mwangi, your C2B Net invoice for Home 8 is KES "),
        "{body}"
    );
}

#[tokio::test]
async fn staff_putting_a_service_back_online_texts_welcome_back_once_per_period() {
    let isp = isp("welcome-back").await;
    let (amina, _) = isp.customer("Amina Hassan", "0712000831").await;
    let service: Uuid = isp
        .scalar_uuid(&format!(
            "select id from services where customer_id = '{amina}'"
        ))
        .await;
    let meta = RequestMeta::default();
    let change =
        |c: ServiceChange| customers::change_service(&isp.state, &isp.staff, service, c, &meta);
    // Suspended and reactivated twice in one paid period: one text.
    for _ in 0..2 {
        change(ServiceChange::Suspend).await.unwrap();
        change(ServiceChange::Reactivate).await.unwrap();
    }
    // Extended by a day: still online, nothing to tell.
    change(ServiceChange::ExtendDays(1)).await.unwrap();
    let welcome = |isp: &Isp| {
        let db = isp.db.db();
        let tenant = isp.tenant;
        async move {
            let mut tx = db.tenant(tenant).await.unwrap();
            let rows: Vec<(String, String)> =
                sqlx::query_as("select recipient, body from sms_outbox where kind = 'reactivated'")
                    .fetch_all(tx.conn())
                    .await
                    .unwrap();
            tx.commit().await.unwrap();
            rows
        }
    };
    let sent = welcome(&isp).await;
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0].0, "254712000831");
    assert!(
        sent[0]
            .1
            .starts_with("C2B Net: welcome back, Amina Hassan. Your Home 8 internet is on until "),
        "{}",
        sent[0].1
    );
    // Cut off at expiry, then extended by staff: a new period, a new text.
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    sqlx::query(
        "update services set status = 'expired', starts_at = $2 - interval '30 days',
                expires_at = $2 where id = $1",
    )
    .bind(service)
    .bind(isp.state.clock.now() - Duration::hours(1))
    .execute(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    change(ServiceChange::ExtendDays(3)).await.unwrap();
    assert_eq!(welcome(&isp).await.len(), 2);
}
