//! The billing engine against a real PostgreSQL as the application role: invoices on service
//! creation, the staff actions (mark paid, waive, cancel, credit note), renewals and credit,
//! the ledger's guarantees (balanced, append-only), the billing job under injected failures, a
//! killed process and two concurrent runs, and random operation sequences that must keep every
//! invariant.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use std::collections::BTreeMap;

use app::{
    AppError,
    auth::{identity::Staff, model::Role, session::RequestMeta},
    billing::{
        actions,
        job::{self, FailPoint, Options, Step},
        model::{Channel, InvoiceStatus},
    },
    customers::{
        model::{CustomerForm, ServiceForm},
        service::{self as customers, ServiceChange},
    },
    db::TenantId,
    state::AppState,
};
use axum::http::StatusCode;
use chrono::Duration;
use support::{TestDb, client::Client, fresh_database};
use uuid::Uuid;

const PLAN: &[(&str, &str)] = &[
    ("form[name]", "Home 10"),
    ("form[kind]", "pppoe"),
    ("form[price]", "3,000"),
    ("form[validity_count]", "30"),
    ("form[validity_unit]", "days"),
    ("form[download_mbps]", "10"),
    ("form[upload_mbps]", "5"),
    ("form[burst_download_mbps]", ""),
    ("form[burst_upload_mbps]", ""),
    ("form[data_cap_gb]", ""),
    ("form[shared_users]", ""),
];

/// number, status, balance column, ledger balance, waived, cancelled, due
type InvoiceFacts = (
    i64,
    String,
    i64,
    i64,
    bool,
    bool,
    chrono::DateTime<chrono::Utc>,
);

struct Isp {
    db: TestDb,
    state: AppState,
    tenant: TenantId,
    staff: Staff,
    owner: Client,
    plans: Vec<Uuid>,
}

fn meta() -> RequestMeta {
    RequestMeta::default()
}

/// A tenant with a signed-in owner and two plans: Home 10 (KES 3,000 / 30 days) and Home 20
/// (KES 4,500 / 30 days).
async fn isp_in(db: TestDb, slug: &str, state: AppState) -> Isp {
    let (tenant, owner_id) = db.tenant(slug, slug).await;
    let mut owner = Client::new(state.clone());
    owner
        .sign_in(&format!("owner@{slug}.test"), &format!("{slug}-password"))
        .await;
    let mut plans = Vec::new();
    for (name, price) in [("Home 10", "3,000"), ("Home 20", "4,500")] {
        let form = support::client::with(PLAN, &[("form[name]", name), ("form[price]", price)]);
        let reply = owner.call("/api/plans/create", &form).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        plans.push(Uuid::parse_str(reply.json()["id"].as_str().unwrap()).unwrap());
    }
    let staff = Staff {
        tenant,
        user_id: owner_id,
        session_id: Uuid::nil(),
        name: "Owner".into(),
        email: format!("owner@{slug}.test"),
        role: Role::Owner,
    };
    Isp {
        db,
        state,
        tenant,
        staff,
        owner,
        plans,
    }
}

async fn isp() -> Isp {
    let db = fresh_database().await;
    let state = db.state();
    isp_in(db, "alpha-net", state).await
}

impl Isp {
    /// A customer with one prepaid service on `plan`; returns (customer, service).
    async fn customer(&self, name: &str, plan: usize) -> (Uuid, Uuid) {
        self.customer_with(name, plan, "prepaid", "").await
    }

    async fn customer_with(&self, name: &str, plan: usize, mode: &str, day: &str) -> (Uuid, Uuid) {
        let customer = CustomerForm {
            name: name.into(),
            phone: "0712345678".into(),
            ..CustomerForm::default()
        }
        .check()
        .unwrap();
        let service = ServiceForm {
            plan_id: self.plans[plan].to_string(),
            billing_mode: mode.into(),
            billing_day: day.into(),
            ..ServiceForm::default()
        }
        .check_optional()
        .unwrap()
        .unwrap();
        let detail =
            customers::create(&self.state, &self.staff, &customer, Some(&service), &meta())
                .await
                .unwrap();
        (detail.id, detail.services[0].id)
    }

    async fn invoices_of(&self, customer: Uuid) -> Vec<(Uuid, i64, String, i64, i64)> {
        let mut tx = self.db.db().tenant(self.tenant).await.unwrap();
        sqlx::query_as(
            "select id, number, status, total_minor, balance_minor from invoices
              where customer_id = $1 order by number",
        )
        .bind(customer)
        .fetch_all(tx.conn())
        .await
        .unwrap()
    }

    async fn balance(&self, customer: Uuid) -> i64 {
        let mut tx = self.db.db().tenant(self.tenant).await.unwrap();
        sqlx::query_scalar(
            "select coalesce(sum(amount_minor), 0)::bigint from ledger_entries where customer_id = $1",
        )
        .bind(customer)
        .fetch_one(tx.conn())
        .await
        .unwrap()
    }

    async fn expiry(&self, service: Uuid) -> chrono::DateTime<chrono::Utc> {
        let mut tx = self.db.db().tenant(self.tenant).await.unwrap();
        sqlx::query_scalar("select expires_at from services where id = $1")
            .bind(service)
            .fetch_one(tx.conn())
            .await
            .unwrap()
    }

