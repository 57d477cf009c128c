//! Paybill (C2B) payments end to end over real HTTP: the app serves on a loopback port, our
//! Daraja client registers its URLs with the Daraja simulator, and the simulator pays: a
//! customer's invoice is paid once however often the confirmation is delivered, unknown accounts
//! queue as unmatched (or are refused at validation when the ISP chooses), and malformed bodies
//! or wrong tokens are refused with nothing stored; staff assign unmatched payments once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use app::{
    auth::{identity::Staff, model::Role, session::RequestMeta},
    payments::{
        c2b, daraja,
        events::{self, EventKind},
        unmatched,
    },
};
use serde_json::json;
use server::simulators::daraja::C2bPayment;
use support::isp::{SHORTCODE, isp};

/// The hook token with its last character changed.
fn wrong_token(hook: &str) -> String {
    let last = if hook.ends_with('0') { "1" } else { "0" };
    format!("{}{last}", &hook[..hook.len() - 1])
}

fn payment(bill_ref: &str, amount: &str, deliveries: u32) -> C2bPayment {
    C2bPayment {
        shortcode: SHORTCODE.into(),
        bill_ref: bill_ref.into(),
        amount: amount.into(),
        deliveries,
    }
}

#[tokio::test]
async fn a_paybill_payment_pays_the_invoice_once_however_often_it_is_confirmed() {
    let isp = isp("c2b-net").await;
    let (customer, account) = isp.customer("Wanjiru Paybill", "0712000111").await;
    assert_eq!(
        isp.scalar("select count(*) from invoices where status = 'pending'")
            .await,
        1
    );
    let urls = isp.sim.c2b_urls(SHORTCODE).unwrap();
    assert!(urls.1.starts_with(&isp.url) && urls.1.ends_with("/c2b/confirmation"));

    // Typed in lower case with spaces, delivered three times.
    let typed = format!(" {} ", account.to_lowercase());
    let outcome = isp
        .sim
        .pay_c2b(&payment(&typed, "2000.00", 3))
        .await
        .unwrap();
    isp.applied().await;
    assert_eq!(
        outcome.validation,
        Some(json!({"ResultCode": "0", "ResultDesc": "Accepted"}))
    );
    assert_eq!(outcome.confirmations.len(), 3);
    for (status, body) in &outcome.confirmations {
        assert_eq!(*status, 200);
        assert_eq!(body, &json!({"ResultCode": 0, "ResultDesc": "Success"}));
    }
    assert_eq!(isp.scalar("select count(*) from payments").await, 1);
    assert_eq!(
        isp.scalar(&format!(
            "select count(*) from payments where reference = '{}' and channel = 'mpesa'
               and amount_minor = 200000 and customer_id = '{customer}'",
            outcome.trans_id
        ))
        .await,
        1
    );
    assert_eq!(
        isp.scalar("select count(*) from invoices where status = 'paid'")
            .await,
        1
    );
    assert_eq!(
        isp.scalar(&format!(
            "select coalesce(sum(amount_minor), 0)::bigint from ledger_entries where customer_id = '{customer}'"
        ))
        .await,
        0,
        "nothing owed, no credit"
    );
    assert_eq!(
        isp.scalar("select coalesce(sum(amount_minor), 0)::bigint from ledger_entries")
            .await,
        0
    );
    assert_eq!(
        isp.scalar(
            "select replays::bigint from provider_events where kind = 'c2b_confirmation' and outcome = 'credited'"
        )
        .await,
        2
    );

    // Paying by the phone number the customer is known by works too; the extra is credit.
    let outcome = isp
        .sim
        .pay_c2b(&payment("0712 000 111", "500.00", 1))
        .await
        .unwrap();
    isp.applied().await;
    assert_eq!(outcome.confirmations.len(), 1);
    assert_eq!(
        isp.scalar(&format!(
            "select -coalesce(sum(amount_minor), 0)::bigint from ledger_entries where customer_id = '{customer}'"
        ))
        .await,
        50_000
    );
}

