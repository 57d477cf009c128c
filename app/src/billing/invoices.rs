//! Issuing invoices (one or a whole batch in the same few statements), keeping their status
//! and balance equal to what the ledger says, and moving a service's expiry when the invoice
//! for its next period is paid.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    billing::{
        ledger::{self, Journal, Posting},
        model::{Account, InvoiceStatus, TxKind, VatMode, invoice_number, line_amounts},
    },
    customers::{
        model::add_validity,
        service::{Zone, zone},
    },
    db::TenantTx,
    error::AppError,
    plans::model::{PlanKind, ValidityUnit},
};

/// The tenant's billing terms, read once per change or batch.
pub struct Terms {
    pub vat: VatMode,
    pub currency: String,
    pub due_days: i32,
    pub notice_days: i32,
    pub zone: Zone,
}

pub async fn terms(tx: &mut TenantTx) -> Result<Terms, AppError> {
    let tenant = tx.tenant();
    let row = sqlx::query!(
        r#"select vat_enabled, vat_inclusive, currency as "currency!", invoice_due_days,
                  renewal_notice_days
             from tenants where id = $1"#,
        tenant.0
    )
    .fetch_one(tx.conn())
    .await?;
    Ok(Terms {
        vat: VatMode {
            enabled: row.vat_enabled,
            inclusive: row.vat_inclusive,
        },
        currency: row.currency,
        due_days: row.invoice_due_days,
        notice_days: row.renewal_notice_days,
        zone: zone(tx).await?,
    })
}

/// Locks the tenant's counter for `kind` and returns the last number handed out. Everything
/// that issues numbers takes this lock first, so a second issuer waits here and then sees what
/// the first committed: numbers stay gapless and an idempotency check made after it is exact.
pub async fn lock_counter(tx: &mut TenantTx, kind: &str) -> Result<i64, AppError> {
    let tenant = tx.tenant();
    Ok(sqlx::query_scalar!(
        r#"insert into document_counters (tenant_id, kind, last_number) values ($1, $2, 0)
           on conflict (tenant_id, kind) do update set last_number = document_counters.last_number
           returning last_number"#,
        tenant.0,
        kind
    )
    .fetch_one(tx.conn())
    .await?)
}

