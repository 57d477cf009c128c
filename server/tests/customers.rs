//! Customers and services through their server functions: creating, the password sealed at rest
//! and revealed only to owners and admins, every panel action audited, search and filters, the
//! dashboard figures, deleting, and a plan in use that cannot be deleted.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use app::{AppError, auth::model::Role};
use axum::http::StatusCode;
use chrono::{Duration, TimeZone};
use serde_json::Value;
use support::{TestDb, client::Client, fresh_database};

const PLAN: &[(&str, &str)] = &[
    ("form[name]", "Home 10"),
    ("form[kind]", "pppoe"),
    ("form[price]", "2,500"),
    ("form[validity_count]", "1"),
    ("form[validity_unit]", "months"),
    ("form[download_mbps]", "10"),
    ("form[upload_mbps]", "5"),
    ("form[burst_download_mbps]", ""),
    ("form[burst_upload_mbps]", ""),
    ("form[data_cap_gb]", ""),
    ("form[shared_users]", ""),
];

const CUSTOMER: &[(&str, &str)] = &[
    ("customer[name]", "Achieng Odhiambo"),
    ("customer[phone]", "0712 345 678"),
    ("customer[email]", ""),
    ("customer[location]", "Kasarani"),
    ("customer[notes]", ""),
    ("customer[account_number]", ""),
    ("customer[sms_consent]", "on"),
    ("service[plan_id]", "{plan}"),
    ("service[username]", ""),
    ("service[password]", ""),
    ("service[billing_mode]", "prepaid"),
    ("service[billing_day]", ""),
];

struct Isp {
    db: TestDb,
    owner: Client,
    state: app::state::AppState,
    tenant: app::db::TenantId,
    plan: String,
}

/// A tenant with a signed-in owner and one plan (Home 10, KES 2,500 a month).
async fn isp() -> Isp {
    let db = fresh_database().await;
    let (tenant, _) = db.tenant("alpha-net", "Alpha Net").await;
    let state = db.state();
    let mut owner = Client::new(state.clone());
    owner
        .sign_in("owner@alpha-net.test", "alpha-net-password")
        .await;
    let plan = owner.call("/api/plans/create", PLAN).await.json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    Isp {
        db,
        owner,
        state,
        tenant,
        plan,
    }
}

fn customer_form<'a>(plan: &'a str, overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    support::client::with(CUSTOMER, overrides)
        .into_iter()
        .map(|(k, v)| (k, if v == "{plan}" { plan } else { v }))
        .collect()
}

impl Isp {
    async fn create(&mut self, overrides: &[(&str, &str)]) -> Value {
        let form = customer_form(&self.plan, overrides);
        let reply = self.owner.call("/api/customers/create", &form).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.json()
    }

    async fn signed_in(&self, role: Role, email: &str) -> Client {
        let mut tx = self.db.db().tenant(self.tenant).await.unwrap();
        self.db
            .add_staff(&mut tx, "Staff", email, role, "staff password")
            .await;
        tx.commit().await.unwrap();
        let mut client = Client::new(self.state.clone());
        client.sign_in(email, "staff password").await;
        client
    }

    /// Moves the clock on; sessions time out meanwhile, so the owner signs in again.
    async fn advance(&mut self, days: i64) {
        self.state.clock.advance(Duration::days(days));
        self.owner
            .sign_in("owner@alpha-net.test", "alpha-net-password")
            .await;
    }

    async fn audit_actions(&self) -> Vec<String> {
        let mut tx = self.db.db().tenant(self.tenant).await.unwrap();
        sqlx::query_scalar("select action from audit_log order by at, id")
            .fetch_all(tx.conn())
            .await
            .unwrap()
    }

