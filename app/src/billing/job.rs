//! The billing job: renews prepaid services as their period ends, bills postpaid services on
//! their billing day, turns unpaid invoices overdue and cuts off what is past its grace period.
//!
//! Work is taken in batches, each one transaction: the services are locked with `SKIP LOCKED`
//! (a second server running the job at the same time takes other services), and a period is
//! invoiced under a unique key (`period:<service>:<start>`), so a run that crashes anywhere
//! leaves whole batches behind and the next run finishes the rest with the same result.

use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::HashSet;
use uuid::Uuid;

use crate::{
    audit::store::{Entry, record},
    auth::session::RequestMeta,
    billing::{
        invoices::{self, IssueSpec, LineSpec, PaidPeriod, Terms},
        model::RunStatus,
    },
    customers::model::add_validity,
    db::{TenantId, TenantTx},
    error::AppError,
    plans::model::{PlanKind, ValidityUnit},
    state::AppState,
};

/// Where a test makes the job fail, to prove a crash at that point loses and doubles nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The batch's services are locked, nothing written yet.
    Selected,
    /// Invoices, lines and ledger entries are written, expiries not yet moved.
    Issued,
    /// Everything is written; the commit has not happened.
    BeforeCommit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailPoint {
    /// The batch (counting from 0 across the run) that fails.
    pub batch: usize,
    pub step: Step,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub batch_size: i64,
    pub fail: Option<FailPoint>,
    /// A "Run billing now" row to keep up to date.
    pub run: Option<Uuid>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            batch_size: 1_000,
            fail: None,
            run: None,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub due: i64,
    pub processed: usize,
    pub invoices: usize,
    /// Prepaid services whose next period was paid from credit at once.
    pub renewed: usize,
    pub overdue: u64,
    pub expired: u64,
}

fn injected(step: Step) -> AppError {
    AppError::internal(&std::io::Error::other(format!(
        "injected failure at {step:?}"
    )))
}

struct Cursor<'a> {
    opts: &'a Options,
    batch: usize,
    /// The (expiry, id) the previous batch of this billing mode ended at.
    after: Option<(DateTime<Utc>, Uuid)>,
}

impl Cursor<'_> {
    fn check(&self, step: Step) -> Result<(), AppError> {
        match self.opts.fail {
            Some(f) if f.batch == self.batch && f.step == step => Err(injected(step)),
            _ => Ok(()),
        }
    }
}

/// How far ahead a prepaid renewal is invoiced: the tenant's notice days, but never more than
/// one period of the plan (an hourly plan is not renewed three days ahead, period after period).
const NOTICE: &str = "least(make_interval(days => t.renewal_notice_days),
                           case p.validity_unit
                               when 'minutes' then make_interval(mins => p.validity_count)
                               when 'hours' then make_interval(hours => p.validity_count)
                               when 'days' then make_interval(days => p.validity_count)
                               when 'weeks' then make_interval(weeks => p.validity_count)
                               else make_interval(months => p.validity_count) end)";

/// The service's next period has no invoice yet: one probe of the (service, period start)
/// index per service. `offset 0` keeps PostgreSQL from turning this into an anti-join: in a
/// run that issues thousands of invoices the table's statistics are stale (the job may not
/// analyze), and an anti-join planned for an "empty" invoices table rescans every invoice the
/// run has written for each service (seen as batches slowing from 2 ms to 300 ms).
const NOT_INVOICED: &str = "not exists (select 1 from invoices i
                                where i.tenant_id = s.tenant_id and i.service_id = s.id
                                  and i.purpose = 'period' and i.period_start = s.expires_at
                                offset 0)";

/// Services due now, for the progress bar (the batches below use the same conditions).
async fn count_due(tx: &mut TenantTx, now: DateTime<Utc>) -> Result<i64, AppError> {
    let tenant = tx.tenant();
    let terms = invoices::terms(tx).await?;
    let sql = format!(
        r#"select count(*) from services s
             join plans p on p.tenant_id = s.tenant_id and p.id = s.plan_id
             join tenants t on t.id = s.tenant_id
            where s.tenant_id = $1
              and ((s.billing_mode = 'prepaid' and s.status = 'active' and p.kind <> 'hotspot'
                    and s.expires_at <= $3 and s.expires_at <= $2 + {NOTICE})
                or (s.billing_mode = 'postpaid' and s.status in ('active', 'expired')
                    and s.expires_at <= $2))
              and {NOT_INVOICED}"#
    );
    Ok(sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(now)
        .bind(horizon(now, &terms))
        .fetch_one(tx.conn())
        .await?)
}