#[tokio::test]
async fn twenty_deliveries_at_once_credit_one_payment() {
    let isp = isp("c2b-net").await;
    let (_, account) = isp.customer("Otieno Burst", "0712000222").await;
    let url = format!(
        "{}/hooks/mpesa/{}/c2b/confirmation",
        isp.url,
        isp.hook().await
    );
    let body = json!({
        "TransactionType": "Pay Bill", "TransID": "SIMBURST01", "TransTime": "20261129101500",
        "TransAmount": "2000.00", "BusinessShortCode": SHORTCODE, "BillRefNumber": account,
        "MSISDN": "2547 ***** 222", "FirstName": "Otieno", "LastName": "Burst"
    });
    let client = daraja::http().unwrap();
    let replies = futures_util::future::join_all((0..20).map(|_| {
        let request = client.post(&url).json(&body).send();
        async move {
            let response = request.await.unwrap();
            (
                response.status().as_u16(),
                response.json::<serde_json::Value>().await.unwrap(),
            )
        }
    }))
    .await;
    isp.applied().await;
    for (status, body) in &replies {
        assert_eq!(
            (*status, body["ResultCode"].clone()),
            (200, json!(0)),
            "{body}"
        );
    }
    assert_eq!(isp.scalar("select count(*) from payments").await, 1);
    assert_eq!(
        isp.scalar("select count(*) from ledger_transactions where kind = 'payment'")
            .await,
        1
    );
    assert_eq!(
        isp.scalar("select replays::bigint from provider_events where event_id = 'SIMBURST01'")
            .await,
        19
    );
    assert_eq!(
        isp.scalar("select count(*) from invoices where status = 'paid'")
            .await,
        1
    );
}

#[tokio::test]
async fn unknown_accounts_queue_as_unmatched_or_are_refused_when_the_isp_says_so() {
    let isp = isp("c2b-net").await;
    isp.customer("Achieng Known", "0712000333").await;
    let outcome = isp
        .sim
        .pay_c2b(&payment("NOBODY77", "750.00", 1))
        .await
        .unwrap();
    isp.applied().await;
    assert_eq!(outcome.confirmations.len(), 1);
    assert_eq!(isp.scalar("select count(*) from payments").await, 0);
    assert_eq!(
        isp.scalar(&format!(
            "select count(*) from unmatched_payments where reference = '{}' and amount_minor = 75000
               and account_typed = 'NOBODY77' and payer_name = 'Simulated Payer'",
            outcome.trans_id
        ))
        .await,
        1
    );

    isp.settings(true).await;
    let refused = isp
        .sim
        .pay_c2b(&payment("NOBODY88", "750.00", 1))
        .await
        .unwrap();
    isp.applied().await;
    assert_eq!(refused.validation.unwrap()["ResultCode"], "C2B00012");
    assert!(
        refused.confirmations.is_empty(),
        "a refused payment is never confirmed"
    );
    assert_eq!(isp.scalar("select count(*) from provider_events").await, 1);
}

#[tokio::test]
async fn bad_bodies_and_wrong_tokens_are_refused_and_nothing_is_stored() {
    let isp = isp("c2b-net").await;
    let (_, account) = isp.customer("Kamau Careful", "0712000444").await;
    let hook = isp.hook().await;
    let client = daraja::http().unwrap();
    let good = json!({"TransID": "SIMBAD0001", "TransAmount": "100.00", "BillRefNumber": account});
    let cases = [
        (hook.clone(), "not json".to_string(), 400, "C2B payload"),
        (
            hook.clone(),
            json!({"TransAmount": "1.00"}).to_string(),
            400,
            "missing field",
        ),
        (
            hook.clone(),
            json!({"TransID": "X1", "TransAmount": "ten"}).to_string(),
            400,
            "expected an amount",
        ),
        (
            hook.clone(),
            json!({"TransID": "X2", "TransAmount": "0.00"}).to_string(),
            400,
            "TransAmount",
        ),
        (wrong_token(&hook), good.to_string(), 404, "payment hook"),
        ("short".into(), good.to_string(), 404, "payment hook"),
    ];
    for (token, body, status, says) in cases {
        let response = client
            .post(format!("{}/hooks/mpesa/{token}/c2b/confirmation", isp.url))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{body}");
        let text = response.text().await.unwrap();
        assert!(text.contains(says), "{body}: {text}");
    }
    isp.applied().await;
    assert_eq!(isp.scalar("select count(*) from provider_events").await, 0);
    assert_eq!(isp.scalar("select count(*) from payments").await, 0);
    assert_eq!(
        isp.scalar("select count(*) from unmatched_payments").await,
        0
    );
}

