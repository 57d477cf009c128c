//! Each customer's public payment link, `/pay/{code}`: no sign-in, so the code is the key. It
//! is 256 random bits, found by its SHA-256 through the payment_links lookup policy, and kept
//! sealed so staff can copy the same link again. The page shows only what a payer needs (the
//! business, the customer's name, plans, what is due) and starts an STK push to a phone the
//! payer may change.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::{
    auth::{
        identity::Staff,
        model::Permission,
        session::{hash_token, hex, new_token},
    },
    billing::ledger,
    customers::service::{offset_seconds, zone},
    db::{TenantId, TenantTx},
    error::AppError,
    payments::{
        model::{PayLinkService, PayLinkView, PaymentRequestView},
        paystack::{self, CheckoutIn},
        requests,
        stk::{self, PushIn, Source},
    },
    phone::display_phone,
    state::AppState,
};

/// Pushes a payment link may start per customer in ten minutes: enough to retry a cancelled or
/// mistyped payment, not enough to flood a phone with prompts.
const LINK_PUSHES_PER_10_MINUTES: i64 = 5;

fn binding(tenant: TenantId, customer: Uuid) -> Vec<u8> {
    format!("payment-link:{}:{customer}", tenant.0).into_bytes()
}

/// The customer's link code, made on first use.
pub async fn link_code(
    tx: &mut TenantTx,
    state: &AppState,
    customer: Uuid,
) -> Result<String, AppError> {
    let tenant = tx.tenant();
    let sealed = sqlx::query_scalar!(
        "select code_enc from payment_links where tenant_id = $1 and customer_id = $2",
        tenant.0,
        customer
    )
    .fetch_optional(tx.conn())
    .await?;
    if let Some(sealed) = sealed {
        let bytes = state
            .secrets
            .open(&sealed, &binding(tenant, customer))
            .map_err(|e| AppError::internal(&e))?;
        return String::from_utf8(bytes).map_err(|e| AppError::internal(&e));
    }
    let (code, hash) = new_token()?;
    let sealed = state
        .secrets
        .seal(code.as_bytes(), &binding(tenant, customer))
        .map_err(|e| AppError::internal(&e))?;
    let inserted = sqlx::query!(
        r#"insert into payment_links (tenant_id, customer_id, code_enc, code_hash, created_at)
           values ($1, $2, $3, $4, $5) on conflict (tenant_id, customer_id) do nothing"#,
        tenant.0,
        customer,
        sealed,
        &hash[..],
        state.clock.now()
    )
    .execute(tx.conn())
    .await?;
    if inserted.rows_affected() == 0 {
        // Made by a concurrent request a moment ago: use that one.
        return Box::pin(link_code(tx, state, customer)).await;
    }
    Ok(code)
}

/// The full link for staff to copy or send.
pub async fn staff_link(
    state: &AppState,
    staff: &Staff,
    customer: Uuid,
) -> Result<String, AppError> {
    staff.require(Permission::ManageCustomers)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    requests::customer_account(&mut tx, customer).await?;
    let code = link_code(&mut tx, state, customer).await?;
    tx.commit().await?;
    let public = &state.mailer.public_url;
    Ok(format!("{}/pay/{code}", public.trim_end_matches('/')))
}

fn not_found() -> AppError {
    AppError::NotFound {
        what: "That payment link".into(),
    }
}

/// The tenant and customer a code belongs to.
async fn resolve(state: &AppState, code: &str) -> Result<(TenantId, Uuid), AppError> {
    let code = code.trim();
    if code.is_empty() || code.len() > 100 {
        return Err(not_found());
    }
    let hash = hex(&hash_token(code));
    state
        .db
        .payment_link_by_hash(&hash)
        .await?
        .ok_or_else(not_found)
}