    async fn scalar<T>(&self, sql: &'static str) -> T
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
    {
        let mut tx = self.db.db().tenant(self.tenant).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(tx.conn()).await.unwrap()
    }
}

fn service_id(customer: &Value) -> String {
    customer["services"][0]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_customer_is_created_with_a_sealed_password_and_a_generated_account_number() {
    let mut isp = isp().await;
    let created = isp.create(&[("service[password]", "pppoe-secret-1")]).await;
    assert_eq!(created["phone"], "254712345678");
    assert_eq!(
        created["account_number"], "1001",
        "the first generated number"
    );
    assert_eq!(created["sms_consent"], true);
    assert!(created["sms_consent_at"].is_string());
    let service = &created["services"][0];
    assert_eq!(
        service["username"], "1001",
        "the user name defaults to the account number"
    );
    assert_eq!(service["status"], "active");
    assert!(service.get("password").is_none(), "never sent to the page");

    // A month of validity, counted in Nairobi.
    let now = isp.state.clock.now();
    let expires: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(service["expires_at"].clone()).unwrap();
    let expected = app::customers::model::add_validity(
        now,
        app::plans::model::ValidityUnit::Months,
        1,
        &chrono_tz::Africa::Nairobi,
    )
    .unwrap();
    assert_eq!(expires, expected);

    // At rest the password is ciphertext; it opens only with the key and its own row.
    let sealed: Vec<u8> = isp.scalar("select password_enc from services").await;
    assert!(!sealed.windows(14).any(|w| w == b"pppoe-secret-1"));
    assert!(isp.state.secrets.open(&sealed, b"elsewhere").is_err());

    // Owners (and admins) may reveal it; each reveal is audited. Support may not.
    let id = service_id(&created);
    let revealed = isp
        .owner
        .call("/api/services/reveal-password", &[("id", &id)])
        .await;
    assert_eq!(revealed.json(), "pppoe-secret-1");
    let mut support = isp.signed_in(Role::Support, "support@alpha-net.test").await;
    let refused = support
        .call("/api/services/reveal-password", &[("id", &id)])
        .await;
    assert_eq!(refused.error(), AppError::Forbidden);
    let actions = isp.audit_actions().await;
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "service.password_revealed")
            .count(),
        1
    );
    assert!(actions.contains(&"customer.created".to_string()));

    // The next customer gets the next number; a typed one is kept (upper-cased).
    let second = isp
        .create(&[("customer[phone]", "0722000111"), ("service[plan_id]", "")])
        .await;
    assert_eq!(second["account_number"], "1002");
    assert_eq!(second["services"].as_array().unwrap().len(), 0);
    let typed = isp
        .create(&[
            ("customer[phone]", "0722000112"),
            ("customer[account_number]", "kas 77"),
            ("service[username]", "kas77"),
        ])
        .await;
    assert_eq!(typed["account_number"], "KAS77");
}

#[tokio::test]
async fn bad_input_names_the_field_and_writes_nothing() {
    let mut isp = isp().await;
    isp.create(&[
        ("customer[account_number]", "500"),
        ("service[username]", "taken"),
    ])
    .await;
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("customer[phone]", "0812 345 678")], "phone"),
        (&[("customer[name]", "  ")], "name"),
        (&[("customer[email]", "no-at-sign")], "email"),
        (&[("customer[account_number]", "500")], "account_number"),
        (&[("customer[account_number]", "A-1")], "account_number"),
        (&[("service[username]", "taken")], "username"),
        (&[("service[username]", "a b")], "username"),
        (&[("service[password]", "abc")], "password"),
        (
            &[
                ("service[billing_mode]", "postpaid"),
                ("service[billing_day]", "30"),
            ],
            "billing_day",
        ),
        (&[("service[plan_id]", "not-a-plan")], "plan_id"),
    ];
    for (overrides, field) in cases {
        let form = customer_form(&isp.plan, overrides);
        let reply = isp.owner.call("/api/customers/create", &form).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{overrides:?}"
        );
        assert!(
            matches!(reply.error(), AppError::Invalid { field: f, .. } if f == *field),
            "{overrides:?}: {}",
            reply.body
        );
    }
    // Each failure rolled back whole: still one customer and one service.
    assert_eq!(isp.scalar::<i64>("select count(*) from customers").await, 1);
    assert_eq!(isp.scalar::<i64>("select count(*) from services").await, 1);
}