    async fn pay(
        &self,
        invoice: Uuid,
        amount: Option<i64>,
        reference: &str,
    ) -> Result<(), AppError> {
        actions::mark_paid(
            &self.state,
            &self.staff,
            invoice,
            Channel::Cash,
            amount,
            reference,
            &meta(),
        )
        .await
    }

    async fn run_job(&self) -> job::Report {
        job::run_tenant(&self.state, self.tenant, &Options::default())
            .await
            .unwrap()
    }

    /// Every invariant the ledger and the invoices promise, for this tenant.
    async fn assert_books(&self) {
        let mut tx = self.db.db().tenant(self.tenant).await.unwrap();
        let unbalanced: Vec<Uuid> = sqlx::query_scalar(
            "select transaction_id from ledger_entries group by transaction_id, currency
              having sum(amount_minor) <> 0 or count(*) < 2",
        )
        .fetch_all(tx.conn())
        .await
        .unwrap();
        assert!(
            unbalanced.is_empty(),
            "unbalanced transactions: {unbalanced:?}"
        );
        let empty: i64 = sqlx::query_scalar(
            "select count(*) from ledger_transactions t
              where not exists (select 1 from ledger_entries e where e.transaction_id = t.id)",
        )
        .fetch_one(tx.conn())
        .await
        .unwrap();
        assert_eq!(empty, 0, "transactions without entries");
        // Each invoice's balance is what the ledger says it is owed, and its status follows.
        let rows: Vec<InvoiceFacts> =
            sqlx::query_as(
                "select i.number, i.status, i.balance_minor,
                        coalesce((select sum(e.amount_minor) from ledger_entries e where e.invoice_id = i.id), 0)::bigint,
                        exists (select 1 from ledger_transactions t where t.source_id = i.id and t.kind = 'waiver'),
                        exists (select 1 from ledger_transactions t where t.source_id = i.id and t.kind = 'cancellation'),
                        i.due_at
                   from invoices i order by i.number",
            )
            .fetch_all(tx.conn())
            .await
            .unwrap();
        let now = self.state.clock.now();
        for (number, status, balance, ledger, waived, cancelled, due) in &rows {
            assert_eq!(balance, ledger, "INV {number}: balance column vs ledger");
            let derived = InvoiceStatus::derive(*waived, *cancelled, *ledger, *due, now);
            assert_eq!(status, derived.as_str(), "INV {number}: status vs ledger");
        }
        // Gapless numbers from 1.
        let numbers: Vec<i64> = rows.iter().map(|r| r.0).collect();
        assert_eq!(
            numbers,
            (1..=rows.len() as i64).collect::<Vec<_>>(),
            "gapless numbers"
        );
        // A subscription period is invoiced once.
        let doubled: i64 = sqlx::query_scalar(
            "select count(*) from (select service_id, period_start from invoices
              where purpose = 'period' group by 1, 2 having count(*) > 1) d",
        )
        .fetch_one(tx.conn())
        .await
        .unwrap();
        assert_eq!(doubled, 0, "a period invoiced twice");
        // A customer's balance (sum of their entries) is what their invoices owe less their
        // unallocated credit.
        let mismatched: Vec<Uuid> = sqlx::query_scalar(
            "select c.id from customers c
              where coalesce((select sum(e.amount_minor) from ledger_entries e where e.customer_id = c.id), 0)
                 <> coalesce((select sum(i.balance_minor) from invoices i where i.customer_id = c.id), 0)
                  + coalesce((select sum(e.amount_minor) from ledger_entries e
                               where e.customer_id = c.id and e.invoice_id is null), 0)",
        )
        .fetch_all(tx.conn())
        .await
        .unwrap();
        assert!(mismatched.is_empty(), "customer balances: {mismatched:?}");
        // Unallocated credit is never a debt.
        let negative_credit: i64 = sqlx::query_scalar(
            "select count(*) from (select customer_id from ledger_entries where invoice_id is null
              and customer_id is not null group by 1 having sum(amount_minor) > 0) n",
        )
        .fetch_one(tx.conn())
        .await
        .unwrap();
        assert_eq!(negative_credit, 0, "credit below zero");
    }
}

