//! The Transactions page: every payment with its channel, receipt, customer and the invoices
//! it paid; a CSV of the same; a daily count and sum per channel to hold against the M-Pesa
//! statement; and, for owners and admins, the raw provider deliveries behind them.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use crate::{
    auth::{identity::Staff, model::Permission},
    billing::{
        model::{Channel, invoice_number},
        queries::local_range,
    },
    customers::service::{offset_seconds, zone},
    db::TenantTx,
    error::AppError,
    money::format_kes_plain,
    payments::model::{
        ProviderEventRow, ReconciliationRow, TRANSACTION_PAGE_SIZE, TransactionPage,
        TransactionQuery, TransactionRow,
    },
    state::AppState,
};

/// The rows a CSV holds at most (a year of a large ISP's payments).
const CSV_LIMIT: i64 = 100_000;

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    received_at: DateTime<Utc>,
    channel: String,
    reference: String,
    amount_minor: i64,
    customer_id: Uuid,
    customer_name: String,
    account_number: String,
    invoices: Vec<i64>,
    allocated_minor: i64,
    recorded_by: Option<String>,
}

impl Row {
    fn into_row(self) -> TransactionRow {
        TransactionRow {
            id: self.id,
            received_at: self.received_at,
            channel: Channel::parse(&self.channel).unwrap_or(Channel::Cash),
            reference: self.reference,
            amount_minor: self.amount_minor,
            customer_id: self.customer_id,
            customer_name: self.customer_name,
            account_number: self.account_number,
            invoices: self.invoices.into_iter().map(invoice_number).collect(),
            allocated_minor: self.allocated_minor,
            recorded_by: self.recorded_by,
        }
    }
}

/// The invoices a payment's ledger transaction settled, and how much went to them.
const ROW_SELECT: &str = r#"
    select p.id, p.received_at, p.channel, p.reference, p.amount_minor, p.customer_id,
           c.name as customer_name, c.account_number,
           coalesce(alloc.invoices, '{}') as invoices,
           coalesce(alloc.allocated, 0)::bigint as allocated_minor,
           u.name as recorded_by
      from payments p
      join customers c on c.tenant_id = p.tenant_id and c.id = p.customer_id
      left join users u on u.tenant_id = p.tenant_id and u.id = p.recorded_by
      left join lateral (
          select array_agg(distinct i.number order by i.number) as invoices,
                 -sum(e.amount_minor) as allocated
            from ledger_transactions t
            join ledger_entries e on e.tenant_id = t.tenant_id and e.transaction_id = t.id
            join invoices i on i.tenant_id = e.tenant_id and i.id = e.invoice_id
           where t.tenant_id = p.tenant_id and t.idempotency_key = 'payment:' || p.id
             and e.account = 'receivable'
      ) alloc on true"#;

