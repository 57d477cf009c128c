//! Hotspot vouchers: a batch is made with unambiguous unique codes, pushed to its router as
//! hotspot users (code as password, the plan's time as the uptime limit), answered by RADIUS
//! without a router, marked used when first seen (in accounting or on the router), and removed
//! when its shelf life or its time runs out; the printable sheet lists what is left.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use std::collections::HashSet;

use app::{
    auth::session::RequestMeta,
    network::radius_packet::{ACCESS_ACCEPT, ACCESS_REJECT, attr},
    vouchers::{
        model::{VoucherForm, VoucherStatus},
        service as vouchers,
    },
};
use chrono::Duration as Span;
use server::simulators::nas::Acct;
use support::net::{net, radius_nas, sim, user};
use uuid::Uuid;

async fn make(net: &support::net::Net, router: Option<Uuid>, count: &str, days: &str) -> Uuid {
    let input = VoucherForm {
        plan_id: net.plan("Hotspot day").await.to_string(),
        router_id: router.map(|r| r.to_string()).unwrap_or_default(),
        count: count.into(),
        valid_days: days.into(),
    }
    .check()
    .unwrap();
    vouchers::generate(&net.state, &net.staff, &input, &RequestMeta::default())
        .await
        .unwrap()
}

async fn codes(net: &support::net::Net, status: Option<VoucherStatus>) -> Vec<String> {
    vouchers::page(&net.state, &net.staff, status, None)
        .await
        .unwrap()
        .vouchers
        .into_iter()
        .map(|v| v.code)
        .collect()
}

#[tokio::test]
async fn a_batch_has_unique_readable_codes_and_a_sheet_to_print() {
    let net = net("vouchers-make", None).await;
    let batch = make(&net, None, "120", "30").await;
    let all = codes(&net, None).await;
    assert_eq!(all.len(), 120);
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 120, "unique");
    for code in &all {
        assert_eq!(
            app::vouchers::model::normalise_code(code).as_deref(),
            Some(code.as_str())
        );
    }
    let sheet = vouchers::sheet(&net.state, &net.staff, batch)
        .await
        .unwrap();
    assert_eq!(sheet.codes.len(), 120);
    assert_eq!(sheet.business, "Net ISP");
    assert_eq!(sheet.plan_name, "Hotspot day");
    assert_eq!(sheet.validity, "1 day");
    // Only hotspot plans sell as vouchers; support may not make them.
    let form = VoucherForm {
        plan_id: net.plan("Home 8").await.to_string(),
        count: "5".into(),
        ..VoucherForm::default()
    };
    let err = vouchers::generate(
        &net.state,
        &net.staff,
        &form.check().unwrap(),
        &RequestMeta::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, app::AppError::Invalid { ref field, .. } if field == "plan_id"));
    let mut support = net.staff.clone();
    support.role = app::auth::model::Role::Support;
    let form = VoucherForm {
        plan_id: net.plan("Hotspot day").await.to_string(),
        ..form
    };
    let err = vouchers::generate(
        &net.state,
        &support,
        &form.check().unwrap(),
        &RequestMeta::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(err, app::AppError::Forbidden);
}

#[tokio::test]
async fn router_vouchers_are_pushed_used_when_seen_and_removed_when_over() {
    let net = net("vouchers-router", None).await;
    let router_sim = sim().await;
    let router = net.api_router("Hotspot", &router_sim).await;
    make(&net, Some(router), "3", "7").await;
    net.round().await;
    let users = router_sim.items("/ip/hotspot/user");
    assert_eq!(users.len(), 3);
    for u in &users {
        assert_eq!(u.get("password"), u.get("name"), "the code is the password");
        assert_eq!(u.get("limit-uptime").map(String::as_str), Some("1d"));
        assert_eq!(
            u.get("profile").map(String::as_str),
            Some("jasiyo-1M-3M-x2")
        );
    }
    // One is logged in on the router: the next look marks it used.
    let code = codes(&net, None).await.remove(0);
    router_sim.insert(
        "/ip/hotspot/active",
        &[("user", &code), ("address", "10.5.50.9")],
    );
    net.state.clock.advance(Span::seconds(11));
    net.round().await;
    assert_eq!(
        codes(&net, Some(VoucherStatus::Used)).await,
        std::slice::from_ref(&code)
    );
    // A day on, the used one has had its day and leaves the router; the others wait.
    net.state.clock.advance(Span::days(1));
    let round = net.round().await;
    assert_eq!(round.queued, 1);
    assert!(user(&router_sim, "/ip/hotspot/user", &code).is_none());
    assert_eq!(router_sim.items("/ip/hotspot/user").len(), 2);
    // A week on, the unused ones have passed their shelf life too.
    net.state.clock.advance(Span::days(7));
    net.round().await;
    assert!(router_sim.items("/ip/hotspot/user").is_empty());
    assert_eq!(codes(&net, Some(VoucherStatus::Expired)).await.len(), 3);
    let reasons: Vec<String> = net
        .commands(router)
        .await
        .into_iter()
        .map(|c| c.reason)
        .collect();
    assert_eq!(reasons.iter().filter(|r| *r == "removed").count(), 3);
}

#[tokio::test]
async fn radius_answers_vouchers_and_accounting_marks_them_used() {
    let net = net("vouchers-radius", None).await;
    let (state, auth, acct, _, nas) = radius_nas(&net, 21).await;
    // Vouchers with no router: RADIUS answers them.
    make(&net, None, "2", "7").await;
    let code = codes(&net, None).await.remove(0);
    // Typed in lower case without the dash: still the voucher.
    let typed = code.replace('-', "").to_lowercase();
    let answer = nas.access_pap(auth, &code, &typed).await.unwrap().unwrap();
    assert_eq!(answer.packet.code, ACCESS_ACCEPT);
    assert_eq!(answer.packet.integer(attr::SESSION_TIMEOUT), Some(86_400));
    let wrong = nas
        .access_pap(auth, &code, "ABCD-EFGH")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(wrong.packet.code, ACCESS_REJECT);
    // First seen in accounting: used, its day runs from now.
    let start = Acct {
        status: 1,
        session_id: "v-1",
        username: &code,
        ..Acct::default()
    };
    nas.accounting(acct, &start).await.unwrap().unwrap();
    assert_eq!(
        codes(&net, Some(VoucherStatus::Used)).await,
        std::slice::from_ref(&code)
    );
    state.clock.advance(Span::hours(20));
    let answer = nas.access_pap(auth, &code, &code).await.unwrap().unwrap();
    assert_eq!(
        answer.packet.integer(attr::SESSION_TIMEOUT),
        Some(4 * 3_600)
    );
    // After its day: refused as expired.
    state.clock.advance(Span::hours(4));
    let answer = nas.access_pap(auth, &code, &code).await.unwrap().unwrap();
    assert_eq!(answer.packet.code, ACCESS_REJECT);
    assert!(
        answer
            .packet
            .text(attr::REPLY_MESSAGE)
            .unwrap()
            .contains("expired")
    );
}