#[tokio::test]
async fn panel_actions_change_the_service_and_each_is_audited() {
    let mut isp = isp().await;
    let created = isp.create(&[]).await;
    let id = service_id(&created);
    let call = |endpoint: &'static str, extra: Vec<(&'static str, String)>| {
        let id = id.clone();
        (endpoint, {
            let mut form = vec![("id", id)];
            form.extend(extra);
            form
        })
    };
    async fn run(
        client: &mut Client,
        (endpoint, form): (&str, Vec<(&str, String)>),
    ) -> support::client::Reply {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        client.call(endpoint, &pairs).await
    }

    let suspended = run(&mut isp.owner, call("/api/services/suspend", vec![]))
        .await
        .json();
    assert_eq!(suspended["services"][0]["status"], "suspended");
    let again = run(&mut isp.owner, call("/api/services/suspend", vec![])).await;
    assert!(matches!(again.error(), AppError::Invalid { .. }));
    let back = run(&mut isp.owner, call("/api/services/reactivate", vec![]))
        .await
        .json();
    assert_eq!(back["services"][0]["status"], "active");

    // Extending adds days to the expiry.
    let before: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(back["services"][0]["expires_at"].clone()).unwrap();
    let extended = run(
        &mut isp.owner,
        call("/api/services/extend", vec![("days", "3".into())]),
    )
    .await
    .json();
    let after: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(extended["services"][0]["expires_at"].clone()).unwrap();
    assert_eq!(after - before, Duration::days(3));

    // Past its expiry the service reads as expired; extending counts from now and reactivates.
    isp.advance(40).await;
    let detail = isp
        .owner
        .call(
            "/api/customers/get",
            &[("id", created["id"].as_str().unwrap())],
        )
        .await
        .json();
    assert_eq!(detail["services"][0]["status"], "expired");
    let renewed = run(
        &mut isp.owner,
        call("/api/services/extend", vec![("days", "2".into())]),
    )
    .await
    .json();
    let until: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(renewed["services"][0]["expires_at"].clone()).unwrap();
    assert_eq!(until, isp.state.clock.now() + Duration::days(2));
    assert_eq!(renewed["services"][0]["status"], "active");

    // Until a date: to the end of that day in Nairobi.
    let date = (isp.state.clock.now() + Duration::days(10))
        .with_timezone(&chrono_tz::Africa::Nairobi)
        .date_naive();
    let dated = run(
        &mut isp.owner,
        call(
            "/api/services/extend",
            vec![("until", date.format("%Y-%m-%d").to_string())],
        ),
    )
    .await
    .json();
    let end: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(dated["services"][0]["expires_at"].clone()).unwrap();
    let midnight = chrono_tz::Africa::Nairobi
        .from_local_datetime(&date.succ_opt().unwrap().and_hms_opt(0, 0, 0).unwrap())
        .unwrap();
    assert_eq!(end, midnight);
    let past = run(
        &mut isp.owner,
        call("/api/services/extend", vec![("until", "2020-01-01".into())]),
    )
    .await;
    assert!(matches!(past.error(), AppError::Invalid { field, .. } if field == "until"));
    let neither = run(&mut isp.owner, call("/api/services/extend", vec![])).await;
    assert!(matches!(neither.error(), AppError::Invalid { .. }));

    // Change plan and password.
    let mut second = PLAN.to_vec();
    second[0] = ("form[name]", "Home 20");
    second[2] = ("form[price]", "3,500");
    let plan2 = isp.owner.call("/api/plans/create", &second).await.json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let moved = run(
        &mut isp.owner,
        call(
            "/api/services/change-plan",
            vec![("plan_id", plan2.clone())],
        ),
    )
    .await
    .json();
    assert_eq!(moved["services"][0]["plan_name"], "Home 20");
    assert_eq!(moved["services"][0]["plan_price_minor"], 350_000);
    run(
        &mut isp.owner,
        call(
            "/api/services/change-password",
            vec![("password", "new-secret".into())],
        ),
    )
    .await;
    let revealed = run(
        &mut isp.owner,
        call("/api/services/reveal-password", vec![]),
    )
    .await;
    assert_eq!(revealed.json(), "new-secret");

    // Support may do all of this (but not reveal or delete).
    let mut support = isp.signed_in(Role::Support, "support@alpha-net.test").await;
    let by_support = run(&mut support, call("/api/services/suspend", vec![])).await;
    assert_eq!(by_support.status, StatusCode::OK, "{}", by_support.body);

    let actions = isp.audit_actions().await;
    for action in [
        "customer.created",
        "service.suspended",
        "service.reactivated",
        "service.extended",
        "service.plan_changed",
        "service.password_changed",
        "service.password_revealed",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
    // The audit keeps before and after, and never the password.
    let changed: Value = isp
        .scalar("select before from audit_log where action = 'service.plan_changed'")
        .await;
    assert_eq!(changed["plan_name"], "Home 10");
    let all: String = isp
        .scalar("select string_agg(coalesce(before::text, '') || coalesce(after::text, ''), ' ') from audit_log")
        .await;
    assert!(!all.contains("new-secret"));
}