/// The filter every view of the list shares.
fn filter(
    q: &mut QueryBuilder<Postgres>,
    tenant: Uuid,
    query: &TransactionQuery,
    range: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
) {
    q.push(" where p.tenant_id = ");
    q.push_bind(tenant);
    if let Some(channel) = query.channel {
        q.push(" and p.channel = ");
        q.push_bind(channel.as_str());
    }
    let search = query.q.trim();
    if !search.is_empty() {
        let like = format!(
            "%{}%",
            search
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        q.push(" and (p.reference ilike ");
        q.push_bind(like.clone());
        q.push(" or c.name ilike ");
        q.push_bind(like.clone());
        q.push(" or c.account_number ilike ");
        q.push_bind(like);
        q.push(")");
    }
    if let Some(start) = range.0 {
        q.push(" and p.received_at >= ");
        q.push_bind(start);
    }
    if let Some(end) = range.1 {
        q.push(" and p.received_at < ");
        q.push_bind(end);
    }
}

async fn rows(
    tx: &mut TenantTx,
    query: &TransactionQuery,
    limit: i64,
    offset: i64,
) -> Result<Vec<TransactionRow>, AppError> {
    let tenant = tx.tenant();
    let range = local_range(tx, query.from, query.to).await?;
    let mut q = QueryBuilder::<Postgres>::new(ROW_SELECT);
    filter(&mut q, tenant.0, query, range);
    q.push(" order by p.received_at desc, p.id limit ");
    q.push_bind(limit);
    q.push(" offset ");
    q.push_bind(offset);
    Ok(q.build_query_as::<Row>()
        .fetch_all(tx.conn())
        .await?
        .into_iter()
        .map(Row::into_row)
        .collect())
}

pub async fn list(
    state: &AppState,
    staff: &Staff,
    query: &TransactionQuery,
) -> Result<TransactionPage, AppError> {
    staff.require(Permission::ViewTransactions)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let range = local_range(&mut tx, query.from, query.to).await?;
    let mut count = QueryBuilder::<Postgres>::new(
        "select count(*), coalesce(sum(p.amount_minor), 0)::bigint from payments p
           join customers c on c.tenant_id = p.tenant_id and c.id = p.customer_id",
    );
    filter(&mut count, staff.tenant.0, query, range);
    let (total, total_minor): (i64, i64) = count.build_query_as().fetch_one(tx.conn()).await?;
    let size = i64::from(TRANSACTION_PAGE_SIZE);
    let rows = rows(&mut tx, query, size, i64::from(query.page) * size).await?;
    let zone = zone(&mut tx).await?;
    tx.commit().await?;
    Ok(TransactionPage {
        rows,
        total,
        total_minor,
        page: query.page,
        utc_offset_seconds: offset_seconds(&zone, state.clock.now()),
        can_view_events: staff.role.can(Permission::ManagePaymentSettings),
    })
}

/// A cell that a spreadsheet would otherwise run as a formula is prefixed with `'`.
fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// The list, as the page filters it, as CSV (dates in the ISP's zone, amounts in shillings).
pub async fn csv(
    state: &AppState,
    staff: &Staff,
    query: &TransactionQuery,
) -> Result<String, AppError> {
    staff.require(Permission::ViewTransactions)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let rows = rows(&mut tx, query, CSV_LIMIT, 0).await?;
    let zone = zone(&mut tx).await?;
    tx.commit().await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    let header = [
        "received_at",
        "channel",
        "reference",
        "amount",
        "customer",
        "account_number",
        "invoices",
        "applied_to_invoices",
        "status",
        "recorded_by",
    ];
    let failed = |e: csv::Error| AppError::internal(&e);
    out.write_record(header).map_err(failed)?;
    for r in rows {
        let at = r
            .received_at
            .with_timezone(&zone.tz)
            .format("%Y-%m-%d %H:%M:%S");
        out.write_record([
            at.to_string(),
            r.channel.as_str().to_string(),
            cell(&r.reference),
            format_kes_plain(r.amount_minor),
            cell(&r.customer_name),
            cell(&r.account_number),
            r.invoices.join(" "),
            format_kes_plain(r.allocated_minor),
            r.status().to_string(),
            cell(r.recorded_by.as_deref().unwrap_or("")),
        ])
        .map_err(failed)?;
    }
    let bytes = out.into_inner().map_err(|e| AppError::internal(&e))?;
    String::from_utf8(bytes).map_err(|e| AppError::internal(&e))
}

/// Count and sum per channel per local day, newest first, to hold against each provider's
/// statement.
pub async fn reconciliation(
    state: &AppState,
    staff: &Staff,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Vec<ReconciliationRow>, AppError> {
    staff.require(Permission::ViewTransactions)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let (start, end) = local_range(&mut tx, from, to).await?;
    let zone = zone(&mut tx).await?;
    let rows = sqlx::query!(
        r#"select (received_at at time zone $2)::date as "day!", channel,
                  count(*) as "count!", sum(amount_minor)::bigint as "total!"
             from payments
            where tenant_id = $1
              and ($3::timestamptz is null or received_at >= $3)
              and ($4::timestamptz is null or received_at < $4)
            group by 1, 2
            order by 1 desc, 2
            limit 400"#,
        staff.tenant.0,
        zone.tz.name(),
        start,
        end
    )
    .fetch_all(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(ReconciliationRow {
                day: r.day,
                channel: Channel::parse(&r.channel)?,
                count: r.count,
                total_minor: r.total,
            })
        })
        .collect())
}

/// The latest raw provider deliveries (owner and admin: they hold payers' details).
pub async fn events(
    state: &AppState,
    staff: &Staff,
    search: &str,
) -> Result<Vec<ProviderEventRow>, AppError> {
    staff.require(Permission::ManagePaymentSettings)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let search = search.trim();
    let rows = sqlx::query!(
        r#"select id, provider, kind, event_id, received_at, outcome, error, replays, payload
             from provider_events
            where tenant_id = $1 and ($2 = '' or event_id = $2 or payload::text like '%' || $2 || '%')
            order by received_at desc
            limit 100"#,
        staff.tenant.0,
        search
    )
    .fetch_all(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|r| ProviderEventRow {
            id: r.id,
            provider: r.provider,
            kind: r.kind,
            event_id: r.event_id,
            received_at: r.received_at,
            outcome: r.outcome,
            error: r.error,
            replays: r.replays,
            payload: serde_json::to_string_pretty(&r.payload).unwrap_or_default(),
        })
        .collect())
}
