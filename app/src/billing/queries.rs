//! Reading billing: the invoices list and one invoice, a customer's account and statement, the
//! money summary, the billing settings and "Run billing now" progress. Every figure is read
//! from the ledger or from invoice columns kept equal to it in the same transaction.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use crate::{
    audit::store::{Entry, record},
    auth::{identity::Staff, model::Permission, session::RequestMeta},
    billing::{
        ledger,
        model::{
            BillingRunView, BillingSettings, BillingSummary, Channel, CreditNoteView,
            CustomerAccount, INVOICE_PAGE_SIZE, InvoiceDetail, InvoiceLineView, InvoicePage,
            InvoiceQuery, InvoiceRow, InvoiceStatus, LedgerLine, RunStatus, StatusCounts, TxKind,
            normalise_kra_pin, parse_days, parse_invoice_number,
        },
    },
    customers::{
        model::end_of_local_day,
        service::{offset_seconds, zone},
    },
    db::TenantTx,
    error::AppError,
    money::parse_kes,
    state::AppState,
};

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    number: i64,
    customer_id: Uuid,
    customer_name: String,
    account_number: String,
    description: Option<String>,
    issued_at: DateTime<Utc>,
    due_at: DateTime<Utc>,
    total_minor: i64,
    balance_minor: i64,
    status: String,
}

impl Row {
    fn into_row(self) -> InvoiceRow {
        InvoiceRow {
            id: self.id,
            number: self.number,
            customer_id: self.customer_id,
            customer_name: self.customer_name,
            account_number: self.account_number,
            description: self.description.unwrap_or_default(),
            issued_at: self.issued_at,
            due_at: self.due_at,
            total_minor: self.total_minor,
            balance_minor: self.balance_minor,
            status: InvoiceStatus::parse(&self.status).unwrap_or(InvoiceStatus::Pending),
        }
    }
}

const ROW_SELECT: &str = "select i.id, i.number, i.customer_id, c.name as customer_name, c.account_number,
        (select l.description from invoice_lines l
          where l.tenant_id = i.tenant_id and l.invoice_id = i.id order by l.line limit 1) as description,
        i.issued_at, i.due_at, i.total_minor, i.balance_minor, i.status
   from invoices i join customers c on c.tenant_id = i.tenant_id and c.id = i.customer_id ";

/// The search box matches an invoice number, an amount, or the customer's name (or phone,
/// account number, user name: the customers search's words, by prefix).
fn push_search(q: &mut QueryBuilder<Postgres>, tenant: Uuid, text: &str) {
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    q.push(" and (false");
    if let Some(number) = parse_invoice_number(text) {
        q.push(" or i.number = ");
        q.push_bind(number);
    }
    if text.chars().any(|c| c.is_ascii_digit())
        && let Ok(amount) = parse_kes("q", text)
    {
        q.push(" or i.total_minor = ");
        q.push_bind(amount);
    }
    let words: Vec<String> = text
        .to_lowercase()
        .split_whitespace()
        .take(5)
        .map(str::to_string)
        .collect();
    if !words.is_empty() {
        q.push(" or (true");
        for word in words {
            q.push(
                " and i.customer_id in (select customer_id from customer_search_terms
                     where tenant_id = ",
            );
            q.push_bind(tenant);
            q.push(" and term >= ");
            q.push_bind(word.clone());
            q.push(" and term < ");
            q.push_bind(format!("{word}\u{10FFFF}"));
            q.push(")");
        }
        q.push(")");
    }
    q.push(")");
}