#[tokio::test]
async fn a_new_service_is_invoiced_and_staff_can_pay_waive_cancel_and_credit() {
    let isp = isp().await;
    let (alice, _) = isp.customer("Alice Wanjiku", 0).await;
    let (bob, _) = isp.customer("Bob Otieno", 0).await;
    let (carol, _) = isp.customer("Carol Achieng", 1).await;
    let invoices = isp.invoices_of(alice).await;
    assert_eq!(invoices.len(), 1);
    let (a1, number, status, total, owed) = invoices[0].clone();
    assert_eq!(
        (number, status.as_str(), total, owed),
        (1, "pending", 300_000, 300_000)
    );
    assert_eq!(isp.balance(alice).await, 300_000);

    // Paid in cash with a receipt number; the same receipt again is refused, not counted twice.
    isp.pay(a1, None, "RCPT-1").await.unwrap();
    assert_eq!(isp.invoices_of(alice).await[0].2, "paid");
    assert_eq!(isp.balance(alice).await, 0);
    let (b1, ..) = isp.invoices_of(bob).await[0].clone();
    let again = isp.pay(b1, None, "RCPT-1").await.unwrap_err();
    assert!(
        matches!(again, AppError::Invalid { ref field, .. } if field == "reference"),
        "{again:?}"
    );
    assert_eq!(
        isp.invoices_of(bob).await[0].2,
        "pending",
        "nothing was applied"
    );

    // Waived: written off, still listed.
    let empty = actions::waive(&isp.state, &isp.staff, b1, " ", &meta())
        .await
        .unwrap_err();
    assert!(matches!(empty, AppError::Invalid { ref field, .. } if field == "reason"));
    actions::waive(&isp.state, &isp.staff, b1, "Promised a free month", &meta())
        .await
        .unwrap();
    let bob_invoice = &isp.invoices_of(bob).await[0];
    assert_eq!((bob_invoice.2.as_str(), bob_invoice.4), ("waived", 0));
    assert_eq!(isp.balance(bob).await, 0);
    assert!(
        isp.pay(b1, None, "RCPT-2").await.is_err(),
        "a waived invoice takes no payment"
    );

    // A credit note of KES 500 on Carol's KES 4,500, then cancellation of the rest: owed falls
    // to 4,000, then to nothing; a partial payment of 1,000 first becomes credit.
    let (c1, ..) = isp.invoices_of(carol).await[0].clone();
    let cn = actions::credit_note(
        &isp.state,
        &isp.staff,
        c1,
        50_000,
        "Outage on 3 Nov",
        &meta(),
    )
    .await
    .unwrap();
    assert_eq!(cn, "CN-000001");
    assert_eq!(isp.invoices_of(carol).await[0].4, 400_000);
    let too_much = actions::credit_note(&isp.state, &isp.staff, c1, 500_000, "x", &meta())
        .await
        .unwrap_err();
    assert!(matches!(too_much, AppError::Invalid { ref field, .. } if field == "amount"));
    isp.pay(c1, Some(100_000), "RCPT-3").await.unwrap();
    assert_eq!(isp.invoices_of(carol).await[0].2, "pending", "partly paid");
    actions::cancel(&isp.state, &isp.staff, c1, "Raised in error", &meta())
        .await
        .unwrap();
    let carol_invoice = &isp.invoices_of(carol).await[0];
    assert_eq!(
        (carol_invoice.2.as_str(), carol_invoice.4),
        ("cancelled", 0)
    );
    assert_eq!(
        isp.balance(carol).await,
        -100_000,
        "the payment is now credit"
    );

    // A support agent may see invoices but not change them.
    let support = Staff {
        role: Role::Support,
        ..isp.staff.clone()
    };
    let refused = actions::waive(&isp.state, &support, a1, "no", &meta())
        .await
        .unwrap_err();
    assert_eq!(refused, AppError::Forbidden);

    // Every action is in the audit log.
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    let actions: Vec<String> = sqlx::query_scalar(
        "select action from audit_log where action like 'invoice.%' order by id",
    )
    .fetch_all(tx.conn())
    .await
    .unwrap();
    drop(tx);
    assert_eq!(
        actions,
        [
            "invoice.marked_paid",
            "invoice.waived",
            "invoice.credited",
            "invoice.marked_paid",
            "invoice.cancelled"
        ]
    );
    isp.assert_books().await;

    // The report agrees with the documents to the cent.
    let s = app::billing::queries::summary(&isp.state, &isp.staff, None, None)
        .await
        .unwrap();
    assert_eq!(s.invoiced_minor, 300_000 + 300_000 + 450_000);
    assert_eq!(s.collected_minor, 300_000 + 100_000);
    assert_eq!(s.collected_by_channel, vec![(Channel::Cash, 400_000)]);
    assert_eq!(s.waived_minor, 300_000);
    assert_eq!(s.credited_minor, 50_000);
    assert_eq!(
        s.cancelled_minor, 400_000,
        "the 4,500 less the 500 credited"
    );
    assert_eq!(
        s.outstanding_minor, 0,
        "Alice paid, Bob waived, Carol cancelled"
    );
    assert_eq!(s.customer_credit_minor, 100_000);
    // Invoiced = collected + waived + credited + cancelled + outstanding - credit held.
    assert_eq!(
        s.invoiced_minor,
        s.collected_minor
            + s.waived_minor
            + s.credited_minor
            + s.cancelled_minor
            + s.outstanding_minor
            - s.customer_credit_minor
    );
}

