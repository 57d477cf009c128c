//! Text messages after they are queued: delivery reports from Africa's Talking (a sent message
//! becomes delivered or failed; a report for an id we never sent, for another number, or to a
//! wrong secret changes nothing), and the messages page (codes hidden, filters, sending a failed
//! message again; an unknown outcome only when confirmed).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use app::AppError;
use app::messaging::{
    africastalking::AtConfig,
    delivery::delivery_secret,
    sms::{self, Sms},
};
use server::simulators::sms::{SmsSim, Trouble};
use support::client::Client;
use support::isp::{Isp, isp};
use uuid::Uuid;

const PHONE: &str = "254712000777";

struct Setup {
    isp: Isp,
    sim: SmsSim,
    hook: String,
}

async fn setup(slug: &str) -> Setup {
    let mut isp = isp(slug).await;
    let sim = SmsSim::start("sandbox", "at-key-1").await.unwrap();
    isp.state.sms = sms::SmsSender::new(Some(AtConfig {
        base_url: sim.url(),
        username: "sandbox".into(),
        api_key: "at-key-1".into(),
        sender_id: None,
    }));
    let hook = format!(
        "{}/hooks/sms/africastalking/{}",
        isp.url,
        delivery_secret(&isp.state.secrets)
    );
    Setup { isp, sim, hook }
}

impl Setup {
    /// Queues a message and sends it; its outbox id and the gateway's id.
    async fn send(&self, body: &str) -> (Uuid, String) {
        let id = self.send_as("test", PHONE, body).await;
        let sent = self.sim.messages().pop().unwrap();
        assert_eq!(sent.message, body);
        (id, sent.id)
    }