/// The latest expiry a prepaid renewal can be due for: the tenant's notice days ahead (the
/// per-plan `NOTICE` is never longer). As a plain bound it lets the expiry index find the due
/// services instead of every service being checked against its plan's notice.
fn horizon(now: DateTime<Utc>, terms: &Terms) -> DateTime<Utc> {
    now + chrono::Duration::days(i64::from(terms.notice_days))
}

#[derive(sqlx::FromRow)]
struct Due {
    id: Uuid,
    customer_id: Uuid,
    plan_id: Uuid,
    plan_name: String,
    kind: String,
    price_minor: i64,
    validity_unit: String,
    validity_count: i32,
    expires_at: DateTime<Utc>,
}

/// Locks up to `limit` services of `mode` whose next period is due and not yet invoiced, in
/// (expiry, id) order after `after` (where the run's previous batch ended: a service whose
/// invoice stays unpaid is still due, and without the keyset every later batch would pass over
/// it again).
async fn select_due(
    tx: &mut TenantTx,
    now: DateTime<Utc>,
    terms: &Terms,
    prepaid: bool,
    limit: i64,
    after: Option<(DateTime<Utc>, Uuid)>,
) -> Result<Vec<Due>, AppError> {
    let tenant = tx.tenant();
    // $4: the latest expiry that can be due, a bound the expiry index can use.
    let (mut condition, bound) = if prepaid {
        (
            format!(
                "s.billing_mode = 'prepaid' and s.status = 'active' and p.kind <> 'hotspot'
                 and s.expires_at <= $4 and s.expires_at <= $2 + {NOTICE}"
            ),
            horizon(now, terms),
        )
    } else {
        (
            "s.billing_mode = 'postpaid' and s.status in ('active', 'expired')
             and s.expires_at <= $4"
                .to_string(),
            now,
        )
    };
    if after.is_some() {
        condition.push_str(" and (s.expires_at, s.id) > ($5, $6)");
    }
    let sql = format!(
        r#"select s.id, s.customer_id, s.plan_id, p.name as plan_name, p.kind, p.price_minor,
                  p.validity_unit, p.validity_count, s.expires_at
             from services s
             join plans p on p.tenant_id = s.tenant_id and p.id = s.plan_id
             join tenants t on t.id = s.tenant_id
            where s.tenant_id = $1 and {condition}
              and {NOT_INVOICED}
            order by s.expires_at, s.id
            limit $3
              for update of s skip locked"#
    );
    let mut query = sqlx::query_as::<_, Due>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(now)
        .bind(limit)
        .bind(bound);
    if let Some((expiry, id)) = after {
        query = query.bind(expiry).bind(id);
    }
    Ok(query.fetch_all(tx.conn()).await?)
}

fn local_date(at: DateTime<Utc>, terms: &Terms) -> String {
    at.with_timezone(&terms.zone.tz)
        .format("%-d %b %Y")
        .to_string()
}

