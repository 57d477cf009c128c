//! Paystack end to end over real HTTP: a checkout is initialized from the payment link with our
//! client, paid on the simulator's checkout page, and credited once whether the signed webhook
//! or the payer's return verifies it first. Bad signatures, amounts that do not match and
//! replays credit nothing; both `metadata` shapes are read.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use app::payments::{links, model::RequestStatus, paystack, paystack_wire, stk};
use chrono::{Duration, Utc};
use server::simulators::paystack::Charge;
use support::isp::{Isp, PAYSTACK_SECRET, isp};
use uuid::Uuid;

async fn link(isp: &Isp, customer: Uuid) -> String {
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    let code = links::link_code(&mut tx, &isp.state, customer)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    code
}

/// Starts a checkout from the link; returns (checkout page, reference).
async fn checkout(isp: &Isp, code: &str) -> (String, String) {
    let page = links::pay_paystack(&isp.state, code, "Payer@Example.com ")
        .await
        .unwrap();
    let reference = isp.paystack.references().last().unwrap().clone();
    (page, reference)
}

fn charge(reference: &str) -> Charge {
    Charge {
        reference: reference.into(),
        signature: None,
        metadata: None,
        amount: None,
        deliveries: 1,
    }
}

#[tokio::test]
async fn a_card_payment_is_credited_once_by_webhook_and_return() {
    let isp = isp("ps-ok").await;
    let (customer, _) = isp.customer("Akinyi Card", "0712000701").await;
    let code = link(&isp, customer).await;
    let page = links::page(&isp.state, &code).await.unwrap();
    assert!(page.paystack && page.mpesa);
    assert_eq!(page.amount_due_minor, 200_000);

    let (checkout_url, reference) = checkout(&isp, &code).await;
    assert!(
        checkout_url.starts_with(&isp.paystack.url()),
        "{checkout_url}"
    );
    assert!(reference.starts_with("JSY-"));
    // The payer pays on Paystack's page and is sent back to the link with the reference.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client
        .post(&checkout_url)
        .form(&[("outcome", "success")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    let back = response.headers()["location"].to_str().unwrap().to_string();
    assert!(
        back.contains(&format!(
            "/pay/{code}?trxref={reference}&reference={reference}"
        )),
        "{back}"
    );
    // The signed webhook came first and credited it.
    assert_eq!(isp.paystack.webhooks_sent(), 1);
    assert_eq!(
        isp.scalar(&format!(
            "select count(*) from payments where channel = 'paystack' and reference = '{reference}'
               and amount_minor = 200000 and customer_id = '{customer}'"
        ))
        .await,
        1
    );
    // The return verifies again and changes nothing.
    let view = links::paystack_return(&isp.state, &code, &reference)
        .await
        .unwrap();
    assert_eq!(view.status, RequestStatus::Paid, "{}", view.message);
    assert_eq!(view.payer, "payer@example.com");
    assert_eq!(isp.scalar("select count(*) from payments").await, 1);
    assert_eq!(
        isp.scalar("select count(*) from invoices where status = 'paid'")
            .await,
        1
    );
    assert_eq!(
        isp.scalar(
            "select count(*) from provider_events where provider = 'paystack' and outcome = 'credited'"
        )
        .await,
        1
    );
    isp.assert_ledger_balanced().await;
}

#[tokio::test]
async fn a_return_before_the_webhook_credits_and_the_webhook_then_changes_nothing() {
    let isp = isp("ps-ret").await;
    let (customer, _) = isp.customer("Kiprop Return", "0712000702").await;
    let code = link(&isp, customer).await;
    let (_, reference) = checkout(&isp, &code).await;
    // Not paid yet: verify says so and nothing is credited.
    let view = links::paystack_return(&isp.state, &code, &reference)
        .await
        .unwrap();
    assert_eq!(view.status, RequestStatus::Pending);
    assert_eq!(isp.scalar("select count(*) from payments").await, 0);

    // Paid, with `metadata` as "" and the webhook delivered three times.
    let statuses = isp
        .paystack
        .charge(&Charge {
            metadata: Some("empty".into()),
            deliveries: 3,
            ..charge(&reference)
        })
        .await
        .unwrap();
    assert_eq!(statuses, vec![200, 200, 200]);
    let view = links::paystack_return(&isp.state, &code, &reference)
        .await
        .unwrap();
    assert_eq!(view.status, RequestStatus::Paid);
    assert_eq!(isp.scalar("select count(*) from payments").await, 1);
    assert_eq!(
        isp.scalar("select replays::bigint from provider_events where provider = 'paystack'")
            .await,
        2
    );
    isp.assert_ledger_balanced().await;
}

#[tokio::test]
async fn bad_signatures_wrong_tokens_and_mismatched_amounts_credit_nothing() {
    let isp = isp("ps-bad").await;
    let (customer, _) = isp.customer("Nduta Forged", "0712000703").await;
    let code = link(&isp, customer).await;
    let (_, reference) = checkout(&isp, &code).await;

    let statuses = isp
        .paystack
        .charge(&Charge {
            signature: Some("bad".into()),
            ..charge(&reference)
        })
        .await
        .unwrap();
    assert_eq!(statuses, vec![401]);
    assert_eq!(isp.scalar("select count(*) from provider_events").await, 0);

    // A correctly signed body to a wrong hook token, and a body that is not JSON.
    let body = br#"{"event":"charge.success","data":{"id":1,"reference":"x"}}"#;
    let signature = paystack_wire::sign(PAYSTACK_SECRET, body);
    let hook = isp.hook().await;
    let client = app::payments::daraja::http().unwrap();
    let post = |path: String, body: Vec<u8>, signature: String| {
        client
            .post(format!("{}{path}", isp.url))
            .header(paystack::SIGNATURE_HEADER, signature)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let wrong = format!("/hooks/paystack/{}x", &hook[..hook.len() - 1]);
    let response = post(wrong, body.to_vec(), signature).await.unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let junk = b"{\"event\":".to_vec();
    let response = post(
        format!("/hooks/paystack/{hook}"),
        junk.clone(),
        paystack_wire::sign(PAYSTACK_SECRET, &junk),
    )
    .await
    .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(isp.scalar("select count(*) from provider_events").await, 0);

    // Signed and delivered, but Paystack reports another amount: refused, nothing credited.
    let statuses = isp
        .paystack
        .charge(&Charge {
            amount: Some(100),
            ..charge(&reference)
        })
        .await
        .unwrap();
    assert_eq!(statuses, vec![200]);
    let view = links::status(
        &isp.state,
        &code,
        isp.scalar_uuid("select id from payment_requests").await,
    )
    .await
    .unwrap();
    assert_eq!(view.status, RequestStatus::Failed);
    assert!(view.message.contains("not credited"), "{}", view.message);
    assert_eq!(isp.scalar("select count(*) from payments").await, 0);
    assert_eq!(
        isp.scalar("select count(*) from provider_events where outcome = 'ignored'")
            .await,
        1
    );
    isp.assert_ledger_balanced().await;
}

#[tokio::test]
async fn a_charge_we_did_not_start_waits_for_staff() {
    let isp = isp("ps-unknown").await;
    isp.customer("Someone Else", "0712000704").await;
    // A checkout made outside Jasiyo (the ISP's own Paystack page) with the account in
    // metadata.
    let auth = paystack::initialize(
        &isp.paystack.url(),
        PAYSTACK_SECRET,
        &paystack_wire::Initialize {
            email: "walkin@example.com".into(),
            amount: 150_000,
            currency: "KES".into(),
            reference: "OUTSIDE-0001".into(),
            callback_url: "http://127.0.0.1/".into(),
            metadata: serde_json::json!({"account": "ZZ-404"}),
        },
    )
    .await
    .unwrap();
    assert_eq!(auth.reference, "OUTSIDE-0001");
    let statuses = isp.paystack.charge(&charge("OUTSIDE-0001")).await.unwrap();
    assert_eq!(statuses, vec![200]);
    assert_eq!(
        isp.scalar(
            "select count(*) from unmatched_payments where channel = 'paystack'
               and reference = 'OUTSIDE-0001' and amount_minor = 150000 and account_typed = 'ZZ-404'"
        )
        .await,
        1
    );
    assert_eq!(isp.scalar("select count(*) from payments").await, 0);
    // A wrong key is refused by Paystack, and our client says so.
    let err = paystack::verify(&isp.paystack.url(), "sk_test_wrong", "OUTSIDE-0001")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Invalid key"), "{err}");
}

#[tokio::test]
async fn a_checkout_whose_webhook_and_return_never_come_is_verified_by_the_poller() {
    let isp = isp("ps-poll").await;
    let (paid, _) = isp.customer("Silent Payer", "0712000705").await;
    let (gone, _) = isp.customer("Gone Payer", "0712000706").await;
    let paid_code = link(&isp, paid).await;
    let gone_code = link(&isp, gone).await;
    let (_, paid_ref) = checkout(&isp, &paid_code).await;
    let (_, gone_ref) = checkout(&isp, &gone_code).await;
    // One payer pays and closes the page; the webhook is lost. The other never pays.
    isp.paystack.pay_without_webhook(&paid_ref).unwrap();
    let start = Utc::now();
    assert_eq!(stk::poll_due(&isp.state, start).await.unwrap(), 0);
    assert_eq!(
        stk::poll_due(&isp.state, start + Duration::minutes(3))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        isp.scalar(&format!(
            "select count(*) from payments where channel = 'paystack' and reference = '{paid_ref}'
               and customer_id = '{paid}'"
        ))
        .await,
        1
    );
    let still = links::paystack_return(&isp.state, &gone_code, &gone_ref)
        .await
        .unwrap();
    assert_eq!(still.status, RequestStatus::Pending);
    // An hour on, the abandoned checkout is given up; nothing was credited for it.
    stk::poll_due(&isp.state, start + Duration::minutes(61))
        .await
        .unwrap();
    let gone_view = links::paystack_return(&isp.state, &gone_code, &gone_ref)
        .await
        .unwrap();
    assert_eq!(gone_view.status, RequestStatus::Expired);
    assert!(
        gone_view.message.contains("not completed"),
        "{}",
        gone_view.message
    );
    assert_eq!(isp.scalar("select count(*) from payments").await, 1);
    isp.assert_ledger_balanced().await;
}

#[tokio::test]
async fn the_isps_choice_for_pay_now_comes_first_on_the_payment_link() {
    let isp = isp("ps-first").await;
    let (customer, _) = isp.customer("Njeri Choice", "0712000709").await;
    let code = link(&isp, customer).await;
    let mut browser = support::client::Client::new(isp.state.clone());
    // Order of the two forms in the server-rendered page.
    let order = |html: &str| {
        let stk = html
            .find("data-testid=\"pay-now\"")
            .expect("the M-Pesa form");
        let card = html
            .find("data-testid=\"pay-card\"")
            .expect("the card form");
        stk < card
    };

    // Not chosen (or M-Pesa chosen): the M-Pesa prompt first, the card underneath.
    assert!(!links::page(&isp.state, &code).await.unwrap().paystack_first);
    let page = browser.get(&format!("/pay/{code}")).await;
    assert_eq!(page.status.as_u16(), 200);
    assert!(order(&page.body), "M-Pesa first");
    assert!(page.body.contains("Pay by card instead"));

    // Paystack chosen: its checkout is "Pay now", the M-Pesa prompt the alternative.
    isp.settings_with(false, "paystack").await;
    assert!(links::page(&isp.state, &code).await.unwrap().paystack_first);
    let page = browser.get(&format!("/pay/{code}")).await;
    assert!(!order(&page.body), "Paystack first");
    assert!(page.body.contains("Pay with an M-Pesa prompt instead"));
    assert!(page.body.contains("Pay KES 2,000 now"), "{}", page.body);
}
