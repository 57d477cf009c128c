//! The subscriber portal's sign-in: one-time codes sent by SMS through the outbox to the
//! Africa's Talking simulator (expiry, wrong codes, the try limit, throttling per number and per
//! address, strangers' numbers, one ISP's code at another's portal), passwords, sessions that
//! reach only their own ISP and customer, and the SMS outbox's rules for resending.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use app::{
    AppError,
    auth::session::RequestMeta,
    messaging::{africastalking::AtConfig, sms},
    portal::{service as portal, session},
};
use axum::{body::Body, http::Request};
use server::simulators::sms::{SmsSim, Trouble};
use support::{
    client::Client,
    isp::{Isp, isp},
};
use uuid::Uuid;

struct Portal {
    isp: Isp,
    sms: SmsSim,
    slug: String,
}

const PHONE: &str = "254712000401";

async fn portal(slug: &str) -> Portal {
    let mut isp = isp(slug).await;
    isp.settings(false).await;
    let sms = SmsSim::start("sandbox", "at-key-1").await.unwrap();
    isp.state.sms = sms::SmsSender::new(Some(AtConfig {
        base_url: sms.url(),
        username: "sandbox".into(),
        api_key: "at-key-1".into(),
        sender_id: None,
    }));
    Portal {
        isp,
        sms,
        slug: slug.to_string(),
    }
}

fn meta(last: u8) -> RequestMeta {
    RequestMeta {
        ip: Some(std::net::IpAddr::from([10, 0, 0, last])),
        user_agent: Some("test".into()),
    }
}

impl Portal {
    /// Asks for a code for `phone` and sends it; the code the phone got.
    async fn code(&self, phone: &str) -> String {
        portal::request_code(&self.isp.state, &self.slug, phone, &meta(1))
            .await
            .unwrap();
        sms::send_due(&self.isp.state).await.unwrap();
        self.sms.last_code(phone).expect("a code was sent")
    }

    async fn verify(&self, phone: &str, code: &str) -> Result<String, AppError> {
        portal::verify_code(&self.isp.state, &self.slug, phone, code, &meta(1)).await
    }

    fn advance(&self, seconds: i64) {
        self.isp
            .state
            .clock
            .advance(chrono::Duration::seconds(seconds));
    }
}

fn reason(err: AppError) -> String {
    match err {
        AppError::Invalid { reason, .. } => reason,
        other => panic!("not a field error: {other:?}"),
    }
}

