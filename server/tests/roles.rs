//! Roles and tenants at the server-function boundary: the owner → invite → accept flow, every
//! owner/admin-only server function and page refused to support (table-driven), and every
//! server function that takes an id refused for another tenant's ids (list-driven). Later issues
//! add their functions and routes to `ADMIN_ONLY` and `CROSS_TENANT`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use std::time::Duration as StdDuration;

use app::{AppError, db::TenantId, mail::mailer::Mailer};
use axum::http::StatusCode;
use server::simulators::smtp::SmtpSink;
use support::{TestDb, client::Client, fresh_database};
use uuid::Uuid;

/// Server functions only owners and admins may call: (endpoint, form). `{user}` is replaced by
/// the id of a real staff member of the caller's own tenant.
const ADMIN_ONLY: &[(&str, &[(&str, &str)])] = &[
    ("/api/staff/list", &[]),
    // Money: support may look, not change (the role check comes before any lookup, so any id).
    (
        "/api/invoices/mark-paid",
        &[
            ("id", "{customer}"),
            ("channel", "cash"),
            ("amount", ""),
            ("reference", "R1"),
        ],
    ),
    (
        "/api/invoices/waive",
        &[("id", "{customer}"), ("reason", "x")],
    ),
    (
        "/api/invoices/cancel",
        &[("id", "{customer}"), ("reason", "x")],
    ),
    (
        "/api/invoices/credit",
        &[("id", "{customer}"), ("amount", "100"), ("reason", "x")],
    ),
    ("/api/billing/run", &[]),
    // Payment providers: support may not even look.
    ("/api/payments/settings", &[]),
    (
        "/api/payments/settings/update",
        &[
            ("mpesa_environment", "sandbox"),
            ("mpesa_shortcode", "174379"),
            ("mpesa_kind", "paybill"),
            ("mpesa_consumer_key", "stolen-key-1234"),
        ],
    ),
    ("/api/payments/settings/test-mpesa", &[]),
    ("/api/payments/settings/register-c2b", &[]),
    ("/api/payments/events", &[("search", "")]),
    (
        "/api/payments/unmatched/assign",
        &[("id", "{customer}"), ("account", "1001")],
    ),
    (
        "/api/billing/settings/update",
        &[
            ("vat_inclusive", "inclusive"),
            ("kra_pin", ""),
            ("invoice_due_days", "7"),
            ("renewal_notice_days", "3"),
        ],
    ),
    (
        "/api/staff/invite",
        &[
            ("name", "Mallory"),
            ("email", "mallory@example.test"),
            ("role", "admin"),
        ],
    ),
    (
        "/api/staff/role",
        &[("user_id", "{user}"), ("role", "admin")],
    ),
    (
        "/api/staff/disabled",
        &[("user_id", "{user}"), ("disabled", "true")],
    ),
    ("/api/audit/list", &[("action", ""), ("actor", "")]),
    (
        "/api/settings/business/update",
        &[
            ("name", "Hijacked"),
            ("county", ""),
            ("address", ""),
            ("phone", ""),
            ("support_email", ""),
            ("whatsapp", ""),
            ("time_zone", "Africa/Nairobi"),
            ("grace_period_days", "0"),
        ],
    ),
    ("/api/plans/create", PLAN_FORM),
    (
        "/api/plans/archive",
        &[("id", "{plan}"), ("archived", "true")],
    ),
    ("/api/plans/delete", &[("id", "{plan}")]),
    ("/api/customers/delete", &[("id", "{customer}")]),
    ("/api/services/reveal-password", &[("id", "{service}")]),
    ("/api/routers/create", ROUTER_FORM),
    (
        "/api/routers/update",
        &[("id", "{router}"), ROUTER_FORM[0], ROUTER_FORM[1]],
    ),
    ("/api/routers/delete", &[("id", "{router}")]),
    ("/api/routers/rotate-secret", &[("id", "{router}")]),
    ("/api/routers/retry-failed", &[("id", "{router}")]),
    ("/api/routers/resync", &[("id", "{router}")]),
    (
        "/api/vouchers/generate",
        &[("form[plan_id]", "{plan}"), ("form[count]", "10")],
    ),
    ("/api/messages/bulk/options", &[]),
    (
        "/api/messages/bulk/preview",
        &[("segment", "active"), ("text", "Offer")],
    ),
    (
        "/api/messages/bulk/send",
        &[
            ("id", "{plan}"),
            ("segment", "plan"),
            ("plan", "{plan}"),
            ("text", "Offer"),
            ("expected", "1"),
        ],
    ),
    ("/api/messages/bulk/progress", &[("id", "{plan}")]),
    (
        "/api/messages/provider/save",
        &[("provider", "generic"), ("api_key", "hijack")],
    ),
    ("/api/messages/provider/test", &[("phone", "0712000000")]),
    (
        "/api/messages/mail-server/save",
        &[("own", "on"), ("host", "mail.hijack.test"), ("port", "25")],
    ),
    ("/api/messages/mail-server/test", &[("to", "x@hijack.test")]),
];