/// One batch: invoices for the due periods (credit pays what it can), expiries moved for the
/// periods paid at once (prepaid) or for every period billed (postpaid). Returns the services
/// taken, the invoices issued and the prepaid services renewed.
async fn batch(
    state: &AppState,
    tenant: TenantId,
    prepaid: bool,
    cursor: &mut Cursor<'_>,
    seen: &mut HashSet<Uuid>,
) -> Result<(usize, usize, usize), AppError> {
    let now = state.clock.now();
    let mut tx = state.db.tenant(tenant).await?;
    let terms = invoices::terms(&mut tx).await?;
    let due = select_due(
        &mut tx,
        now,
        &terms,
        prepaid,
        cursor.opts.batch_size,
        cursor.after,
    )
    .await?;
    cursor.check(Step::Selected)?;
    // The next batch starts after this one, whether or not this one commits: a batch that
    // fails ends the run, and the next run starts from the beginning again.
    if let Some(last) = due.last() {
        cursor.after = Some((last.expires_at, last.id));
    }
    // A service seen before and still due would mean its invoice was never written: stop
    // rather than loop.
    let fresh: Vec<Due> = due.into_iter().filter(|d| seen.insert(d.id)).collect();
    if fresh.is_empty() {
        return Ok((0, 0, 0));
    }
    let mut specs = Vec::with_capacity(fresh.len());
    let mut ends = Vec::with_capacity(fresh.len());
    let mut validity = std::collections::HashMap::with_capacity(fresh.len());
    for d in &fresh {
        let (unit, count) = if prepaid {
            (
                ValidityUnit::parse(&d.validity_unit)?,
                u32::try_from(d.validity_count).unwrap_or(1),
            )
        } else {
            (ValidityUnit::Months, 1)
        };
        let start = d.expires_at;
        let end = add_validity(start, unit, count, &terms.zone.tz)
            .ok_or_else(|| AppError::invalid("expiry", "is too far in the future"))?;
        let due_at = if prepaid {
            start
        } else {
            now + chrono::Duration::days(i64::from(terms.due_days))
        };
        ends.push((d.id, end));
        validity.insert(d.id, (unit, count));
        specs.push(IssueSpec {
            customer: d.customer_id,
            service: Some(d.id),
            purpose: "period",
            period_start: start,
            period_end: end,
            key: format!("period:{}:{}", d.id, start.timestamp_micros()),
            due_at,
            lines: vec![LineSpec {
                description: format!(
                    "{} ({} to {})",
                    d.plan_name,
                    local_date(start, &terms),
                    local_date(end, &terms)
                ),
                plan_id: Some(d.plan_id),
                kind: PlanKind::parse(&d.kind)?,
                unit_price: d.price_minor,
                quantity: 1,
            }],
        });
    }
    let issued = invoices::issue(&mut tx, &terms, now, None, specs).await?;
    cursor.check(Step::Issued)?;
    let renewed = if prepaid {
        // Paid from credit at once: the services (locked above, active, expiring at the
        // period's start) move into the period.
        let paid: Vec<PaidPeriod> = issued
            .iter()
            .filter(|i| i.status == crate::billing::model::InvoiceStatus::Paid)
            .filter_map(|i| {
                let service = i.spec.service?;
                let (unit, count) = *validity.get(&service)?;
                Some(PaidPeriod {
                    service,
                    status: "active".into(),
                    period_end: i.spec.period_end,
                    unit,
                    count,
                })
            })
            .collect();
        invoices::move_expiries(&mut tx, &terms, now, &paid)
            .await?
            .len()
    } else {
        // Postpaid service runs on: its billed period is its new expiry.
        let (ids, expiries): (Vec<Uuid>, Vec<DateTime<Utc>>) = ends.into_iter().unzip();
        sqlx::query(
            "update services s set expires_at = u.expires, updated_at = $4
               from unnest($2::uuid[], $3::timestamptz[]) as u(id, expires)
              where s.tenant_id = $1 and s.id = u.id",
        )
        .bind(tenant.0)
        .bind(&ids)
        .bind(&expiries)
        .bind(now)
        .execute(tx.conn())
        .await?;
        0
    };
    cursor.check(Step::BeforeCommit)?;
    tx.commit().await?;
    Ok((fresh.len(), issued.len(), renewed))
}

