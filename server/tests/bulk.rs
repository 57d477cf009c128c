//! Bulk SMS and consent: a bulk message reaches only the subscribers of its segment whose SMS
//! consent is given (never anyone else, whatever the segment), is written once however often it
//! is sent, and is refused when the count changed; a STOP from a number withdraws consent with
//! every ISP that texted it, recorded with its time, and what was still queued for it stays
//! unsent.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use app::AppError;
use app::auth::session::RequestMeta;
use app::messaging::{
    africastalking::AtConfig,
    bulk::{self},
    bulk_model::BulkForm,
    delivery::delivery_secret,
    sms,
};
use server::simulators::sms::{SmsSim, Trouble};
use support::isp::{Isp, isp};
use uuid::Uuid;

/// (name, phone, consent, service status, archived)
const PEOPLE: &[(&str, &str, bool, &str, bool)] = &[
    ("Achieng", "0712000601", true, "active", false),
    ("Baraka", "0712000602", false, "active", false),
    ("Chebet", "0712000603", true, "expired", false),
    ("Dalmas", "0712000604", true, "suspended", false),
    ("Esther", "0712000605", false, "expired", false),
    ("Faith", "0712000606", true, "active", true),
];

async fn people(isp: &Isp) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for (name, phone, consent, status, archived) in PEOPLE {
        let (id, _) = isp.customer(name, phone).await;
        let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
        sqlx::query(
            "update customers set sms_consent = $2,
                    archived_at = case when $3 then now() end where id = $1",
        )
        .bind(id)
        .bind(consent)
        .bind(archived)
        .execute(tx.conn())
        .await
        .unwrap();
        sqlx::query("update services set status = $2 where customer_id = $1")
            .bind(id)
            .bind(status)
            .execute(tx.conn())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        ids.push(id);
    }
    ids
}

fn form(segment: &str, text: &str) -> BulkForm {
    BulkForm {
        segment: segment.into(),
        text: text.into(),
        ..BulkForm::default()
    }
}

