//! A shuffled stream of 1,000 provider deliveries over real HTTP, sixteen at a time: paybill
//! confirmations and STK callbacks, each delivered one to four times, in a random order (every
//! assertion names the seed; set PAYMENT_STREAM_SEED to replay one). Every payment is credited exactly
//! once, every replay is counted, and the ledger balances.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use std::{collections::HashMap, time::Duration};

use app::payments::stk::{self, PushIn, Source};
use futures_util::StreamExt;
use serde_json::{Value, json};
use server::simulators::daraja::{Scenario, Timing};
use support::isp::{SHORTCODE, isp};
use uuid::Uuid;

/// A small deterministic generator (xorshift64*), so a failing order can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Delivery {
    path: &'static str,
    event_id: String,
    body: Value,
    /// How many times it is delivered.
    times: usize,
}

#[tokio::test]
async fn a_shuffled_stream_of_deliveries_credits_each_payment_once() {
    let seed = std::env::var("PAYMENT_STREAM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| u64::from(std::process::id()) * 2_654_435_761 + 1);
    let mut rng = Rng(seed.max(1));

    let isp = isp("stream-net").await;
    isp.sim.set_stk_scenario(None, Scenario::NoCallback);
    isp.sim.set_stk_timing(Timing {
        answer_after: Duration::from_secs(3600),
        ..Timing::default()
    });
    let mut customers = Vec::new();
    for i in 0..40 {
        let phone = format!("07120{i:05}");
        let (id, account) = isp.customer(&format!("Stream Payer {i}"), &phone).await;
        customers.push((id, account, phone));
    }

    // Twenty STK pushes that are waiting for their callbacks.
    let mut deliveries: Vec<Delivery> = Vec::new();
    let mut expected: HashMap<Uuid, i64> = HashMap::new();
    for (customer, _, phone) in customers.iter().take(20) {
        stk::push(
            &isp.state,
            isp.tenant,
            &PushIn {
                customer: *customer,
                phone: phone.clone(),
                amount: None,
                invoice: None,
                source: Source::Staff,
                requested_by: None,
            },
        )
        .await
        .unwrap();
    }
    for (n, push) in isp.sim.pushes().into_iter().enumerate() {
        let customer = customers
            .iter()
            .find(|(_, _, phone)| format!("254{}", &phone[1..]) == push.phone)
            .unwrap()
            .0;
        *expected.entry(customer).or_default() += push.amount * 100;
        let body = json!({"Body": {"stkCallback": {
        "MerchantRequestID": push.merchant_request_id,
        "CheckoutRequestID": push.checkout_request_id,
        "ResultCode": 0, "ResultDesc": "The service request is processed successfully.",
        "CallbackMetadata": {"Item": [
            {"Name": "Amount", "Value": push.amount},
            {"Name": "MpesaReceiptNumber", "Value": format!("STKSTREAM{n:04}")},
            {"Name": "Balance"},
            {"Name": "TransactionDate", "Value": 20261129101500i64},
            {"Name": "PhoneNumber", "Value": push.phone.parse::<i64>().unwrap()}
        ]}}}});
        deliveries.push(Delivery {
            path: "stk",
            event_id: push.checkout_request_id.clone(),
            body,
            times: 1 + rng.below(4) as usize,
        });
    }

    // Paybill payments to random customers, each delivered one to four times, until there are
    // 1,000 deliveries in all.
    let mut n = 0;
    loop {
        let sent: usize = deliveries.iter().map(|d| d.times).sum();
        if sent >= 1_000 {
            break;
        }
        let times = (1 + rng.below(4) as usize).min(1_000 - sent);
        n += 1;
        let (customer, account, _) = &customers[rng.below(customers.len() as u64) as usize];
        let shillings = 50 + rng.below(3_000) as i64;
        let trans_id = format!("STREAM{n:05}");
        *expected.entry(*customer).or_default() += shillings * 100;
        let body = json!({
            "TransactionType": "Pay Bill", "TransID": trans_id, "TransTime": "20261129101500",
            "TransAmount": format!("{shillings}.00"), "BusinessShortCode": SHORTCODE,
            "BillRefNumber": account, "MSISDN": "2547 ***** 000",
            "FirstName": "Stream", "LastName": "Payer"
        });
        deliveries.push(Delivery {
            path: "c2b/confirmation",
            event_id: trans_id,
            body,
            times,
        });
    }
    // Every delivery, shuffled.
    let mut stream: Vec<usize> = deliveries
        .iter()
        .enumerate()
        .flat_map(|(i, d)| std::iter::repeat_n(i, d.times))
        .collect();
    assert_eq!(stream.len(), 1_000);
    for i in (1..stream.len()).rev() {
        stream.swap(i, rng.below(i as u64 + 1) as usize);
    }

    let hook = isp.hook().await;
    let client = app::payments::daraja::http().unwrap();
    let statuses: Vec<u16> = futures_util::stream::iter(stream.iter().map(|&i| {
        let d = &deliveries[i];
        let url = format!("{}/hooks/mpesa/{hook}/{}", isp.url, d.path);
        let request = client.post(url).json(&d.body).send();
        async move { request.await.unwrap().status().as_u16() }
    }))
    .buffer_unordered(16)
    .collect()
    .await;
    assert_eq!(statuses.len(), 1_000);
    // Paybill confirmations are answered once stored and applied a moment later.
    isp.applied().await;
    assert!(
        statuses.iter().all(|s| *s == 200),
        "seed {seed}: every delivery answered 200"
    );

    // Each event stored once, with its replays counted.
    let events = deliveries.len() as i64;
    assert_eq!(
        isp.scalar("select count(*) from provider_events").await,
        events,
        "seed {seed}"
    );
    let stored: HashMap<String, i32> = {
        let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
        sqlx::query_as::<_, (String, i32)>("select event_id, replays from provider_events")
            .fetch_all(tx.conn())
            .await
            .unwrap()
            .into_iter()
            .collect()
    };
    for d in &deliveries {
        assert_eq!(
            stored.get(&d.event_id).map(|r| *r as usize + 1),
            Some(d.times),
            "seed {seed}: {} delivered {} times",
            d.event_id,
            d.times
        );
    }
    // Each payment credited once, to the right customer.
    assert_eq!(
        isp.scalar("select count(*) from payments").await,
        events,
        "seed {seed}"
    );
    for (customer, amount) in &expected {
        assert_eq!(
            isp.scalar(&format!(
                "select coalesce(sum(amount_minor), 0)::bigint from payments where customer_id = '{customer}'"
            ))
            .await,
            *amount,
            "seed {seed}: customer {customer}"
        );
    }
    assert_eq!(
        isp.scalar("select count(*) from ledger_transactions where kind = 'payment'")
            .await,
        events
    );
    assert_eq!(
        isp.scalar("select count(*) from payment_requests where status = 'paid'")
            .await,
        20
    );
    isp.assert_ledger_balanced().await;
}
