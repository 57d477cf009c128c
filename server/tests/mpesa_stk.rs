//! STK push end to end over real HTTP: our Daraja client sends the push to the simulator, which
//! checks the password and field limits, plays the payer's part and calls the app's webhook back
//! (once, twice, late or never); pushes whose callback does not come are settled by STK query
//! or expire. Each payment is credited exactly once and the ledger balances.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use std::time::Duration;

use app::payments::{
    model::RequestStatus,
    requests,
    stk::{self, PushIn, Source},
};
use chrono::Utc;
use serde_json::json;
use server::simulators::daraja::{Scenario, Timing};
use support::isp::{Isp, isp};
use uuid::Uuid;

async fn push(isp: &Isp, customer: Uuid, phone: &str) -> Uuid {
    stk::push(
        &isp.state,
        isp.tenant,
        &PushIn {
            customer,
            phone: phone.into(),
            amount: None,
            invoice: None,
            source: Source::Staff,
            requested_by: Some(isp.staff.user_id),
        },
    )
    .await
    .unwrap()
}

async fn status(isp: &Isp, request: Uuid) -> app::payments::model::PaymentRequestView {
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    requests::view(&mut tx, request, None).await.unwrap()
}

/// Waits (a few seconds at most) until the request leaves `sending`/`pending`.
async fn settled(isp: &Isp, request: Uuid) -> app::payments::model::PaymentRequestView {
    for _ in 0..100 {
        let view = status(isp, request).await;
        if !view.status.is_open() {
            return view;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("request {request} never settled");
}

async fn wait_for_callbacks(isp: &Isp, checkout: &str, n: u32) {
    for _ in 0..200 {
        if isp
            .sim
            .pushes()
            .iter()
            .any(|p| p.checkout_request_id == checkout && p.callbacks_delivered >= n)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{n} callbacks for {checkout} never delivered");
}

#[tokio::test]
async fn a_paid_push_pays_the_invoice_and_renews_once() {
    let isp = isp("stk-ok").await;
    let (customer, account) = isp.customer("Wairimu Push", "0712000101").await;
    let before = isp
        .scalar("select extract(epoch from max(expires_at))::bigint from services")
        .await;
    let request = push(&isp, customer, "0712 000 101").await;

    let pushes = isp.sim.pushes();
    assert_eq!(pushes.len(), 1);
    let sent = &pushes[0];
    assert_eq!(sent.phone, "254712000101");
    assert_eq!(sent.amount, 2000, "what is owed, in whole shillings");
    assert_eq!(sent.account_reference, account);
    assert!(sent.callback_url.starts_with(&isp.url) && sent.callback_url.ends_with("/stk"));

    let view = settled(&isp, request).await;
    assert_eq!(view.status, RequestStatus::Paid, "{}", view.message);
    assert_eq!(view.receipt.as_deref(), Some(sent.receipt.as_str()));
    assert_eq!(
        isp.scalar(&format!(
            "select count(*) from payments where reference = '{}' and amount_minor = 200000",
            sent.receipt
        ))
        .await,
        1
    );

    // Near the end of the month the billing job issues the renewal; paying it by STK push
    // moves the expiry a month on.
    let mut later = isp.state.clone();
    later.clock = app::clock::Clock::manual(isp.state.clock.now() + chrono::Duration::days(29));
    app::billing::job::run_all(&later, &app::billing::job::Options::default())
        .await
        .unwrap();
    assert_eq!(
        isp.scalar("select count(*) from invoices where status = 'pending'")
            .await,
        1
    );
    let renewal = push(&isp, customer, "0712000101").await;
    let view = settled(&isp, renewal).await;
    assert_eq!(view.status, RequestStatus::Paid, "{}", view.message);
    let after = view.expires_at.unwrap().timestamp();
    assert!(
        after - before >= 28 * 86_400,
        "the service was renewed: {before} → {after}"
    );
    assert_eq!(
        isp.scalar("select count(*) from invoices where status = 'paid'")
            .await,
        2
    );
    assert_eq!(
        isp.scalar(
            "select count(*) from provider_events where kind = 'stk_callback' and outcome = 'credited'"
        )
        .await,
        2
    );
    isp.assert_ledger_balanced().await;

    // The poller has nothing left to ask about.
    assert_eq!(
        stk::poll_due(&isp.state, Utc::now() + chrono::Duration::minutes(5))
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn declined_pushes_fail_with_the_reason_and_credit_nothing() {
    let isp = isp("stk-no").await;
    let cases = [
        (Scenario::Cancelled, "0712000201", "1032", "cancelled"),
        (
            Scenario::Timeout,
            "0712000202",
            "1037",
            "could not be reached",
        ),
        (
            Scenario::InsufficientFunds,
            "0712000203",
            "1",
            "not enough money",
        ),
        (Scenario::WrongPin, "0712000204", "2001", "PIN"),
    ];
    for (scenario, phone, code, words) in cases {
        let (customer, _) = isp.customer(&format!("Payer {code}"), phone).await;
        let msisdn = format!("254{}", &phone[1..]);
        isp.sim.set_stk_scenario(Some(&msisdn), scenario);
        let request = push(&isp, customer, phone).await;
        let view = settled(&isp, request).await;
        assert_eq!(view.status, RequestStatus::Failed, "{scenario:?}");
        assert!(
            view.message.contains(words),
            "{scenario:?}: {}",
            view.message
        );
        assert_eq!(
            isp.scalar(&format!(
                "select count(*) from payment_requests where id = '{request}' and result_code = '{code}'"
            ))
            .await,
            1
        );
        // Pay again after a decline: a new push goes out.
        isp.sim.set_stk_scenario(Some(&msisdn), Scenario::Success);
        let again = push(&isp, customer, phone).await;
        assert_ne!(again, request);
        assert_eq!(settled(&isp, again).await.status, RequestStatus::Paid);
    }
    assert_eq!(isp.scalar("select count(*) from payments").await, 4);
    assert_eq!(
        isp.scalar("select count(*) from provider_events where outcome = 'ignored'")
            .await,
        4
    );
    isp.assert_ledger_balanced().await;
}

#[tokio::test]
async fn a_duplicate_callback_and_a_second_press_charge_once() {
    let isp = isp("stk-dup").await;
    isp.sim.set_stk_timing(Timing {
        answer_after: Duration::from_millis(500),
        ..Timing::default()
    });
    isp.sim.set_stk_scenario(None, Scenario::Duplicate);
    let (customer, _) = isp.customer("Kamau Twice", "0712000301").await;
    let first = push(&isp, customer, "0712000301").await;
    // Pressing Pay again while the prompt is on the phone finds the same request.
    let second = push(&isp, customer, "0712000301").await;
    assert_eq!(first, second);
    assert_eq!(isp.sim.pushes().len(), 1);

    let view = settled(&isp, first).await;
    assert_eq!(view.status, RequestStatus::Paid);
    let checkout = isp.sim.pushes()[0].checkout_request_id.clone();
    wait_for_callbacks(&isp, &checkout, 2).await;
    assert_eq!(isp.scalar("select count(*) from payments").await, 1);
    assert_eq!(
        isp.scalar(&format!(
            "select replays::bigint from provider_events where event_id = '{checkout}'"
        ))
        .await,
        1
    );
    isp.assert_ledger_balanced().await;
}

#[tokio::test]
async fn without_a_callback_the_query_settles_and_a_late_callback_changes_nothing() {
    let isp = isp("stk-late").await;
    isp.sim.set_stk_timing(Timing {
        answer_after: Duration::from_millis(100),
        late_by: Duration::from_millis(1500),
    });
    let (quiet, _) = isp.customer("Njeri Quiet", "0712000401").await;
    let (late, _) = isp.customer("Ouma Late", "0712000402").await;
    isp.sim
        .set_stk_scenario(Some("254712000401"), Scenario::NoCallback);
    isp.sim
        .set_stk_scenario(Some("254712000402"), Scenario::Late);
    let quiet_request = push(&isp, quiet, "0712000401").await;
    let late_request = push(&isp, late, "0712000402").await;

    // Before the first query is due nothing is asked; the payer answers meanwhile.
    assert_eq!(stk::poll_due(&isp.state, Utc::now()).await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        status(&isp, quiet_request).await.status,
        RequestStatus::Pending
    );
    let looked = stk::poll_due(&isp.state, Utc::now() + chrono::Duration::seconds(20))
        .await
        .unwrap();
    assert_eq!(looked, 2);
    for request in [quiet_request, late_request] {
        let view = status(&isp, request).await;
        assert_eq!(view.status, RequestStatus::Paid, "{}", view.message);
        assert_eq!(view.receipt, None, "a query brings no receipt");
    }
    assert_eq!(isp.scalar("select count(*) from payments").await, 2);

    // The late callback arrives: the receipt is kept, nothing is credited again.
    let late_checkout = isp
        .sim
        .pushes()
        .into_iter()
        .find(|p| p.phone == "254712000402")
        .unwrap();
    wait_for_callbacks(&isp, &late_checkout.checkout_request_id, 1).await;
    assert_eq!(
        status(&isp, late_request).await.receipt.as_deref(),
        Some(late_checkout.receipt.as_str())
    );
    assert_eq!(isp.scalar("select count(*) from payments").await, 2);
    assert_eq!(
        isp.scalar(&format!(
            "select count(*) from provider_events where event_id = '{}' and outcome = 'credited'",
            late_checkout.checkout_request_id
        ))
        .await,
        1
    );
    isp.assert_ledger_balanced().await;
}

#[tokio::test]
async fn a_push_nobody_answers_expires_after_two_minutes_and_a_late_payment_still_counts() {
    let isp = isp("stk-slow").await;
    isp.sim.set_stk_timing(Timing {
        answer_after: Duration::from_secs(3600),
        ..Timing::default()
    });
    let (customer, _) = isp.customer("Mutua Away", "0712000501").await;
    let request = push(&isp, customer, "0712000501").await;
    let start = Utc::now();
    // Queried while the prompt is on the phone: "being processed" is pending, not a failure.
    assert_eq!(
        stk::poll_due(&isp.state, start + chrono::Duration::seconds(20))
            .await
            .unwrap(),
        1
    );
    assert_eq!(status(&isp, request).await.status, RequestStatus::Pending);
    stk::poll_due(&isp.state, start + chrono::Duration::seconds(150))
        .await
        .unwrap();
    let view = status(&isp, request).await;
    assert_eq!(view.status, RequestStatus::Expired);
    assert!(view.message.contains("2 minutes"), "{}", view.message);

    // The payer paid after all: the callback credits the expired request once.
    let hook = isp.hook().await;
    let checkout = isp.sim.pushes()[0].checkout_request_id.clone();
    let body = json!({"Body": {"stkCallback": {
    "MerchantRequestID": "1-1-1", "CheckoutRequestID": checkout, "ResultCode": 0,
    "ResultDesc": "The service request is processed successfully.",
    "CallbackMetadata": {"Item": [
        {"Name": "Amount", "Value": "2000.00"},
        {"Name": "MpesaReceiptNumber", "Value": "SLOWPAY001"},
        {"Name": "Balance"},
        {"Name": "TransactionDate", "Value": 20261129101500i64},
        {"Name": "PhoneNumber", "Value": 254712000501i64}
    ]}}}});
    let client = app::payments::daraja::http().unwrap();
    for _ in 0..2 {
        let response = client
            .post(format!("{}/hooks/mpesa/{hook}/stk", isp.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
    }
    assert_eq!(status(&isp, request).await.status, RequestStatus::Paid);
    assert_eq!(
        isp.scalar("select count(*) from payments where reference = 'SLOWPAY001'")
            .await,
        1
    );
    isp.assert_ledger_balanced().await;
}

#[tokio::test]
async fn bad_callbacks_are_refused_and_unknown_payments_wait_for_staff() {
    let isp = isp("stk-bad").await;
    let hook = isp.hook().await;
    let client = app::payments::daraja::http().unwrap();
    let post = |path: String, body: String| {
        client
            .post(format!("{}{path}", isp.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    // Wrong token, malformed JSON, a success without a receipt: refused, nothing stored.
    let wrong = format!("/hooks/mpesa/{}x/stk", &hook[..hook.len() - 1]);
    let ok_body = json!({"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_unknown",
        "ResultCode": "0", "CallbackMetadata": {"Item": [{"Name": "Amount", "Value": 5},
        {"Name": "MpesaReceiptNumber", "Value": "ORPHAN0001"}]}}}})
    .to_string();
    let response = post(wrong, ok_body.clone()).await.unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let path = format!("/hooks/mpesa/{hook}/stk");
    let response = post(path.clone(), "{\"Body\":".into()).await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let no_receipt = json!({"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_x",
        "ResultCode": 0, "CallbackMetadata": {"Item": [{"Name": "Amount", "Value": 5}]}}}});
    let response = post(path.clone(), no_receipt.to_string()).await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let text = response.text().await.unwrap();
    assert!(text.contains("MpesaReceiptNumber"), "{text}");
    assert_eq!(isp.scalar("select count(*) from provider_events").await, 0);

    // A success for a push we never recorded is money: it waits in the unmatched queue.
    let response = post(path, ok_body).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        isp.scalar(
            "select count(*) from unmatched_payments where reference = 'ORPHAN0001' and amount_minor = 500"
        )
        .await,
        1
    );
    assert_eq!(isp.scalar("select count(*) from payments").await, 0);
}

#[tokio::test]
async fn the_simulator_refuses_what_daraja_refuses() {
    let isp = isp("stk-sim").await;
    let (customer, _) = isp.customer("Chebet Check", "0712000601").await;
    // A passkey Daraja does not know makes a wrong password: the push fails with its reason.
    let form = app::payments::model::PaymentSettingsForm {
        mpesa_environment: "sandbox".into(),
        mpesa_shortcode: support::isp::SHORTCODE.into(),
        mpesa_kind: "paybill".into(),
        mpesa_passkey: "some-other-passkey-0000000000".into(),
        ..Default::default()
    };
    app::payments::settings::update(
        &isp.state,
        &isp.staff,
        &form,
        &app::auth::session::RequestMeta::default(),
    )
    .await
    .unwrap();
    let request = push(&isp, customer, "0712000601").await;
    let view = status(&isp, request).await;
    assert_eq!(view.status, RequestStatus::Failed);
    assert!(view.message.contains("Password"), "{}", view.message);
    assert!(isp.sim.pushes().is_empty());
    // Bad input is refused before anything is written.
    let err = stk::push(
        &isp.state,
        isp.tenant,
        &PushIn {
            customer,
            phone: "0812 000 601".into(),
            amount: None,
            invoice: None,
            source: Source::Staff,
            requested_by: None,
        },
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("phone"), "{err}");
    assert_eq!(isp.scalar("select count(*) from payment_requests").await, 1);
}

#[tokio::test]
async fn a_customer_whose_only_requests_came_to_nothing_can_still_be_deleted() {
    let isp = isp("stk-del").await;
    // A customer with no service (so no invoice): staff send a push for an amount they name,
    // the payer cancels, and staff copied the payment link.
    let customer = app::customers::model::CustomerForm {
        name: "Brief Prospect".into(),
        phone: "0712000901".into(),
        ..Default::default()
    }
    .check()
    .unwrap();
    let detail = app::customers::service::create(
        &isp.state,
        &isp.staff,
        &customer,
        None,
        &app::auth::session::RequestMeta::default(),
    )
    .await
    .unwrap();
    isp.sim
        .set_stk_scenario(Some("254712000901"), Scenario::Cancelled);
    let request = stk::push(
        &isp.state,
        isp.tenant,
        &PushIn {
            customer: detail.id,
            phone: "0712000901".into(),
            amount: Some(50_000),
            invoice: None,
            source: Source::Staff,
            requested_by: Some(isp.staff.user_id),
        },
    )
    .await
    .unwrap();
    assert_eq!(settled(&isp, request).await.status, RequestStatus::Failed);
    app::payments::links::staff_link(&isp.state, &isp.staff, detail.id)
        .await
        .unwrap();
    let removal = app::customers::service::delete(
        &isp.state,
        &isp.staff,
        detail.id,
        &app::auth::session::RequestMeta::default(),
    )
    .await
    .unwrap();
    assert_eq!(removal, app::customers::model::Removal::Deleted);
    assert_eq!(isp.scalar("select count(*) from payment_requests").await, 0);
    assert_eq!(isp.scalar("select count(*) from payment_links").await, 0);
}