pub async fn list(
    state: &AppState,
    staff: &Staff,
    query: &InvoiceQuery,
) -> Result<InvoicePage, AppError> {
    staff.require(Permission::ViewTransactions)?;
    let tenant = staff.tenant.0;
    let page = query.page.max(1);
    let mut tx = state.db.tenant(staff.tenant).await?;
    let mut q = QueryBuilder::<Postgres>::new(ROW_SELECT);
    q.push(" where i.tenant_id = ");
    q.push_bind(tenant);
    if let Some(status) = query.status {
        q.push(" and i.status = ");
        q.push_bind(status.as_str());
    }
    push_search(&mut q, tenant, &query.q);
    q.push(" order by i.number desc limit ");
    q.push_bind(i64::from(INVOICE_PAGE_SIZE) + 1);
    q.push(" offset ");
    q.push_bind(i64::from(page - 1) * i64::from(INVOICE_PAGE_SIZE));
    let mut rows: Vec<InvoiceRow> = q
        .build_query_as::<Row>()
        .fetch_all(tx.conn())
        .await?
        .into_iter()
        .map(Row::into_row)
        .collect();
    let has_next = rows.len() > INVOICE_PAGE_SIZE as usize;
    rows.truncate(INVOICE_PAGE_SIZE as usize);
    let counts = counts(&mut tx).await?;
    let zone = zone(&mut tx).await?;
    tx.commit().await?;
    Ok(InvoicePage {
        rows,
        page,
        has_next,
        counts,
        can_manage: staff.role.can(Permission::ManageInvoices),
        utc_offset_seconds: offset_seconds(&zone, state.clock.now()),
    })
}

async fn counts(tx: &mut TenantTx) -> Result<StatusCounts, AppError> {
    let tenant = tx.tenant();
    let rows = sqlx::query!(
        r#"select status, count(*) as "n!" from invoices where tenant_id = $1 group by status"#,
        tenant.0
    )
    .fetch_all(tx.conn())
    .await?;
    let mut counts = StatusCounts::default();
    for row in rows {
        counts.all += row.n;
        match InvoiceStatus::parse(&row.status) {
            Some(InvoiceStatus::Pending) => counts.pending = row.n,
            Some(InvoiceStatus::Paid) => counts.paid = row.n,
            Some(InvoiceStatus::Overdue) => counts.overdue = row.n,
            Some(InvoiceStatus::Waived) => counts.waived = row.n,
            Some(InvoiceStatus::Cancelled) => counts.cancelled = row.n,
            None => {}
        }
    }
    Ok(counts)
}

pub async fn detail_in(tx: &mut TenantTx, id: Uuid) -> Result<InvoiceDetail, AppError> {
    let tenant = tx.tenant();
    let mut q = QueryBuilder::<Postgres>::new(ROW_SELECT);
    q.push(" where i.tenant_id = ");
    q.push_bind(tenant.0);
    q.push(" and i.id = ");
    q.push_bind(id);
    let row = q
        .build_query_as::<Row>()
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| AppError::NotFound {
            what: "That invoice".into(),
        })?
        .into_row();
    let head = sqlx::query!(
        r#"select subtotal_minor, vat_minor, period_start, period_end, closed_reason
             from invoices where tenant_id = $1 and id = $2"#,
        tenant.0,
        id
    )
    .fetch_one(tx.conn())
    .await?;
    let lines = sqlx::query!(
        r#"select description, period_start, period_end, quantity, unit_price_minor, net_minor,
                  vat_minor, total_minor
             from invoice_lines where tenant_id = $1 and invoice_id = $2 order by line"#,
        tenant.0,
        id
    )
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .map(|l| InvoiceLineView {
        description: l.description,
        period_start: l.period_start,
        period_end: l.period_end,
        quantity: l.quantity,
        unit_price_minor: l.unit_price_minor,
        net_minor: l.net_minor,
        vat_minor: l.vat_minor,
        total_minor: l.total_minor,
    })
    .collect();
    let credit_notes: Vec<CreditNoteView> = sqlx::query!(
        r#"select id, number, amount_minor, reason, issued_at from credit_notes
            where tenant_id = $1 and invoice_id = $2 order by number"#,
        tenant.0,
        id
    )
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .map(|c| CreditNoteView {
        id: c.id,
        number: c.number,
        amount_minor: c.amount_minor,
        reason: c.reason,
        issued_at: c.issued_at,
    })
    .collect();
    let credited: i64 = credit_notes.iter().map(|c| c.amount_minor).sum();
    let creditable = match row.status {
        InvoiceStatus::Waived | InvoiceStatus::Cancelled => 0,
        _ => row.total_minor - credited,
    };
    let utc_offset_seconds = offset_seconds(&zone(tx).await?, row.issued_at);
    Ok(InvoiceDetail {
        row,
        subtotal_minor: head.subtotal_minor,
        vat_minor: head.vat_minor,
        period_start: head.period_start,
        period_end: head.period_end,
        closed_reason: head.closed_reason,
        lines,
        credit_notes,
        creditable_minor: creditable,
        utc_offset_seconds,
    })
}