/// The router form, as the routers page posts it.
const ROUTER_FORM: &[(&str, &str)] = &[("form[name]", "Hijack POP"), ("form[mode]", "agent")];

/// The plan form, as the plans page posts it.
const PLAN_FORM: &[(&str, &str)] = &[
    ("form[name]", "Hijack 100"),
    ("form[kind]", "pppoe"),
    ("form[price]", "1"),
    ("form[validity_count]", "1"),
    ("form[validity_unit]", "days"),
    ("form[download_mbps]", "100"),
    ("form[upload_mbps]", "100"),
    ("form[burst_download_mbps]", ""),
    ("form[burst_upload_mbps]", ""),
    ("form[data_cap_gb]", ""),
    ("form[shared_users]", ""),
];

/// Pages only owners and admins may see.
const ADMIN_ONLY_PAGES: &[&str] = &[
    "/app/settings/staff",
    "/app/settings/audit",
    "/app/settings/payments",
    "/app/payments/events",
    "/app/messages/bulk",
];

/// Server functions that act on an id: called by tenant A's owner with `{user}` set to an id of
/// tenant B, they must answer not-found or forbidden and change nothing.
const CROSS_TENANT: &[(&str, &[(&str, &str)])] = &[
    (
        "/api/staff/role",
        &[("user_id", "{user}"), ("role", "admin")],
    ),
    (
        "/api/staff/disabled",
        &[("user_id", "{user}"), ("disabled", "true")],
    ),
    (
        "/api/plans/archive",
        &[("id", "{plan}"), ("archived", "true")],
    ),
    ("/api/plans/delete", &[("id", "{plan}")]),
    ("/api/customers/get", &[("id", "{customer}")]),
    ("/api/billing/account", &[("customer", "{customer}")]),
    (
        "/api/payments/unmatched/assign",
        &[("id", "{customer}"), ("account", "1001")],
    ),
    ("/api/payments/link", &[("customer", "{customer}")]),
    (
        "/api/payments/stk/send",
        &[("customer", "{customer}"), ("phone", "0712345678")],
    ),
    ("/api/payments/request", &[("id", "{customer}")]),
    (
        "/api/customers/update",
        &[
            ("id", "{customer}"),
            ("customer[name]", "Hijacked"),
            ("customer[phone]", "0700000000"),
        ],
    ),
    ("/api/customers/delete", &[("id", "{customer}")]),
    (
        "/api/services/add",
        &[
            ("customer_id", "{customer}"),
            ("service[plan_id]", "{plan}"),
            ("service[username]", "hijack-user"),
        ],
    ),
    ("/api/services/suspend", &[("id", "{service}")]),
    ("/api/services/reactivate", &[("id", "{service}")]),
    (
        "/api/services/extend",
        &[("id", "{service}"), ("days", "30")],
    ),
    (
        "/api/services/change-plan",
        &[("id", "{service}"), ("plan_id", "{plan}")],
    ),
    (
        "/api/services/change-password",
        &[("id", "{service}"), ("password", "hijacked")],
    ),
    ("/api/services/reveal-password", &[("id", "{service}")]),
    (
        "/api/services/move-router",
        &[("id", "{service}"), ("router_id", "")],
    ),
    ("/api/routers/detail", &[("id", "{router}")]),
    (
        "/api/routers/update",
        &[("id", "{router}"), ROUTER_FORM[0], ROUTER_FORM[1]],
    ),
    ("/api/routers/delete", &[("id", "{router}")]),
    ("/api/routers/rotate-secret", &[("id", "{router}")]),
    ("/api/routers/retry-failed", &[("id", "{router}")]),
    ("/api/routers/resync", &[("id", "{router}")]),
    ("/api/vouchers/sheet", &[("batch", "{batch}")]),
    ("/api/tickets/get", &[("id", "{ticket}")]),
    ("/api/tickets/customer", &[("customer", "{customer}")]),
    (
        "/api/tickets/reply",
        &[("id", "{ticket}"), ("message", "hijacked")],
    ),
    ("/api/tickets/assign", &[("id", "{ticket}"), ("to", "")]),
    ("/api/tickets/close", &[("id", "{ticket}")]),
];