#[tokio::test]
async fn deleting_needs_the_right_role_and_a_plan_in_use_cannot_be_deleted() {
    let mut isp = isp().await;
    let created = isp.create(&[]).await;
    let customer = created["id"].as_str().unwrap().to_string();

    let in_use = isp
        .owner
        .call("/api/plans/delete", &[("id", &isp.plan)])
        .await;
    assert!(
        matches!(in_use.error(), AppError::Invalid { ref reason, .. } if reason.contains("archive")),
        "{}",
        in_use.body
    );
    assert_eq!(isp.scalar::<i64>("select count(*) from plans").await, 1);

    let mut support = isp.signed_in(Role::Support, "support@alpha-net.test").await;
    let refused = support
        .call("/api/customers/delete", &[("id", &customer)])
        .await;
    assert_eq!(refused.error(), AppError::Forbidden);

    // Invoiced when the service started: money history, so the customer is archived (out of
    // every list, the books whole) rather than deleted.
    let mut admin = isp.signed_in(Role::Admin, "admin@alpha-net.test").await;
    let archived = admin
        .call("/api/customers/delete", &[("id", &customer)])
        .await;
    assert_eq!(archived.json(), "archived");
    assert_eq!(isp.scalar::<i64>("select count(*) from customers").await, 1);
    let gone = isp
        .owner
        .call("/api/customers/get", &[("id", &customer)])
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    // Its service and invoice still name the plan.
    let still_used = isp
        .owner
        .call("/api/plans/delete", &[("id", &isp.plan)])
        .await;
    assert!(matches!(still_used.error(), AppError::Invalid { .. }));

    // A customer with no money history is deleted outright.
    let plain = isp
        .create(&[
            ("customer[name]", "No Service"),
            ("customer[phone]", "0711000009"),
            ("service[plan_id]", ""),
        ])
        .await;
    let deleted = admin
        .call(
            "/api/customers/delete",
            &[("id", plain["id"].as_str().unwrap())],
        )
        .await;
    assert_eq!(deleted.json(), "deleted");
    assert_eq!(isp.scalar::<i64>("select count(*) from customers").await, 1);
    let actions = isp.audit_actions().await;
    assert!(actions.contains(&"customer.archived".to_string()));
    assert!(actions.contains(&"customer.deleted".to_string()));
}