pub async fn set_counter(tx: &mut TenantTx, kind: &str, last: i64) -> Result<(), AppError> {
    let tenant = tx.tenant();
    sqlx::query!(
        "update document_counters set last_number = $3 where tenant_id = $1 and kind = $2",
        tenant.0,
        kind,
        last
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// One line to bill.
#[derive(Debug, Clone)]
pub struct LineSpec {
    pub description: String,
    pub plan_id: Option<Uuid>,
    pub kind: PlanKind,
    pub unit_price: i64,
    pub quantity: i64,
}

/// An invoice to issue.
#[derive(Debug, Clone)]
pub struct IssueSpec {
    pub customer: Uuid,
    pub service: Option<Uuid>,
    /// "period" or "plan_change".
    pub purpose: &'static str,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub key: String,
    pub due_at: DateTime<Utc>,
    pub lines: Vec<LineSpec>,
}

/// What was issued.
#[derive(Debug, Clone)]
pub struct Issued {
    pub id: Uuid,
    pub number: i64,
    pub spec: IssueSpec,
    pub total: i64,
    pub status: InvoiceStatus,
}

/// Issues the invoices in `specs` whose key is not taken yet (the others are skipped: a period
/// is invoiced once however often this runs), each with its ledger transaction, and applies the
/// customer's unallocated credit to it. A batch costs the same handful of statements as one.
pub async fn issue(
    tx: &mut TenantTx,
    terms: &Terms,
    now: DateTime<Utc>,
    by: Option<Uuid>,
    specs: Vec<IssueSpec>,
) -> Result<Vec<Issued>, AppError> {
    if specs.is_empty() {
        return Ok(Vec::new());
    }
    let tenant = tx.tenant();
    let mut last = lock_counter(tx, "invoice").await?;
    let keys: Vec<&str> = specs.iter().map(|s| s.key.as_str()).collect();
    let taken: std::collections::HashSet<String> = sqlx::query_scalar!(
        "select idempotency_key from invoices where tenant_id = $1 and idempotency_key = any($2)",
        tenant.0,
        &keys as &[&str]
    )
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .collect();
    let mut seen = std::collections::HashSet::new();
    let specs: Vec<IssueSpec> = specs
        .into_iter()
        .filter(|s| !taken.contains(&s.key) && seen.insert(s.key.clone()))
        .collect();
    if specs.is_empty() {
        return Ok(Vec::new());
    }
    let customers: Vec<Uuid> = specs.iter().map(|s| s.customer).collect();
    let mut credit = ledger::credits(tx, &customers).await?;

    let mut issued = Vec::with_capacity(specs.len());
    let mut journals = Vec::with_capacity(specs.len());
    // Column arrays for the two inserts.
    let (mut i_id, mut i_number, mut i_customer, mut i_service, mut i_purpose) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut i_start, mut i_end, mut i_key, mut i_due) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut i_sub, mut i_vat, mut i_total, mut i_status, mut i_balance, mut i_paid) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    let (mut l_invoice, mut l_line, mut l_desc, mut l_plan, mut l_start, mut l_end) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    let (mut l_qty, mut l_unit, mut l_net, mut l_vat, mut l_total) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());

    for spec in specs {
        last += 1;
        let id = Uuid::new_v4();
        let mut journal = Journal::new(
            TxKind::Invoice,
            ("invoice", id),
            format!("invoice:{}", spec.key),
            format!("{} issued", invoice_number(last)),
        )
        .by(by);
        let (mut subtotal, mut vat) = (0i64, 0i64);
        for (n, line) in spec.lines.iter().enumerate() {
            let amounts = line_amounts(line.unit_price, line.quantity, terms.vat);
            subtotal += amounts.net;
            vat += amounts.vat;
            journal.push(Posting::to(Account::Revenue(line.kind), -amounts.net));
            l_invoice.push(id);
            l_line.push(i16::try_from(n + 1).unwrap_or(i16::MAX));
            l_desc.push(line.description.clone());
            l_plan.push(line.plan_id);
            l_start.push(spec.period_start);
            l_end.push(spec.period_end);
            l_qty.push(i32::try_from(line.quantity).unwrap_or(i32::MAX));
            l_unit.push(line.unit_price);
            l_net.push(amounts.net);
            l_vat.push(amounts.vat);
            l_total.push(amounts.total);
        }
        let total = subtotal + vat;
        journal.push(Posting::to(Account::VatPayable, -vat));
        journal.push(Posting::receivable(spec.customer, Some(id), total));
        // Credit the customer already has pays what it can of the new invoice.
        let available = credit.entry(spec.customer).or_insert(0);
        let applied = (*available).min(total).max(0);
        if applied > 0 {
            *available -= applied;
            journal.push(Posting::receivable(spec.customer, Some(id), -applied));
            journal.push(Posting::receivable(spec.customer, None, applied));
        }
        let balance = total - applied;
        let status = InvoiceStatus::derive(false, false, balance, spec.due_at, now);
        i_id.push(id);
        i_number.push(last);
        i_customer.push(spec.customer);
        i_service.push(spec.service);
        i_purpose.push(spec.purpose);
        i_start.push(spec.period_start);
        i_end.push(spec.period_end);
        i_key.push(spec.key.clone());
        i_due.push(spec.due_at);
        i_sub.push(subtotal);
        i_vat.push(vat);
        i_total.push(total);
        i_status.push(status.as_str());
        i_balance.push(balance);
        i_paid.push((status == InvoiceStatus::Paid).then_some(now));
        journals.push(journal);
        issued.push(Issued {
            id,
            number: last,
            spec,
            total,
            status,
        });
    }

    sqlx::query!(
        r#"insert into invoices (tenant_id, id, number, customer_id, service_id, purpose,
                                 period_start, period_end, idempotency_key, currency, subtotal_minor,
                                 vat_minor, total_minor, issued_at, due_at, status, balance_minor,
                                 paid_at, created_at, updated_at)
           select $1, u.id, u.number, u.customer, u.service, u.purpose, u.start, u.end_, u.key, $17,
                  u.sub, u.vat, u.total, $18, u.due, u.status, u.balance, u.paid, $18, $18
             from unnest($2::uuid[], $3::bigint[], $4::uuid[], $5::uuid[], $6::text[],
                         $7::timestamptz[], $8::timestamptz[], $9::text[], $10::bigint[],
                         $11::bigint[], $12::bigint[], $13::timestamptz[], $14::text[],
                         $15::bigint[], $16::timestamptz[])
                  as u(id, number, customer, service, purpose, start, end_, key, sub, vat, total,
                       due, status, balance, paid)"#,
        tenant.0,
        &i_id,
        &i_number,
        &i_customer,
        &i_service as &[Option<Uuid>],
        &i_purpose as &[&str],
        &i_start,
        &i_end,
        &i_key,
        &i_sub,
        &i_vat,
        &i_total,
        &i_due,
        &i_status as &[&str],
        &i_balance,
        &i_paid as &[Option<DateTime<Utc>>],
        terms.currency,
        now,
    )
    .execute(tx.conn())
    .await?;
    sqlx::query!(
        r#"insert into invoice_lines (tenant_id, invoice_id, line, description, plan_id,
                                      period_start, period_end, quantity, unit_price_minor,
                                      net_minor, vat_minor, total_minor)
           select $1, u.invoice, u.line, u.description, u.plan, u.start, u.end_, u.qty, u.unit,
                  u.net, u.vat, u.total
             from unnest($2::uuid[], $3::smallint[], $4::text[], $5::uuid[], $6::timestamptz[],
                         $7::timestamptz[], $8::int[], $9::bigint[], $10::bigint[], $11::bigint[],
                         $12::bigint[])
                  as u(invoice, line, description, plan, start, end_, qty, unit, net, vat, total)"#,
        tenant.0,
        &l_invoice,
        &l_line,
        &l_desc,
        &l_plan as &[Option<Uuid>],
        &l_start,
        &l_end,
        &l_qty,
        &l_unit,
        &l_net,
        &l_vat,
        &l_total,
    )
    .execute(tx.conn())
    .await?;
    ledger::post(tx, now, &terms.currency, &journals).await?;
    set_counter(tx, "invoice", last).await?;
    Ok(issued)
}

