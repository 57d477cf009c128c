//! The hotspot captive page's purchases and vouchers over real sockets: an STK push for a
//! package goes to the Daraja simulator, its callback (once, twice, or never, when the query
//! finds out) sells exactly one voucher on the buyer's router, posts the sale to the ledger and
//! texts the code; the router gets the code through the command queue; printed vouchers redeem
//! only while usable.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use std::time::Duration;

use app::{
    AppError,
    auth::session::RequestMeta,
    hotspot::{model::Purchase, service as hotspot},
    network::{
        model::{RouterForm, RouterMode},
        routers, worker,
    },
    payments::{model::RequestStatus, stk},
    plans::{self, model::PlanForm},
    vouchers::{model::VoucherForm, service as vouchers},
};
use server::simulators::daraja::{Scenario, Timing};
use support::{
    client::Client,
    isp::{Isp, isp},
    net::{API_PASSWORD, API_USER, sim, user},
};
use uuid::Uuid;

fn from(ip: &str) -> RequestMeta {
    RequestMeta {
        ip: Some(ip.parse().unwrap()),
        user_agent: None,
    }
}

/// A hotspot plan ("Hour 20": KES 20 for an hour, 2 devices).
async fn hotspot_plan(isp: &Isp) -> Uuid {
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    let plan = PlanForm {
        name: "Hour 20".into(),
        kind: "hotspot".into(),
        price: "20".into(),
        validity_count: "1".into(),
        validity_unit: "hours".into(),
        download_mbps: "3".into(),
        upload_mbps: "1".into(),
        shared_users: "2".into(),
        ..PlanForm::default()
    };
    plans::service::insert_if_missing(&mut tx, &plan, isp.state.clock.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    isp.scalar_uuid("select id from plans where name = 'Hour 20'")
        .await
}

async fn api_router(isp: &Isp, sim: &server::simulators::routeros::RouterSim) -> Uuid {
    let input = RouterForm {
        name: "Cafe".into(),
        mode: RouterMode::Api.as_str().into(),
        host: "127.0.0.1".into(),
        port: sim.addr().port().to_string(),
        api_username: API_USER.into(),
        api_password: API_PASSWORD.into(),
        ..RouterForm::default()
    }
    .check(false)
    .unwrap();
    routers::create(&isp.state, &isp.staff, &input, &RequestMeta::default())
        .await
        .unwrap()
        .id
}

/// Waits (a few seconds at most) until the purchase is no longer waiting on the payer.
async fn settled(isp: &Isp, slug: &str, request: Uuid) -> Purchase {
    for _ in 0..200 {
        let purchase = hotspot::status(&isp.state, slug, request).await.unwrap();
        if !purchase.request.status.is_open() {
            return purchase;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("purchase {request} never settled");
}

#[tokio::test]
async fn a_paid_package_is_one_code_on_the_buyers_router_however_often_mpesa_calls() {
    let isp = isp("hs-buy").await;
    let plan = hotspot_plan(&isp).await;
    let router_sim = sim().await;
    let router = api_router(&isp, &router_sim).await;
    isp.sim.set_stk_timing(Timing {
        answer_after: Duration::from_millis(400),
        ..Timing::default()
    });
    isp.sim.set_stk_scenario(None, Scenario::Duplicate);

    // The page lists hotspot packages only, with what a buyer compares.
    let page = hotspot::page(&isp.state, "hs-buy").await.unwrap();
    assert!(page.mpesa);
    assert_eq!(page.plans.len(), 1, "the PPPoE plan is not sold here");
    assert_eq!(page.plans[0].name, "Hour 20");
    assert_eq!(page.plans[0].price_minor, 2000);
    assert_eq!(page.plans[0].validity, "1 hour");
    assert_eq!(page.plans[0].shared_users, Some(2));

    let first = hotspot::buy(
        &isp.state,
        "hs-buy",
        plan,
        "0712 555 001",
        Some(router),
        &from("198.51.100.7"),
    )
    .await
    .unwrap();
    assert!(first.request.status.is_open());
    assert_eq!(first.code, None);
    // Pressing Buy again while the prompt is on the phone finds the same purchase.
    let again = hotspot::buy(
        &isp.state,
        "hs-buy",
        plan,
        "0712555001",
        Some(router),
        &from("198.51.100.7"),
    )
    .await
    .unwrap();
    assert_eq!(again.request.id, first.request.id);
    let pushes = isp.sim.pushes();
    assert_eq!(pushes.len(), 1);
    assert_eq!(
        pushes[0].amount, 20,
        "the package's price in whole shillings"
    );
    assert_eq!(pushes[0].account_reference, "WIFI");
    assert_eq!(pushes[0].phone, "254712555001");

    let paid = settled(&isp, "hs-buy", first.request.id).await;
    assert_eq!(
        paid.request.status,
        RequestStatus::Paid,
        "{}",
        paid.request.message
    );
    let code = paid.code.clone().expect("a paid purchase has its code");
    assert!(
        app::vouchers::model::normalise_code(&code).as_deref() == Some(code.as_str()),
        "{code} is a voucher code"
    );
    // The router has not been told yet: logging in would fail, so the page waits.
    assert!(!paid.ready);
    let round = worker::round(&isp.state, false).await.unwrap();
    assert!(round.queued >= 1, "the code was queued for the router");
    let (disabled, profile) =
        user(&router_sim, "/ip/hotspot/user", &code).expect("the code is a hotspot user");
    assert!(!disabled);
    assert!(profile.is_some());
    let ready = hotspot::status(&isp.state, "hs-buy", first.request.id)
        .await
        .unwrap();
    assert!(ready.ready, "the router confirmed the code");
    assert_eq!(ready.code.as_deref(), Some(code.as_str()));

    // Both callbacks arrived; one voucher, one sale, no payment and no customer.
    for _ in 0..200 {
        if isp.sim.pushes()[0].callbacks_delivered >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(isp.sim.pushes()[0].callbacks_delivered, 2);
    assert_eq!(isp.scalar("select count(*) from vouchers").await, 1);
    assert_eq!(
        isp.scalar(&format!(
            "select count(*) from vouchers where router_id = '{router}' and plan_id = '{plan}' and status = 'available'"
        ))
        .await,
        1
    );
    assert_eq!(isp.scalar("select count(*) from payments").await, 0);
    assert_eq!(isp.scalar("select count(*) from customers").await, 0);
    assert_eq!(
        isp.scalar("select count(*) from ledger_transactions where kind = 'sale'")
            .await,
        1
    );
    assert_eq!(
        isp.scalar("select coalesce(sum(amount_minor), 0)::bigint from ledger_entries where account = 'clearing:mpesa'")
            .await,
        2000
    );
    assert_eq!(
        isp.scalar("select coalesce(sum(amount_minor), 0)::bigint from ledger_entries where account = 'revenue:hotspot'")
            .await,
        -2000
    );
    isp.assert_ledger_balanced().await;
    assert_eq!(
        isp.scalar(
            "select count(*) from provider_events where kind = 'stk_callback' and outcome = 'sold'"
        )
        .await,
        1
    );
    // The code is texted to the phone that paid, once.
    assert_eq!(
        isp.scalar(&format!(
            "select count(*) from sms_outbox where kind = 'voucher_sold' and recipient = '254712555001' and body like '%{code}%'"
        ))
        .await,
        1
    );
    // Should the paybill also confirm the receipt that paid for the sale, it is not credited
    // again nor left for staff to assign.
    let receipt = isp.sim.pushes()[0].receipt.clone();
    let payload = serde_json::json!({
        "TransactionType": "Pay Bill", "TransID": receipt, "TransTime": "20261129101500",
        "TransAmount": "20.00", "BusinessShortCode": support::isp::SHORTCODE,
        "BillRefNumber": "WIFI", "MSISDN": "2547 ***** 001", "FirstName": "Hotspot"
    });
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    let event = app::payments::events::claim(
        &mut tx,
        app::payments::events::EventKind::C2bConfirmation,
        &receipt,
        &payload,
        isp.state.clock.now(),
    )
    .await
    .unwrap()
    .unwrap();
    tx.commit().await.unwrap();
    let applied = app::payments::c2b::apply_stored(
        &isp.state.db,
        isp.state.clock.now(),
        isp.tenant,
        &[event],
    )
    .await;
    assert_eq!(applied[&event], app::payments::c2b::Applied::Replay);
    assert_eq!(isp.scalar("select count(*) from payments").await, 0);
    assert_eq!(
        isp.scalar("select count(*) from unmatched_payments").await,
        0
    );
    assert_eq!(
        isp.scalar(&format!(
            "select count(*) from provider_events where event_id = '{receipt}' and outcome = 'sold'"
        ))
        .await,
        1
    );

    // The operator's report counts the sale as collected and as hotspot sales.
    let summary = app::billing::queries::summary(&isp.state, &isp.staff, None, None)
        .await
        .unwrap();
    assert_eq!(summary.sold_minor, 2000);
    assert_eq!(summary.collected_minor, 2000);
}

#[tokio::test]
async fn a_sale_settles_by_query_and_failures_or_strangers_sell_nothing() {
    let isp = isp("hs-edge").await;
    let plan = hotspot_plan(&isp).await;
    isp.db.tenant("hs-other", "Other Net").await;
    isp.sim.set_stk_timing(Timing {
        answer_after: Duration::from_millis(100),
        ..Timing::default()
    });

    // No callback: the STK query finds the payment and sells the package. Without a router
    // (an address the page did not know), the code is answered by RADIUS: ready at once.
    isp.sim
        .set_stk_scenario(Some("254712555002"), Scenario::NoCallback);
    let quiet = hotspot::buy(
        &isp.state,
        "hs-edge",
        plan,
        "0712555002",
        Some(Uuid::new_v4()),
        &from("198.51.100.8"),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let later = isp.state.clock.now() + chrono::Duration::seconds(20);
    let mut moved = isp.state.clone();
    moved.clock = app::clock::Clock::manual(later);
    stk::poll_due(&moved, later).await.unwrap();
    let sold = hotspot::status(&isp.state, "hs-edge", quiet.request.id)
        .await
        .unwrap();
    assert_eq!(
        sold.request.status,
        RequestStatus::Paid,
        "{}",
        sold.request.message
    );
    assert!(sold.code.is_some() && sold.ready);
    assert_eq!(
        isp.scalar("select count(*) from vouchers where router_id is null")
            .await,
        1
    );

    // Cancelled on the phone: nothing sold, nothing posted.
    isp.sim
        .set_stk_scenario(Some("254712555003"), Scenario::Cancelled);
    let cancelled = hotspot::buy(
        &isp.state,
        "hs-edge",
        plan,
        "0712555003",
        None,
        &from("198.51.100.8"),
    )
    .await
    .unwrap();
    let cancelled = settled(&isp, "hs-edge", cancelled.request.id).await;
    assert_eq!(cancelled.request.status, RequestStatus::Failed);
    assert_eq!(cancelled.code, None);
    assert_eq!(isp.scalar("select count(*) from vouchers").await, 1);
    assert_eq!(
        isp.scalar("select count(*) from ledger_transactions where kind = 'sale'")
            .await,
        1
    );

    // Another ISP's page knows nothing of this purchase; nor does a customer's request show
    // through the hotspot.
    let foreign = hotspot::status(&isp.state, "hs-other", quiet.request.id).await;
    assert!(
        matches!(foreign, Err(AppError::NotFound { .. })),
        "{foreign:?}"
    );
    let (customer, _) = isp.customer("Wanjiru Paying", "0712555009").await;
    let request = stk::push(
        &isp.state,
        isp.tenant,
        &stk::PushIn {
            customer,
            phone: "0712555009".into(),
            amount: None,
            invoice: None,
            source: stk::Source::Staff,
            requested_by: None,
        },
    )
    .await
    .unwrap();
    let hidden = hotspot::status(&isp.state, "hs-edge", request).await;
    assert!(
        matches!(hidden, Err(AppError::NotFound { .. })),
        "{hidden:?}"
    );

    // Only hotspot packages on sale can be bought.
    let pppoe = isp
        .scalar_uuid("select id from plans where kind = 'pppoe' limit 1")
        .await;
    let refused = hotspot::buy(
        &isp.state,
        "hs-edge",
        pppoe,
        "0712555004",
        None,
        &from("198.51.100.8"),
    )
    .await;
    assert!(
        matches!(&refused, Err(AppError::Invalid { field, .. }) if field == "plan"),
        "{refused:?}"
    );

    // One phone gets a few prompts an hour, not an endless stream.
    isp.sim
        .set_stk_scenario(Some("254712555005"), Scenario::Cancelled);
    let mut refused_after = None;
    for attempt in 0..8 {
        match hotspot::buy(
            &isp.state,
            "hs-edge",
            plan,
            "0712555005",
            None,
            &from("198.51.100.9"),
        )
        .await
        {
            Ok(p) => {
                settled(&isp, "hs-edge", p.request.id).await;
            }
            Err(AppError::Invalid { field, .. }) if field == "phone" => {
                refused_after = Some(attempt);
                break;
            }
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(
        refused_after,
        Some(usize::try_from(hotspot::PROMPTS_PER_PHONE_HOUR).unwrap())
    );
    isp.assert_ledger_balanced().await;
}

#[tokio::test]
async fn vouchers_redeem_while_usable_and_wrong_guesses_are_slowed() {
    let isp = isp("hs-code").await;
    let plan = hotspot_plan(&isp).await;
    let input = VoucherForm {
        plan_id: plan.to_string(),
        router_id: String::new(),
        count: "2".into(),
        valid_days: "30".into(),
    }
    .check()
    .unwrap();
    vouchers::generate(&isp.state, &isp.staff, &input, &RequestMeta::default())
        .await
        .unwrap();
    let first = isp
        .scalar_uuid("select id from vouchers order by code limit 1")
        .await;
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    let (code, second): (String, String) = sqlx::query_as(
        "select (select code from vouchers order by code limit 1),
                (select code from vouchers order by code desc limit 1)",
    )
    .fetch_one(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();

    // Typed as people type it: lower case, without the dash.
    let typed = code.replace('-', "").to_lowercase();
    let ok = hotspot::redeem(&isp.state, "hs-code", &typed, &from("203.0.113.5"))
        .await
        .unwrap();
    assert_eq!(ok.code, code);
    assert_eq!(ok.plan, "Hour 20");
    assert!(ok.ready, "a voucher without a router is answered by RADIUS");

    // Used up, it is refused with the reason.
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    sqlx::query("update vouchers set status = 'expired', ended_at = now() where id = $1")
        .bind(first)
        .execute(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let over = hotspot::redeem(&isp.state, "hs-code", &code, &from("203.0.113.5")).await;
    assert!(
        matches!(&over, Err(AppError::Invalid { reason, .. }) if reason.contains("expired")),
        "{over:?}"
    );

    // Another ISP's hotspot does not know this ISP's codes.
    isp.db.tenant("hs-code-b", "Other Net").await;
    let elsewhere = hotspot::redeem(&isp.state, "hs-code-b", &second, &from("203.0.113.6")).await;
    assert!(
        matches!(&elsewhere, Err(AppError::Invalid { field, .. }) if field == "code"),
        "{elsewhere:?}"
    );

    // Guessing from one address is slowed down; the real code still works from elsewhere.
    let mut throttled = false;
    for n in 0..=hotspot::WRONG_CODES_PER_ADDRESS_HOUR {
        match hotspot::redeem(
            &isp.state,
            "hs-code",
            &format!("ZZZZ{:04}", 2000 + n)
                .replace('0', "2")
                .replace('1', "3"),
            &from("203.0.113.66"),
        )
        .await
        {
            Err(AppError::Throttled { .. }) => {
                throttled = true;
                break;
            }
            Err(AppError::Invalid { .. }) => {}
            other => panic!("{other:?}"),
        }
    }
    assert!(throttled);
    let blocked = hotspot::redeem(&isp.state, "hs-code", &second, &from("203.0.113.66")).await;
    assert!(
        matches!(blocked, Err(AppError::Throttled { .. })),
        "{blocked:?}"
    );
    hotspot::redeem(&isp.state, "hs-code", &second, &from("203.0.113.67"))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_page_reads_without_javascript_and_the_router_file_is_for_staff() {
    let isp = isp("hs-html").await;
    hotspot_plan(&isp).await;
    let router_sim = sim().await;
    let router = api_router(&isp, &router_sim).await;
    let mut client = Client::new(isp.state.clone());
    let page = client
        .get(&format!(
            "/hotspot/hs-html?router={router}&mac=AA%3ABB&link-login=javascript%3Aalert(1)"
        ))
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Hour 20"), "{}", page.body);
    assert!(page.body.contains("KES 20"));
    assert!(page.body.contains("Use voucher"));
    assert!(
        !page.body.contains("javascript:alert"),
        "an unsafe login address is dropped"
    );
    let policy = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        policy.contains("form-action 'self' http: https:"),
        "{policy}"
    );
    let missing = client.get("/hotspot/no-such-isp").await;
    assert!(missing.body.contains("Hotspot not found"));

    // login.html: staff who manage routers only.
    let anonymous = client
        .get(&format!("/app/routers/{router}/login.html"))
        .await;
    assert_eq!(anonymous.status, 401);
    let html = hotspot::login_html(&isp.state, &isp.staff, router)
        .await
        .unwrap();
    assert!(html.contains(&format!("/hotspot/hs-html?router={router}&mac=$(mac-esc)")));
    let mut support = isp.staff.clone();
    support.role = app::auth::model::Role::Support;
    let refused = hotspot::login_html(&isp.state, &support, router).await;
    assert!(matches!(refused, Err(AppError::Forbidden)), "{refused:?}");
}