#[tokio::test]
async fn the_invoices_page_search_the_pdf_and_the_statement_work_through_http() {
    let mut isp = isp().await;
    let (alice, _) = isp.customer("Alice Wanjiku", 0).await;
    isp.customer("Bob Otieno", 1).await;
    let page = isp
        .owner
        .call(
            "/api/invoices/list",
            &[("query[q]", "wanj"), ("query[page]", "1")],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let rows = page.json()["rows"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["customer_name"], "Alice Wanjiku");
    assert_eq!(page.json()["counts"]["pending"], 2);
    for (q, want) in [
        ("INV-000002", "Bob Otieno"),
        ("4,500", "Bob Otieno"),
        ("3000", "Alice Wanjiku"),
    ] {
        let rows = isp
            .owner
            .call(
                "/api/invoices/list",
                &[("query[q]", q), ("query[page]", "1")],
            )
            .await
            .json()["rows"]
            .clone();
        assert_eq!(rows.as_array().unwrap().len(), 1, "{q}");
        assert_eq!(rows[0]["customer_name"], want, "{q}");
    }
    let id = rows[0]["id"].as_str().unwrap().to_string();
    let pdf = isp.owner.get(&format!("/app/invoices/{id}/pdf")).await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert_eq!(pdf.headers["content-type"], "application/pdf");
    assert!(pdf.body.starts_with("%PDF-"), "a PDF");
    assert!(pdf.body.contains("INV-000001") && pdf.body.contains("KES 3,000"));
    let statement = isp
        .owner
        .get(&format!(
            "/app/customers/{alice}/statement.pdf?from=2020-01-01&to="
        ))
        .await;
    assert_eq!(statement.status, StatusCode::OK);
    assert!(statement.body.contains("Closing balance") && statement.body.contains("KES 3,000"));
    let bad = isp
        .owner
        .get(&format!(
            "/app/customers/{alice}/statement.pdf?from=yesterday"
        ))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let anonymous = Client::new(isp.state.clone())
        .get(&format!("/app/invoices/{id}/pdf"))
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn vat_is_per_line_half_up_and_the_kra_pin_is_printed() {
    let mut isp = isp().await;
    let reply = isp
        .owner
        .call(
            "/api/billing/settings/update",
            &[
                ("vat_enabled", "on"),
                ("vat_inclusive", "exclusive"),
                ("kra_pin", "p051234567x"),
                ("invoice_due_days", "7"),
                ("renewal_notice_days", "3"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["kra_pin"], "P051234567X");
    let bad = isp
        .owner
        .call(
            "/api/billing/settings/update",
            &[
                ("vat_inclusive", "inclusive"),
                ("kra_pin", "123"),
                ("invoice_due_days", "7"),
                ("renewal_notice_days", "3"),
            ],
        )
        .await;
    assert_eq!(
        bad.error(),
        AppError::invalid(
            "kra_pin",
            "must be A or P, nine digits and a letter, like P051234567X"
        )
    );
    let (alice, _) = isp.customer("Alice Wanjiku", 0).await;
    let (id, _, _, total, _) = isp.invoices_of(alice).await[0].clone();
    assert_eq!(total, 348_000, "KES 3,000 + 16%");
    let pdf = isp.owner.get(&format!("/app/invoices/{id}/pdf")).await;
    assert!(pdf.body.contains("KRA PIN P051234567X") && pdf.body.contains("KES 480"));
    isp.assert_books().await;
}

#[tokio::test]
async fn renewals_come_before_expiry_and_credit_pays_them_and_moves_the_expiry() {
    let isp = isp().await;
    let (alice, service) = isp.customer("Alice Wanjiku", 0).await;
    let first_expiry = isp.expiry(service).await;
    let (a1, ..) = isp.invoices_of(alice).await[0].clone();
    // She pays twice the price: the rest is credit.
    isp.pay(a1, Some(600_000), "RCPT-1").await.unwrap();
    assert_eq!(isp.balance(alice).await, -300_000);
    // Not yet within the 3-day notice: nothing to do.
    isp.state.clock.advance(Duration::days(26));
    assert_eq!(isp.run_job().await.invoices, 0);
    // Within it: the renewal is invoiced, paid from credit, and the expiry moves a period on.
    isp.state.clock.advance(Duration::days(2));
    let report = isp.run_job().await;
    assert_eq!((report.invoices, report.renewed), (1, 1));
    assert_eq!(isp.expiry(service).await, first_expiry + Duration::days(30));
    assert_eq!(isp.balance(alice).await, 0);
    // Running again changes nothing.
    assert_eq!(isp.run_job().await.invoices, 0);
    // The next renewal finds no credit: it stays pending, then overdue at the expiry, and with
    // no grace period the service is cut off then; paying it gives a fresh period from now.
    isp.state.clock.advance(Duration::days(30));
    assert_eq!(isp.run_job().await.invoices, 1);
    let renewal = isp.invoices_of(alice).await[2].clone();
    assert_eq!(renewal.2, "pending");
    isp.state.clock.advance(Duration::days(3));
    let report = isp.run_job().await;
    assert_eq!((report.overdue, report.expired), (1, 1));
    isp.pay(renewal.0, None, "RCPT-2").await.unwrap();
    let now = isp.state.clock.now();
    assert_eq!(isp.expiry(service).await, now + Duration::days(30));
    // The reconnection and the receipt wait in the outbox, written with the payment.
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    let extended: Vec<(Uuid, String, String)> = sqlx::query_as(
        "select service_id, body ->> 'was', body ->> 'expires_at' from outbox_events
          where topic = 'service.extended' and customer_id = $1 order by created_at",
    )
    .bind(alice)
    .fetch_all(tx.conn())
    .await
    .unwrap();
    let expiry = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap();
    assert_eq!(
        extended.len(),
        1,
        "the renewal paid from credit is the job's, not the outbox's"
    );
    assert_eq!(
        (extended[0].0, extended[0].1.as_str()),
        (service, "expired")
    );
    assert_eq!(expiry(&extended[0].2), now + Duration::days(30));
    let receipts: Vec<String> = sqlx::query_scalar(
        "select p.reference from outbox_events o join payments p on p.id = o.payment_id
          where o.topic = 'payment.received' and o.customer_id = $1 order by p.reference",
    )
    .bind(alice)
    .fetch_all(tx.conn())
    .await
    .unwrap();
    assert_eq!(receipts, ["RCPT-1", "RCPT-2"]);
    tx.commit().await.unwrap();
    isp.assert_books().await;
}

#[tokio::test]
async fn postpaid_services_are_billed_on_their_day_in_advance() {
    let isp = isp().await;
    let (bob, service) = isp.customer_with("Bob Otieno", 0, "postpaid", "1").await;
    let first = isp.invoices_of(bob).await;
    assert_eq!(first.len(), 1, "the part-month to the first billing day");
    assert!(
        first[0].3 > 0 && first[0].3 <= 300_000,
        "prorated: {}",
        first[0].3
    );
    let billing_day = isp.expiry(service).await;
    isp.state
        .clock
        .advance(billing_day - isp.state.clock.now() + Duration::hours(1));
    let report = isp.run_job().await;
    assert_eq!(report.invoices, 1);
    let invoices = isp.invoices_of(bob).await;
    assert_eq!(invoices[1].3, 300_000, "a full month ahead");
    assert!(isp.expiry(service).await > billing_day + Duration::days(27));
    assert_eq!(isp.run_job().await.invoices, 0, "once per period");
    isp.assert_books().await;
}

#[tokio::test]
async fn a_plan_change_credits_the_unused_part_and_charges_the_new_plan() {
    let isp = isp().await;
    let (alice, service) = isp.customer("Alice Wanjiku", 0).await;
    let (a1, ..) = isp.invoices_of(alice).await[0].clone();
    isp.pay(a1, None, "RCPT-1").await.unwrap();
    isp.state.clock.advance(Duration::days(15));
    customers::change_service(
        &isp.state,
        &isp.staff,
        service,
        ServiceChange::ChangePlan(isp.plans[1]),
        &meta(),
    )
    .await
    .unwrap();
    // Half of 3,000 back, half of 4,500 charged: 750 to pay.
    let invoices = isp.invoices_of(alice).await;
    assert_eq!(invoices.len(), 2);
    assert_eq!(invoices[1].3, 225_000);
    assert_eq!(invoices[1].4, 75_000, "the credit paid the rest");
    assert_eq!(isp.balance(alice).await, 75_000);
    isp.assert_books().await;
}

#[tokio::test]
async fn the_application_role_cannot_change_or_remove_posted_entries() {
    let isp = isp().await;
    let (alice, _) = isp.customer("Alice Wanjiku", 0).await;
    for sql in [
        "update ledger_entries set amount_minor = amount_minor + 1",
        "delete from ledger_entries",
        "update ledger_transactions set memo = 'changed'",
        "delete from ledger_transactions",
        "update invoices set total_minor = 1",
        "delete from invoices",
        "delete from payments",
    ] {
        let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
        let err = sqlx::query(sql).execute(tx.conn()).await.unwrap_err();
        let code = err
            .as_database_error()
            .and_then(|e| e.code())
            .unwrap_or_default();
        assert_eq!(code, "42501", "{sql}: {err}");
    }
    // An unbalanced transaction is refused by the database itself.
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    let t = Uuid::new_v4();
    sqlx::query(
        "insert into ledger_transactions (tenant_id, id, kind, source_type, source_id, idempotency_key, memo, posted_at)
         values ($1, $2, 'adjustment', 'invoice', $2, 'probe', '', now())",
    )
    .bind(isp.tenant.0)
    .bind(t)
    .execute(tx.conn())
    .await
    .unwrap();
    let err = sqlx::query(
        "insert into ledger_entries (tenant_id, transaction_id, line, account, customer_id, amount_minor, currency)
         values ($1, $2, 1, 'receivable', $3, 100, 'KES'), ($1, $2, 2, 'write_off', null, -99, 'KES')",
    )
    .bind(isp.tenant.0)
    .bind(t)
    .bind(alice)
    .execute(tx.conn())
    .await
    .unwrap_err();
    assert!(err.to_string().contains("does not balance"), "{err}");

    // The check reads only what each statement adds (earlier entries balance already): a lone
    // entry, an entry added later to a balanced transaction, and amounts that cancel across
    // currencies are all refused; a balanced pair is accepted.
    for (probe, entries, balanced) in [
        ("lone", vec![(1, "receivable", 100, "KES")], false),
        (
            "currencies",
            vec![(1, "receivable", 100, "KES"), (2, "write_off", -100, "USD")],
            false,
        ),
        (
            "pair",
            vec![(1, "receivable", 100, "KES"), (2, "write_off", -100, "KES")],
            true,
        ),
    ] {
        let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
        let t = Uuid::new_v4();
        sqlx::query(
            "insert into ledger_transactions (tenant_id, id, kind, source_type, source_id, idempotency_key, memo, posted_at)
             values ($1, $2, 'adjustment', 'invoice', $2, $3, '', now())",
        )
        .bind(isp.tenant.0)
        .bind(t)
        .bind(probe)
        .execute(tx.conn())
        .await
        .unwrap();
        let insert = |line: i16, account: &'static str, amount: i64, currency: &'static str| {
            sqlx::query(
                "insert into ledger_entries (tenant_id, transaction_id, line, account, customer_id, amount_minor, currency)
                 values ($1, $2, $3, $4, case when $4 = 'receivable' then $5 end, $6, $7)",
            )
            .bind(isp.tenant.0)
            .bind(t)
            .bind(line)
            .bind(account)
            .bind(alice)
            .bind(amount)
            .bind(currency)
        };
        // All of a probe's entries in one statement.
        let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(
            "insert into ledger_entries (tenant_id, transaction_id, line, account, customer_id, amount_minor, currency) ",
        );
        q.push_values(&entries, |mut row, (line, account, amount, currency)| {
            row.push_bind(isp.tenant.0)
                .push_bind(t)
                .push_bind(*line as i16)
                .push_bind(*account)
                .push_bind((*account == "receivable").then_some(alice))
                .push_bind(*amount as i64)
                .push_bind(*currency);
        });
        let result = q.build().execute(tx.conn()).await;
        assert_eq!(result.is_ok(), balanced, "{probe}: {result:?}");
        if balanced {
            // A third entry added to the balanced pair by a later statement.
            let err = insert(3, "receivable", 1, "KES")
                .execute(tx.conn())
                .await
                .unwrap_err();
            assert!(err.to_string().contains("does not balance"), "{err}");
        }
    }
}

/// Customers whose service expires in two days, so the job renews them all, half with enough
/// credit to pay the renewal at once. Inserted set-based as the application role.
async fn seed_due(isp: &Isp, n: i64) {
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    let now = isp.state.clock.now();
    sqlx::query(
        "insert into customers (tenant_id, id, account_number, name, phone, created_at, updated_at)
         select $1, gen_random_uuid(), (5000 + g)::text, 'Customer ' || g,
                '2547' || lpad(g::text, 8, '0'), $3, $3
           from generate_series(1, $2) g",
    )
    .bind(isp.tenant.0)
    .bind(n)
    .bind(now)
    .execute(tx.conn())
    .await
    .unwrap();
    sqlx::query(
        "insert into services (tenant_id, id, customer_id, plan_id, username, password_enc, status,
                               billing_mode, starts_at, expires_at, created_at, updated_at)
         select c.tenant_id, gen_random_uuid(), c.id, $2, 'u' || c.account_number, '\\x00'::bytea,
                'active', 'prepaid', $3 - interval '28 days', $3 + make_interval(hours => 24 + (c.account_number::int % 24)),
                $3, $3
           from customers c where c.account_number::int > 5000",
    )
    .bind(isp.tenant.0)
    .bind(isp.plans[0])
    .bind(now)
    .execute(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    // Credit for the even-numbered half, as cash received with no invoice open.
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    let even: Vec<Uuid> = sqlx::query_scalar(
        "select id from customers where account_number::int > 5000 and account_number::int % 2 = 0",
    )
    .fetch_all(tx.conn())
    .await
    .unwrap();
    let terms = app::billing::invoices::terms(&mut tx).await.unwrap();
    for (i, customer) in even.into_iter().enumerate() {
        actions::apply_payment(
            &mut tx,
            &terms,
            now,
            &actions::PaymentIn {
                customer,
                channel: Channel::Mpesa,
                amount: 300_000,
                reference: format!("SEED{i}"),
                received_at: now,
                recorded_by: None,
                invoice: None,
            },
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

/// What the books say, without the numbers (which may be handed out in another order): each
/// invoice by its customer, period and amounts, each customer's balance and expiry, and the
/// entries per account.
async fn snapshot(isp: &Isp) -> BTreeMap<String, String> {
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    let mut out = BTreeMap::new();
    let rows: Vec<(String, i64, i64, String, i64)> = sqlx::query_as(
        "select c.account_number, extract(epoch from i.period_start)::bigint, i.total_minor, i.status, i.balance_minor
           from invoices i join customers c on c.id = i.customer_id",
    )
    .fetch_all(tx.conn())
    .await
    .unwrap();
    for (account, start, total, status, balance) in rows {
        out.insert(
            format!("invoice {account} {start}"),
            format!("{total} {status} {balance}"),
        );
    }
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "select c.account_number,
                coalesce((select sum(amount_minor) from ledger_entries e where e.customer_id = c.id), 0)::bigint,
                (select extract(epoch from max(expires_at))::bigint from services s where s.customer_id = c.id)
           from customers c",
    )
    .fetch_all(tx.conn())
    .await
    .unwrap();
    for (account, balance, expiry) in rows {
        out.insert(format!("customer {account}"), format!("{balance} {expiry}"));
    }
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "select account, count(*), sum(amount_minor)::bigint from ledger_entries group by account",
    )
    .fetch_all(tx.conn())
    .await
    .unwrap();
    for (account, count, sum) in rows {
        out.insert(format!("account {account}"), format!("{count} {sum}"));
    }
    out
}

#[tokio::test]
async fn a_billing_run_that_fails_at_any_step_and_is_rerun_ends_like_a_clean_run() {
    let db = fresh_database().await;
    let state = db.state();
    let clean_db = fresh_database().await;
    // Its own database, the same clock.
    let mut clean_state = clean_db.state();
    clean_state.clock = state.clock.clone();
    let clean = isp_in(clean_db, "clean-net", clean_state).await;
    let crashy = isp_in(db, "crashy-net", state.clone()).await;
    seed_due(&clean, 40).await;
    seed_due(&crashy, 40).await;
    state.clock.advance(Duration::hours(1));

    let clean_report = job::run_tenant(
        &clean.state,
        clean.tenant,
        &Options {
            batch_size: 7,
            ..Options::default()
        },
    )
    .await
    .unwrap();
    assert_eq!((clean_report.invoices, clean_report.renewed), (40, 20));

    for batch in 0..3 {
        for step in [Step::Selected, Step::Issued, Step::BeforeCommit] {
            let opts = Options {
                batch_size: 7,
                fail: Some(FailPoint { batch, step }),
                run: None,
            };
            let err = job::run_tenant(&crashy.state, crashy.tenant, &opts).await;
            // A failure planned for a batch that no longer exists (earlier runs did the work)
            // simply does not happen.
            if let Err(e) = err {
                assert!(e.to_string().contains("Something went wrong"), "{e}");
            }
            crashy.assert_books().await;
        }
    }
    job::run_tenant(
        &crashy.state,
        crashy.tenant,
        &Options {
            batch_size: 7,
            ..Options::default()
        },
    )
    .await
    .unwrap();
    crashy.assert_books().await;
    clean.assert_books().await;
    assert_eq!(snapshot(&crashy).await, snapshot(&clean).await);
}

#[tokio::test]
async fn two_billing_runs_at_once_invoice_each_period_once_with_gapless_numbers() {
    let isp = isp().await;
    seed_due(&isp, 120).await;
    isp.state.clock.advance(Duration::hours(1));
    let opts = Options {
        batch_size: 5,
        ..Options::default()
    };
    let (a, b) = tokio::join!(
        job::run_tenant(&isp.state, isp.tenant, &opts),
        job::run_tenant(&isp.state, isp.tenant, &opts)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.invoices + b.invoices, 120, "{a:?} {b:?}");
    assert!(
        a.invoices > 0 && b.invoices > 0,
        "both took a share: {a:?} {b:?}"
    );
    isp.assert_books().await;
}

#[tokio::test]
async fn a_billing_process_killed_mid_run_is_finished_by_the_next_run() {
    let db = fresh_database().await;
    let state = db.state();
    let clean_db = fresh_database().await;
    // Its own database, the same clock.
    let mut clean_state = clean_db.state();
    clean_state.clock = state.clock.clone();
    let clean = isp_in(clean_db, "clean-net", clean_state).await;
    let killed = isp_in(db, "killed-net", state.clone()).await;
    // The process uses the real clock: set the expiries relative to it.
    seed_due(&clean, 600).await;
    seed_due(&killed, 600).await;
    job::run_tenant(
        &clean.state,
        clean.tenant,
        &Options {
            batch_size: 10,
            ..Options::default()
        },
    )
    .await
    .unwrap();

    // The runtime role's URL, pointed at this test's database.
    let base = std::env::var("APP_DATABASE_URL").unwrap();
    let (server_part, rest) = base.rsplit_once('/').unwrap();
    let query = rest
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    let app_url = format!("{server_part}/{}{query}", killed.db.name);
    // Any key will do: billing reads no sealed secret.
    let key = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
    let bill = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_server"))
            .arg("bill")
            .env("APP_DATABASE_URL", &app_url)
            .env("JASIYO_SECRET_KEY", key)
            .env("JASIYO_BILLING_BATCH", "5")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut child = bill();
    // Kill it once some batches have committed and before the last.
    let mut seen = 0i64;
    for _ in 0..2_000 {
        let mut tx = killed.db.db().tenant(killed.tenant).await.unwrap();
        seen = sqlx::query_scalar("select count(*) from invoices")
            .fetch_one(tx.conn())
            .await
            .unwrap();
        drop(tx);
        if seen >= 50 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    child.kill().unwrap(); // SIGKILL: no clean-up runs
    child.wait().unwrap();
    assert!(seen >= 50, "the run had started");
    let mut tx = killed.db.db().tenant(killed.tenant).await.unwrap();
    let after_kill: i64 = sqlx::query_scalar("select count(*) from invoices")
        .fetch_one(tx.conn())
        .await
        .unwrap();
    drop(tx);
    assert!(
        after_kill < 600,
        "killed before the end ({after_kill} of 600)"
    );
    killed.assert_books().await;
    let rest = bill().wait().unwrap();
    assert!(rest.success());
    killed.assert_books().await;
    assert_eq!(snapshot(&killed).await, snapshot(&clean).await);
}

/// One step of a random billing history.
#[derive(Debug, Clone)]
enum Op {
    NewCustomer {
        plan: usize,
        postpaid: bool,
    },
    /// A payment by the customer (as a paybill payment would arrive: no invoice named).
    Pay {
        who: usize,
        shillings: i64,
    },
    MarkPaid {
        invoice: usize,
        shillings: Option<i64>,
    },
    Waive {
        invoice: usize,
    },
    Cancel {
        invoice: usize,
    },
    Credit {
        invoice: usize,
        percent: i64,
    },
    ChangePlan {
        who: usize,
    },
    /// Time passes and the billing job runs.
    Advance {
        days: i64,
    },
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    prop_oneof![
        2 => (0usize..2, any::<bool>()).prop_map(|(plan, postpaid)| Op::NewCustomer { plan, postpaid }),
        3 => (0usize..8, 1i64..8_000).prop_map(|(who, shillings)| Op::Pay { who, shillings }),
        2 => (0usize..16, proptest::option::of(1i64..6_000)).prop_map(|(invoice, shillings)| Op::MarkPaid { invoice, shillings }),
        1 => (0usize..16).prop_map(|invoice| Op::Waive { invoice }),
        1 => (0usize..16).prop_map(|invoice| Op::Cancel { invoice }),
        1 => (0usize..16, 1i64..=100).prop_map(|(invoice, percent)| Op::Credit { invoice, percent }),
        1 => (0usize..8).prop_map(|who| Op::ChangePlan { who }),
        2 => (1i64..20).prop_map(|days| Op::Advance { days }),
    ]
}

/// Refusals are fine (a waived invoice cannot be paid, a plan change to the same plan...);
/// anything else is a bug.
fn allowed(result: Result<impl std::fmt::Debug, AppError>) {
    match result {
        Ok(_) | Err(AppError::Invalid { .. }) | Err(AppError::NotFound { .. }) => {}
        Err(other) => panic!("unexpected failure: {other:?}"),
    }
}

async fn run_ops(ops: Vec<Op>) {
    let isp = isp().await;
    let mut customers: Vec<(Uuid, Uuid)> = Vec::new();
    let mut receipts = 0;
    for op in ops {
        let invoices: Vec<Uuid> = {
            let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
            sqlx::query_scalar("select id from invoices order by number")
                .fetch_all(tx.conn())
                .await
                .unwrap()
        };
        let invoice = |i: usize| (!invoices.is_empty()).then(|| invoices[i % invoices.len()]);
        receipts += 1;
        match op {
            Op::NewCustomer { plan, postpaid } => {
                let (mode, day) = if postpaid {
                    ("postpaid", "5")
                } else {
                    ("prepaid", "")
                };
                let name = format!("Customer {}", customers.len() + 1);
                customers.push(isp.customer_with(&name, plan, mode, day).await);
            }
            Op::Pay { who, shillings } if !customers.is_empty() => {
                let customer = customers[who % customers.len()].0;
                let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
                let terms = app::billing::invoices::terms(&mut tx).await.unwrap();
                let now = isp.state.clock.now();
                actions::apply_payment(
                    &mut tx,
                    &terms,
                    now,
                    &actions::PaymentIn {
                        customer,
                        channel: Channel::Mpesa,
                        amount: shillings * 100,
                        reference: format!("MP{receipts}"),
                        received_at: now,
                        recorded_by: None,
                        invoice: None,
                    },
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
            }
            Op::MarkPaid {
                invoice: i,
                shillings,
            } => {
                if let Some(id) = invoice(i) {
                    allowed(
                        isp.pay(id, shillings.map(|s| s * 100), &format!("R{receipts}"))
                            .await,
                    );
                }
            }
            Op::Waive { invoice: i } => {
                if let Some(id) = invoice(i) {
                    allowed(actions::waive(&isp.state, &isp.staff, id, "goodwill", &meta()).await);
                }
            }
            Op::Cancel { invoice: i } => {
                if let Some(id) = invoice(i) {
                    allowed(actions::cancel(&isp.state, &isp.staff, id, "in error", &meta()).await);
                }
            }
            Op::Credit {
                invoice: i,
                percent,
            } => {
                if let Some(id) = invoice(i) {
                    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
                    let total: i64 =
                        sqlx::query_scalar("select total_minor from invoices where id = $1")
                            .bind(id)
                            .fetch_one(tx.conn())
                            .await
                            .unwrap();
                    drop(tx);
                    let amount = (total * percent / 100).max(1);
                    allowed(
                        actions::credit_note(
                            &isp.state,
                            &isp.staff,
                            id,
                            amount,
                            "goodwill",
                            &meta(),
                        )
                        .await,
                    );
                }
            }
            Op::ChangePlan { who } if !customers.is_empty() => {
                let service = customers[who % customers.len()].1;
                for plan in &isp.plans {
                    allowed(
                        customers::change_service(
                            &isp.state,
                            &isp.staff,
                            service,
                            ServiceChange::ChangePlan(*plan),
                            &meta(),
                        )
                        .await,
                    );
                }
            }
            Op::Advance { days } => {
                isp.state.clock.advance(Duration::days(days));
                isp.run_job().await;
            }
            Op::Pay { .. } | Op::ChangePlan { .. } => {}
        }
    }
    isp.run_job().await;
    isp.assert_books().await;
}

#[test]
fn random_billing_histories_keep_the_books_balanced_and_the_statuses_true() {
    use proptest::test_runner::{Config, TestRunner};
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 10,
        max_shrink_iters: 16,
        ..Config::default()
    });
    let strategy = proptest::collection::vec(op(), 5..40);
    runner
        .run(&strategy, |ops| {
            runtime.block_on(run_ops(ops));
            Ok(())
        })
        .unwrap();
}