    /// Queues a message of `kind` to `to` and runs the sender once; its outbox id.
    async fn send_as(&self, kind: &str, to: &str, body: &str) -> Uuid {
        let mut tx = self.isp.db.db().tenant(self.isp.tenant).await.unwrap();
        let id = sms::enqueue(
            &mut tx,
            self.isp.state.clock.now(),
            &Sms {
                customer: None,
                kind,
                recipient: to,
                body,
                urgent: false,
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        sms::send_due(&self.isp.state).await.unwrap();
        id
    }

    async fn owner(&self, slug: &str) -> Client {
        let mut owner = Client::new(self.isp.state.clone());
        owner
            .sign_in(&format!("owner@{slug}.test"), &format!("{slug}-password"))
            .await;
        owner
    }

    async fn row(&self, id: Uuid) -> (String, Option<String>, Option<String>, bool) {
        let mut tx = self.isp.db.db().tenant(self.isp.tenant).await.unwrap();
        let row: (String, Option<String>, Option<String>, bool) = sqlx::query_as(
            "select status, delivery_status, error, delivered_at is not null
               from sms_outbox where id = $1",
        )
        .bind(id)
        .fetch_one(tx.conn())
        .await
        .unwrap();
        tx.commit().await.unwrap();
        row
    }

    async fn post(&self, url: &str, form: &[(&str, &str)]) -> reqwest::StatusCode {
        reqwest::Client::new()
            .post(url)
            .form(form)
            .send()
            .await
            .unwrap()
            .status()
    }
}

#[tokio::test]
async fn reports_move_a_sent_message_to_delivered_or_failed_once() {
    let s = setup("dlr-final").await;
    let (delivered, delivered_id) = s.send("Karibu tena").await;
    let (failed, failed_id) = s.send("Salio lako").await;
    assert_eq!(s.row(delivered).await.0, "sent");

    let on_its_way = [
        ("id", delivered_id.as_str()),
        ("status", "Buffered"),
        ("phoneNumber", "+254712000777"),
    ];
    assert_eq!(s.post(&s.hook, &on_its_way).await, 200);
    assert_eq!(
        s.row(delivered).await,
        ("sent".into(), Some("Buffered".into()), None, false)
    );

    let success = [
        ("id", delivered_id.as_str()),
        ("status", "Success"),
        ("phoneNumber", "+254712000777"),
        ("networkCode", "63902"),
        ("retryCount", "0"),
    ];
    assert_eq!(s.post(&s.hook, &success).await, 200);
    assert_eq!(
        s.row(delivered).await,
        ("delivered".into(), Some("Success".into()), None, true)
    );

    let failure = [
        ("id", failed_id.as_str()),
        ("status", "Failed"),
        ("phoneNumber", "+254712000777"),
        ("failureReason", "UserInBlacklist"),
    ];
    assert_eq!(s.post(&s.hook, &failure).await, 200);
    let row = s.row(failed).await;
    assert_eq!(
        (row.0.as_str(), row.2.as_deref()),
        ("failed", Some("not delivered: UserInBlacklist"))
    );

    // A late or repeated report does not undo a final one.
    let late = [
        ("id", delivered_id.as_str()),
        ("status", "Failed"),
        ("failureReason", "DeliveryFailure"),
    ];
    assert_eq!(s.post(&s.hook, &late).await, 200);
    assert_eq!(s.row(delivered).await.0, "delivered");
    // A failed message is never sent again by itself.
    assert_eq!(sms::send_due(&s.isp.state).await.unwrap(), 0);
}

#[tokio::test]
async fn unknown_ids_other_numbers_and_wrong_secrets_change_nothing() {
    let s = setup("dlr-unknown").await;
    let (id, provider_id) = s.send("Asante").await;
    let unknown = [("id", "ATXid_never_sent"), ("status", "Success")];
    assert_eq!(s.post(&s.hook, &unknown).await, 200);
    let other_number = [
        ("id", provider_id.as_str()),
        ("status", "Success"),
        ("phoneNumber", "+254799000000"),
    ];
    assert_eq!(s.post(&s.hook, &other_number).await, 200);
    assert_eq!(s.row(id).await, ("sent".into(), None, None, false));

    let wrong = format!("{}/hooks/sms/africastalking/{}", s.isp.url, "0".repeat(32));
    let report = [("id", provider_id.as_str()), ("status", "Success")];
    assert_eq!(s.post(&wrong, &report).await, 404);
    assert_eq!(s.row(id).await.0, "sent");
    // A report without an id is a clear 400, nothing more.
    assert_eq!(s.post(&s.hook, &[("status", "Success")]).await, 400);
    assert_eq!(s.row(id).await.0, "sent");
}

#[tokio::test]
async fn the_simulator_reports_delivery_by_itself_when_told_where() {
    let s = setup("dlr-sim").await;
    s.sim.report_to(&s.hook);
    s.sim.deliver_next("Failed", Some("AbsentSubscriber"));
    let (first, _) = s.send("Kwanza").await;
    let (second, _) = s.send("Pili").await;
    for _ in 0..100 {
        if s.row(first).await.0 != "sent" && s.row(second).await.0 != "sent" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(s.row(first).await.0, "failed");
    assert_eq!(s.row(second).await.0, "delivered");
}

fn bodies(log: &serde_json::Value) -> Vec<String> {
    log["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["body"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_log_hides_sign_in_codes_and_filters_by_status_and_number() {
    let s = setup("sms-log").await;
    s.send_as("portal_code", PHONE, "482913 is your C2B Net sign-in code.")
        .await;
    s.isp.state.clock.advance(chrono::Duration::seconds(1));
    s.sim.trouble(Trouble::Status(403));
    s.send_as(
        "ticket_reply",
        "254799000111",
        "We replied to your ticket #3",
    )
    .await;
    let mut owner = s.owner("sms-log").await;

    let all = owner.call("/api/messages/list", &[]).await.json();
    assert_eq!(
        bodies(&all),
        [
            "We replied to your ticket #3",
            "•••••• is your C2B Net sign-in code."
        ]
    );
    assert!(!all.to_string().contains("482913"), "{all}");
    assert_eq!(
        all["counts"],
        serde_json::json!([["sent", 1], ["failed", 1]])
    );

    let failed = owner
        .call("/api/messages/list", &[("status", "failed")])
        .await
        .json();
    assert_eq!(bodies(&failed), ["We replied to your ticket #3"]);
    assert!(
        failed["rows"][0]["error"].as_str().unwrap().contains("403")
            || failed["rows"][0]["error"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("invalid"),
        "{failed}"
    );
    let by_number = owner
        .call("/api/messages/list", &[("number", "0712 000 777")])
        .await
        .json();
    assert_eq!(bodies(&by_number).len(), 1);
    let bad = owner
        .call("/api/messages/list", &[("status", "lost")])
        .await;
    assert_eq!(
        bad.error(),
        AppError::invalid("status", "is not a message status")
    );
}

#[tokio::test]
async fn a_failed_message_is_sent_again_and_an_unknown_one_only_when_confirmed() {
    let s = setup("sms-resend").await;
    s.sim.trouble(Trouble::Status(406));
    let failed = s
        .send_as("ticket_reply", PHONE, "Tumejibu tiketi yako")
        .await;
    let (unknown, _) = s.send("Asante kwa malipo").await;
    let code = s.send_as("portal_code", PHONE, "123456 is your code").await;
    let mut tx = s.isp.db.db().tenant(s.isp.tenant).await.unwrap();
    sqlx::query("update sms_outbox set status = 'unknown' where id = $1")
        .bind(unknown)
        .execute(tx.conn())
        .await
        .unwrap();
    sqlx::query("update sms_outbox set status = 'failed' where id = $1")
        .bind(code)
        .execute(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut owner = s.owner("sms-resend").await;
    let resend = |id: Uuid| vec![("id".to_string(), id.to_string())];

    let reply = owner
        .call("/api/messages/resend", &as_pairs(&resend(failed)))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    sms::send_due(&s.isp.state).await.unwrap();
    assert_eq!(
        s.sim.messages().last().unwrap().message,
        "Tumejibu tiketi yako"
    );

    let unconfirmed = owner
        .call("/api/messages/resend", &as_pairs(&resend(unknown)))
        .await;
    assert!(matches!(unconfirmed.error(), AppError::Invalid { field, .. } if field == "confirm"));
    let before = s.sim.messages().len();
    sms::send_due(&s.isp.state).await.unwrap();
    assert_eq!(
        s.sim.messages().len(),
        before,
        "nothing was sent without the confirmation"
    );
    let unknown_id = unknown.to_string();
    let confirmed = [("id", unknown_id.as_str()), ("confirm", "yes")];
    let reply = owner.call("/api/messages/resend", &confirmed).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    sms::send_due(&s.isp.state).await.unwrap();
    assert_eq!(
        s.sim.messages().last().unwrap().message,
        "Asante kwa malipo"
    );

    let code_again = owner
        .call("/api/messages/resend", &as_pairs(&resend(code)))
        .await;
    assert!(matches!(code_again.error(), AppError::Invalid { field, .. } if field == "id"));
    let (sent, _) = s.send("Karibu").await;
    let sent_again = owner
        .call("/api/messages/resend", &as_pairs(&resend(sent)))
        .await;
    assert!(matches!(sent_again.error(), AppError::Invalid { field, .. } if field == "id"));

    // Two resends, each audited; the originals keep their status.
    let log = owner
        .call(
            "/api/audit/list",
            &[("action", "message.resent"), ("actor", "")],
        )
        .await
        .json();
    assert_eq!(log.as_array().unwrap().len(), 2, "{log}");
    let statuses = owner
        .call("/api/messages/list", &[("status", "unknown")])
        .await
        .json();
    assert_eq!(bodies(&statuses), ["Asante kwa malipo"]);

    // Another ISP's message is not found from here.
    let (other, _) = s.isp.db.tenant("sms-other", "Other Net").await;
    let mut tx = s.isp.db.db().tenant(other).await.unwrap();
    let theirs = sms::enqueue(
        &mut tx,
        s.isp.state.clock.now(),
        &Sms {
            customer: None,
            kind: "test",
            recipient: PHONE,
            body: "Theirs",
            urgent: false,
        },
    )
    .await
    .unwrap();
    sqlx::query("update sms_outbox set status = 'failed' where id = $1")
        .bind(theirs)
        .execute(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let reply = owner
        .call("/api/messages/resend", &as_pairs(&resend(theirs)))
        .await;
    assert!(
        matches!(reply.error(), AppError::NotFound { .. }),
        "{}",
        reply.body
    );
}

fn as_pairs(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}
