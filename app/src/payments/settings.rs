//! Reading and changing an ISP's payment settings. Secrets are sealed here, bound to the tenant
//! and the field they belong to, and leave only as their last four characters; the webhook
//! token is made with the row and never changes.

use crate::{
    audit::store::{Entry, record},
    auth::{
        identity::Staff,
        model::Permission,
        session::{RequestMeta, hash_token, new_token},
    },
    db::{TenantId, TenantTx},
    error::AppError,
    payments::model::{PaymentSettingsForm, PaymentSettingsView, last4},
    secrets::Secrets,
    state::AppState,
};
use serde_json::json;

/// Where a sealed value lives: a copy moved to another tenant or field does not open.
pub fn binding(tenant: TenantId, field: &str) -> Vec<u8> {
    format!("payment-settings:{}:{field}", tenant.0).into_bytes()
}

fn sealing_failed(err: crate::secrets::SecretError) -> AppError {
    AppError::internal(&err)
}

/// Creates the ISP's settings row (with its webhook token) if it has none. Called before any
/// read or write, so every ISP that touches payments has exactly one token.
pub async fn ensure_row(
    tx: &mut TenantTx,
    secrets: &Secrets,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), AppError> {
    let tenant = tx.tenant();
    let exists = sqlx::query_scalar!(
        r#"select exists (select 1 from payment_settings where tenant_id = $1) as "found!""#,
        tenant.0
    )
    .fetch_one(tx.conn())
    .await?;
    if exists {
        return Ok(());
    }
    let (token, hash) = new_token()?;
    let sealed = secrets
        .seal(token.as_bytes(), &binding(tenant, "hook_token"))
        .map_err(sealing_failed)?;
    sqlx::query!(
        r#"insert into payment_settings (tenant_id, hook_token_enc, hook_token_hash, updated_at)
           values ($1, $2, $3, $4) on conflict (tenant_id) do nothing"#,
        tenant.0,
        sealed,
        &hash[..],
        now
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

async fn view_in(tx: &mut TenantTx, staff: &Staff) -> Result<PaymentSettingsView, AppError> {
    let row = sqlx::query!(
        r#"select mpesa_environment, mpesa_shortcode, mpesa_kind, mpesa_till,
                  mpesa_consumer_key_last4, mpesa_consumer_secret_last4, mpesa_passkey_last4,
                  paystack_secret_last4, stk_provider, c2b_reject_unknown
             from payment_settings where tenant_id = $1"#,
        staff.tenant.0
    )
    .fetch_one(tx.conn())
    .await?;
    Ok(PaymentSettingsView {
        mpesa_environment: row.mpesa_environment,
        mpesa_shortcode: row.mpesa_shortcode.unwrap_or_default(),
        mpesa_kind: row.mpesa_kind,
        mpesa_till: row.mpesa_till.unwrap_or_default(),
        mpesa_consumer_key_last4: row.mpesa_consumer_key_last4,
        mpesa_consumer_secret_last4: row.mpesa_consumer_secret_last4,
        mpesa_passkey_last4: row.mpesa_passkey_last4,
        paystack_secret_last4: row.paystack_secret_last4,
        stk_provider: row.stk_provider.unwrap_or_default(),
        c2b_reject_unknown: row.c2b_reject_unknown,
        can_manage: staff.role.can(Permission::ManagePaymentSettings),
    })
}

/// The settings page's view. Support staff cannot see payment settings at all.
pub async fn view(state: &AppState, staff: &Staff) -> Result<PaymentSettingsView, AppError> {
    staff.require(Permission::ManagePaymentSettings)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    ensure_row(&mut tx, &state.secrets, state.clock.now()).await?;
    let view = view_in(&mut tx, staff).await?;
    tx.commit().await?;
    Ok(view)
}

/// Saves the form in one transaction with its audit entry (which records which secrets changed,
/// never their values). A changed consumer key or secret drops the cached Daraja token.
pub async fn update(
    state: &AppState,
    staff: &Staff,
    form: &PaymentSettingsForm,
    meta: &RequestMeta,
) -> Result<PaymentSettingsView, AppError> {
    staff.require(Permission::ManagePaymentSettings)?;
    let checked = form.check()?;
    let tenant = staff.tenant;
    let seal =
        |field: &str, value: &Option<String>| -> Result<Option<(Vec<u8>, String)>, AppError> {
            value
                .as_deref()
                .map(|v| {
                    state
                        .secrets
                        .seal(v.as_bytes(), &binding(tenant, field))
                        .map(|sealed| (sealed, last4(v)))
                        .map_err(sealing_failed)
                })
                .transpose()
        };
    let key = seal("mpesa_consumer_key", &checked.mpesa_consumer_key)?;
    let secret = seal("mpesa_consumer_secret", &checked.mpesa_consumer_secret)?;
    let passkey = seal("mpesa_passkey", &checked.mpesa_passkey)?;
    let paystack = seal("paystack_secret", &checked.paystack_secret)?;
    let now = state.clock.now();
    let mut tx = state.db.tenant(tenant).await?;
    ensure_row(&mut tx, &state.secrets, now).await?;
    let before = view_in(&mut tx, staff).await?;
    let split = |v: Option<(Vec<u8>, String)>| v.map_or((None, None), |(s, l)| (Some(s), Some(l)));
    let (key_enc, key_last4) = split(key);
    let (secret_enc, secret_last4) = split(secret);
    let (passkey_enc, passkey_last4) = split(passkey);
    let (paystack_enc, paystack_last4) = split(paystack);
    let credentials_changed = key_enc.is_some() || secret_enc.is_some();
    sqlx::query!(
        r#"update payment_settings
              set mpesa_environment = $2, mpesa_shortcode = $3, mpesa_kind = $4, mpesa_till = $5,
                  mpesa_consumer_key_enc = coalesce($6, mpesa_consumer_key_enc),
                  mpesa_consumer_key_last4 = coalesce($7, mpesa_consumer_key_last4),
                  mpesa_consumer_secret_enc = coalesce($8, mpesa_consumer_secret_enc),
                  mpesa_consumer_secret_last4 = coalesce($9, mpesa_consumer_secret_last4),
                  mpesa_passkey_enc = coalesce($10, mpesa_passkey_enc),
                  mpesa_passkey_last4 = coalesce($11, mpesa_passkey_last4),
                  paystack_secret_enc = coalesce($12, paystack_secret_enc),
                  paystack_secret_last4 = coalesce($13, paystack_secret_last4),
                  stk_provider = $14, c2b_reject_unknown = $15,
                  mpesa_token_enc = case when $16 then null else mpesa_token_enc end,
                  mpesa_token_expires_at = case when $16 then null else mpesa_token_expires_at end,
                  updated_at = $17
            where tenant_id = $1"#,
        tenant.0,
        checked.mpesa_environment,
        checked.mpesa_shortcode,
        checked.mpesa_kind,
        checked.mpesa_till,
        key_enc,
        key_last4,
        secret_enc,
        secret_last4,
        passkey_enc,
        passkey_last4,
        paystack_enc,
        paystack_last4,
        checked.stk_provider,
        checked.c2b_reject_unknown,
        credentials_changed,
        now
    )
    .execute(tx.conn())
    .await?;
    let after = view_in(&mut tx, staff).await?;
    let changed_secrets: Vec<&str> = [
        ("mpesa_consumer_key", &checked.mpesa_consumer_key),
        ("mpesa_consumer_secret", &checked.mpesa_consumer_secret),
        ("mpesa_passkey", &checked.mpesa_passkey),
        ("paystack_secret", &checked.paystack_secret),
    ]
    .into_iter()
    .filter(|(_, v)| v.is_some())
    .map(|(name, _)| name)
    .collect();
    record(
        &mut tx,
        Entry {
            at: now,
            actor_user_id: Some(staff.user_id),
            actor_label: &staff.email,
            action: "settings.payments_updated",
            entity: Some(("tenant", tenant.0.to_string())),
            before: Some(json!(before)),
            after: Some(json!({"settings": after, "secrets_replaced": changed_secrets})),
            meta,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// The ISP's Daraja credentials, opened, for the client.
#[derive(Clone)]
pub struct MpesaCredentials {
    pub environment: String,
    pub shortcode: String,
    pub kind: String,
    pub till: Option<String>,
    pub consumer_key: String,
    pub consumer_secret: String,
    pub passkey: Option<String>,
}

impl std::fmt::Debug for MpesaCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MpesaCredentials")
            .field("environment", &self.environment)
            .field("shortcode", &self.shortcode)
            .finish_non_exhaustive()
    }
}

fn open(
    secrets: &Secrets,
    tenant: TenantId,
    field: &str,
    sealed: &[u8],
) -> Result<String, AppError> {
    let bytes = secrets
        .open(sealed, &binding(tenant, field))
        .map_err(sealing_failed)?;
    String::from_utf8(bytes).map_err(|e| AppError::internal(&e))
}

/// Reads and opens the ISP's Daraja credentials; a clear error names what is missing.
pub async fn mpesa_credentials(
    tx: &mut TenantTx,
    secrets: &Secrets,
) -> Result<MpesaCredentials, AppError> {
    let tenant = tx.tenant();
    let row = sqlx::query!(
        r#"select mpesa_environment, mpesa_shortcode, mpesa_kind, mpesa_till,
                  mpesa_consumer_key_enc, mpesa_consumer_secret_enc, mpesa_passkey_enc
             from payment_settings where tenant_id = $1"#,
        tenant.0
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| AppError::invalid("mpesa_consumer_key", "M-Pesa is not set up yet"))?;
    let shortcode = row
        .mpesa_shortcode
        .ok_or_else(|| AppError::invalid("mpesa_shortcode", "is not set"))?;
    let key = row
        .mpesa_consumer_key_enc
        .ok_or_else(|| AppError::invalid("mpesa_consumer_key", "is not set"))?;
    let secret = row
        .mpesa_consumer_secret_enc
        .ok_or_else(|| AppError::invalid("mpesa_consumer_secret", "is not set"))?;
    Ok(MpesaCredentials {
        environment: row.mpesa_environment,
        shortcode,
        kind: row.mpesa_kind,
        till: row.mpesa_till,
        consumer_key: open(secrets, tenant, "mpesa_consumer_key", &key)?,
        consumer_secret: open(secrets, tenant, "mpesa_consumer_secret", &secret)?,
        passkey: row
            .mpesa_passkey_enc
            .map(|p| open(secrets, tenant, "mpesa_passkey", &p))
            .transpose()?,
    })
}

/// The ISP's Paystack secret key, opened; `None` when Paystack is not set up.
pub async fn paystack_secret(
    tx: &mut TenantTx,
    secrets: &Secrets,
) -> Result<Option<String>, AppError> {
    let tenant = tx.tenant();
    let sealed = sqlx::query_scalar!(
        "select paystack_secret_enc from payment_settings where tenant_id = $1",
        tenant.0
    )
    .fetch_optional(tx.conn())
    .await?
    .flatten();
    sealed
        .map(|s| open(secrets, tenant, "paystack_secret", &s))
        .transpose()
}

/// The ISP's webhook token, opened (for building callback URLs).
pub async fn hook_token(tx: &mut TenantTx, secrets: &Secrets) -> Result<String, AppError> {
    let tenant = tx.tenant();
    let sealed = sqlx::query_scalar!(
        "select hook_token_enc from payment_settings where tenant_id = $1",
        tenant.0
    )
    .fetch_one(tx.conn())
    .await?;
    open(secrets, tenant, "hook_token", &sealed)
}

/// The ISP a webhook token belongs to (a wrong token finds nothing).
pub async fn tenant_by_hook_token(
    db: &crate::db::Db,
    token: &str,
) -> Result<Option<TenantId>, AppError> {
    let hash = crate::auth::session::hex(&hash_token(token));
    Ok(db.tenant_by_hook_token_hash(&hash).await?)
}

/// A transaction of the ISP whose hook token is `token`, or `None`.
pub async fn hook_transaction(
    db: &crate::db::Db,
    token: &str,
) -> Result<Option<crate::db::TenantTx>, AppError> {
    let hash = crate::auth::session::hex(&hash_token(token));
    Ok(db.hook_tenant(&hash).await?)
}
