//! Each ISP's own SMS gateway: its key sealed, its messages sent through it (a reseller's JSON
//! API with its misspelt `respose-code`, or its own Africa's Talking account) while other ISPs
//! keep the shared sender; delivery reports and STOP replies to its own account concern it only;
//! a test message says what the gateway answered; an ISP with no gateway at all keeps its
//! messages queued without holding up anyone else's, until it saves one; and staff withdrawing a
//! customer's consent stops the bulk messages still queued for them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use app::AppError;
use app::auth::session::RequestMeta;
use app::auth::{identity::Staff, model::Role};
use app::db::TenantId;
use app::messaging::{
    africastalking::AtConfig,
    provider_model::SmsProviderForm,
    providers,
    sms::{self, Sms},
};
use server::simulators::generic_sms::{GenericSmsSim, Trouble};
use server::simulators::sms::SmsSim;
use support::isp::{Isp, isp};
use uuid::Uuid;

async fn queue(isp: &Isp, tenant: TenantId, to: &str, body: &str) -> Uuid {
    let mut tx = isp.db.db().tenant(tenant).await.unwrap();
    let id = sms::enqueue(
        &mut tx,
        isp.state.clock.now(),
        &Sms {
            customer: None,
            kind: "test",
            recipient: to,
            body,
            urgent: false,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn status(isp: &Isp, tenant: TenantId, id: Uuid) -> (String, Option<String>) {
    let mut tx = isp.db.db().tenant(tenant).await.unwrap();
    let row = sqlx::query_as("select status, error from sms_outbox where id = $1")
        .bind(id)
        .fetch_one(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    row
}

fn reseller(url: &str, key: &str) -> SmsProviderForm {
    SmsProviderForm {
        provider: "generic".into(),
        generic_url: url.into(),
        generic_partner_id: "1234".into(),
        generic_shortcode: "KASARANI".into(),
        api_key: key.into(),
        ..SmsProviderForm::default()
    }
}

#[tokio::test]
async fn an_isp_sends_through_its_reseller_while_another_keeps_the_shared_sender() {
    let mut a = isp("own-gateway").await;
    let shared = SmsSim::start("platform", "platform-key").await.unwrap();
    a.state.sms = sms::SmsSender::new(Some(AtConfig {
        base_url: shared.url(),
        username: "platform".into(),
        api_key: "platform-key".into(),
        sender_id: None,
    }));
    let gateway = GenericSmsSim::start("gen-key-9876", "1234").await.unwrap();
    let meta = RequestMeta::default();
    providers::save(
        &a.state,
        &a.staff,
        &reseller(&gateway.url(), "gen-key-9876"),
        &meta,
    )
    .await
    .unwrap();

    // The key is sealed: not in the row as typed, shown only by its last four.
    assert_eq!(
        a.scalar(
            "select count(*) from sms_providers
              where position(convert_to('gen-key-9876', 'UTF8') in api_key_enc) > 0"
        )
        .await,
        0
    );
    let view = providers::view(&a.state, &a.staff).await.unwrap();
    assert_eq!(view.key_last4.as_deref(), Some("9876"));
    assert!(
        view.inbound_url.ends_with("/inbound"),
        "{}",
        view.inbound_url
    );
    assert_eq!(
        a.scalar("select count(*) from audit_log where action = 'settings.sms_provider_changed'")
            .await,
        1
    );

    let (b, _) = a.db.tenant("shared-b", "Shared B").await;
    let mine = queue(&a, a.tenant, "254712000950", "Habari from A").await;
    let theirs = queue(&a, b, "254712000951", "Habari from B").await;
    sms::send_due(&a.state).await.unwrap();
    assert_eq!(status(&a, a.tenant, mine).await.0, "sent");
    assert_eq!(status(&a, b, theirs).await.0, "sent");
    let via_reseller = gateway.messages();
    assert_eq!(via_reseller.len(), 1);
    assert_eq!(
        (
            via_reseller[0].to.as_str(),
            via_reseller[0].message.as_str(),
            via_reseller[0].from.as_deref()
        ),
        ("254712000950", "Habari from A", Some("KASARANI"))
    );
    let via_shared = shared.messages();
    assert_eq!(via_shared.len(), 1);
    assert_eq!(via_shared[0].to, "+254712000951");

    // The reseller's codes: an invalid number fails for good, low credits waits for another try.
    gateway.number("254712000952", Trouble::Code(1003));
    gateway.number("254712000953", Trouble::Code(1004));
    let invalid = queue(&a, a.tenant, "254712000952", "One").await;
    let broke = queue(&a, a.tenant, "254712000953", "Two").await;
    sms::send_due(&a.state).await.unwrap();
    let (state, error) = status(&a, a.tenant, invalid).await;
    assert_eq!(state, "failed");
    assert!(error.unwrap().contains("1003"));
    let (state, error) = status(&a, a.tenant, broke).await;
    assert_eq!(state, "queued");
    assert!(error.unwrap().contains("1004"));

    // A test message goes at once and says what came back.
    let test = providers::test_send(&a.state, &a.staff, "0712 000 954", &meta)
        .await
        .unwrap();
    assert!(test.sent, "{test:?}");
    assert!(
        test.answer.starts_with("Sent (message id "),
        "{}",
        test.answer
    );
    gateway.number("254712000955", Trouble::Code(1003));
    let refused = providers::test_send(&a.state, &a.staff, "0712000955", &meta)
        .await
        .unwrap();
    assert!(!refused.sent);
    assert!(
        refused.answer.contains("1003 Invalid mobile number"),
        "{}",
        refused.answer
    );

    // A blank key keeps the saved one for the same gateway, not for another.
    providers::save(&a.state, &a.staff, &reseller(&gateway.url(), ""), &meta)
        .await
        .unwrap();
    let at = SmsProviderForm {
        provider: "africastalking".into(),
        at_username: "kasarani".into(),
        ..SmsProviderForm::default()
    };
    let refused = providers::save(&a.state, &a.staff, &at, &meta).await;
    assert!(
        matches!(&refused, Err(AppError::Invalid { field, .. }) if field == "api_key"),
        "{refused:?}"
    );
    // A wrong key is the reseller's 1006: nothing sent, tried again once fixed.
    providers::save(
        &a.state,
        &a.staff,
        &reseller(&gateway.url(), "wrong-key"),
        &meta,
    )
    .await
    .unwrap();
    let later = queue(&a, a.tenant, "254712000956", "Three").await;
    sms::send_due(&a.state).await.unwrap();
    let (state, error) = status(&a, a.tenant, later).await;
    assert_eq!(state, "queued");
    assert!(error.unwrap().contains("1006"));
}

#[tokio::test]
async fn an_isps_own_account_reports_and_stops_for_that_isp_only() {
    let mut a = isp("own-at").await;
    let own = SmsSim::start("kasarani", "at-own-key").await.unwrap();
    // No shared sender on this server: only an ISP's own gateway sends.
    a.state.sms = sms::SmsSender::new(None);
    a.state.sms.africastalking_url = own.url();
    let meta = RequestMeta::default();
    let form = SmsProviderForm {
        provider: "africastalking".into(),
        at_username: "kasarani".into(),
        at_sender_id: "KASARANI".into(),
        api_key: "at-own-key".into(),
        ..SmsProviderForm::default()
    };
    providers::save(&a.state, &a.staff, &form, &meta)
        .await
        .unwrap();
    let (wanjiru, _) = a.customer("Wanjiru", "0712000960").await;
    let mut tx = a.db.db().tenant(a.tenant).await.unwrap();
    sqlx::query("update customers set sms_consent = true")
        .execute(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // Another ISP on this server with no gateway at all, and her number among its customers.
    let (b, b_owner) = a.db.tenant("no-gateway", "No Gateway").await;
    let mut tx = a.db.db().tenant(b).await.unwrap();
    sqlx::query(
        "insert into customers (tenant_id, id, account_number, name, phone, sms_consent,
                                created_at, updated_at)
         values ($1, gen_random_uuid(), 'B1', 'Wanjiru', '254712000960', true, now(), now())",
    )
    .bind(b.0)
    .execute(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let waiting = queue(&a, b, "254712000960", "From B").await;

    let sent = queue(&a, a.tenant, "254712000960", "From A").await;
    sms::send_due(&a.state).await.unwrap();
    assert_eq!(status(&a, a.tenant, sent).await.0, "sent");
    assert_eq!(
        status(&a, b, waiting).await.0,
        "queued",
        "B has nowhere to send"
    );
    let message = own.messages().pop().unwrap();
    assert_eq!(message.from.as_deref(), Some("KASARANI"));

    let token = a.hook().await;
    let post = |path: String, form: Vec<(&'static str, String)>| async move {
        reqwest::Client::new()
            .post(path)
            .form(&form)
            .send()
            .await
            .unwrap()
            .status()
    };
    let delivery = format!("{}/hooks/sms/isp/{token}/delivery", a.url);
    let report = vec![
        ("id", message.id.clone()),
        ("status", "Success".to_string()),
    ];
    assert_eq!(
        post(
            format!("{}/hooks/sms/isp/{}/delivery", a.url, "x".repeat(64)),
            report.clone()
        )
        .await,
        404
    );
    assert_eq!(status(&a, a.tenant, sent).await.0, "sent");
    assert_eq!(post(delivery, report).await, 200);
    assert_eq!(status(&a, a.tenant, sent).await.0, "delivered");

    // STOP to the ISP's own account: consent withdrawn with this ISP, not with B (which
    // texted her too, through no account of A's).
    let inbound = format!("{}/hooks/sms/isp/{token}/inbound", a.url);
    let stop = vec![
        ("from", "+254712000960".to_string()),
        ("text", "STOP".to_string()),
    ];
    assert_eq!(post(inbound, stop).await, 200);
    let mut tx = a.db.db().tenant(a.tenant).await.unwrap();
    let consent: bool = sqlx::query_scalar("select sms_consent from customers where id = $1")
        .bind(wanjiru)
        .fetch_one(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(!consent);
    let mut tx = a.db.db().tenant(b).await.unwrap();
    let theirs: bool = sqlx::query_scalar("select sms_consent from customers")
        .fetch_one(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(theirs, "another ISP's consent is its own");

    // B saves a gateway of its own: what waited goes in the next round, not ten minutes on.
    let b_owner = Staff {
        tenant: b,
        user_id: b_owner,
        session_id: Uuid::nil(),
        name: "B".into(),
        email: "owner@no-gateway.test".into(),
        role: Role::Owner,
    };
    let b_form = SmsProviderForm {
        at_sender_id: "BNET".into(),
        ..form
    };
    providers::save(&a.state, &b_owner, &b_form, &meta)
        .await
        .unwrap();
    sms::send_due(&a.state).await.unwrap();
    assert_eq!(status(&a, b, waiting).await.0, "sent");
    assert_eq!(own.messages().pop().unwrap().from.as_deref(), Some("BNET"));
}

#[tokio::test]
async fn staff_withdrawing_consent_stops_the_bulk_messages_still_queued() {
    let a = isp("consent-off").await;
    let (amina, _) = a.customer("Amina", "0712000980").await;
    a.customer("Baraka", "0712000981").await;
    let mut tx = a.db.db().tenant(a.tenant).await.unwrap();
    sqlx::query("update customers set sms_consent = true")
        .execute(tx.conn())
        .await
        .unwrap();
    sqlx::query("update services set status = 'active'")
        .execute(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let meta = RequestMeta::default();
    let campaign = Uuid::new_v4();
    let form = app::messaging::bulk_model::BulkForm {
        segment: "active".into(),
        text: "Offer".into(),
        ..Default::default()
    };
    app::messaging::bulk::send(&a.state, &a.staff, campaign, &form, 2, &meta)
        .await
        .unwrap();
    // The customer form saved with the consent box unticked.
    let input = app::customers::model::CustomerForm {
        name: "Amina".into(),
        phone: "0712000980".into(),
        ..Default::default()
    }
    .check()
    .unwrap();
    app::customers::service::update(&a.state, &a.staff, amina, &input, &meta)
        .await
        .unwrap();
    let progress = app::messaging::bulk::progress(&a.state, &a.staff, campaign)
        .await
        .unwrap();
    let statuses: Vec<(String, String)> = progress
        .rows
        .iter()
        .map(|r| (r.recipient.clone(), r.status.clone()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("254712000980".to_string(), "failed".to_string()),
            ("254712000981".to_string(), "queued".to_string())
        ]
    );
}