/// What the payment page shows.
pub async fn page(state: &AppState, code: &str) -> Result<PayLinkView, AppError> {
    let (tenant, customer) = resolve(state, code).await?;
    let now = state.clock.now();
    let mut tx = state.db.tenant(tenant).await?;
    let row = sqlx::query!(
        r#"select c.name, c.account_number, c.phone, c.email, t.name as business
             from customers c join tenants t on t.id = c.tenant_id
            where c.tenant_id = $1 and c.id = $2 and c.archived_at is null"#,
        tenant.0,
        customer
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(not_found)?;
    let services = sqlx::query!(
        r#"select p.name as plan, s.status, s.expires_at
             from services s join plans p on p.tenant_id = s.tenant_id and p.id = s.plan_id
            where s.tenant_id = $1 and s.customer_id = $2
            order by s.created_at"#,
        tenant.0,
        customer
    )
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .map(|s| PayLinkService {
        plan: s.plan,
        status: s.status,
        expires_at: s.expires_at,
    })
    .collect();
    let owed = ledger::balance(&mut tx, customer).await?;
    let due = stk::amount_due_from(&mut tx, customer, owed).await?;
    let (mpesa, paystack_chosen) = sqlx::query!(
        r#"select (mpesa_consumer_key_enc is not null and mpesa_passkey_enc is not null
                   and mpesa_shortcode is not null) as "ready!",
                  stk_provider is not distinct from 'paystack' as "paystack_chosen!"
             from payment_settings where tenant_id = $1"#,
        tenant.0
    )
    .fetch_optional(tx.conn())
    .await?
    .map_or((false, false), |r| (r.ready, r.paystack_chosen));
    let paystack = paystack::enabled(&mut tx).await?;
    let open_request = sqlx::query_scalar!(
        "select id from payment_requests
          where tenant_id = $1 and customer_id = $2 and provider = 'mpesa'
            and status in ('sending', 'pending')",
        tenant.0,
        customer
    )
    .fetch_optional(tx.conn())
    .await?;
    let zone = zone(&mut tx).await?;
    tx.commit().await?;
    Ok(PayLinkView {
        business: row.business,
        customer_name: row.name,
        account_number: row.account_number,
        services,
        owed_minor: owed,
        amount_due_minor: due,
        phone: display_phone(&row.phone),
        mpesa,
        paystack,
        paystack_first: paystack && paystack_chosen,
        email: row.email.unwrap_or_default(),
        open_request,
        utc_offset_seconds: offset_seconds(&zone, now),
    })
}

/// "Pay now": an STK push of what is due to `phone`. Pressing it again while a prompt is on
/// the phone returns the same request.
pub async fn pay(
    state: &AppState,
    code: &str,
    phone: &str,
) -> Result<PaymentRequestView, AppError> {
    let (tenant, customer) = resolve(state, code).await?;
    let since: DateTime<Utc> = state.clock.now() - Duration::minutes(10);
    let mut tx = state.db.tenant(tenant).await?;
    let recent = sqlx::query_scalar!(
        r#"select count(*) as "n!" from payment_requests
            where tenant_id = $1 and customer_id = $2 and source = 'link' and created_at > $3
              and status not in ('sending', 'pending')"#,
        tenant.0,
        customer,
        since
    )
    .fetch_one(tx.conn())
    .await?;
    tx.commit().await?;
    if recent >= LINK_PUSHES_PER_10_MINUTES {
        return Err(AppError::invalid(
            "phone",
            "too many payment attempts: wait ten minutes, or pay by paybill with your account number",
        ));
    }
    let request = stk::push(
        state,
        tenant,
        &PushIn {
            customer,
            phone: phone.to_string(),
            amount: None,
            invoice: None,
            source: Source::Link,
            requested_by: None,
        },
    )
    .await?;
    let mut tx = state.db.tenant(tenant).await?;
    let view = requests::view(&mut tx, request, Some(customer)).await?;
    tx.commit().await?;
    Ok(view)
}

/// Where a request made from this link stands.
pub async fn status(
    state: &AppState,
    code: &str,
    request: Uuid,
) -> Result<PaymentRequestView, AppError> {
    let (tenant, customer) = resolve(state, code).await?;
    let mut tx = state.db.tenant(tenant).await?;
    let view = requests::view(&mut tx, request, Some(customer)).await?;
    tx.commit().await?;
    Ok(view)
}

/// "Pay by card": starts a Paystack checkout for what is due and returns the page to send the
/// payer to. Paystack brings them back to this link with the reference.
pub async fn pay_paystack(state: &AppState, code: &str, email: &str) -> Result<String, AppError> {
    let (tenant, customer) = resolve(state, code).await?;
    let callback = format!(
        "{}/pay/{}",
        state.mailer.public_url.trim_end_matches('/'),
        code.trim()
    );
    let (_, url) = paystack::start(
        state,
        tenant,
        &CheckoutIn {
            customer,
            email,
            source: Source::Link,
            callback_url: &callback,
        },
    )
    .await?;
    Ok(url)
}

/// Back from Paystack with `reference`: verified and applied, then shown.
pub async fn paystack_return(
    state: &AppState,
    code: &str,
    reference: &str,
) -> Result<PaymentRequestView, AppError> {
    let (tenant, customer) = resolve(state, code).await?;
    let request = paystack::confirm_return(state, tenant, reference).await?;
    let mut tx = state.db.tenant(tenant).await?;
    let view = requests::view(&mut tx, request, Some(customer)).await?;
    tx.commit().await?;
    Ok(view)
}
