//! The Transactions page's figures: every payment listed with what it paid, filtered, exported
//! as CSV (formula-safe), reconciled per channel per day to the cent, and the raw provider
//! events shown to owners and admins only.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use app::{
    AppError,
    auth::{identity::Staff, model::Role, session::RequestMeta},
    billing::{actions, model::Channel},
    payments::{links, model::TransactionQuery, transactions},
};
use server::simulators::{daraja::C2bPayment, paystack::Charge};
use support::isp::{SHORTCODE, isp};

#[tokio::test]
async fn payments_are_listed_exported_and_reconciled_to_the_cent() {
    let isp = isp("tx-net").await;
    let (a, account_a) = isp.customer("Wambui Ledger", "0712000801").await;
    let (b, account_b) = isp.customer("=Formula Otieno", "0712000802").await;
    let paybill = |account: &str, amount: &str| C2bPayment {
        shortcode: SHORTCODE.into(),
        bill_ref: account.into(),
        amount: amount.into(),
        deliveries: 2,
    };
    // A: the invoice by paybill, then 500 more (credit).
    let first = isp
        .sim
        .pay_c2b(&paybill(&account_a, "2000.00"))
        .await
        .unwrap();
    isp.applied().await;
    let extra = isp
        .sim
        .pay_c2b(&paybill(&account_a, "500.00"))
        .await
        .unwrap();
    isp.applied().await;
    // B: half in cash, the rest by card.
    let invoice_b = isp
        .scalar_uuid(&format!(
            "select id from invoices where customer_id = '{b}'"
        ))
        .await;
    actions::mark_paid(
        &isp.state,
        &isp.staff,
        invoice_b,
        Channel::Cash,
        Some(100_000),
        "CASH-0001",
        &RequestMeta::default(),
    )
    .await
    .unwrap();
    let code = {
        let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
        let code = links::link_code(&mut tx, &isp.state, b).await.unwrap();
        tx.commit().await.unwrap();
        code
    };
    links::pay_paystack(&isp.state, &code, "otieno@example.com")
        .await
        .unwrap();
    let reference = isp.paystack.references().pop().unwrap();
    isp.paystack
        .charge(&Charge {
            reference: reference.clone(),
            signature: None,
            metadata: None,
            amount: None,
            deliveries: 1,
        })
        .await
        .unwrap();

    let all = transactions::list(&isp.state, &isp.staff, &TransactionQuery::default())
        .await
        .unwrap();
    assert_eq!(all.total, 4);
    assert_eq!(all.total_minor, 450_000);
    assert_eq!(
        all.total_minor,
        isp.scalar("select sum(amount_minor)::bigint from payments")
            .await
    );
    let row = |reference: &str| {
        all.rows
            .iter()
            .find(|r| r.reference == reference)
            .unwrap_or_else(|| panic!("{reference} listed"))
            .clone()
    };
    let paid = row(&first.trans_id);
    assert_eq!((paid.customer_id, paid.status()), (a, "Applied"));
    assert_eq!(paid.invoices.len(), 1);
    assert!(paid.invoices[0].starts_with("INV-"));
    let credit = row(&extra.trans_id);
    assert_eq!((credit.status(), credit.invoices.len()), ("Credit", 0));
    let cash = row("CASH-0001");
    assert_eq!(cash.channel, Channel::Cash);
    assert_eq!(cash.recorded_by.as_deref(), Some("Owner of C2B Net"));
    assert_eq!(row(&reference).channel, Channel::Paystack);

    // Filters: by channel, by account, by receipt.
    let query = |channel: Option<Channel>, q: &str| TransactionQuery {
        channel,
        q: q.into(),
        ..TransactionQuery::default()
    };
    let mpesa = transactions::list(&isp.state, &isp.staff, &query(Some(Channel::Mpesa), ""))
        .await
        .unwrap();
    assert_eq!((mpesa.total, mpesa.total_minor), (2, 250_000));
    let of_b = transactions::list(&isp.state, &isp.staff, &query(None, &account_b))
        .await
        .unwrap();
    assert_eq!(of_b.total, 2);
    let one = transactions::list(&isp.state, &isp.staff, &query(None, &extra.trans_id))
        .await
        .unwrap();
    assert_eq!(one.total, 1);

    // The CSV: one line per payment, plain amounts, no formula a spreadsheet would run.
    let csv = transactions::csv(&isp.state, &isp.staff, &TransactionQuery::default())
        .await
        .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(lines[0].starts_with("received_at,channel,reference,amount"));
    assert!(csv.contains(",2000.00,"), "{csv}");
    assert!(csv.contains("'=Formula Otieno"), "{csv}");
    assert!(!csv.contains(",=Formula"), "{csv}");

    // Daily reconciliation: per channel, and the same total as the payments.
    let days = transactions::reconciliation(&isp.state, &isp.staff, None, None)
        .await
        .unwrap();
    let of = |c: Channel| {
        days.iter()
            .filter(|d| d.channel == c)
            .map(|d| (d.count, d.total_minor))
            .fold((0, 0), |acc, x| (acc.0 + x.0, acc.1 + x.1))
    };
    assert_eq!(of(Channel::Mpesa), (2, 250_000));
    assert_eq!(of(Channel::Cash), (1, 100_000));
    assert_eq!(of(Channel::Paystack), (1, 100_000));

    // Raw provider events: owners see what M-Pesa sent; support staff may not.
    let events = transactions::events(&isp.state, &isp.staff, &first.trans_id)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].replays, 1);
    assert!(events[0].payload.contains("\"BillRefNumber\""));
    let support = Staff {
        role: Role::Support,
        ..isp.staff.clone()
    };
    assert!(matches!(
        transactions::events(&isp.state, &support, "").await,
        Err(AppError::Forbidden)
    ));
    // Support staff see the transactions themselves.
    assert_eq!(
        transactions::list(&isp.state, &support, &TransactionQuery::default())
            .await
            .unwrap()
            .total,
        4
    );

    // Over HTTP: the CSV download and the pages render on the server.
    let mut owner = support::client::Client::new(isp.state.clone());
    owner.sign_in("owner@tx-net.test", "tx-net-password").await;
    let reply = owner.get("/app/payments/export.csv?channel=mpesa").await;
    assert_eq!(reply.status, axum::http::StatusCode::OK);
    assert_eq!(
        reply.headers["content-type"].to_str().unwrap(),
        "text/csv; charset=utf-8"
    );
    assert_eq!(reply.body.lines().count(), 3, "{}", reply.body);
    for (path, needle) in [
        ("/app/payments", first.trans_id.as_str()),
        ("/app/payments/reconciliation", "M-Pesa"),
        ("/app/payments/events", extra.trans_id.as_str()),
    ] {
        let page = owner.get(path).await;
        assert_eq!(page.status, axum::http::StatusCode::OK, "{path}");
        assert!(page.body.contains(needle), "{path}: {}", page.body);
    }
}