/// Real ids to put in the forms above.
struct Ids {
    user: String,
    plan: String,
    customer: String,
    service: String,
    router: String,
    batch: String,
    ticket: String,
}

/// The form with `{user}`, `{plan}`, `{customer}` and `{service}` replaced by real ids.
fn form<'a>(pairs: &'a [(&'a str, &'a str)], ids: &'a Ids) -> Vec<(&'a str, &'a str)> {
    pairs
        .iter()
        .map(|(k, v)| {
            let value = match *v {
                "{user}" => ids.user.as_str(),
                "{plan}" => ids.plan.as_str(),
                "{customer}" => ids.customer.as_str(),
                "{service}" => ids.service.as_str(),
                "{router}" => ids.router.as_str(),
                "{batch}" => ids.batch.as_str(),
                "{ticket}" => ids.ticket.as_str(),
                other => other,
            };
            (*k, value)
        })
        .collect()
}

/// Creates a customer with one service on `plan`, a router, a voucher batch and a ticket with
/// one message in `tenant` directly; returns (customer, service, router, batch, ticket).
async fn customer_in(
    db: &app::db::Db,
    tenant: TenantId,
    plan: &str,
) -> (Uuid, Uuid, Uuid, Uuid, Uuid) {
    let (customer, service, router) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let (batch, ticket) = (Uuid::new_v4(), Uuid::new_v4());
    let mut tx = db.tenant(tenant).await.unwrap();
    sqlx::query(
        "insert into routers (tenant_id, id, name, mode, secret_enc, created_at, updated_at)
         values ($1, $2, 'Target Router', 'agent', '\\x00', now(), now())",
    )
    .bind(tenant.0)
    .bind(router)
    .execute(tx.conn())
    .await
    .unwrap();
    sqlx::query(
        "insert into customers (tenant_id, id, account_number, name, phone, created_at, updated_at)
         values ($1, $2, '9001', 'Target Customer', '254711111111', now(), now())",
    )
    .bind(tenant.0)
    .bind(customer)
    .execute(tx.conn())
    .await
    .unwrap();
    sqlx::query(
        "insert into services (tenant_id, id, customer_id, plan_id, username, password_enc, status,
                               billing_mode, starts_at, expires_at, created_at, updated_at,
                               router_id)
         values ($1, $2, $3, $4::uuid, 'target', '\\x00', 'suspended', 'prepaid', now(),
                 now() + interval '10 days', now(), now(), $5)",
    )
    .bind(tenant.0)
    .bind(service)
    .bind(customer)
    .bind(plan)
    .bind(router)
    .execute(tx.conn())
    .await
    .unwrap();
    sqlx::query(
        "insert into voucher_batches (tenant_id, id, plan_id, count, expires_at, created_at)
         values ($1, $2, $3::uuid, 1, now() + interval '1 day', now())",
    )
    .bind(tenant.0)
    .bind(batch)
    .bind(plan)
    .execute(tx.conn())
    .await
    .unwrap();
    sqlx::query(
        "with t as (
             insert into tickets (tenant_id, id, number, customer_id, subject, category,
                                  created_at, last_message_at)
             values ($1, $2, 1, $3, 'Target ticket', 'other', now(), now()) returning id)
         insert into ticket_messages (tenant_id, ticket_id, body, created_at)
         select $1, id, 'Target message', now() from t",
    )
    .bind(tenant.0)
    .bind(ticket)
    .bind(customer)
    .execute(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    (customer, service, router, batch, ticket)
}