pub async fn detail(state: &AppState, staff: &Staff, id: Uuid) -> Result<InvoiceDetail, AppError> {
    staff.require(Permission::ViewTransactions)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let detail = detail_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(detail)
}

/// The customer's ledger history, oldest first, each transaction once with its net effect on
/// what they owe and the running balance, from `from` (with the balance brought forward) to
/// `to` (exclusive).
pub async fn history(
    tx: &mut TenantTx,
    customer: Uuid,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<(i64, Vec<LedgerLine>), AppError> {
    let tenant = tx.tenant();
    // Open ends are null (chrono's extreme dates are outside PostgreSQL's range).
    let opening = sqlx::query_scalar!(
        r#"select coalesce(sum(e.amount_minor), 0)::bigint as "opening!"
             from ledger_entries e
             join ledger_transactions t on t.tenant_id = e.tenant_id and t.id = e.transaction_id
            where e.tenant_id = $1 and e.customer_id = $2 and t.posted_at < $3::timestamptz"#,
        tenant.0,
        customer,
        from
    )
    .fetch_one(tx.conn())
    .await?;
    let rows = sqlx::query!(
        r#"select t.id, t.posted_at, t.kind, t.memo, sum(e.amount_minor)::bigint as "amount!"
             from ledger_entries e
             join ledger_transactions t on t.tenant_id = e.tenant_id and t.id = e.transaction_id
            where e.tenant_id = $1 and e.customer_id = $2
              and ($3::timestamptz is null or t.posted_at >= $3)
              and ($4::timestamptz is null or t.posted_at < $4)
            group by t.id, t.posted_at, t.kind, t.memo
            order by t.posted_at, t.id"#,
        tenant.0,
        customer,
        from,
        to
    )
    .fetch_all(tx.conn())
    .await?;
    let mut running = opening;
    let mut lines = Vec::with_capacity(rows.len());
    for r in rows {
        running += r.amount;
        lines.push(LedgerLine {
            transaction_id: r.id,
            posted_at: r.posted_at,
            kind: TxKind::parse(&r.kind).unwrap_or(TxKind::Adjustment),
            memo: r.memo,
            amount_minor: r.amount,
            balance_minor: running,
        });
    }
    Ok((opening, lines))
}

/// The customer panel's billing part: balance, invoices, history (newest first).
pub async fn account(
    state: &AppState,
    staff: &Staff,
    customer: Uuid,
) -> Result<CustomerAccount, AppError> {
    staff.require(Permission::ViewTransactions)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let known: bool = sqlx::query_scalar(
        "select exists (select 1 from customers where tenant_id = $1 and id = $2)",
    )
    .bind(staff.tenant.0)
    .bind(customer)
    .fetch_one(tx.conn())
    .await?;
    if !known {
        return Err(AppError::NotFound {
            what: "That customer".into(),
        });
    }
    let balance = ledger::balance(&mut tx, customer).await?;
    let mut q = QueryBuilder::<Postgres>::new(ROW_SELECT);
    q.push(" where i.tenant_id = ");
    q.push_bind(staff.tenant.0);
    q.push(" and i.customer_id = ");
    q.push_bind(customer);
    q.push(" order by i.number desc limit 50");
    let invoices = q
        .build_query_as::<Row>()
        .fetch_all(tx.conn())
        .await?
        .into_iter()
        .map(Row::into_row)
        .collect();
    let (_, mut history) = history(&mut tx, customer, None, None).await?;
    history.reverse();
    history.truncate(50);
    let zone = zone(&mut tx).await?;
    tx.commit().await?;
    Ok(CustomerAccount {
        balance_minor: balance,
        invoices,
        history,
        can_manage: staff.role.can(Permission::ManageInvoices),
        utc_offset_seconds: offset_seconds(&zone, state.clock.now()),
    })
}

/// The instants a local date range covers: from the start of `from` to the end of `to`.
pub async fn local_range(
    tx: &mut TenantTx,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<(Option<DateTime<Utc>>, Option<DateTime<Utc>>), AppError> {
    let zone = zone(tx).await?;
    let start = from
        .and_then(|d| d.pred_opt())
        .and_then(|d| end_of_local_day(d, &zone.tz));
    let end = to.and_then(|d| end_of_local_day(d, &zone.tz));
    Ok((start, end))
}

/// Invoiced, collected, waived, credited, cancelled and outstanding between two local dates,
/// summed from the ledger's accounts (so it agrees with the books to the cent).
pub async fn summary(
    state: &AppState,
    staff: &Staff,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<BillingSummary, AppError> {
    staff.require(Permission::ViewTransactions)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let (start, end) = local_range(&mut tx, from, to).await?;
    let rows = sqlx::query!(
        r#"select t.kind, e.account, sum(e.amount_minor)::bigint as "amount!"
             from ledger_entries e
             join ledger_transactions t on t.tenant_id = e.tenant_id and t.id = e.transaction_id
            where e.tenant_id = $1
              and ($2::timestamptz is null or t.posted_at >= $2)
              and ($3::timestamptz is null or t.posted_at < $3)
              and e.account <> 'receivable'
            group by t.kind, e.account"#,
        staff.tenant.0,
        start,
        end
    )
    .fetch_all(tx.conn())
    .await?;
    let mut s = BillingSummary {
        from,
        to,
        ..BillingSummary::default()
    };
    let mut by_channel: Vec<(Channel, i64)> = Vec::new();
    for r in rows {
        let revenue_or_vat = r.account.starts_with("revenue:") || r.account == "vat_payable";
        match (TxKind::parse(&r.kind), r.account.as_str()) {
            (Some(TxKind::Invoice), _) if revenue_or_vat => {
                s.invoiced_minor -= r.amount;
                if r.account == "vat_payable" {
                    s.vat_minor -= r.amount;
                }
            }
            (Some(TxKind::Sale), _) if revenue_or_vat => s.sold_minor -= r.amount,
            (Some(TxKind::Payment | TxKind::Sale), account) => {
                if let Some(channel) = account.strip_prefix("clearing:").and_then(Channel::parse) {
                    s.collected_minor += r.amount;
                    match by_channel.iter_mut().find(|(c, _)| *c == channel) {
                        Some((_, sum)) => *sum += r.amount,
                        None => by_channel.push((channel, r.amount)),
                    }
                }
            }
            (Some(TxKind::Waiver), "write_off") => s.waived_minor += r.amount,
            (Some(TxKind::CreditNote), _) if revenue_or_vat => s.credited_minor += r.amount,
            (Some(TxKind::Cancellation), _) if revenue_or_vat => s.cancelled_minor += r.amount,
            _ => {}
        }
    }
    by_channel.sort_by_key(|(c, _)| Channel::ALL.iter().position(|x| x == c));
    s.collected_by_channel = by_channel;
    let owed = sqlx::query!(
        r#"select coalesce(sum(e.amount_minor) filter (where e.invoice_id is not null), 0)::bigint as "outstanding!",
                  coalesce(-sum(e.amount_minor) filter (where e.invoice_id is null), 0)::bigint as "credit!"
             from ledger_entries e
             join ledger_transactions t on t.tenant_id = e.tenant_id and t.id = e.transaction_id
            where e.tenant_id = $1 and e.customer_id is not null
              and ($2::timestamptz is null or t.posted_at < $2)"#,
        staff.tenant.0,
        end
    )
    .fetch_one(tx.conn())
    .await?;
    s.outstanding_minor = owed.outstanding;
    s.customer_credit_minor = owed.credit;
    tx.commit().await?;
    Ok(s)
}

pub async fn settings(state: &AppState, staff: &Staff) -> Result<BillingSettings, AppError> {
    let mut tx = state.db.tenant(staff.tenant).await?;
    let s = settings_in(&mut tx, staff).await?;
    tx.commit().await?;
    Ok(s)
}

async fn settings_in(tx: &mut TenantTx, staff: &Staff) -> Result<BillingSettings, AppError> {
    let row = sqlx::query!(
        "select vat_enabled, vat_inclusive, kra_pin, invoice_due_days, renewal_notice_days
           from tenants where id = $1",
        staff.tenant.0
    )
    .fetch_one(tx.conn())
    .await?;
    Ok(BillingSettings {
        vat_enabled: row.vat_enabled,
        vat_inclusive: row.vat_inclusive,
        kra_pin: row.kra_pin,
        invoice_due_days: row.invoice_due_days,
        renewal_notice_days: row.renewal_notice_days,
        editable: staff.role.can(Permission::ManageSystemSettings),
    })
}

/// The billing settings form, as typed.
pub struct SettingsForm<'a> {
    pub vat_enabled: bool,
    pub vat_inclusive: bool,
    pub kra_pin: &'a str,
    pub invoice_due_days: &'a str,
    pub renewal_notice_days: &'a str,
}

pub async fn update_settings(
    state: &AppState,
    staff: &Staff,
    form: SettingsForm<'_>,
    meta: &RequestMeta,
) -> Result<BillingSettings, AppError> {
    staff.require(Permission::ManageSystemSettings)?;
    let kra_pin = normalise_kra_pin(form.kra_pin)?;
    let due = parse_days("invoice_due_days", form.invoice_due_days, 60)?;
    let notice = parse_days("renewal_notice_days", form.renewal_notice_days, 30)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let before = settings_in(&mut tx, staff).await?;
    sqlx::query!(
        r#"update tenants set vat_enabled = $2, vat_inclusive = $3, kra_pin = $4,
                  invoice_due_days = $5, renewal_notice_days = $6, updated_at = $7
            where id = $1"#,
        staff.tenant.0,
        form.vat_enabled,
        form.vat_inclusive,
        kra_pin,
        due,
        notice,
        state.clock.now()
    )
    .execute(tx.conn())
    .await?;
    let after = settings_in(&mut tx, staff).await?;
    record(
        &mut tx,
        Entry {
            at: state.clock.now(),
            actor_user_id: Some(staff.user_id),
            actor_label: &staff.email,
            action: "settings.billing_updated",
            entity: Some(("tenant", staff.tenant.0.to_string())),
            before: Some(json!(before)),
            after: Some(json!(after)),
            meta,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// A "Run billing now" run (`None`: the latest).
pub async fn run_view(
    state: &AppState,
    staff: &Staff,
    id: Option<Uuid>,
) -> Result<Option<BillingRunView>, AppError> {
    staff.require(Permission::ManageInvoices)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let row = sqlx::query!(
        r#"select id, status, due, processed, invoices, requested_at, finished_at, error
             from billing_runs where tenant_id = $1 and ($2::uuid is null or id = $2)
            order by requested_at desc limit 1"#,
        staff.tenant.0,
        id
    )
    .fetch_optional(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(row.map(|r| BillingRunView {
        id: r.id,
        status: match r.status.as_str() {
            "done" => RunStatus::Done,
            "failed" => RunStatus::Failed,
            _ => RunStatus::Running,
        },
        due: r.due,
        processed: r.processed,
        invoices: r.invoices,
        requested_at: r.requested_at,
        finished_at: r.finished_at,
        error: r.error,
    }))
}