/// Recomputes each invoice's balance from the ledger and its status from the balance (a waiver
/// or cancellation, once recorded, is final).
pub async fn refresh(tx: &mut TenantTx, ids: &[Uuid], now: DateTime<Utc>) -> Result<(), AppError> {
    if ids.is_empty() {
        return Ok(());
    }
    let tenant = tx.tenant();
    sqlx::query!(
        r#"update invoices i
              set balance_minor = b.balance,
                  status = case when i.status in ('waived', 'cancelled') then i.status
                                when b.balance <= 0 then 'paid'
                                when i.due_at <= $3 then 'overdue'
                                else 'pending' end,
                  paid_at = case when i.status in ('waived', 'cancelled') then i.paid_at
                                 when b.balance <= 0 then coalesce(i.paid_at, $3) end,
                  updated_at = $3
             from (select ids.id, coalesce(sum(e.amount_minor), 0)::bigint as balance
                     from unnest($2::uuid[]) as ids(id)
                     left join ledger_entries e on e.tenant_id = $1 and e.invoice_id = ids.id
                    group by ids.id) b
            where i.tenant_id = $1 and i.id = b.id"#,
        tenant.0,
        ids,
        now
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A prepaid service whose invoice for its next period is paid, as `move_expiries` needs it.
pub struct PaidPeriod {
    pub service: Uuid,
    /// The service's status now (locked): active, expired or suspended.
    pub status: String,
    pub period_end: DateTime<Utc>,
    pub unit: ValidityUnit,
    pub count: u32,
}

/// A service a payment moved into its paid period, for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extended {
    pub service: Uuid,
    pub customer: Uuid,
    /// Its status before: `expired` means it was cut off and is now to be reconnected.
    pub was: String,
    pub expires: DateTime<Utc>,
}

/// A service whose next period's invoice is now paid gets that period: its expiry moves to the
/// period's end. A service already cut off (expired) starts a fresh period from now instead, so
/// a customer who pays late is not charged for days they had no service; and a period that
/// would already be over starts from now too. Applies to each service once: after the move its
/// expiry no longer equals the period's start. Returns the services that moved.
pub async fn settle_services(
    tx: &mut TenantTx,
    terms: &Terms,
    now: DateTime<Utc>,
    invoice_ids: &[Uuid],
) -> Result<Vec<Extended>, AppError> {
    if invoice_ids.is_empty() {
        return Ok(Vec::new());
    }
    let tenant = tx.tenant();
    let rows = sqlx::query!(
        // The invoices by primary key first (`offset 0` keeps the subquery apart): with
        // statistics that say few invoices are paid, PostgreSQL would otherwise walk the
        // status index through every paid invoice of the ISP to find these few.
        r#"select s.id, s.customer_id, s.status, i.period_end, p.validity_unit, p.validity_count
             from (select * from invoices where tenant_id = $1 and id = any($2) offset 0) i
             join services s on s.tenant_id = i.tenant_id and s.id = i.service_id
             join plans p on p.tenant_id = s.tenant_id and p.id = s.plan_id
            where i.status = 'paid' and i.purpose = 'period' and s.billing_mode = 'prepaid'
              and s.expires_at = i.period_start
            order by s.id
              for update of s"#,
        tenant.0,
        invoice_ids
    )
    .fetch_all(tx.conn())
    .await?;
    let mut paid = Vec::with_capacity(rows.len());
    let mut customers = Vec::with_capacity(rows.len());
    for row in rows {
        customers.push(row.customer_id);
        paid.push(PaidPeriod {
            service: row.id,
            status: row.status,
            period_end: row.period_end,
            unit: ValidityUnit::parse(&row.validity_unit)?,
            count: u32::try_from(row.validity_count).unwrap_or(1),
        });
    }
    let expiries = move_expiries(tx, terms, now, &paid).await?;
    Ok(paid
        .into_iter()
        .zip(customers)
        .zip(expiries)
        .map(|((p, customer), expires)| Extended {
            service: p.service,
            customer,
            was: p.status,
            expires,
        })
        .collect())
}

/// Moves each service in `paid` (locked by the caller) into its paid period; see
/// `settle_services`. The billing job calls this directly: it has just locked the services and
/// issued the invoices, so it knows every field without asking the database again. Returns each
/// service's new expiry, in the order given.
pub async fn move_expiries(
    tx: &mut TenantTx,
    terms: &Terms,
    now: DateTime<Utc>,
    paid: &[PaidPeriod],
) -> Result<Vec<DateTime<Utc>>, AppError> {
    if paid.is_empty() {
        return Ok(Vec::new());
    }
    let tenant = tx.tenant();
    let mut ids = Vec::with_capacity(paid.len());
    let mut expiries = Vec::with_capacity(paid.len());
    let mut statuses = Vec::with_capacity(paid.len());
    for p in paid {
        let expires = if p.status == "expired" || p.period_end <= now {
            add_validity(now, p.unit, p.count, &terms.zone.tz)
                .ok_or_else(|| AppError::invalid("expiry", "is too far in the future"))?
        } else {
            p.period_end
        };
        ids.push(p.service);
        expiries.push(expires);
        statuses.push(if p.status == "suspended" {
            "suspended"
        } else {
            "active"
        });
    }
    sqlx::query!(
        r#"update services s set expires_at = u.expires, status = u.status, updated_at = $4
             from unnest($2::uuid[], $3::timestamptz[], $5::text[]) as u(id, expires, status)
            where s.tenant_id = $1 and s.id = u.id"#,
        tenant.0,
        &ids,
        &expiries,
        now,
        &statuses as &[&str]
    )
    .execute(tx.conn())
    .await?;
    Ok(expiries)
}

/// A postpaid service cut off for an unpaid invoice comes back once nothing it owes is past
/// its due date and grace period.
pub async fn restore_postpaid(
    tx: &mut TenantTx,
    terms: &Terms,
    now: DateTime<Utc>,
    customers: &[Uuid],
) -> Result<u64, AppError> {
    let tenant = tx.tenant();
    let restored = sqlx::query!(
        r#"update services s set status = 'active', updated_at = $3
            where s.tenant_id = $1 and s.customer_id = any($2) and s.billing_mode = 'postpaid'
              and s.status = 'expired' and s.expires_at > $3
              and not exists (select 1 from invoices i
                               where i.tenant_id = s.tenant_id and i.service_id = s.id
                                 and i.status in ('pending', 'overdue')
                                 and i.due_at + make_interval(days => $4) <= $3)"#,
        tenant.0,
        customers,
        now,
        terms.zone.grace_period_days
    )
    .execute(tx.conn())
    .await?;
    Ok(restored.rows_affected())
}

/// Open invoices of each of `customers`, locked, oldest due first: the order money pays them.
/// Locks are taken customer by customer in id order, so two transactions paying overlapping
/// customers wait for each other instead of deadlocking.
pub async fn open_invoices(
    tx: &mut TenantTx,
    customers: &[Uuid],
) -> Result<HashMap<Uuid, Vec<(Uuid, i64)>>, AppError> {
    let tenant = tx.tenant();
    let rows = sqlx::query!(
        r#"select customer_id, id, balance_minor from invoices
            where tenant_id = $1 and customer_id = any($2) and status in ('pending', 'overdue')
              and balance_minor > 0
            order by customer_id, due_at, number
              for update"#,
        tenant.0,
        customers
    )
    .fetch_all(tx.conn())
    .await?;
    let mut open: HashMap<Uuid, Vec<(Uuid, i64)>> = HashMap::new();
    for row in rows {
        open.entry(row.customer_id)
            .or_default()
            .push((row.id, row.balance_minor));
    }
    Ok(open)
}

/// Puts `first` (the invoice the payer named), when it is among `open`, at the front.
pub fn named_first(open: &mut [(Uuid, i64)], first: Option<Uuid>) {
    if let Some(at) = first.and_then(|f| open.iter().position(|(id, _)| *id == f)) {
        open[..=at].rotate_right(1);
    }
}

/// Moves `credit` of a customer's unallocated credit onto their open invoices (oldest first)
/// within `journal`; returns the invoices it touched.
pub async fn apply_credit(
    tx: &mut TenantTx,
    journal: &mut Journal,
    customer: Uuid,
    credit: i64,
    skip: Option<Uuid>,
) -> Result<Vec<Uuid>, AppError> {
    if credit <= 0 {
        return Ok(Vec::new());
    }
    let open: Vec<(Uuid, i64)> = open_invoices(tx, &[customer])
        .await?
        .remove(&customer)
        .unwrap_or_default()
        .into_iter()
        .filter(|(id, _)| Some(*id) != skip)
        .collect();
    let (parts, _) = ledger::allocate(credit, &open);
    let mut touched = Vec::with_capacity(parts.len());
    for (invoice, amount) in parts {
        journal.push(Posting::receivable(customer, Some(invoice), -amount));
        journal.push(Posting::receivable(customer, None, amount));
        touched.push(invoice);
    }
    Ok(touched)
}

/// Each customer's current credit, for the callers that need one figure.
pub async fn credit_of(tx: &mut TenantTx, customer: Uuid) -> Result<i64, AppError> {
    Ok(ledger::credits(tx, &[customer])
        .await?
        .get(&customer)
        .copied()
        .unwrap_or(0))
}

/// The revenue account an invoice was booked to (its first line's plan kind), which its credit
/// notes and cancellation reverse.
pub async fn revenue_kind(tx: &mut TenantTx, invoice: Uuid) -> Result<PlanKind, AppError> {
    let tenant = tx.tenant();
    let kind = sqlx::query_scalar!(
        r#"select p.kind from invoice_lines l join plans p on p.tenant_id = l.tenant_id and p.id = l.plan_id
            where l.tenant_id = $1 and l.invoice_id = $2 order by l.line limit 1"#,
        tenant.0,
        invoice
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(kind
        .and_then(|k| PlanKind::parse(&k).ok())
        .unwrap_or(PlanKind::Pppoe))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_named_invoice_goes_first_and_the_rest_keep_their_order() {
        let [a, b, c, d] = [1, 2, 3, 4].map(Uuid::from_u128);
        let mut open = vec![(a, 100), (b, 200), (c, 300)];
        named_first(&mut open, Some(c));
        assert_eq!(open, vec![(c, 300), (a, 100), (b, 200)]);
        // One that is not open, or none at all, changes nothing.
        named_first(&mut open, Some(d));
        named_first(&mut open, None);
        assert_eq!(open, vec![(c, 300), (a, 100), (b, 200)]);
    }
}