#[tokio::test]
async fn a_code_signs_in_once_and_not_after_five_minutes() {
    let p = portal("portal-code").await;
    let (customer, _) = p.isp.customer("Achieng", "0712000401").await;
    let code = p.code(PHONE).await;
    let sent = p.sms.messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, format!("+{PHONE}"));
    assert!(sent[0].message.contains("C2B Net"), "{}", sent[0].message);

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let err = reason(p.verify(PHONE, wrong).await.unwrap_err());
    assert!(err.contains("4 more tries"), "{err}");
    // Local form of the number works too.
    let token = p.verify("0712 000 401", &code).await.unwrap();
    let who = session::resolve(&p.isp.state.db, &token, p.isp.state.clock.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (who.tenant, who.customer_id, who.phone.as_deref()),
        (p.isp.tenant, customer, Some(PHONE))
    );
    // Used once, never again.
    let err = reason(p.verify(PHONE, &code).await.unwrap_err());
    assert!(err.contains("expired"), "{err}");

    // A new code, but not within a minute of the last.
    let early = portal::request_code(&p.isp.state, &p.slug, PHONE, &meta(1)).await;
    assert!(
        matches!(early, Err(AppError::Throttled { .. })),
        "{early:?}"
    );
    p.advance(61);
    let code = p.code(PHONE).await;
    p.advance(5 * 60 + 1);
    let err = reason(p.verify(PHONE, &code).await.unwrap_err());
    assert!(err.contains("expired"), "{err}");
    // Only the hash is kept.
    let stored = p
        .isp
        .scalar(&format!(
            "select count(*) from portal_codes where position('{code}'::bytea in code_hash) > 0"
        ))
        .await;
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn the_code_goes_in_the_subscribers_language_and_the_isps_own_words() {
    let p = portal("portal-swahili").await;
    let (customer, _) = p.isp.customer("Achieng", "0712000401").await;
    let mut tx = p.isp.db.db().tenant(p.isp.tenant).await.unwrap();
    sqlx::query("update customers set language = 'sw' where id = $1")
        .bind(customer)
        .execute(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let code = p.code(PHONE).await;
    let sent = p.sms.messages();
    assert!(
        sent[0]
            .message
            .starts_with(&format!("{code} ni nambari yako ya kuingia ")),
        "{}",
        sent[0].message
    );
    assert!(
        sent[0].message.ends_with("Usimpe mtu yeyote."),
        "{}",
        sent[0].message
    );

    // The ISP's own Swahili words, from the next code on.
    let mut tx = p.isp.db.db().tenant(p.isp.tenant).await.unwrap();
    sqlx::query(
        "insert into message_templates (tenant_id, event, language, body, updated_at)
         values ($1, 'portal_otp', 'sw', 'Nambari ya {business}: {code}', now())",
    )
    .bind(p.isp.tenant.0)
    .execute(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    p.advance(61);
    let again = p.code(PHONE).await;
    let last = p.sms.messages().pop().unwrap().message;
    assert!(last.starts_with("Nambari ya "), "{last}");
    assert!(last.ends_with(&format!(": {again}")), "{last}");
}

#[tokio::test]
async fn five_wrong_codes_use_the_code_up() {
    let p = portal("portal-tries").await;
    p.isp.customer("Kamau", "0712000401").await;
    let code = p.code(PHONE).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in (0..5).rev() {
        let err = reason(p.verify(PHONE, wrong).await.unwrap_err());
        if left > 0 {
            assert!(err.contains(&format!("{left} more")), "{err}");
        } else {
            assert!(err.contains("last try"), "{err}");
        }
    }
    let err = reason(p.verify(PHONE, &code).await.unwrap_err());
    assert!(
        err.contains("too many"),
        "the right code no longer works: {err}"
    );
}

#[tokio::test]
async fn codes_are_limited_per_number_and_per_address() {
    let p = portal("portal-throttle").await;
    p.isp.customer("Wanjiku", "0712000401").await;
    for _ in 0..5 {
        p.code(PHONE).await;
        p.advance(61);
    }
    let sixth = portal::request_code(&p.isp.state, &p.slug, PHONE, &meta(1)).await;
    assert!(
        matches!(
            sixth,
            Err(AppError::Throttled {
                retry_after_seconds: 3600
            })
        ),
        "{sixth:?}"
    );
    // One address asking for many numbers' codes is slowed down (strangers' numbers included).
    let mut refused = None;
    for n in 0..80 {
        let phone = format!("07220005{n:02}");
        if let Err(err) = portal::request_code(&p.isp.state, &p.slug, &phone, &meta(9)).await {
            refused = Some((n, err));
            break;
        }
    }
    let (n, err) = refused.expect("the address was throttled");
    assert!(matches!(err, AppError::Throttled { .. }), "{err:?}");
    assert_eq!(
        n,
        portal::CODE_REQUESTS_PER_ADDRESS_HOUR as usize,
        "after the address's free requests this hour"
    );
    // The next hour the address starts afresh (shared mobile addresses are not locked out).
    p.advance(3600);
    portal::request_code(&p.isp.state, &p.slug, "0722000599", &meta(9))
        .await
        .unwrap();
    // Another address is not.
    portal::request_code(&p.isp.state, &p.slug, "0722000600", &meta(10))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_strangers_number_gets_the_same_answer_and_no_sms() {
    let p = portal("portal-stranger").await;
    portal::request_code(&p.isp.state, &p.slug, "0799000001", &meta(1))
        .await
        .unwrap();
    assert_eq!(sms::send_due(&p.isp.state).await.unwrap(), 0);
    assert_eq!(p.sms.requests(), 0);
    assert_eq!(p.isp.scalar("select count(*) from portal_codes").await, 0);
    // And a malformed number is a field error, not a silent nothing.
    let bad = portal::request_code(&p.isp.state, &p.slug, "12345", &meta(1)).await;
    assert!(matches!(bad, Err(AppError::Invalid { ref field, .. }) if field == "phone"));
}

#[tokio::test]
async fn a_code_and_a_session_of_one_isp_are_nothing_at_another() {
    let p = portal("portal-alpha").await;
    p.isp.customer("Otieno", "0712000401").await;
    // A second ISP in the same database with a customer on the same number.
    let (other, _) = p.isp.db.tenant("portal-beta", "Beta Net").await;
    let mut tx = p.isp.db.db().tenant(other).await.unwrap();
    sqlx::query(
        "insert into customers (tenant_id, id, account_number, name, phone, created_at, updated_at)
         values ($1, gen_random_uuid(), 'B1', 'Otieno at Beta', $2, now(), now())",
    )
    .bind(other.0)
    .bind(PHONE)
    .execute(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let code = p.code(PHONE).await;
    let at_beta = portal::verify_code(&p.isp.state, "portal-beta", PHONE, &code, &meta(1)).await;
    assert!(
        matches!(at_beta, Err(AppError::Invalid { .. })),
        "{at_beta:?}"
    );
    let token = p.verify(PHONE, &code).await.unwrap();
    // The session opens Alpha's portal and not Beta's.
    let mine = portal::subscriber(&p.isp.state, &p.slug, Some(&token)).await;
    assert!(mine.is_ok());
    let theirs = portal::subscriber(&p.isp.state, "portal-beta", Some(&token)).await;
    assert!(
        matches!(theirs, Err(AppError::Unauthenticated)),
        "{theirs:?}"
    );
}

#[tokio::test]
async fn a_subscriber_sees_only_their_own_account_over_http() {
    let p = portal("portal-http").await;
    let (mine, account) = p.isp.customer("Njeri", "0712000401").await;
    let (_, other_account) = p.isp.customer("Mutua", "0712000402").await;
    let code = p.code(PHONE).await;
    let token = p.verify(PHONE, &code).await.unwrap();

    let mut client = Client::new(p.isp.state.clone());
    let overview = |client: &mut Client, slug: &str, cookie: Option<String>| {
        let request = Request::post("/api/portal/overview")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json");
        let request = match cookie {
            Some(c) => request.header("cookie", c),
            None => request,
        };
        let request = request.body(Body::from(format!("slug={slug}"))).unwrap();
        let mut client = client.clone();
        async move { client.send(request).await }
    };
    let cookie = format!("{}={token}", session::COOKIE);
    let reply = overview(&mut client, &p.slug, Some(cookie.clone())).await;
    assert!(reply.status.is_success(), "{}", reply.body);
    let home = reply.json();
    assert_eq!(home["pay"]["account_number"], account);
    assert_eq!(home["pay"]["customer_name"], "Njeri");
    assert_eq!(home["services"].as_array().unwrap().len(), 1);
    let invoices = home["invoices"].as_array().unwrap();
    assert_eq!(invoices.len(), 1, "their first month's invoice only");
    let their_invoices = p
        .isp
        .scalar(&format!(
            "select count(*) from invoices where customer_id = '{mine}'"
        ))
        .await;
    assert_eq!(their_invoices, 1);
    assert!(
        !reply.body.contains("Mutua") && !reply.body.contains(&format!("\"{other_account}\"")),
        "nothing of the other customer"
    );
    // The staff cookie name does not work, no cookie does not, a forged token does not.
    for cookie in [
        Some(format!("jasiyo_session={token}")),
        None,
        Some(format!("{}={}", session::COOKIE, "ab".repeat(32))),
    ] {
        let reply = overview(&mut client, &p.slug, cookie).await;
        assert_eq!(reply.error(), AppError::Unauthenticated, "{}", reply.body);
    }
    // Signing out ends the session.
    let who = portal::subscriber(&p.isp.state, &p.slug, Some(&token))
        .await
        .unwrap();
    portal::sign_out(&p.isp.state, &who).await.unwrap();
    let reply = overview(&mut client, &p.slug, Some(cookie)).await;
    assert_eq!(reply.error(), AppError::Unauthenticated);
}

#[tokio::test]
async fn a_password_signs_in_with_the_account_number_and_is_throttled() {
    let p = portal("portal-password").await;
    let (_, account) = p.isp.customer("Chebet", "0712000401").await;
    let code = p.code(PHONE).await;
    let token = p.verify(PHONE, &code).await.unwrap();
    let who = portal::subscriber(&p.isp.state, &p.slug, Some(&token))
        .await
        .unwrap();
    let short = portal::set_password(&p.isp.state, &who, "short", &meta(1)).await;
    assert!(matches!(short, Err(AppError::Invalid { ref field, .. }) if field == "password"));
    portal::set_password(&p.isp.state, &who, "chebet-pass-1", &meta(1))
        .await
        .unwrap();

    let token = portal::sign_in_password(
        &p.isp.state,
        &p.slug,
        &account.to_lowercase(),
        "chebet-pass-1",
        &meta(2),
    )
    .await
    .unwrap();
    let who = portal::subscriber(&p.isp.state, &p.slug, Some(&token))
        .await
        .unwrap();
    assert_eq!(who.phone, None);
    // Five wrong passwords, then even the right one waits.
    for _ in 0..5 {
        let err = portal::sign_in_password(&p.isp.state, &p.slug, &account, "wrong-pass", &meta(3))
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::Invalid { .. }), "{err:?}");
    }
    let locked =
        portal::sign_in_password(&p.isp.state, &p.slug, &account, "chebet-pass-1", &meta(4)).await;
    assert!(
        matches!(locked, Err(AppError::Throttled { .. })),
        "{locked:?}"
    );
    // An unknown account is told the same as a wrong password.
    let unknown =
        portal::sign_in_password(&p.isp.state, &p.slug, "NOPE1", "chebet-pass-1", &meta(5))
            .await
            .unwrap_err();
    assert_eq!(
        reason(unknown),
        "the account number or password is not right"
    );
}

#[tokio::test]
async fn the_sms_outbox_never_resends_what_may_have_gone() {
    let p = portal("portal-outbox").await;
    let (customer, _) = p.isp.customer("Auma", "0712000401").await;
    let queue = |kind: &'static str| {
        let state = p.isp.state.clone();
        let tenant = p.isp.tenant;
        async move {
            let mut tx = state.db.tenant(tenant).await.unwrap();
            let id = sms::enqueue(
                &mut tx,
                state.clock.now(),
                &sms::Sms {
                    customer: Some(customer),
                    kind,
                    recipient: PHONE,
                    body: "Hello",
                    urgent: false,
                },
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
            id
        }
    };
    let status = |id: Uuid| {
        let isp = &p.isp;
        async move {
            let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
            let row: (String, i32, Option<String>) =
                sqlx::query_as("select status, attempts, error from sms_outbox where id = $1")
                    .bind(id)
                    .fetch_one(tx.conn())
                    .await
                    .unwrap();
            tx.commit().await.unwrap();
            row
        }
    };
    // The gateway fails after taking the request: unknown, and never sent again.
    let unknown = queue("test_unknown").await;
    p.sms.trouble(Trouble::ServerError);
    sms::send_due(&p.isp.state).await.unwrap();
    assert_eq!(status(unknown).await.0, "unknown");
    p.advance(3600);
    sms::send_due(&p.isp.state).await.unwrap();
    assert_eq!(p.sms.requests(), 1, "not tried again");
    // A bad number: failed for good.
    let bad = queue("test_bad").await;
    p.sms.trouble(Trouble::Status(403));
    sms::send_due(&p.isp.state).await.unwrap();
    let (state, attempts, error) = status(bad).await;
    assert_eq!((state.as_str(), attempts), ("failed", 1));
    assert!(error.unwrap().contains("403"));
    // No balance: nothing went out, so it goes again later, and then succeeds.
    let later = queue("test_balance").await;
    p.sms.trouble(Trouble::Status(405));
    sms::send_due(&p.isp.state).await.unwrap();
    assert_eq!(status(later).await.0, "queued");
    sms::send_due(&p.isp.state).await.unwrap();
    assert_eq!(status(later).await.1, 1, "not before its back-off");
    p.advance(60);
    sms::send_due(&p.isp.state).await.unwrap();
    assert_eq!(status(later).await.0, "sent");
    assert_eq!(p.sms.messages().len(), 1);
    // A sender that died mid-send leaves `sending`: settled as unknown, not resent.
    let stuck = queue("test_stuck").await;
    let mut tx = p.isp.db.db().tenant(p.isp.tenant).await.unwrap();
    sqlx::query("update sms_outbox set status = 'sending' where id = $1")
        .bind(stuck)
        .execute(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    p.advance(6 * 60);
    sms::send_due(&p.isp.state).await.unwrap();
    assert_eq!(status(stuck).await.0, "unknown");
    assert_eq!(p.sms.messages().len(), 1);
}

async fn add_plan(isp: &Isp, name: &str, kind: &str, price: &str) -> Uuid {
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    let form = app::plans::model::PlanForm {
        name: name.into(),
        kind: kind.into(),
        price: price.into(),
        validity_count: "1".into(),
        validity_unit: "months".into(),
        download_mbps: "20".into(),
        upload_mbps: "10".into(),
        ..app::plans::model::PlanForm::default()
    };
    app::plans::service::insert_if_missing(&mut tx, &form, isp.state.clock.now())
        .await
        .unwrap();
    let id = sqlx::query_scalar("select id from plans where name = $1")
        .bind(name)
        .fetch_one(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

#[tokio::test]
async fn a_subscriber_changes_plan_and_downloads_only_their_own_invoices() {
    let p = portal("portal-plan").await;
    // (The fixture's customers take the first plan it finds: the others come after them.)
    p.isp.customer("Kiprono", "0712000401").await;
    p.isp.customer("Moraa", "0712000402").await;
    let bigger = add_plan(&p.isp, "Home 20", "pppoe", "3,500").await;
    let hotspot = add_plan(&p.isp, "Hotspot month", "hotspot", "1,000").await;
    let code = p.code(PHONE).await;
    let token = p.verify(PHONE, &code).await.unwrap();
    let who = portal::subscriber(&p.isp.state, &p.slug, Some(&token))
        .await
        .unwrap();
    let home = portal::home(&p.isp.state, &p.slug, &who).await.unwrap();
    let service = &home.services[0];
    let names: Vec<_> = service.choices.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Home 20"], "same kind, not the current plan");
    // The preview the page shows is what gets billed.
    let preview =
        app::portal::model::plan_change_preview(service, &service.choices[0], home.vat, home.now);
    assert!(preview.contains("to pay now"), "{preview}");

    // Not another kind, not the same plan, not someone else's service.
    let err = portal::change_plan(&p.isp.state, &who, service.id, hotspot, &meta(1)).await;
    assert!(matches!(err, Err(AppError::Invalid { .. })), "{err:?}");
    let err = portal::change_plan(&p.isp.state, &who, service.id, service.plan_id, &meta(1)).await;
    assert!(matches!(err, Err(AppError::Invalid { .. })), "{err:?}");
    let theirs: Uuid = {
        let mut tx = p.isp.db.db().tenant(p.isp.tenant).await.unwrap();
        sqlx::query_scalar(
            "select s.id from services s join customers c on c.tenant_id = s.tenant_id and c.id = s.customer_id
              where c.name = 'Moraa'",
        )
        .fetch_one(tx.conn())
        .await
        .unwrap()
    };
    let err = portal::change_plan(&p.isp.state, &who, theirs, bigger, &meta(1)).await;
    assert!(matches!(err, Err(AppError::NotFound { .. })), "{err:?}");

    let owed_before = home.pay.owed_minor;
    portal::change_plan(&p.isp.state, &who, service.id, bigger, &meta(1))
        .await
        .unwrap();
    let home = portal::home(&p.isp.state, &p.slug, &who).await.unwrap();
    assert_eq!(home.services[0].plan, "Home 20");
    assert!(home.pay.owed_minor > owed_before, "the difference is due");
    assert_eq!(home.invoices.len(), 2, "the period and the plan change");

    // Invoice PDFs: their own, by the portal session; not the other customer's.
    let client = Client::new(p.isp.state.clone());
    let cookie = format!("{}={token}", session::COOKIE);
    let get = |uri: String, cookie: Option<String>| {
        let mut client = client.clone();
        async move {
            let request = Request::get(uri);
            let request = match cookie {
                Some(c) => request.header("cookie", c),
                None => request,
            };
            client.send(request.body(Body::empty()).unwrap()).await
        }
    };
    let mine = home.invoices[0].id;
    let reply = get(
        format!("/portal/{}/invoices/{mine}/pdf", p.slug),
        Some(cookie.clone()),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert!(reply.body.starts_with("%PDF"), "a PDF");
    let other: Uuid = {
        let mut tx = p.isp.db.db().tenant(p.isp.tenant).await.unwrap();
        sqlx::query_scalar(
            "select i.id from invoices i join customers c on c.tenant_id = i.tenant_id and c.id = i.customer_id
              where c.name = 'Moraa' limit 1",
        )
        .fetch_one(tx.conn())
        .await
        .unwrap()
    };
    let reply = get(
        format!("/portal/{}/invoices/{other}/pdf", p.slug),
        Some(cookie),
    )
    .await;
    assert_eq!(reply.status, 404);
    let reply = get(format!("/portal/{}/invoices/{mine}/pdf", p.slug), None).await;
    assert_eq!(reply.status, 401);
}

#[tokio::test]
async fn the_home_shows_data_used_and_the_isp_logo_is_public() {
    let p = portal("portal-usage").await;
    p.isp.customer("Wafula", "0712000401").await;
    let code = p.code(PHONE).await;
    let token = p.verify(PHONE, &code).await.unwrap();
    let who = portal::subscriber(&p.isp.state, &p.slug, Some(&token))
        .await
        .unwrap();
    let home = portal::home(&p.isp.state, &p.slug, &who).await.unwrap();
    assert_eq!(home.services[0].data_used_bytes, None, "no accounting yet");
    assert!(!home.has_logo);

    // A day into the period: two sessions in it, and one long before it (not counted).
    p.advance(86_400);
    let username = home.services[0].username.clone();
    let now = p.isp.state.clock.now();
    let mut tx = p.isp.db.db().tenant(p.isp.tenant).await.unwrap();
    let router = uuid::Uuid::new_v4();
    sqlx::query(
        "insert into routers (tenant_id, id, name, mode, secret_enc, created_at, updated_at)
         values ($1, $2, 'NAS', 'agent', '\\x00', now(), now())",
    )
    .bind(p.isp.tenant.0)
    .bind(router)
    .execute(tx.conn())
    .await
    .unwrap();
    for (id, started, bytes) in [
        ("s1", now - chrono::Duration::hours(5), 1_000_000_000_i64),
        ("s2", now - chrono::Duration::hours(1), 234_000_000),
        ("old", now - chrono::Duration::days(90), 9_000_000_000),
    ] {
        sqlx::query("select radius_sessions_partition($1)")
            .bind(started)
            .execute(tx.conn())
            .await
            .unwrap();
        sqlx::query(
            "insert into radius_sessions (tenant_id, router_id, session_id, started_at, username,
                                          input_bytes, output_bytes, updated_at)
             values ($1, $6, $2, $3, $4, $5, 0, $3)",
        )
        .bind(p.isp.tenant.0)
        .bind(id)
        .bind(started)
        .bind(&username)
        .bind(bytes)
        .bind(router)
        .execute(tx.conn())
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let home = portal::home(&p.isp.state, &p.slug, &who).await.unwrap();
    assert_eq!(home.services[0].data_used_bytes, Some(1_234_000_000));

    // The logo: none yet, then the one the owner uploaded, to anyone.
    let mut client = Client::new(p.isp.state.clone());
    let logo = format!("/portal/{}/logo", p.slug);
    assert_eq!(client.get(&logo).await.status, 404);
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR fake but correctly signed";
    app::settings::logo::save(&p.isp.state, &p.isp.staff, PNG, &meta(1))
        .await
        .unwrap();
    let reply = client.get(&logo).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["content-type"], "image/png");
    assert_eq!(client.get("/portal/no-such-isp/logo").await.status, 404);
    assert!(
        portal::home(&p.isp.state, &p.slug, &who)
            .await
            .unwrap()
            .has_logo
    );
}

/// What another customer has that a subscriber's calls could change: their service's plan, their
/// ticket's messages, their password and their open sessions.
async fn their_state(isp: &Isp, customer: Uuid) -> (Uuid, i64, i64, i64) {
    let plan = isp
        .scalar_uuid(&format!(
            "select plan_id from services where customer_id = '{customer}'"
        ))
        .await;
    let messages = isp
        .scalar(&format!(
            "select count(*) from ticket_messages m join tickets t on t.id = m.ticket_id
              where t.customer_id = '{customer}'"
        ))
        .await;
    let password = isp
        .scalar(&format!(
            "select count(*) from customers where id = '{customer}' and portal_password_hash is not null"
        ))
        .await;
    let sessions = isp
        .scalar(&format!(
            "select count(*) from portal_sessions where customer_id = '{customer}'"
        ))
        .await;
    (plan, messages, password, sessions)
}

/// One portal call of the probe: endpoint, arguments besides the slug, and whether any of them
/// is another customer's.
type ProbeCall<'a> = (&'a str, Vec<(&'a str, &'a str)>, bool);

/// Every portal function a signed-in subscriber can call, table-driven: with another customer's
/// ids at their own ISP's portal each refuses (404) and changes nothing of theirs; at another
/// ISP's portal each is unauthenticated (and signing out there ends nothing).
#[tokio::test]
async fn every_portal_function_refuses_other_customers_and_other_isps() {
    let p = portal("probe-a").await;
    p.isp.customer("Njeri", "0712000401").await;
    let (theirs, _) = p.isp.customer("Mutua", "0712000402").await;
    let other_plan = add_plan(&p.isp, "Home 20", "pppoe", "3000").await;
    p.isp.db.tenant("probe-b", "Other Net").await;
    let code = p.code(PHONE).await;
    let token = p.verify(PHONE, &code).await.unwrap();
    let their_code = p.code("254712000402").await;
    let their_token = p.verify("254712000402", &their_code).await.unwrap();
    let them = portal::subscriber(&p.isp.state, &p.slug, Some(&their_token))
        .await
        .unwrap();
    let ticket = app::tickets::service::open(
        &p.isp.state,
        &them,
        &app::tickets::model::TicketForm {
            subject: "No internet".into(),
            category: "no_internet".into(),
            message: "Down since morning".into(),
        }
        .check()
        .unwrap(),
        &meta(2),
    )
    .await
    .unwrap();
    let their_service = p
        .isp
        .scalar_uuid(&format!(
            "select id from services where customer_id = '{theirs}'"
        ))
        .await;
    let their_invoice = p
        .isp
        .scalar_uuid(&format!(
            "select id from invoices where customer_id = '{theirs}'"
        ))
        .await;
    let before = their_state(&p.isp, theirs).await;

    let (service, plan, ticket) = (
        their_service.to_string(),
        other_plan.to_string(),
        ticket.to_string(),
    );
    // (endpoint, arguments besides the slug, whether any of them is another customer's)
    let calls: Vec<ProbeCall> = vec![
        ("portal/overview", vec![], false),
        (
            "portal/change-plan",
            vec![("service", &service), ("plan", &plan)],
            true,
        ),
        (
            "portal/tickets/reply",
            vec![("id", &ticket), ("message", "Mine now")],
            true,
        ),
        (
            "portal/tickets/open",
            vec![
                ("form[subject]", "Slow"),
                ("form[category]", "slow"),
                ("form[message]", "Very slow"),
            ],
            false,
        ),
        (
            "portal/password",
            vec![("password", "a long new password 1")],
            false,
        ),
    ];
    let mut client = Client::new(p.isp.state.clone());
    for (endpoint, args, foreign) in &calls {
        // At another ISP's portal this session is nobody.
        client.cookie = Some(format!("{}={token}", session::COOKIE));
        let mut form = vec![("slug", "probe-b")];
        form.extend(args.iter().copied());
        let reply = client.call(&format!("/api/{endpoint}"), &form).await;
        assert_eq!(
            reply.status, 401,
            "{endpoint} at another ISP: {}",
            reply.body
        );
        assert_eq!(reply.error(), AppError::Unauthenticated, "{endpoint}");
        // At their own ISP, another customer's ids are not found.
        if *foreign {
            let mut form = vec![("slug", "probe-a")];
            form.extend(args.iter().copied());
            let reply = client.call(&format!("/api/{endpoint}"), &form).await;
            assert_eq!(
                reply.status, 404,
                "{endpoint} with another customer's id: {}",
                reply.body
            );
        }
    }
    // Signing out at another ISP's portal ends nothing here.
    client.cookie = Some(format!("{}={token}", session::COOKIE));
    let reply = client
        .call("/api/portal/sign-out", &[("slug", "probe-b")])
        .await;
    assert!(reply.status.is_success(), "{}", reply.body);
    portal::subscriber(&p.isp.state, &p.slug, Some(&token))
        .await
        .expect("the session at its own ISP is still there");
    client.cookie = Some(format!("{}={token}", session::COOKIE));
    let pdf = client
        .get(&format!("/portal/probe-a/invoices/{their_invoice}/pdf"))
        .await;
    assert_eq!(pdf.status, 404);
    let pdf = client
        .get(&format!("/portal/probe-b/invoices/{their_invoice}/pdf"))
        .await;
    assert_eq!(pdf.status, 401);
    assert_eq!(
        their_state(&p.isp, theirs).await,
        before,
        "nothing of theirs changed"
    );
}
