//! What staff do to invoices (mark paid, waive, cancel, credit) and what a service change
//! bills (a new service's first invoice, a plan change's proration). Each is one transaction
//! with its ledger postings and, for staff actions, an audit entry.

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::{
    audit::store::{Entry, record},
    auth::{identity::Staff, model::Permission, session::RequestMeta},
    billing::{
        invoices::{
            self, IssueSpec, LineSpec, Terms, apply_credit, lock_counter, named_first,
            open_invoices, refresh, restore_postpaid, set_counter, settle_services,
        },
        ledger::{self, Journal, Posting},
        model::{
            Account, Channel, InvoiceStatus, TxKind, credit_note_number, invoice_number, prorate,
            vat_share,
        },
    },
    customers::{model::BillingMode, service::PlanTerms},
    db::TenantTx,
    error::AppError,
    outbox,
    state::AppState,
};

/// An invoice's fixed figures, locked for a change.
struct Locked {
    number: i64,
    customer: Uuid,
    status: InvoiceStatus,
    total: i64,
    vat: i64,
    balance: i64,
}

async fn lock(tx: &mut TenantTx, id: Uuid) -> Result<Locked, AppError> {
    let tenant = tx.tenant();
    let row = sqlx::query!(
        r#"select number, customer_id, status, total_minor, vat_minor, balance_minor
             from invoices where tenant_id = $1 and id = $2 for update"#,
        tenant.0,
        id
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| AppError::NotFound {
        what: "That invoice".into(),
    })?;
    Ok(Locked {
        number: row.number,
        customer: row.customer_id,
        status: InvoiceStatus::parse(&row.status).unwrap_or(InvoiceStatus::Pending),
        total: row.total_minor,
        vat: row.vat_minor,
        balance: row.balance_minor,
    })
}

async fn audit(
    tx: &mut TenantTx,
    state: &AppState,
    staff: &Staff,
    action: &str,
    invoice: Uuid,
    after: serde_json::Value,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    record(
        tx,
        Entry {
            at: state.clock.now(),
            actor_user_id: Some(staff.user_id),
            actor_label: &staff.email,
            action,
            entity: Some(("invoice", invoice.to_string())),
            before: None,
            after: Some(after),
            meta,
        },
    )
    .await
}

fn reason(field: &str, input: &str) -> Result<String, AppError> {
    let reason = input.trim();
    if reason.is_empty() {
        return Err(AppError::invalid(field, "say why, for the records"));
    }
    if reason.chars().count() > 500 {
        return Err(AppError::invalid(field, "must be at most 500 characters"));
    }
    Ok(reason.to_string())
}

/// What follows every posting that touched invoices: their balances and statuses from the
/// ledger, the periods now paid for (each move written to the outbox), and a postpaid cut-off
/// lifted once nothing is past due.
async fn follow_ledger(
    tx: &mut TenantTx,
    terms: &Terms,
    now: DateTime<Utc>,
    invoices: &[Uuid],
    customers: &[Uuid],
) -> Result<(), AppError> {
    refresh(tx, invoices, now).await?;
    let extended = settle_services(tx, terms, now, invoices).await?;
    outbox::record(tx, now, &[], &extended).await?;
    restore_postpaid(tx, terms, now, customers).await?;
    Ok(())
}

/// A payment to record.
#[derive(Debug, Clone)]
pub struct PaymentIn {
    pub customer: Uuid,
    pub channel: Channel,
    pub amount: i64,
    pub reference: String,
    pub received_at: DateTime<Utc>,
    pub recorded_by: Option<Uuid>,
    /// The invoice the payer meant; it is paid first, then the oldest open ones, and anything
    /// left is credit for the next invoice.
    pub invoice: Option<Uuid>,
}

