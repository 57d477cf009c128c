//! Support tickets: a subscriber opens one from the portal, staff see it, reply (the subscriber
//! is texted), assign and close it, and the subscriber's reply opens it again. A subscriber
//! reaches only their own tickets; staff only their ISP's.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use app::{
    AppError,
    auth::session::RequestMeta,
    messaging::{africastalking::AtConfig, sms},
    portal::{service as portal, session::Subscriber},
    tickets::{model::TicketForm, service as tickets},
};
use server::simulators::sms::SmsSim;
use support::isp::{Isp, isp};

async fn subscriber(isp: &Isp, sim: &SmsSim, phone: &str, local: &str) -> Subscriber {
    isp.customer(&format!("Subscriber {phone}"), local).await;
    portal::request_code(&isp.state, "tickets-isp", local, &RequestMeta::default())
        .await
        .unwrap();
    sms::send_due(&isp.state).await.unwrap();
    let code = sim.last_code(phone).unwrap();
    let token = portal::verify_code(
        &isp.state,
        "tickets-isp",
        local,
        &code,
        &RequestMeta::default(),
    )
    .await
    .unwrap();
    portal::subscriber(&isp.state, "tickets-isp", Some(&token))
        .await
        .unwrap()
}

fn form(subject: &str) -> TicketForm {
    TicketForm {
        subject: subject.into(),
        category: "no_internet".into(),
        message: "The light is red since morning".into(),
    }
}

#[tokio::test]
async fn a_ticket_goes_from_the_portal_to_staff_and_back() {
    let mut isp = isp("tickets-isp").await;
    let sim = SmsSim::start("sandbox", "k").await.unwrap();
    isp.state.sms = sms::SmsSender::new(Some(AtConfig {
        base_url: sim.url(),
        username: "sandbox".into(),
        api_key: "k".into(),
        sender_id: None,
    }));
    let meta = RequestMeta::default();
    let alice = subscriber(&isp, &sim, "254712000501", "0712000501").await;
    let bob = subscriber(&isp, &sim, "254712000502", "0712000502").await;

    let bad = form("Hi").check();
    assert!(matches!(bad, Err(AppError::Invalid { ref field, .. }) if field == "subject"));
    let id = tickets::open(
        &isp.state,
        &alice,
        &form("No internet").check().unwrap(),
        &meta,
    )
    .await
    .unwrap();
    let second = tickets::open(
        &isp.state,
        &alice,
        &form("Still no internet").check().unwrap(),
        &meta,
    )
    .await
    .unwrap();

    // Staff see both, numbered, waiting for them.
    let list = tickets::list(&isp.state, &isp.staff, "open").await.unwrap();
    assert_eq!(list.open, 2);
    let mut numbers: Vec<i64> = list.tickets.iter().map(|t| t.number).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, [1, 2]);
    let page = tickets::page(&isp.state, &isp.staff, id).await.unwrap();
    assert_eq!(page.ticket.messages.len(), 1);
    assert_eq!(page.ticket.messages[0].staff_name, None);

    // A reply: answered, and Alice is texted about it.
    let before = sim.messages().len();
    tickets::reply(
        &isp.state,
        &isp.staff,
        id,
        "  We restarted your line.  ",
        &meta,
    )
    .await
    .unwrap();
    sms::send_due(&isp.state).await.unwrap();
    let texts = sim.messages();
    assert_eq!(texts.len(), before + 1);
    let text = &texts.last().unwrap();
    assert_eq!(text.to, "+254712000501");
    assert!(
        text.message.contains("#1") && text.message.contains("/portal/tickets-isp"),
        "{}",
        text.message
    );
    let empty = tickets::reply(&isp.state, &isp.staff, id, "   ", &meta).await;
    assert!(matches!(empty, Err(AppError::Invalid { ref field, .. }) if field == "message"));

    // Alice sees the reply on her portal; Bob sees nothing of hers and cannot write to it.
    let home = portal::home(&isp.state, "tickets-isp", &alice)
        .await
        .unwrap();
    let mine = home.tickets.iter().find(|t| t.id == id).unwrap();
    assert_eq!(mine.status, "answered");
    assert_eq!(mine.messages[1].body, "We restarted your line.");
    assert!(mine.messages[1].staff_name.is_some());
    let theirs = portal::home(&isp.state, "tickets-isp", &bob).await.unwrap();
    assert!(theirs.tickets.is_empty());
    let err = tickets::subscriber_reply(&isp.state, &bob, id, "me too", &meta).await;
    assert!(matches!(err, Err(AppError::NotFound { .. })), "{err:?}");

    // Assigned to one of the ISP's staff, never to a stranger; closed; opened again by Alice.
    tickets::assign(&isp.state, &isp.staff, id, Some(isp.staff.user_id), &meta)
        .await
        .unwrap();
    let stranger = tickets::assign(
        &isp.state,
        &isp.staff,
        id,
        Some(uuid::Uuid::new_v4()),
        &meta,
    )
    .await;
    assert!(matches!(stranger, Err(AppError::Invalid { .. })));
    tickets::close(&isp.state, &isp.staff, id, &meta)
        .await
        .unwrap();
    assert_eq!(
        tickets::list(&isp.state, &isp.staff, "closed")
            .await
            .unwrap()
            .closed,
        1
    );
    tickets::subscriber_reply(&isp.state, &alice, id, "It is down again", &meta)
        .await
        .unwrap();
    let page = tickets::page(&isp.state, &isp.staff, id).await.unwrap();
    assert_eq!(page.ticket.status, "open");
    assert_eq!(
        page.ticket.assigned_name.as_deref(),
        Some("Owner of C2B Net")
    );
    assert_eq!(page.ticket.messages.len(), 3);
    // The customer panel lists Alice's two.
    let panel = tickets::for_customer(&isp.state, &isp.staff, alice.customer_id)
        .await
        .unwrap();
    assert_eq!(panel.len(), 2);
    assert!(panel.iter().any(|t| t.id == second));

    // Another ISP's staff cannot see or touch it.
    let (other, owner) = isp.db.tenant("tickets-other", "Other Net").await;
    let stranger_staff = app::auth::identity::Staff {
        tenant: other,
        user_id: owner,
        ..isp.staff.clone()
    };
    let err = tickets::page(&isp.state, &stranger_staff, id).await;
    assert!(matches!(err, Err(AppError::NotFound { .. })), "{err:?}");
    let err = tickets::close(&isp.state, &stranger_staff, id, &meta).await;
    assert!(matches!(err, Err(AppError::NotFound { .. })), "{err:?}");
    assert_eq!(
        tickets::list(&isp.state, &stranger_staff, "all")
            .await
            .unwrap()
            .tickets
            .len(),
        0
    );
}
