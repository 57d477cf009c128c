//! Reminders before expiry: the nearest window's reminder once per service and expiry, in the
//! customer's language with the ISP's paybill and the customer's payment link; run twice, or
//! again after a run cut short, nobody gets one twice.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use app::messaging::reminders;
use chrono::{DateTime, Duration, Utc};
use support::isp::{Isp, SHORTCODE, isp};
use uuid::Uuid;

async fn expiring(isp: &Isp, customer: Uuid, at: DateTime<Utc>) {
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    sqlx::query("update services set status = 'active', expires_at = $2 where customer_id = $1")
        .bind(customer)
        .bind(at)
        .execute(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// (phone, body) of every expiry reminder queued, oldest first.
async fn reminders_sent(isp: &Isp) -> Vec<(String, String)> {
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    let rows = sqlx::query_as(
        "select recipient, body from sms_outbox where kind = 'expiring_soon'
          order by created_at, recipient",
    )
    .fetch_all(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    rows
}

#[tokio::test]
async fn each_reminder_goes_once_in_the_customers_language_however_the_job_runs() {
    let isp = isp("reminders").await;
    isp.settings(false).await;
    let now = isp.state.clock.now();
    let (achieng, _) = isp.customer("Achieng", "0712000501").await;
    let (kamau, _) = isp.customer("Kamau", "0712000502").await;
    let (otieno, _) = isp.customer("Otieno", "0712000503").await;
    expiring(&isp, achieng, now + Duration::hours(60)).await;
    expiring(&isp, kamau, now + Duration::hours(12)).await;
    expiring(&isp, otieno, now + Duration::days(30)).await;
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    sqlx::query("update customers set language = 'sw' where id = $1")
        .bind(achieng)
        .execute(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // A run that dies after its first batch of one, then two full runs.
    assert_eq!(
        reminders::run_tenant(&isp.state, isp.tenant, 1, Some(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(reminders::run_all(&isp.state).await.unwrap(), 1);
    assert_eq!(reminders::run_all(&isp.state).await.unwrap(), 0);
    let sent = reminders_sent(&isp).await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    let text_to = |phone: &str| {
        sent.iter()
            .find(|(p, _)| p == phone)
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| panic!("no reminder to {phone}: {sent:?}"))
    };
    let kamau_text = text_to("254712000502");
    let achieng_text = text_to("254712000501");
    assert!(
        kamau_text.starts_with("Hi Kamau, your Home 8 internet expires on "),
        "{kamau_text}"
    );
    assert!(
        kamau_text.contains(&format!("paybill {SHORTCODE}, account ")),
        "{kamau_text}"
    );
    assert!(kamau_text.contains("/pay/"), "{kamau_text}");
    assert!(
        achieng_text.starts_with("Habari Achieng, intaneti yako ya Home 8 itaisha "),
        "{achieng_text}"
    );
    assert!(
        achieng_text.contains("Lipa KES 2,000 kwa M-Pesa"),
        "{achieng_text}"
    );

    // A day and a half on: Achieng is inside a day (her second reminder), Kamau has expired.
    isp.state.clock.advance(Duration::hours(36));
    assert_eq!(reminders::run_all(&isp.state).await.unwrap(), 1);
    assert_eq!(reminders::run_all(&isp.state).await.unwrap(), 0);
    let sent = reminders_sent(&isp).await;
    assert_eq!(sent.len(), 3);
    let to_achieng = sent.iter().filter(|(p, _)| p == "254712000501").count();
    assert_eq!(to_achieng, 2, "{sent:?}");

    // Renewed for a month: the next period has reminders of its own, three days before.
    let renewed = isp.state.clock.now() + Duration::days(30);
    expiring(&isp, achieng, renewed).await;
    assert_eq!(reminders::run_all(&isp.state).await.unwrap(), 0);
    isp.state
        .clock
        .advance(Duration::days(27) + Duration::hours(1));
    assert_eq!(
        reminders::run_all(&isp.state).await.unwrap(),
        2,
        "Achieng and Otieno"
    );
    assert_eq!(reminders_sent(&isp).await.len(), 5);
}

#[tokio::test]
async fn the_days_are_the_isps_and_suspended_services_get_none() {
    let isp = isp("reminder-days").await;
    let now = isp.state.clock.now();
    let (wanjiku, _) = isp.customer("Wanjiku", "0712000601").await;
    let (juma, _) = isp.customer("Juma", "0712000602").await;
    expiring(&isp, wanjiku, now + Duration::days(6)).await;
    expiring(&isp, juma, now + Duration::days(6)).await;
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    sqlx::query("update tenants set reminder_days = '{7}' where id = $1")
        .bind(isp.tenant.0)
        .execute(tx.conn())
        .await
        .unwrap();
    sqlx::query("update services set status = 'suspended' where customer_id = $1")
        .bind(juma)
        .execute(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(reminders::run_all(&isp.state).await.unwrap(), 1);
    let sent = reminders_sent(&isp).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "254712000601");
}