fn names(page: &Value) -> Vec<String> {
    page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn search_filters_sort_and_pages() {
    let mut isp = isp().await;
    isp.create(&[
        ("customer[name]", "Wanjiru Kamau"),
        ("customer[phone]", "0711000001"),
        ("service[username]", "wkamau"),
    ])
    .await;
    isp.create(&[
        ("customer[name]", "Otieno Ouma"),
        ("customer[phone]", "0711000002"),
        ("customer[account_number]", "KAS9"),
    ])
    .await;
    let suspended = isp
        .create(&[
            ("customer[name]", "Njeri Mwangi"),
            ("customer[phone]", "0110000003"),
        ])
        .await;
    isp.owner
        .call("/api/services/suspend", &[("id", &service_id(&suspended))])
        .await;
    isp.create(&[
        ("customer[name]", "Zawadi Nobody"),
        ("customer[phone]", "0711000004"),
        ("service[plan_id]", ""),
    ])
    .await;

    let list = |q: &[(&'static str, &'static str)]| {
        let mut form: Vec<(String, String)> = ["q", "status", "plan", "router", "sort", "page"]
            .iter()
            .map(|k| (format!("query[{k}]"), String::new()))
            .collect();
        for (k, v) in q {
            if let Some(slot) = form
                .iter_mut()
                .find(|(key, _)| key == &format!("query[{k}]"))
            {
                slot.1 = (*v).to_string();
            }
        }
        form
    };
    async fn fetch(client: &mut Client, form: Vec<(String, String)>) -> Value {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let reply = client.call("/api/customers/list", &pairs).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.json()
    }

    let all = fetch(&mut isp.owner, list(&[])).await;
    assert_eq!(
        names(&all),
        [
            "Njeri Mwangi",
            "Otieno Ouma",
            "Wanjiru Kamau",
            "Zawadi Nobody"
        ]
    );
    for (q, expected) in [
        ("wanjiru", "Wanjiru Kamau"),
        ("KAMAU", "Wanjiru Kamau"),
        ("0711 000 002", "Otieno Ouma"),
        ("254110000003", "Njeri Mwangi"),
        ("kas9", "Otieno Ouma"),
        ("wkamau", "Wanjiru Kamau"),
    ] {
        let mut form = list(&[]);
        form[0].1 = q.to_string();
        assert_eq!(
            names(&fetch(&mut isp.owner, form).await),
            [expected],
            "search {q}"
        );
    }
    let mut nothing = list(&[]);
    nothing[0].1 = "100%".into();
    assert!(
        names(&fetch(&mut isp.owner, nothing).await).is_empty(),
        "% is literal"
    );

    assert_eq!(
        names(&fetch(&mut isp.owner, list(&[("status", "suspended")])).await),
        ["Njeri Mwangi"]
    );
    isp.advance(45).await;
    assert_eq!(
        names(&fetch(&mut isp.owner, list(&[("status", "expired")])).await),
        ["Otieno Ouma", "Wanjiru Kamau"],
        "active services past their expiry count as expired"
    );
    let mut by_plan = list(&[]);
    by_plan[2].1 = isp.plan.clone();
    assert_eq!(names(&fetch(&mut isp.owner, by_plan).await).len(), 3);
    let bad = isp
        .owner
        .call("/api/customers/list", &[("query[status]", "happy")])
        .await;
    assert!(matches!(bad.error(), AppError::Invalid { field, .. } if field == "status"));

    // Sort by expiry: an extended service moves to the end; no service sorts last.
    let first = fetch(&mut isp.owner, list(&[("sort", "expiry")])).await;
    let last_name = names(&first).last().cloned().unwrap();
    assert_eq!(last_name, "Zawadi Nobody");

    // Pages of 25.
    for i in 0..30 {
        let phone = format!("0733{:06}", i);
        let name = format!("Page Person {i:02}");
        isp.create(&[
            ("customer[name]", &name),
            ("customer[phone]", &phone),
            ("service[plan_id]", ""),
        ])
        .await;
    }
    let one = fetch(&mut isp.owner, list(&[])).await;
    assert_eq!(one["rows"].as_array().unwrap().len(), 25);
    assert_eq!(one["has_next"], true);
    let two = fetch(&mut isp.owner, list(&[("page", "2")])).await;
    assert_eq!(two["rows"].as_array().unwrap().len(), 34 - 25);
    assert_eq!(two["has_next"], false);
}

#[tokio::test]
async fn the_dashboard_counts_and_lists_who_needs_attention() {
    let mut isp = isp().await;
    // Daily plan, so expiries are close together.
    let mut daily = PLAN.to_vec();
    daily[0] = ("form[name]", "Daily");
    daily[4] = ("form[validity_unit]", "days");
    isp.plan = isp.owner.call("/api/plans/create", &daily).await.json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let a = isp
        .create(&[
            ("customer[name]", "Expiring Soon"),
            ("customer[phone]", "0711000001"),
        ])
        .await;
    let b = isp
        .create(&[
            ("customer[name]", "Long Away"),
            ("customer[phone]", "0711000002"),
        ])
        .await;
    isp.owner
        .call(
            "/api/services/extend",
            &[("id", &service_id(&b)), ("days", "30")],
        )
        .await;
    let c = isp
        .create(&[
            ("customer[name]", "Cut Off"),
            ("customer[phone]", "0711000003"),
        ])
        .await;
    isp.owner
        .call("/api/services/suspend", &[("id", &service_id(&c))])
        .await;
    isp.create(&[
        ("customer[name]", "No Service"),
        ("customer[phone]", "0711000004"),
        ("service[plan_id]", ""),
    ])
    .await;

    let figures = isp.owner.call("/api/customers/attention", &[]).await.json();
    assert_eq!(
        (
            figures["active"].as_i64(),
            figures["expired"].as_i64(),
            figures["suspended"].as_i64(),
            figures["customers"].as_i64()
        ),
        (Some(2), Some(0), Some(1), Some(4))
    );
    assert_eq!(figures["expiring_soon_count"], 1);
    assert_eq!(figures["expiring_soon"][0]["name"], "Expiring Soon");
    assert_eq!(figures["suspended_rows"][0]["name"], "Cut Off");

    // Two days later A has expired: with a 3-day grace period it is listed as in grace.
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    sqlx::query("update tenants set grace_period_days = 3")
        .execute(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    isp.advance(2).await;
    let later = isp.owner.call("/api/customers/attention", &[]).await.json();
    assert_eq!(
        (later["active"].as_i64(), later["expired"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(later["in_grace_count"], 1);
    assert_eq!(later["in_grace"][0]["id"], a["id"]);
    // After the grace period it is no longer listed (but still counted as expired).
    isp.advance(3).await;
    let after = isp.owner.call("/api/customers/attention", &[]).await.json();
    assert_eq!(after["in_grace_count"], 0);
    assert_eq!(after["expired"], 1);
}

#[tokio::test]
async fn the_pages_render_for_every_role_on_the_server() {
    let mut isp = isp().await;
    let created = isp.create(&[]).await;
    let id = created["id"].as_str().unwrap();
    let page = isp
        .owner
        .get(&format!("/app/customers?q=achieng&open={id}"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Achieng Odhiambo"));
    assert!(page.body.contains("0712 345 678"));
    assert!(
        page.body.contains("Reveal password"),
        "owners see the reveal button"
    );
    let mut support = isp.signed_in(Role::Support, "support@alpha-net.test").await;
    let page = support.get(&format!("/app/customers?open={id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("Reveal password"), "support does not");
    assert!(!page.body.contains("Delete customer"));
    let dashboard = support.get("/app").await;
    assert!(dashboard.body.contains("Needs attention"));
    let import = support.get("/app/customers/import").await;
    assert_eq!(import.status, StatusCode::OK);
}

#[tokio::test]
async fn search_follows_renames_and_new_services() {
    let mut isp = isp().await;
    let created = isp
        .create(&[
            ("customer[name]", "Old Name"),
            ("service[username]", "first-login"),
        ])
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    let search = |q: &'static str| {
        vec![
            ("query[q]", q),
            ("query[status]", ""),
            ("query[plan]", ""),
            ("query[router]", ""),
            ("query[sort]", ""),
            ("query[page]", ""),
        ]
    };
    let renamed = isp
        .owner
        .call(
            "/api/customers/update",
            &[
                ("id", id.as_str()),
                ("customer[name]", "Zuberi Mwakilema"),
                ("customer[phone]", "0712 345 678"),
                ("customer[account_number]", ""),
            ],
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    let added = isp
        .owner
        .call(
            "/api/services/add",
            &[
                ("customer_id", id.as_str()),
                ("service[plan_id]", isp.plan.as_str()),
                ("service[username]", "second-login"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    for (q, found) in [
        ("zuberi mwak", true),
        ("old name", false),
        ("first-login", true),
        ("second", true),
    ] {
        let page = isp
            .owner
            .call("/api/customers/list", &search(q))
            .await
            .json();
        assert_eq!(names(&page).len(), usize::from(found), "search {q}: {page}");
    }
    // Deleting removes a customer's words with it (archiving keeps them: the invoices still
    // name the customer, and a future "show archived" search may want them).
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    sqlx::query("delete from customers where id = $1")
        .bind(uuid::Uuid::parse_str(&id).unwrap())
        .execute(tx.conn())
        .await
        .expect_err("an invoiced customer cannot be removed, only archived");
    drop(tx);
    let plain = isp
        .create(&[
            ("customer[name]", "Plain Words"),
            ("customer[phone]", "0711000008"),
            ("service[plan_id]", ""),
        ])
        .await;
    let before: i64 = isp
        .scalar("select count(*) from customer_search_terms")
        .await;
    isp.owner
        .call(
            "/api/customers/delete",
            &[("id", plain["id"].as_str().unwrap())],
        )
        .await;
    let left: i64 = isp
        .scalar("select count(*) from customer_search_terms")
        .await;
    assert!(before > left && left > 0, "{before} -> {left}");
}