/// (recipient, body, status) of every bulk message, by number.
async fn bulk_messages(isp: &Isp) -> Vec<(String, String, String)> {
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    let rows = sqlx::query_as(
        "select recipient, body, status from sms_outbox where kind = 'bulk' order by recipient",
    )
    .fetch_all(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    rows
}

fn with_simulator(isp: &mut Isp, sim: &SmsSim) {
    isp.state.sms = sms::SmsSender::new(Some(AtConfig {
        base_url: sim.url(),
        username: "sandbox".into(),
        api_key: "at-key-1".into(),
        sender_id: None,
    }));
}

#[tokio::test]
async fn a_bulk_message_reaches_only_consenting_subscribers_of_its_segment_once() {
    let mut isp = isp("bulk-consent").await;
    let sim = SmsSim::start("sandbox", "at-key-1").await.unwrap();
    with_simulator(&mut isp, &sim);
    people(&isp).await;
    let meta = RequestMeta::default();
    let text = "Hi {name} ({account}): {business} doubles speeds this weekend!";

    // Who each segment reaches: consent given, not archived, in the segment.
    let active = bulk::preview(&isp.state, &isp.staff, form("active", text))
        .await
        .unwrap();
    assert_eq!((active.recipients, active.left_out), (1, 1));
    assert!(
        active
            .sample
            .as_deref()
            .unwrap()
            .starts_with("Hi Achieng (")
            && active
                .sample
                .as_deref()
                .unwrap()
                .contains("C2B Net doubles"),
        "{:?}",
        active.sample
    );
    assert_eq!(active.parts, 1);
    assert_eq!(active.estimated_cost_minor, 80, "one SMS at KES 0.80");
    let expired = bulk::preview(&isp.state, &isp.staff, form("expired", text))
        .await
        .unwrap();
    assert_eq!((expired.recipients, expired.left_out), (2, 1));
    let plan: Uuid = isp.scalar_uuid("select id from plans limit 1").await;
    let on_plan = BulkForm {
        plan: plan.to_string(),
        ..form("plan", text)
    };
    let by_plan = bulk::preview(&isp.state, &isp.staff, on_plan.clone())
        .await
        .unwrap();
    assert_eq!((by_plan.recipients, by_plan.left_out), (3, 2));
    assert_eq!(by_plan.label, "On the plan Home 8");

    // A count that no longer holds is refused, and nothing is written.
    let key = Uuid::new_v4();
    let stale = bulk::send(&isp.state, &isp.staff, key, &on_plan, 4, &meta).await;
    match stale {
        Err(AppError::Invalid { field, reason }) => {
            assert_eq!(field, "expected");
            assert!(reason.contains("changed to 3"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(bulk_messages(&isp).await.is_empty());

    // Sent twice with the same key: one campaign, one message each.
    for _ in 0..2 {
        let id = bulk::send(&isp.state, &isp.staff, key, &on_plan, 3, &meta)
            .await
            .unwrap();
        assert_eq!(id, key);
    }
    let queued = bulk_messages(&isp).await;
    let numbers: Vec<&str> = queued.iter().map(|(to, ..)| to.as_str()).collect();
    assert_eq!(numbers, ["254712000601", "254712000603", "254712000604"]);
    assert!(queued[1].1.starts_with("Hi Chebet ("), "{:?}", queued[1]);
    assert_eq!(
        isp.scalar("select count(*) from sms_campaigns").await,
        1,
        "one campaign"
    );
    assert_eq!(
        isp.scalar("select count(*) from audit_log where action = 'message.bulk_sent'")
            .await,
        1
    );

    let before = bulk::progress(&isp.state, &isp.staff, key).await.unwrap();
    assert_eq!((before.recipients, before.percent()), (3, 0));
    assert_eq!(before.left_out, 2);
    sms::send_due(&isp.state).await.unwrap();
    let after = bulk::progress(&isp.state, &isp.staff, key).await.unwrap();
    assert_eq!(after.percent(), 100);
    assert_eq!(after.count("sent"), 3);
    assert_eq!(after.rows.len(), 3);
    let mut reached: Vec<String> = sim.messages().into_iter().map(|m| m.to).collect();
    reached.sort();
    assert_eq!(
        reached,
        ["+254712000601", "+254712000603", "+254712000604"],
        "the gateway got exactly the consenting recipients"
    );

    // Nobody with consent in the segment: nothing to send.
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    sqlx::query("update customers set sms_consent = false")
        .execute(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let nobody = bulk::send(&isp.state, &isp.staff, Uuid::new_v4(), &on_plan, 0, &meta).await;
    assert!(
        matches!(&nobody, Err(AppError::Invalid { field, .. }) if field == "segment"),
        "{nobody:?}"
    );
    // A code placeholder has no place in a bulk message.
    let bad = bulk::preview(&isp.state, &isp.staff, form("active", "Code {code}")).await;
    assert!(
        matches!(&bad, Err(AppError::Invalid { field, .. }) if field == "text"),
        "{bad:?}"
    );
}

/// A customer of `tenant` with `phone` and consent given, written directly; with `texted`, an
/// earlier message to that number through the shared account.
async fn other_isps_customer(isp: &Isp, slug: &str, texted: bool) -> app::db::TenantId {
    let (tenant, _) = isp.db.tenant(slug, slug).await;
    let mut tx = isp.db.db().tenant(tenant).await.unwrap();
    sqlx::query(
        "insert into customers (tenant_id, id, account_number, name, phone, sms_consent,
                                created_at, updated_at)
         values ($1, gen_random_uuid(), 'W1', 'Wanjiru', '254712000700', true, now(), now())",
    )
    .bind(tenant.0)
    .execute(tx.conn())
    .await
    .unwrap();
    if texted {
        sqlx::query(
            "insert into sms_outbox (tenant_id, id, kind, recipient, body, status,
                                     next_attempt_at, created_at)
             values ($1, gen_random_uuid(), 'payment_received', '254712000700', 'Asante',
                     'sent', now(), now())",
        )
        .bind(tenant.0)
        .execute(tx.conn())
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    tenant
}

async fn consenting(isp: &Isp, tenant: app::db::TenantId) -> i64 {
    let mut tx = isp.db.db().tenant(tenant).await.unwrap();
    let n = sqlx::query_scalar("select count(*) from customers where sms_consent")
        .fetch_one(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    n
}

#[tokio::test]
async fn stop_withdraws_consent_with_every_isp_that_texted_the_number_and_nothing_queued_goes() {
    let mut a = isp("stop-a").await;
    let sim = SmsSim::start("sandbox", "at-key-1").await.unwrap();
    with_simulator(&mut a, &sim);
    let meta = RequestMeta::default();
    let (wanjiru, _) = a.customer("Wanjiru", "0712000700").await;
    a.customer("Kiptoo", "0712000701").await;
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
    // Another ISP texted her through the shared account; a third never did.
    let texted = other_isps_customer(&a, "stop-b", true).await;
    let silent = other_isps_customer(&a, "stop-c", false).await;

    // ISP A texts both of its customers, then queues a second offer.
    bulk::send(
        &a.state,
        &a.staff,
        Uuid::new_v4(),
        &form("active", "Offer one"),
        2,
        &meta,
    )
    .await
    .unwrap();
    sms::send_due(&a.state).await.unwrap();
    let second = Uuid::new_v4();
    bulk::send(
        &a.state,
        &a.staff,
        second,
        &form("active", "Offer two"),
        2,
        &meta,
    )
    .await
    .unwrap();

    let hook = format!(
        "{}/hooks/sms/africastalking/{}/inbound",
        a.url,
        delivery_secret(&a.state.secrets)
    );
    let post = |form: Vec<(&'static str, &'static str)>| {
        let hook = hook.clone();
        async move {
            let reply = reqwest::Client::new()
                .post(&hook)
                .form(&form)
                .send()
                .await
                .unwrap();
            (reply.status(), reply.text().await.unwrap())
        }
    };
    // Not a STOP, a malformed number, a wrong secret: nothing changes.
    let (status, body) = post(vec![("from", "+254712000700"), ("text", "Asante sana")]).await;
    assert_eq!(
        (status.as_u16(), body.contains("ignored")),
        (200, true),
        "{body}"
    );
    let (status, _) = post(vec![("from", "12345"), ("text", "STOP")]).await;
    assert_eq!(status, 400);
    let wrong = reqwest::Client::new()
        .post(format!(
            "{}/hooks/sms/africastalking/{}/inbound",
            a.url,
            "0".repeat(32)
        ))
        .form(&[("from", "+254712000700"), ("text", "STOP")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 404);
    assert_eq!(consenting(&a, a.tenant).await, 2);

    let now = a.state.clock.now();
    let (status, body) = post(vec![
        ("from", "+254712000700"),
        ("to", "20880"),
        ("text", "stop"),
        ("id", "ATXid_in_1"),
    ])
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("withdrawn"), "{body}");

    // ISP A: Wanjiru's consent is gone, with its time and an audit entry; Kiptoo keeps his.
    let consent: (bool, Option<chrono::DateTime<chrono::Utc>>) = {
        let mut tx = a.db.db().tenant(a.tenant).await.unwrap();
        sqlx::query_as("select sms_consent, sms_consent_at from customers where id = $1")
            .bind(wanjiru)
            .fetch_one(tx.conn())
            .await
            .unwrap()
    };
    assert_eq!(consent, (false, Some(now)));
    assert_eq!(consenting(&a, a.tenant).await, 1);
    assert_eq!(
        a.scalar(
            "select count(*) from audit_log where action = 'customer.sms_consent_withdrawn'
                and actor_label = 'subscriber, by SMS'"
        )
        .await,
        1
    );
    // Her second offer, still queued, is not sent; Kiptoo's is.
    let progress = bulk::progress(&a.state, &a.staff, second).await.unwrap();
    let hers = progress
        .rows
        .iter()
        .find(|r| r.recipient == "254712000700")
        .unwrap();
    assert_eq!(hers.status, "failed");
    assert!(hers.error.as_deref().unwrap().contains("STOP"), "{hers:?}");
    let sent_before = sim.messages().len();
    sms::send_due(&a.state).await.unwrap();
    let sent: Vec<_> = sim.messages().into_iter().skip(sent_before).collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "+254712000701");
    // The next bulk message leaves her out.
    let next = bulk::preview(&a.state, &a.staff, form("active", "Offer three"))
        .await
        .unwrap();
    assert_eq!((next.recipients, next.left_out), (1, 1));

    // The ISP that texted her through the shared account: withdrawn too. The one that never
    // did: its consent stands.
    assert_eq!(consenting(&a, texted).await, 0);
    assert_eq!(consenting(&a, silent).await, 1);
}

#[tokio::test]
async fn each_recipient_has_its_own_result_whatever_the_gateway_says() {
    let mut isp = isp("bulk-results").await;
    let sim = SmsSim::start("sandbox", "at-key-1").await.unwrap();
    with_simulator(&mut isp, &sim);
    let people = [
        ("Atieno", "0712000901", None),
        ("Bett", "0712000902", Some(Trouble::Status(403))),
        ("Cherono", "0712000903", Some(Trouble::Status(406))),
        (
            "Duba",
            "0712000904",
            Some(Trouble::Slow(std::time::Duration::from_secs(2))),
        ),
        ("Ekai", "0712000905", Some(Trouble::Silence)),
    ];
    for (name, phone, trouble) in people {
        isp.customer(name, phone).await;
        if let Some(trouble) = trouble {
            sim.number(&format!("254{}", &phone[1..]), trouble);
        }
    }
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    sqlx::query("update customers set sms_consent = true")
        .execute(tx.conn())
        .await
        .unwrap();
    sqlx::query("update services set status = 'active'")
        .execute(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let id = Uuid::new_v4();
    bulk::send(
        &isp.state,
        &isp.staff,
        id,
        &form("active", "Maintenance tonight 1-3am"),
        5,
        &RequestMeta::default(),
    )
    .await
    .unwrap();
    // One round: the slow one waits 2 s, the silent one until the client gives up (15 s).
    sms::send_due(&isp.state).await.unwrap();
    let p = bulk::progress(&isp.state, &isp.staff, id).await.unwrap();
    assert_eq!(p.percent(), 100);
    let result = |name: &str| {
        let r = p
            .rows
            .iter()
            .find(|r| r.name.as_deref() == Some(name))
            .unwrap();
        (r.status.clone(), r.error.clone().unwrap_or_default())
    };
    assert_eq!(result("Atieno").0, "sent");
    assert_eq!(result("Duba").0, "sent", "slow is not failed");
    let (status, error) = result("Bett");
    assert_eq!(status, "failed");
    assert!(error.contains("403"), "{error}");
    let (status, error) = result("Cherono");
    assert_eq!(status, "failed");
    assert!(error.contains("406"), "{error}");
    assert_eq!(result("Ekai").0, "unknown", "no answer: it may have gone");
    // Failures are listed first.
    assert!(
        p.rows[..3].iter().all(|r| r.status != "sent"),
        "{:?}",
        p.rows
    );
    assert_eq!(
        (p.count("sent"), p.count("failed"), p.count("unknown")),
        (2, 2, 1)
    );
    // Nothing is tried again by itself: failures are final, the unknown one may have arrived.
    isp.state.clock.advance(chrono::Duration::hours(1));
    let requests = sim.requests();
    sms::send_due(&isp.state).await.unwrap();
    assert_eq!(sim.requests(), requests);
}