async fn update_run(
    state: &AppState,
    tenant: TenantId,
    run: Uuid,
    report: &Report,
    status: RunStatus,
    error: Option<&str>,
) -> Result<(), AppError> {
    let mut tx = state.db.tenant(tenant).await?;
    let status = match status {
        RunStatus::Running => "running",
        RunStatus::Done => "done",
        RunStatus::Failed => "failed",
    };
    let finished = (status != "running").then(|| state.clock.now());
    sqlx::query!(
        r#"update billing_runs set status = $3, due = $4, processed = $5, invoices = $6,
                                  finished_at = $7, error = $8
            where tenant_id = $1 and id = $2"#,
        tenant.0,
        run,
        status,
        i32::try_from(report.due).unwrap_or(i32::MAX),
        i32::try_from(report.processed).unwrap_or(i32::MAX),
        i32::try_from(report.invoices).unwrap_or(i32::MAX),
        finished,
        error
    )
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Runs the job for one tenant.
#[tracing::instrument(level = "info", skip(state, opts), fields(%tenant))]
pub async fn run_tenant(
    state: &AppState,
    tenant: TenantId,
    opts: &Options,
) -> Result<Report, AppError> {
    let result = run_inner(state, tenant, opts).await;
    if let Some(run) = opts.run {
        let (report, status, error) = match &result {
            Ok(r) => (r.clone(), RunStatus::Done, None),
            Err(e) => (Report::default(), RunStatus::Failed, Some(e.to_string())),
        };
        // The run's own outcome matters more than recording it.
        if let Err(err) = update_run(state, tenant, run, &report, status, error.as_deref()).await {
            tracing::error!(error = %err, "could not record the billing run's end");
        }
    }
    result
}

async fn run_inner(state: &AppState, tenant: TenantId, opts: &Options) -> Result<Report, AppError> {
    let mut report = Report::default();
    {
        let mut tx = state.db.tenant(tenant).await?;
        report.due = count_due(&mut tx, state.clock.now()).await?;
        tx.commit().await?;
    }
    let mut cursor = Cursor {
        opts,
        batch: 0,
        after: None,
    };
    let mut seen = HashSet::new();
    for prepaid in [true, false] {
        cursor.after = None;
        loop {
            let (taken, issued, renewed) =
                batch(state, tenant, prepaid, &mut cursor, &mut seen).await?;
            cursor.batch += 1;
            if taken == 0 {
                break;
            }
            report.processed += taken;
            report.invoices += issued;
            report.renewed += renewed;
            if let Some(run) = opts.run {
                update_run(state, tenant, run, &report, RunStatus::Running, None).await?;
            }
        }
    }
    let now = state.clock.now();
    let mut tx = state.db.tenant(tenant).await?;
    let terms = invoices::terms(&mut tx).await?;
    report.overdue = sqlx::query!(
        "update invoices set status = 'overdue', updated_at = $2
          where tenant_id = $1 and status = 'pending' and due_at <= $2",
        tenant.0,
        now
    )
    .execute(tx.conn())
    .await?
    .rows_affected();
    report.expired = expire_due(&mut tx, now, terms.zone.grace_period_days).await?;
    if report.invoices > 0 || report.overdue > 0 || report.expired > 0 {
        record(
            &mut tx,
            Entry {
                at: now,
                actor_user_id: None,
                actor_label: "billing job",
                action: "billing.ran",
                entity: None,
                before: None,
                after: Some(json!({
                    "invoices": report.invoices, "renewed_from_credit": report.renewed,
                    "overdue": report.overdue, "expired": report.expired,
                })),
                meta: &RequestMeta::default(),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(report)
}

/// Runs the job for every tenant once.
pub async fn run_all(state: &AppState, opts: &Options) -> Result<Report, AppError> {
    let mut total = Report::default();
    for tenant in state.db.billing_tenants().await? {
        let r = run_tenant(state, tenant, opts).await?;
        total.due += r.due;
        total.processed += r.processed;
        total.invoices += r.invoices;
        total.renewed += r.renewed;
        total.overdue += r.overdue;
        total.expired += r.expired;
    }
    Ok(total)
}

/// The schedule the server runs: every `every`, all tenants.
pub async fn run_forever(state: AppState, every: std::time::Duration, batch_size: i64) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let opts = Options {
        batch_size,
        ..Options::default()
    };
    loop {
        tick.tick().await;
        match run_all(&state, &opts).await {
            Ok(r) if r.invoices == 0 && r.overdue == 0 && r.expired == 0 => {}
            Ok(r) => tracing::info!(
                invoices = r.invoices,
                renewed = r.renewed,
                overdue = r.overdue,
                expired = r.expired,
                "billing run"
            ),
            Err(err) => tracing::error!(error = %err, "billing run failed"),
        }
    }
}

/// Starts a "Run billing now" for the staff member's tenant in the background and returns the
/// run to poll.
pub async fn start_run(state: &AppState, tenant: TenantId, by: Uuid) -> Result<Uuid, AppError> {
    let id = Uuid::new_v4();
    let mut tx = state.db.tenant(tenant).await?;
    sqlx::query!(
        r#"insert into billing_runs (tenant_id, id, requested_by, requested_at, status)
           values ($1, $2, $3, $4, 'running')"#,
        tenant.0,
        id,
        by,
        state.clock.now()
    )
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    let state = state.clone();
    tokio::spawn(async move {
        let opts = Options {
            run: Some(id),
            ..Options::default()
        };
        if let Err(err) = run_tenant(&state, tenant, &opts).await {
            tracing::error!(%tenant, error = %err, "billing run failed");
        }
    });
    Ok(id)
}

/// Marks expired the ISP's services whose time is up by `now`: prepaid ones past expiry plus
/// the grace period, postpaid ones with an invoice unpaid past its due date plus grace. Their
/// desired network state follows in the same transaction (the services trigger). Run by the
/// billing job and, every second, by the network worker's expiry sweep; a payment committed
/// first moves the expiry and the row no longer qualifies when the update re-reads it.
pub async fn expire_due(
    tx: &mut TenantTx,
    now: DateTime<Utc>,
    grace_days: i32,
) -> Result<u64, AppError> {
    let tenant = tx.tenant();
    Ok(sqlx::query!(
        r#"update services s set status = 'expired', updated_at = $2
            where s.tenant_id = $1 and s.status = 'active'
              and ((s.billing_mode = 'prepaid'
                    and s.expires_at + make_interval(days => $3) <= $2)
                or (s.billing_mode = 'postpaid'
                    and exists (select 1 from invoices i
                                 where i.tenant_id = s.tenant_id and i.service_id = s.id
                                   and i.status in ('pending', 'overdue')
                                   and i.due_at + make_interval(days => $3) <= $2)))"#,
        tenant.0,
        now,
        grace_days
    )
    .execute(tx.conn())
    .await?
    .rows_affected())
}