/// Records a payment and everything it pays, inside the caller's transaction; see
/// `apply_payments`. Returns the payment id.
pub async fn apply_payment(
    tx: &mut TenantTx,
    terms: &Terms,
    now: DateTime<Utc>,
    payment: &PaymentIn,
) -> Result<Uuid, AppError> {
    let ids = apply_payments(tx, terms, now, std::slice::from_ref(payment)).await?;
    ids.into_iter().next().ok_or_else(|| {
        AppError::internal(&std::io::Error::other(
            "a payment was applied without an id",
        ))
    })
}

/// Records payments and everything they pay, inside the caller's transaction, in the same dozen
/// statements however many there are: the payment rows (a reference unique per channel), one
/// ledger transaction each, allocation to open invoices (the named one, then oldest first; a
/// customer's later payment in the batch sees what the earlier ones paid), the invoices'
/// statuses, the periods they buy, and the outbox rows. Returns the payment ids in order.
pub async fn apply_payments(
    tx: &mut TenantTx,
    terms: &Terms,
    now: DateTime<Utc>,
    payments: &[PaymentIn],
) -> Result<Vec<Uuid>, AppError> {
    if payments.is_empty() {
        return Ok(Vec::new());
    }
    if payments.iter().any(|p| p.amount <= 0) {
        return Err(AppError::invalid("amount", "must be more than zero"));
    }
    let tenant = tx.tenant();
    let ids: Vec<Uuid> = payments.iter().map(|_| Uuid::new_v4()).collect();
    let customers: Vec<Uuid> = payments.iter().map(|p| p.customer).collect();
    let channels: Vec<&str> = payments.iter().map(|p| p.channel.as_str()).collect();
    let amounts: Vec<i64> = payments.iter().map(|p| p.amount).collect();
    let references: Vec<&str> = payments.iter().map(|p| p.reference.as_str()).collect();
    let received: Vec<DateTime<Utc>> = payments.iter().map(|p| p.received_at).collect();
    let recorded_by: Vec<Option<Uuid>> = payments.iter().map(|p| p.recorded_by).collect();
    let inserted = sqlx::query!(
        r#"insert into payments (tenant_id, id, customer_id, channel, amount_minor, currency,
                                 reference, received_at, recorded_by, created_at)
           select $1, u.id, u.customer, u.channel, u.amount, $7, u.reference, u.received, u.by, $10
             from unnest($2::uuid[], $3::uuid[], $4::text[], $5::bigint[], $6::text[],
                         $8::timestamptz[], $9::uuid[])
                  as u(id, customer, channel, amount, reference, received, by)"#,
        tenant.0,
        &ids,
        &customers,
        &channels as &[&str],
        &amounts,
        &references as &[&str],
        terms.currency,
        &received,
        &recorded_by as &[Option<Uuid>],
        now
    )
    .execute(tx.conn())
    .await;
    match inserted {
        Ok(_) => {}
        Err(e)
            if crate::customers::service::constraint(&e)
                == Some("payments_tenant_channel_reference_key") =>
        {
            return Err(AppError::invalid(
                "reference",
                "a payment with this reference was already recorded",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let mut distinct = customers.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let mut open = open_invoices(tx, &distinct).await?;
    let mut journals = Vec::with_capacity(payments.len());
    let mut touched = Vec::new();
    for (payment, id) in payments.iter().zip(&ids) {
        let owed = open.entry(payment.customer).or_default();
        let mut order = owed.clone();
        named_first(&mut order, payment.invoice);
        let (parts, left) = ledger::allocate(payment.amount, &order);
        let mut journal = Journal::new(
            TxKind::Payment,
            ("payment", *id),
            format!("payment:{id}"),
            format!("{} payment {}", payment.channel.label(), payment.reference),
        )
        .by(payment.recorded_by);
        journal.push(Posting::to(
            Account::Clearing(payment.channel),
            payment.amount,
        ));
        for (invoice, amount) in parts {
            journal.push(Posting::receivable(
                payment.customer,
                Some(invoice),
                -amount,
            ));
            // What this payment paid is no longer open to the customer's next one.
            if let Some(entry) = owed.iter_mut().find(|(open_id, _)| *open_id == invoice) {
                entry.1 -= amount;
            }
            touched.push(invoice);
        }
        owed.retain(|(_, balance)| *balance > 0);
        journal.push(Posting::receivable(payment.customer, None, -left));
        journals.push(journal);
    }
    ledger::post(tx, now, &terms.currency, &journals).await?;
    touched.sort_unstable();
    touched.dedup();
    follow_ledger(tx, terms, now, &touched, &distinct).await?;
    let received: Vec<outbox::Received<'_>> = payments
        .iter()
        .zip(&ids)
        .map(|(p, id)| outbox::Received {
            payment: *id,
            customer: p.customer,
            channel: p.channel.as_str(),
            amount_minor: p.amount,
            reference: &p.reference,
        })
        .collect();
    outbox::record(tx, now, &received, &[]).await?;
    Ok(ids)
}

/// Marks an invoice paid with cash or an offline (bank) payment. The amount defaults to what
/// the invoice still owes; more is kept as credit, less leaves it partly paid.
pub async fn mark_paid(
    state: &AppState,
    staff: &Staff,
    invoice: Uuid,
    channel: Channel,
    amount: Option<i64>,
    reference: &str,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    staff.require(Permission::ManageInvoices)?;
    if !channel.recorded_by_staff() {
        return Err(AppError::invalid(
            "channel",
            "record cash or bank payments here; M-Pesa and Paystack arrive on their own",
        ));
    }
    let reference = reference.trim();
    if reference.is_empty() || reference.chars().count() > 100 {
        return Err(AppError::invalid(
            "reference",
            "give the receipt or slip number (up to 100 characters)",
        ));
    }
    let mut tx = state.db.tenant(staff.tenant).await?;
    let terms = invoices::terms(&mut tx).await?;
    let locked = lock(&mut tx, invoice).await?;
    if !locked.status.is_open() {
        return Err(AppError::invalid(
            "invoice",
            format!("this invoice is {}", locked.status.label().to_lowercase()),
        ));
    }
    let amount = amount.unwrap_or(locked.balance);
    let now = state.clock.now();
    let payment = apply_payment(
        &mut tx,
        &terms,
        now,
        &PaymentIn {
            customer: locked.customer,
            channel,
            amount,
            reference: reference.to_string(),
            received_at: now,
            recorded_by: Some(staff.user_id),
            invoice: Some(invoice),
        },
    )
    .await?;
    audit(
        &mut tx,
        state,
        staff,
        "invoice.marked_paid",
        invoice,
        json!({ "number": invoice_number(locked.number), "payment": payment,
                "channel": channel.as_str(), "amount_minor": amount, "reference": reference }),
        meta,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Writes off what an open invoice still owes. It stays in every list as "waived".
pub async fn waive(
    state: &AppState,
    staff: &Staff,
    invoice: Uuid,
    why: &str,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    staff.require(Permission::ManageInvoices)?;
    let why = reason("reason", why)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let terms = invoices::terms(&mut tx).await?;
    let locked = lock(&mut tx, invoice).await?;
    if !locked.status.is_open() {
        return Err(AppError::invalid(
            "invoice",
            format!(
                "only a pending or overdue invoice can be waived; this one is {}",
                locked.status.label().to_lowercase()
            ),
        ));
    }
    let now = state.clock.now();
    let mut journal = Journal::new(
        TxKind::Waiver,
        ("invoice", invoice),
        format!("waiver:{invoice}"),
        format!("{} waived: {why}", invoice_number(locked.number)),
    )
    .by(Some(staff.user_id));
    journal.push(Posting::to(Account::WriteOff, locked.balance));
    journal.push(Posting::receivable(
        locked.customer,
        Some(invoice),
        -locked.balance,
    ));
    ledger::post(&mut tx, now, &terms.currency, &[journal]).await?;
    close(&mut tx, invoice, InvoiceStatus::Waived, &why, now).await?;
    follow_ledger(&mut tx, &terms, now, &[invoice], &[locked.customer]).await?;
    audit(
        &mut tx,
        state,
        staff,
        "invoice.waived",
        invoice,
        json!({ "number": invoice_number(locked.number), "written_off_minor": locked.balance,
                "reason": why }),
        meta,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn close(
    tx: &mut TenantTx,
    invoice: Uuid,
    status: InvoiceStatus,
    why: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let tenant = tx.tenant();
    sqlx::query!(
        "update invoices set status = $3, closed_reason = $4, updated_at = $5
          where tenant_id = $1 and id = $2",
        tenant.0,
        invoice,
        status.as_str(),
        why,
        now
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Sum of the credit notes already issued against an invoice (amount, VAT).
async fn credited(tx: &mut TenantTx, invoice: Uuid) -> Result<(i64, i64), AppError> {
    let tenant = tx.tenant();
    let row = sqlx::query!(
        r#"select coalesce(sum(amount_minor), 0)::bigint as "amount!",
                  coalesce(sum(vat_minor), 0)::bigint as "vat!"
             from credit_notes where tenant_id = $1 and invoice_id = $2"#,
        tenant.0,
        invoice
    )
    .fetch_one(tx.conn())
    .await?;
    Ok((row.amount, row.vat))
}

/// Cancels an invoice raised in error: a transaction reversing what it booked (less any credit
/// notes, which already reversed their part). What was paid on it becomes credit and pays the
/// customer's other open invoices, if any.
pub async fn cancel(
    state: &AppState,
    staff: &Staff,
    invoice: Uuid,
    why: &str,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    staff.require(Permission::ManageInvoices)?;
    let why = reason("reason", why)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let terms = invoices::terms(&mut tx).await?;
    let locked = lock(&mut tx, invoice).await?;
    if matches!(
        locked.status,
        InvoiceStatus::Cancelled | InvoiceStatus::Waived
    ) {
        return Err(AppError::invalid(
            "invoice",
            format!(
                "this invoice is already {}",
                locked.status.label().to_lowercase()
            ),
        ));
    }
    let now = state.clock.now();
    let (credited_amount, credited_vat) = credited(&mut tx, invoice).await?;
    let reverse = locked.total - credited_amount;
    let reverse_vat = locked.vat - credited_vat;
    if reverse <= 0 {
        // A cancellation is a ledger transaction; with nothing left to reverse there would be
        // no record of it.
        return Err(AppError::invalid(
            "invoice",
            "credit notes already took back all of this invoice; there is nothing to cancel",
        ));
    }
    let kind = invoices::revenue_kind(&mut tx, invoice).await?;
    let mut journal = Journal::new(
        TxKind::Cancellation,
        ("invoice", invoice),
        format!("cancellation:{invoice}"),
        format!("{} cancelled: {why}", invoice_number(locked.number)),
    )
    .by(Some(staff.user_id));
    journal.push(Posting::to(Account::Revenue(kind), reverse - reverse_vat));
    journal.push(Posting::to(Account::VatPayable, reverse_vat));
    let owed = locked.balance.max(0);
    journal.push(Posting::receivable(locked.customer, Some(invoice), -owed));
    let freed = reverse - owed;
    journal.push(Posting::receivable(locked.customer, None, -freed));
    close(&mut tx, invoice, InvoiceStatus::Cancelled, &why, now).await?;
    let mut touched =
        apply_credit(&mut tx, &mut journal, locked.customer, freed, Some(invoice)).await?;
    ledger::post(&mut tx, now, &terms.currency, &[journal]).await?;
    touched.push(invoice);
    follow_ledger(&mut tx, &terms, now, &touched, &[locked.customer]).await?;
    audit(
        &mut tx,
        state,
        staff,
        "invoice.cancelled",
        invoice,
        json!({ "number": invoice_number(locked.number), "reversed_minor": reverse,
                "reason": why }),
        meta,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Issues a credit note inside the caller's transaction: it reduces what the invoice owes and
/// anything beyond that becomes credit (which pays other open invoices). Returns its number.
pub async fn credit_note_in(
    tx: &mut TenantTx,
    terms: &Terms,
    now: DateTime<Utc>,
    invoice: Uuid,
    amount: i64,
    why: &str,
    by: Option<Uuid>,
) -> Result<i64, AppError> {
    let locked = lock(tx, invoice).await?;
    if matches!(
        locked.status,
        InvoiceStatus::Cancelled | InvoiceStatus::Waived
    ) {
        return Err(AppError::invalid(
            "invoice",
            format!(
                "a {} invoice cannot be credited",
                locked.status.label().to_lowercase()
            ),
        ));
    }
    let (already, _) = credited(tx, invoice).await?;
    let creditable = locked.total - already;
    if amount <= 0 || amount > creditable {
        return Err(AppError::invalid(
            "amount",
            format!(
                "must be more than zero and at most {}",
                crate::money::format_kes(creditable)
            ),
        ));
    }
    let tenant = tx.tenant();
    let number = lock_counter(tx, "credit_note").await? + 1;
    let id = Uuid::new_v4();
    let vat = vat_share(amount, locked.vat, locked.total);
    sqlx::query!(
        r#"insert into credit_notes (tenant_id, id, number, invoice_id, customer_id, amount_minor,
                                     vat_minor, reason, issued_at, issued_by)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"#,
        tenant.0,
        id,
        number,
        invoice,
        locked.customer,
        amount,
        vat,
        why,
        now,
        by
    )
    .execute(tx.conn())
    .await?;
    set_counter(tx, "credit_note", number).await?;
    let kind = invoices::revenue_kind(tx, invoice).await?;
    let mut journal = Journal::new(
        TxKind::CreditNote,
        ("credit_note", id),
        format!("credit_note:{id}"),
        format!(
            "{} on {}: {why}",
            credit_note_number(number),
            invoice_number(locked.number)
        ),
    )
    .by(by);
    journal.push(Posting::to(Account::Revenue(kind), amount - vat));
    journal.push(Posting::to(Account::VatPayable, vat));
    let on_invoice = if locked.status.is_open() {
        amount.min(locked.balance.max(0))
    } else {
        0
    };
    journal.push(Posting::receivable(
        locked.customer,
        Some(invoice),
        -on_invoice,
    ));
    journal.push(Posting::receivable(
        locked.customer,
        None,
        -(amount - on_invoice),
    ));
    let mut touched = apply_credit(
        tx,
        &mut journal,
        locked.customer,
        amount - on_invoice,
        Some(invoice),
    )
    .await?;
    ledger::post(tx, now, &terms.currency, &[journal]).await?;
    touched.push(invoice);
    follow_ledger(tx, terms, now, &touched, &[locked.customer]).await?;
    Ok(number)
}

/// Issues a credit note from the invoices page.
pub async fn credit_note(
    state: &AppState,
    staff: &Staff,
    invoice: Uuid,
    amount: i64,
    why: &str,
    meta: &RequestMeta,
) -> Result<String, AppError> {
    staff.require(Permission::ManageInvoices)?;
    let why = reason("reason", why)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let terms = invoices::terms(&mut tx).await?;
    let now = state.clock.now();
    let number = credit_note_in(
        &mut tx,
        &terms,
        now,
        invoice,
        amount,
        &why,
        Some(staff.user_id),
    )
    .await?;
    audit(
        &mut tx,
        state,
        staff,
        "invoice.credited",
        invoice,
        json!({ "credit_note": credit_note_number(number), "amount_minor": amount, "reason": why }),
        meta,
    )
    .await?;
    tx.commit().await?;
    Ok(credit_note_number(number))
}

/// A new service's first invoice: prepaid, its first period; postpaid, the part-month from now
/// to the first billing day, prorated. Due after the tenant's due period (the service is
/// already running; a renewal, by contrast, is due when the period it pays for starts).
#[allow(clippy::too_many_arguments)]
pub async fn invoice_new_service(
    tx: &mut TenantTx,
    now: DateTime<Utc>,
    by: Option<Uuid>,
    customer: Uuid,
    service: Uuid,
    plan: &PlanTerms,
    mode: BillingMode,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> Result<(), AppError> {
    let terms = invoices::terms(tx).await?;
    let (price, due, period_label) = match mode {
        BillingMode::Prepaid => (
            plan.price_minor,
            now + chrono::Duration::days(i64::from(terms.due_days)),
            "period",
        ),
        BillingMode::Postpaid => {
            // The first month is the part from today to the billing day: the price prorated
            // over the month that ends on that billing day.
            let month_before = end
                .with_timezone(&terms.zone.tz)
                .checked_sub_months(chrono::Months::new(1))
                .map(|d| d.with_timezone(&Utc))
                .unwrap_or(end - chrono::Duration::days(30));
            let share = prorate(0, plan.price_minor, month_before.min(start), end, start);
            (
                share.charge,
                now + chrono::Duration::days(i64::from(terms.due_days)),
                "first part-month",
            )
        }
    };
    let spec = IssueSpec {
        customer,
        service: Some(service),
        purpose: "period",
        period_start: start,
        period_end: end,
        key: format!("period:{service}:{}", start.timestamp_micros()),
        due_at: due,
        lines: vec![LineSpec {
            description: format!("{} ({period_label})", plan.name),
            plan_id: Some(plan.id),
            kind: plan.kind,
            unit_price: price,
            quantity: 1,
        }],
    };
    invoices::issue(tx, &terms, now, by, vec![spec]).await?;
    Ok(())
}

/// What a plan change bills: a credit note for the unused part of the period already invoiced
/// (its invoice's total, prorated) and an invoice for the new plan over the rest of the period.
/// Both use [`prorate`], the function the change-plan preview runs in the browser.
#[allow(clippy::too_many_arguments)]
pub async fn bill_plan_change(
    tx: &mut TenantTx,
    now: DateTime<Utc>,
    by: Option<Uuid>,
    customer: Uuid,
    service: Uuid,
    new_plan: &PlanTerms,
) -> Result<(), AppError> {
    let terms = invoices::terms(tx).await?;
    let tenant = tx.tenant();
    let current = sqlx::query!(
        r#"select id, period_start, period_end, total_minor, status from invoices
            where tenant_id = $1 and service_id = $2 and purpose = 'period'
              and period_start <= $3 and period_end > $3 and status not in ('cancelled', 'waived')
            order by period_start desc limit 1"#,
        tenant.0,
        service,
        now
    )
    .fetch_optional(tx.conn())
    .await?;
    // A period never invoiced (an imported service, say) was not charged: the new price
    // simply applies from the next renewal.
    let Some(c) = current else {
        return Ok(());
    };
    let end = c.period_end;
    let share = prorate(
        c.total_minor,
        new_plan.price_minor,
        c.period_start,
        end,
        now,
    );
    if share.credit > 0 {
        let (already, _) = credited(tx, c.id).await?;
        let amount = share.credit.min(c.total_minor - already);
        if amount > 0 {
            credit_note_in(
                tx,
                &terms,
                now,
                c.id,
                amount,
                &format!(
                    "Unused part of the period after changing to {}",
                    new_plan.name
                ),
                by,
            )
            .await?;
        }
    }
    if share.charge > 0 {
        let spec = IssueSpec {
            customer,
            service: Some(service),
            purpose: "plan_change",
            period_start: now,
            period_end: end,
            key: format!("plan_change:{service}:{}", Uuid::new_v4()),
            due_at: now + chrono::Duration::days(i64::from(terms.due_days)),
            lines: vec![LineSpec {
                description: format!("{} (rest of the period after a plan change)", new_plan.name),
                plan_id: Some(new_plan.id),
                kind: new_plan.kind,
                unit_price: share.charge,
                quantity: 1,
            }],
        };
        invoices::issue(tx, &terms, now, by, vec![spec]).await?;
    }
    Ok(())
}