/// A tenant's customers and services as a comparable snapshot.
async fn customers_of(db: &app::db::Db, tenant: TenantId) -> Vec<(String, String, String, String)> {
    let mut tx = db.tenant(tenant).await.unwrap();
    sqlx::query_as(
        "select c.name || c.phone, coalesce(s.status, ''), coalesce(s.expires_at::text, ''),
                coalesce(s.plan_id::text, '') || coalesce(encode(s.password_enc, 'hex'), '')
                  || coalesce(s.router_id::text, '')
                  || (select string_agg(r.name || r.mode || encode(r.secret_enc, 'hex'), ',')
                        from routers r)
           from customers c left join services s on s.customer_id = c.id order by 1, 2",
    )
    .fetch_all(tx.conn())
    .await
    .unwrap()
}

/// Creates a plan in `tenant` directly and returns its id.
async fn plan_in(db: &app::db::Db, tenant: TenantId) -> Uuid {
    let id = Uuid::new_v4();
    let mut tx = db.tenant(tenant).await.unwrap();
    sqlx::query(
        "insert into plans (tenant_id, id, name, kind, price_minor, validity_unit, validity_count,
                            download_kbps, upload_kbps, created_at, updated_at)
         values ($1, $2, 'Home 10', 'pppoe', 250000, 'months', 1, 10000, 5000, now(), now())",
    )
    .bind(tenant.0)
    .bind(id)
    .execute(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn wait_for_mail(sink: &SmtpSink, to: &str) -> String {
    for _ in 0..200 {
        if let Some(m) = sink
            .messages()
            .into_iter()
            .rev()
            .find(|m| m.to.iter().any(|t| t == to))
        {
            return m.body;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("no mail to {to}");
}

fn token_after(body: &str, path: &str) -> String {
    let at = body.find(&format!("{path}?token=")).expect("link in mail");
    body[at..]
        .split("token=")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect()
}

#[tokio::test]
async fn sign_up_invite_support_and_support_is_refused_every_admin_function_and_page() {
    let db = fresh_database().await;
    let sink = SmtpSink::start(0).await.unwrap();
    let mut state = db.state();
    state.mailer = Mailer::smtp(
        &sink.url(),
        "Jasiyo <no-reply@jasiyo.test>",
        "http://isp.test",
    )
    .unwrap();

    // The owner signs up, confirms the email and signs in.
    let mut owner = Client::new(state.clone());
    let signup = [
        ("name", "Njeri Kamau"),
        ("email", "njeri@thika-net.co.ke"),
        ("company", "Thika Net"),
        ("password", "owner password 1"),
    ];
    assert_eq!(
        owner.call("/api/sign-up", &signup).await.status,
        StatusCode::OK
    );
    let token = token_after(
        &wait_for_mail(&sink, "njeri@thika-net.co.ke").await,
        "/verify-email",
    );
    assert_eq!(
        owner
            .call("/api/verify-email", &[("token", &token)])
            .await
            .status,
        StatusCode::OK
    );
    owner
        .sign_in("njeri@thika-net.co.ke", "owner password 1")
        .await;

    // The owner invites a support user, who accepts and signs in.
    let invited = owner
        .call(
            "/api/staff/invite",
            &[
                ("name", "Kevin Mwangi"),
                ("email", "kevin@thika-net.co.ke"),
                ("role", "support"),
            ],
        )
        .await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
    let invitation = wait_for_mail(&sink, "kevin@thika-net.co.ke").await;
    assert!(
        invitation.contains("Njeri Kamau invited you to join Thika Net"),
        "{invitation}"
    );
    let token = token_after(&invitation, "/accept-invitation");
    let mut support = Client::new(state.clone());
    assert_eq!(
        support
            .sign_in("kevin@thika-net.co.ke", "support password")
            .await
            .error(),
        AppError::SignInFailed
    );
    let accepted = support
        .call(
            "/api/staff/accept",
            &[("token", &token), ("new_password", "support password")],
        )
        .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    support
        .sign_in("kevin@thika-net.co.ke", "support password")
        .await;
    let me = support.call("/api/workspace", &[]).await.json();
    assert_eq!(
        (me["role"].as_str(), me["isp_name"].as_str()),
        (Some("support"), Some("Thika Net"))
    );

    // Support is refused every owner/admin-only function, and nothing changes.
    let tenant = db.db().tenant_by_slug("thika-net").await.unwrap().unwrap();
    let plan_id = plan_in(&db.db(), tenant).await.to_string();
    let owner_id = owner.call("/api/staff/list", &[]).await.json()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (customer, service, router, batch, ticket) = customer_in(&db.db(), tenant, &plan_id).await;
    let ids = Ids {
        user: owner_id,
        plan: plan_id,
        customer: customer.to_string(),
        service: service.to_string(),
        router: router.to_string(),
        batch: batch.to_string(),
        ticket: ticket.to_string(),
    };
    let customers_before = customers_of(&db.db(), tenant).await;
    for (endpoint, pairs) in ADMIN_ONLY {
        let reply = support.call(endpoint, &form(pairs, &ids)).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{endpoint}: {}",
            reply.body
        );
        assert_eq!(reply.error(), AppError::Forbidden, "{endpoint}");
    }
    for page in ADMIN_ONLY_PAGES {
        let reply = support.get(page).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{page}");
        assert!(reply.body.contains("Owners and admins"), "{page}");
    }
    let plans = owner.call("/api/plans/list", &[]).await.json();
    assert_eq!(
        plans.as_array().unwrap().len(),
        1,
        "support added no plan: {plans}"
    );
    assert_eq!(plans[0]["archived"], false, "support archived nothing");
    assert_eq!(
        customers_of(&db.db(), tenant).await,
        customers_before,
        "support deleted no customer"
    );
    // Support may read the plans: they assign them to customers.
    assert_eq!(
        support.call("/api/plans/list", &[]).await.status,
        StatusCode::OK
    );
    let staff = owner.call("/api/staff/list", &[]).await.json();
    assert_eq!(
        staff.as_array().unwrap().len(),
        2,
        "no one was invited by support: {staff}"
    );
    assert!(
        staff
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["status"] == "active"),
        "{staff}"
    );
    // ...while the owner may use each of them.
    for page in ADMIN_ONLY_PAGES {
        assert_eq!(owner.get(page).await.status, StatusCode::OK, "{page}");
    }
}

struct TwoIsps {
    _db: TestDb,
    a: Client,
    b_tenant: TenantId,
    b_owner: Uuid,
    b_support: Uuid,
    db_handle: app::db::Db,
}

async fn two_isps() -> TwoIsps {
    let db = fresh_database().await;
    db.tenant("alpha-net", "Alpha Net").await;
    let (b_tenant, b_owner) = db.tenant("beta-fibre", "Beta Fibre").await;
    let mut tx = db.db().tenant(b_tenant).await.unwrap();
    db.add_staff(
        &mut tx,
        "Beta Support",
        "support@beta-fibre.test",
        app::auth::model::Role::Support,
        "beta support pw",
    )
    .await;
    tx.commit().await.unwrap();
    let b_support = db.user_id(b_tenant, "support@beta-fibre.test").await;
    let mut a = Client::new(db.state());
    a.sign_in("owner@alpha-net.test", "alpha-net-password")
        .await;
    let db_handle = db.db();
    TwoIsps {
        _db: db,
        a,
        b_tenant,
        b_owner,
        b_support,
        db_handle,
    }
}

async fn staff_of(db: &app::db::Db, tenant: TenantId) -> Vec<(Uuid, String, bool)> {
    let mut tx = db.tenant(tenant).await.unwrap();
    sqlx::query_as("select id, role::text, disabled_at is not null from users order by id")
        .fetch_all(tx.conn())
        .await
        .unwrap()
}

#[tokio::test]
async fn another_tenants_ids_are_not_found_and_nothing_changes() {
    let mut w = two_isps().await;
    let b_plan = plan_in(&w.db_handle, w.b_tenant).await.to_string();
    let (b_customer, b_service, b_router, b_batch, b_ticket) =
        customer_in(&w.db_handle, w.b_tenant, &b_plan).await;
    let before = staff_of(&w.db_handle, w.b_tenant).await;
    let customers_before = customers_of(&w.db_handle, w.b_tenant).await;
    for (endpoint, pairs) in CROSS_TENANT {
        for target in [w.b_owner, w.b_support] {
            let ids = Ids {
                user: target.to_string(),
                plan: b_plan.clone(),
                customer: b_customer.to_string(),
                service: b_service.to_string(),
                router: b_router.to_string(),
                batch: b_batch.to_string(),
                ticket: b_ticket.to_string(),
            };
            let reply = w.a.call(endpoint, &form(pairs, &ids)).await;
            assert!(
                matches!(
                    reply.error(),
                    AppError::NotFound { .. } | AppError::Forbidden
                ),
                "{endpoint} with {target}: {} {}",
                reply.status,
                reply.body
            );
        }
    }
    assert_eq!(
        staff_of(&w.db_handle, w.b_tenant).await,
        before,
        "tenant B's staff changed"
    );
    let mut tx = w.db_handle.tenant(w.b_tenant).await.unwrap();
    let ticket: (String, Option<Uuid>, i64) = sqlx::query_as(
        "select status, assigned_to, (select count(*) from ticket_messages) from tickets",
    )
    .fetch_one(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        ticket,
        ("open".into(), None, 1),
        "tenant B's ticket changed"
    );
    let mut tx = w.db_handle.tenant(w.b_tenant).await.unwrap();
    let (plans, archived): (i64, i64) =
        sqlx::query_as("select count(*), count(archived_at) from plans")
            .fetch_one(tx.conn())
            .await
            .unwrap();
    assert_eq!((plans, archived), (1, 0), "tenant B's plan changed");
    drop(tx);
    assert_eq!(
        customers_of(&w.db_handle, w.b_tenant).await,
        customers_before,
        "tenant B's customers changed"
    );
}

#[tokio::test]
async fn the_owner_cannot_be_demoted_or_disabled_and_changes_end_sessions() {
    let db = fresh_database().await;
    let (tenant, owner_id) = db.tenant("alpha-net", "Alpha Net").await;
    let mut tx = db.db().tenant(tenant).await.unwrap();
    db.add_staff(
        &mut tx,
        "Admin A",
        "admin@alpha-net.test",
        app::auth::model::Role::Admin,
        "admin password",
    )
    .await;
    db.add_staff(
        &mut tx,
        "Support S",
        "support@alpha-net.test",
        app::auth::model::Role::Support,
        "support password",
    )
    .await;
    tx.commit().await.unwrap();
    let support_id = db
        .user_id(tenant, "support@alpha-net.test")
        .await
        .to_string();

    let mut admin = Client::new(db.state());
    admin
        .sign_in("admin@alpha-net.test", "admin password")
        .await;
    let owner = owner_id.to_string();
    let demote = admin
        .call(
            "/api/staff/role",
            &[("user_id", &owner), ("role", "support")],
        )
        .await;
    assert!(matches!(demote.error(), AppError::Invalid { field, .. } if field == "role"));
    let disable = admin
        .call(
            "/api/staff/disabled",
            &[("user_id", &owner), ("disabled", "true")],
        )
        .await;
    assert!(matches!(disable.error(), AppError::Invalid { .. }));
    let make_owner = admin
        .call(
            "/api/staff/role",
            &[("user_id", &support_id), ("role", "owner")],
        )
        .await;
    assert!(matches!(make_owner.error(), AppError::Invalid { field, .. } if field == "role"));

    // A role change signs the member out (a privilege change means a fresh session).
    let mut support = Client::new(db.state());
    support
        .sign_in("support@alpha-net.test", "support password")
        .await;
    let promote = admin
        .call(
            "/api/staff/role",
            &[("user_id", &support_id), ("role", "admin")],
        )
        .await;
    assert_eq!(promote.status, StatusCode::OK, "{}", promote.body);
    assert_eq!(
        support.call("/api/workspace", &[]).await.error(),
        AppError::Unauthenticated
    );
    support
        .sign_in("support@alpha-net.test", "support password")
        .await;
    assert_eq!(
        support.call("/api/workspace", &[]).await.json()["role"],
        "admin"
    );

    // Disabling ends the member's sessions at once and blocks sign-in.
    let off = admin
        .call(
            "/api/staff/disabled",
            &[("user_id", &support_id), ("disabled", "true")],
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    assert_eq!(
        support.call("/api/workspace", &[]).await.error(),
        AppError::Unauthenticated
    );
    assert_eq!(
        support
            .sign_in("support@alpha-net.test", "support password")
            .await
            .error(),
        AppError::SignInFailed
    );

    // The audit log shows the changes with before and after, newest first.
    let log = admin
        .call("/api/audit/list", &[("action", "staff."), ("actor", "")])
        .await
        .json();
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["staff.disabled", "staff.role_changed"]);
    assert!(
        log[1]["before"].as_str().unwrap().contains("\"support\""),
        "{log}"
    );
    assert!(
        log[1]["after"].as_str().unwrap().contains("\"admin\""),
        "{log}"
    );
}