#[tokio::test]
async fn staff_assign_an_unmatched_payment_once_and_it_pays_the_invoice() {
    let isp = isp("c2b-net").await;
    let (customer, account) = isp.customer("Moraa Mistyped", "0712000555").await;
    let outcome = isp
        .sim
        .pay_c2b(&payment("10O1", "2000.00", 1))
        .await
        .unwrap();
    isp.applied().await;
    let queue = unmatched::list(&isp.state, &isp.staff).await.unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].reference, outcome.trans_id);
    assert_eq!(queue[0].amount_minor, 200_000);
    assert_eq!(queue[0].customer_name, None);
    // The Payments page lists it, rendered on the server with an Assign form.
    let mut owner = support::client::Client::new(isp.state.clone());
    owner
        .sign_in("owner@c2b-net.test", "c2b-net-password")
        .await;
    let page = owner.get("/app/payments/unmatched").await;
    assert_eq!(page.status, axum::http::StatusCode::OK);
    assert!(page.body.contains(&outcome.trans_id), "{}", page.body);
    assert!(page.body.contains(">Assign<"), "{}", page.body);

    // A wrong account number is refused by name; nothing is applied.
    let err = unmatched::assign(
        &isp.state,
        &isp.staff,
        queue[0].id,
        "NOPE",
        &RequestMeta::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, app::AppError::Invalid { ref field, .. } if field == "account"),
        "{err}"
    );
    assert_eq!(isp.scalar("select count(*) from payments").await, 0);

    let payment = unmatched::assign(
        &isp.state,
        &isp.staff,
        queue[0].id,
        &account.to_lowercase(),
        &RequestMeta::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        isp.scalar(&format!(
            "select count(*) from payments where id = '{payment}' and customer_id = '{customer}'
               and reference = '{}'",
            outcome.trans_id
        ))
        .await,
        1
    );
    assert_eq!(
        isp.scalar("select count(*) from invoices where status = 'paid'")
            .await,
        1
    );
    assert_eq!(
        isp.scalar(&format!(
            "select count(*) from provider_events where outcome = 'credited' and payment_id = '{payment}'"
        ))
        .await,
        1
    );
    assert_eq!(
        isp.scalar("select count(*) from audit_log where action = 'payment.unmatched_assigned'")
            .await,
        1
    );
    let queue = unmatched::list(&isp.state, &isp.staff).await.unwrap();
    assert_eq!(queue[0].customer_name.as_deref(), Some("Moraa Mistyped"));

    // Assigning it again (a second click, or another member of staff) applies nothing.
    let err = unmatched::assign(
        &isp.state,
        &isp.staff,
        queue[0].id,
        &account,
        &RequestMeta::default(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("already assigned"), "{err}");
    assert_eq!(isp.scalar("select count(*) from payments").await, 1);

    // Support staff may look at the queue but not assign.
    let support = Staff {
        role: Role::Support,
        ..isp.staff.clone()
    };
    assert!(unmatched::list(&isp.state, &support).await.is_ok());
    let err = unmatched::assign(
        &isp.state,
        &support,
        queue[0].id,
        &account,
        &RequestMeta::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(err, app::AppError::Forbidden);
}

/// Stores a confirmation as the webhook does, without applying it: what a crash between the two
/// leaves behind.
async fn store_only(
    isp: &support::isp::Isp,
    trans_id: &str,
    account: &str,
    amount: &str,
) -> uuid::Uuid {
    let payload = json!({
        "TransactionType": "Pay Bill", "TransID": trans_id, "TransTime": "20261129101500",
        "TransAmount": amount, "BusinessShortCode": SHORTCODE, "BillRefNumber": account,
        "MSISDN": "2547 ***** 333", "FirstName": "Stored", "LastName": "Only"
    });
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    let id = events::claim(
        &mut tx,
        EventKind::C2bConfirmation,
        trans_id,
        &payload,
        isp.state.clock.now(),
    )
    .await
    .unwrap()
    .unwrap();
    tx.commit().await.unwrap();
    // Each delivery arrives a moment after the one before.
    isp.state.clock.advance(chrono::Duration::milliseconds(1));
    id
}

#[tokio::test]
async fn a_confirmation_left_stored_by_a_crash_is_applied_by_the_sweep_once() {
    let isp = isp("c2b-net").await;
    let (customer, account) = isp.customer("Kamau Crash", "0712000444").await;
    store_only(&isp, "SIMCRASH01", &account, "2000.00").await;
    assert_eq!(isp.scalar("select count(*) from payments").await, 0);
    assert_eq!(
        isp.scalar("select count(*) from provider_events where outcome is null")
            .await,
        1
    );

    // The sweep looks across ISPs only at what is older than its cut-off.
    let now = isp.state.clock.now();
    assert_eq!(
        c2b::sweep(&isp.state, now - chrono::Duration::minutes(1), 500)
            .await
            .unwrap(),
        0
    );
    let later = now + chrono::Duration::seconds(1);
    assert_eq!(c2b::sweep(&isp.state, later, 500).await.unwrap(), 1);
    assert_eq!(c2b::sweep(&isp.state, later, 500).await.unwrap(), 0);
    assert_eq!(
        isp.scalar(&format!(
            "select count(*) from payments where reference = 'SIMCRASH01' and customer_id = '{customer}'"
        ))
        .await,
        1
    );
    assert_eq!(
        isp.scalar("select count(*) from provider_events where outcome = 'credited' and payment_id is not null")
            .await,
        1
    );
    assert_eq!(
        isp.scalar("select count(*) from invoices where status = 'paid'")
            .await,
        1
    );
    // The receipt message waits in the outbox, written with the payment.
    assert_eq!(
        isp.scalar(&format!(
            "select count(*) from outbox_events o join payments p on p.id = o.payment_id
              where o.topic = 'payment.received' and p.reference = 'SIMCRASH01'
                and o.customer_id = '{customer}' and o.body ->> 'amount_minor' = '200000'"
        ))
        .await,
        1
    );
    // A delivery after the sweep is a replay.
    let hook = isp.hook().await;
    let body = json!({
        "TransactionType": "Pay Bill", "TransID": "SIMCRASH01", "TransTime": "20261129101500",
        "TransAmount": "2000.00", "BusinessShortCode": SHORTCODE, "BillRefNumber": account,
    });
    let answer = daraja::http()
        .unwrap()
        .post(format!("{}/hooks/mpesa/{hook}/c2b/confirmation", isp.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    isp.applied().await;
    assert_eq!(isp.scalar("select count(*) from payments").await, 1);
    isp.assert_ledger_balanced().await;
}

#[tokio::test]
async fn one_batch_applies_many_confirmations_as_one_at_a_time_would() {
    let isp = isp("c2b-net").await;
    let (wanjiku, account) = isp.customer("Wanjiku Batch", "0712000555").await;
    let (_, other) = isp.customer("Achieng Batch", "0712000666").await;
    // Two payments from one customer in the same batch: the first pays KES 1,500 of the
    // KES 2,000 invoice, the second the remaining 500 and leaves 700 as credit.
    let events = vec![
        store_only(&isp, "SIMBATCH01", &account, "1500.00").await,
        store_only(&isp, "SIMBATCH02", &other, "2000.00").await,
        store_only(&isp, "SIMBATCH03", "NOBODY-HERE", "300.00").await,
        store_only(&isp, "SIMBATCH04", &account.to_lowercase(), "1200.00").await,
    ];
    let applied =
        c2b::apply_stored(&isp.state.db, isp.state.clock.now(), isp.tenant, &events).await;
    assert_eq!(applied.len(), 4);
    assert!(
        matches!(applied[&events[0]], c2b::Applied::Credited { customer, .. } if customer == wanjiku)
    );
    assert_eq!(applied[&events[2]], c2b::Applied::Unmatched);
    assert_eq!(
        isp.scalar("select count(*) from invoices where status = 'paid'")
            .await,
        2
    );
    assert_eq!(
        isp.scalar(&format!(
            "select -coalesce(sum(amount_minor), 0)::bigint from ledger_entries
              where customer_id = '{wanjiku}' and account = 'receivable'"
        ))
        .await,
        70_000,
        "KES 700 of credit"
    );
    // The first payment paid 1,500 onto the invoice, the second the remaining 500.
    assert_eq!(
        isp.scalar(
            "select count(*) from ledger_entries e join ledger_transactions t on t.id = e.transaction_id
               join payments p on p.id = t.source_id
              where e.invoice_id is not null and
                    ((p.reference = 'SIMBATCH01' and e.amount_minor = -150000)
                  or (p.reference = 'SIMBATCH04' and e.amount_minor = -50000))"
        )
        .await,
        2
    );
    assert_eq!(
        isp.scalar("select count(*) from unmatched_payments where reference = 'SIMBATCH03'")
            .await,
        1
    );
    assert_eq!(
        isp.scalar("select count(*) from outbox_events where topic = 'payment.received'")
            .await,
        3
    );
    assert_eq!(
        isp.scalar("select count(*) from provider_events where outcome is null")
            .await,
        0
    );
    isp.assert_ledger_balanced().await;
}

#[tokio::test]
async fn a_confirmation_that_cannot_be_applied_is_marked_failed_and_holds_up_no_other() {
    let isp = isp("c2b-net").await;
    let (_, account) = isp.customer("Mutua Fine", "0712000777").await;
    // Stored past the webhook's checks (as a payload written by an older version could be):
    // a zero amount is no payment.
    let bad = store_only(&isp, "SIMZERO001", &account, "0.00").await;
    let good = store_only(&isp, "SIMGOOD001", &account, "2000.00").await;
    let applied = c2b::apply_stored(
        &isp.state.db,
        isp.state.clock.now(),
        isp.tenant,
        &[bad, good],
    )
    .await;
    assert_eq!(applied[&bad], c2b::Applied::Failed);
    assert!(matches!(applied[&good], c2b::Applied::Credited { .. }));
    assert_eq!(
        isp.scalar(
            "select count(*) from provider_events
              where event_id = 'SIMZERO001' and outcome = 'failed' and error like 'amount:%'"
        )
        .await,
        1
    );
    assert_eq!(isp.scalar("select count(*) from payments").await, 1);
    // Marked, so the sweep leaves it alone.
    let later = isp.state.clock.now() + chrono::Duration::seconds(1);
    assert_eq!(c2b::sweep(&isp.state, later, 500).await.unwrap(), 0);
    isp.assert_ledger_balanced().await;
}
