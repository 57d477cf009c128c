//! Settling a hotspot sale, under the request's row lock (so a callback, its replay and the
//! STK query poller sell one voucher between them): a voucher of the plan on the buyer's router,
//! the sale in the ledger, the code by SMS to the phone that paid, all in the caller's
//! transaction.

use uuid::Uuid;

use crate::{
    billing::{
        invoices,
        ledger::{self, Journal, Posting},
        model::{Account, Channel, TxKind, VatMode, line_amounts},
    },
    db::TenantTx,
    error::AppError,
    messaging::{
        sms::{self, Sms},
        template::{self, Event, Language, Placeholder, Values, render},
        templates,
    },
    money::format_kes,
    payments::{
        model::RequestStatus,
        requests::{Locked, Settled, Settlement, fail, learn_receipt},
    },
    plans::model::{PlanKind, ValidityUnit, validity_label},
    state::AppState,
    vouchers::service::{NewCodes, insert_codes},
};

/// How long a sold code waits for its first log-in before it lapses unused.
pub const SOLD_SHELF_LIFE: chrono::Duration = chrono::Duration::days(7);

/// Applies a result to a locked hotspot request, once. The caller commits, then nudges the SMS
/// sender (`state.sms.nudge()`) so the code goes out at once.
pub async fn settle(
    tx: &mut TenantTx,
    state: &AppState,
    request: &Locked,
    result: Settlement<'_>,
) -> Result<Option<Settled>, AppError> {
    let tenant = tx.tenant();
    let now = state.clock.now();
    match result {
        Settlement::Paid { receipt, .. } if request.status == RequestStatus::Paid => {
            learn_receipt(tx, request.id, receipt).await?;
            Ok(sold_voucher(tx, request.id).await?.map(Settled::Sale))
        }
        Settlement::Paid {
            amount, receipt, ..
        } => {
            let plan_id = request.plan.ok_or_else(|| {
                AppError::internal(&std::io::Error::other("a hotspot request without a plan"))
            })?;
            let plan = sqlx::query!(
                "select p.name, p.validity_unit, p.validity_count, t.name as business
                   from plans p join tenants t on t.id = p.tenant_id
                  where p.tenant_id = $1 and p.id = $2",
                tenant.0,
                plan_id
            )
            .fetch_one(tx.conn())
            .await?;
            let batch = Uuid::new_v4();
            sqlx::query!(
                "insert into voucher_batches (tenant_id, id, plan_id, router_id, count, expires_at,
                                              created_at, sold)
                 values ($1, $2, $3, $4, 1, $5, $6, true)",
                tenant.0,
                batch,
                plan_id,
                request.router,
                now + SOLD_SHELF_LIFE,
                now
            )
            .execute(tx.conn())
            .await?;
            let made = insert_codes(
                tx,
                &NewCodes {
                    batch,
                    plan: plan_id,
                    router: request.router,
                    expires_at: now + SOLD_SHELF_LIFE,
                    now,
                    count: 1,
                },
            )
            .await?;
            let (voucher, code) = made.into_iter().next().ok_or_else(|| {
                AppError::internal(&std::io::Error::other("no voucher drawn for a sale"))
            })?;
            post_sale(tx, now, request, amount, receipt, &plan.name).await?;
            sqlx::query!(
                "update payment_requests
                    set status = 'paid', result_code = '0', result_desc = 'Paid', receipt = $3,
                        voucher_id = $4, settled_at = $5, next_query_at = null
                  where tenant_id = $1 and id = $2",
                tenant.0,
                request.id,
                receipt,
                voucher,
                now
            )
            .execute(tx.conn())
            .await?;
            // The buyer is not a customer, so the ISP's English words are sent.
            let words = templates::text_for(tx, Event::VoucherSold, Language::En).await?;
            let validity = ValidityUnit::parse(&plan.validity_unit)
                .map(|unit| validity_label(plan.validity_count, unit))
                .unwrap_or_default();
            let mut values = Values::new()
                .set(Placeholder::Code, code.clone())
                .set(Placeholder::Plan, format!("{}, {validity}", plan.name))
                .set(Placeholder::Amount, format_kes(amount))
                .set(Placeholder::Business, plan.business.clone());
            if let Some(receipt) = receipt {
                values = values.set(Placeholder::Receipt, receipt);
            }
            let body = template::fit(render(&words, &values));
            sms::enqueue(
                tx,
                now,
                &Sms {
                    customer: None,
                    kind: Event::VoucherSold.as_str(),
                    recipient: &request.payer,
                    body: &body,
                    urgent: true,
                },
            )
            .await?;
            tracing::info!(request = %request.id, %voucher, "hotspot package sold");
            Ok(Some(Settled::Sale(voucher)))
        }
        Settlement::Failed { .. } if request.status == RequestStatus::Paid => {
            Ok(sold_voucher(tx, request.id).await?.map(Settled::Sale))
        }
        Settlement::Failed { code, desc } => {
            fail(tx, request.id, &code, desc, now).await?;
            Ok(None)
        }
    }
}

/// The voucher a paid sale handed out.
async fn sold_voucher(tx: &mut TenantTx, request: Uuid) -> Result<Option<Uuid>, AppError> {
    let tenant = tx.tenant();
    Ok(sqlx::query_scalar!(
        "select voucher_id from payment_requests where tenant_id = $1 and id = $2",
        tenant.0,
        request
    )
    .fetch_one(tx.conn())
    .await?)
}

/// The sale in the ledger: M-Pesa clearing debited with what was paid, hotspot revenue and VAT
/// credited (a hotspot price is what the buyer pays, so VAT, where the ISP charges it, is
/// inside it). Its key is the request's, so it can never be posted twice.
async fn post_sale(
    tx: &mut TenantTx,
    now: chrono::DateTime<chrono::Utc>,
    request: &Locked,
    amount: i64,
    receipt: Option<&str>,
    plan: &str,
) -> Result<(), AppError> {
    let terms = invoices::terms(tx).await?;
    let vat = VatMode {
        enabled: terms.vat.enabled,
        inclusive: true,
    };
    let split = line_amounts(amount, 1, vat);
    let mut journal = Journal::new(
        TxKind::Sale,
        ("payment_request", request.id),
        format!("sale:{}", request.id),
        format!(
            "Hotspot {plan}, M-Pesa {}",
            receipt.or(request.provider_ref.as_deref()).unwrap_or("")
        ),
    );
    journal.push(Posting::to(Account::Clearing(Channel::Mpesa), split.total));
    journal.push(Posting::to(Account::Revenue(PlanKind::Hotspot), -split.net));
    journal.push(Posting::to(Account::VatPayable, -split.vat));
    ledger::post(tx, now, &terms.currency, &[journal]).await?;
    Ok(())
}
