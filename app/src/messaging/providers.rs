//! An ISP's SMS gateway: reading and changing it (owner and admin; audited), the gateway the
//! sender uses for the ISP's messages, and a test message sent at once.
//!
//! Keys are sealed, bound to the ISP and the field, and leave only as their last four
//! characters. An ISP that chose no gateway of its own uses Jasiyo's shared sender (when this
//! server has one). An ISP's own Africa's Talking account reports deliveries and forwards replies
//! to addresses under the ISP's hook token (`/hooks/sms/isp/{token}/delivery` and `/inbound`),
//! so a STOP there withdraws consent with that ISP only.

use serde_json::json;

use crate::{
    audit::store::{Entry, record},
    auth::{identity::Staff, model::Permission, session::RequestMeta},
    db::{TenantId, TenantTx},
    error::AppError,
    messaging::{
        africastalking::{self, AtConfig, Outcome},
        generic_gateway::{self, GenericConfig},
        provider_model::{CheckedProvider, Provider, SmsProviderForm, SmsProviderView, TestSend},
    },
    payments::{model::last4, settings},
    phone::normalise_phone,
    secrets::Secrets,
    state::AppState,
};

/// A gateway messages can go through.
#[derive(Debug, Clone)]
pub enum Gateway {
    AfricasTalking(AtConfig),
    Generic(GenericConfig),
}

impl Gateway {
    pub async fn send(&self, client: &reqwest::Client, to: &str, body: &str) -> Outcome {
        match self {
            Gateway::AfricasTalking(config) => africastalking::send(client, config, to, body).await,
            Gateway::Generic(config) => generic_gateway::send(client, config, to, body).await,
        }
    }
}

fn binding(tenant: TenantId) -> Vec<u8> {
    format!("sms-provider:{}:api_key", tenant.0).into_bytes()
}

fn sealing_failed(err: crate::secrets::SecretError) -> AppError {
    AppError::internal(&err)
}

struct Row {
    provider: String,
    at_username: Option<String>,
    at_sender_id: Option<String>,
    generic_url: Option<String>,
    generic_partner_id: Option<String>,
    generic_shortcode: Option<String>,
    api_key_enc: Option<Vec<u8>>,
    api_key_last4: Option<String>,
}

async fn row(tx: &mut TenantTx) -> Result<Option<Row>, AppError> {
    Ok(sqlx::query_as!(
        Row,
        "select provider, at_username, at_sender_id, generic_url, generic_partner_id,
                generic_shortcode, api_key_enc, api_key_last4
           from sms_providers where tenant_id = $1",
        tx.tenant().0
    )
    .fetch_optional(tx.conn())
    .await?)
}

/// The ISP's own gateway, opened; `None` when it uses the shared sender.
pub async fn own_gateway(
    tx: &mut TenantTx,
    secrets: &Secrets,
    africastalking_url: &str,
) -> Result<Option<Gateway>, AppError> {
    let tenant = tx.tenant();
    let Some(r) = row(tx).await? else {
        return Ok(None);
    };
    let key = |sealed: Option<Vec<u8>>| -> Result<String, AppError> {
        let sealed = sealed.ok_or_else(|| AppError::invalid("api_key", "is not set"))?;
        let plain = secrets
            .open(&sealed, &binding(tenant))
            .map_err(sealing_failed)?;
        String::from_utf8(plain).map_err(|e| AppError::internal(&e))
    };
    Ok(match Provider::parse(&r.provider)? {
        Provider::Platform => None,
        Provider::AfricasTalking => Some(Gateway::AfricasTalking(AtConfig {
            base_url: africastalking_url.to_string(),
            username: r.at_username.unwrap_or_default(),
            api_key: key(r.api_key_enc)?,
            sender_id: r.at_sender_id,
        })),
        Provider::Generic => Some(Gateway::Generic(GenericConfig {
            base_url: r.generic_url.unwrap_or_default(),
            api_key: key(r.api_key_enc)?,
            partner_id: r.generic_partner_id.unwrap_or_default(),
            shortcode: r.generic_shortcode.unwrap_or_default(),
        })),
    })
}

/// The gateway the ISP's messages go through now: its own, or the shared one (`None`: neither,
/// so messages wait).
pub async fn gateway_for(tx: &mut TenantTx, state: &AppState) -> Result<Option<Gateway>, AppError> {
    let at_url = state.sms.gateway.as_ref().map_or_else(
        || state.sms.africastalking_url.clone(),
        |g| g.base_url.clone(),
    );
    match own_gateway(tx, &state.secrets, &at_url).await? {
        Some(own) => Ok(Some(own)),
        None => Ok(state.sms.gateway.clone().map(Gateway::AfricasTalking)),
    }
}

/// The settings card.
pub async fn view(state: &AppState, staff: &Staff) -> Result<SmsProviderView, AppError> {
    let now = state.clock.now();
    let mut tx = state.db.tenant(staff.tenant).await?;
    settings::ensure_row(&mut tx, &state.secrets, now).await?;
    let token = settings::hook_token(&mut tx, &state.secrets).await?;
    let r = row(&mut tx).await?;
    tx.commit().await?;
    let base = format!(
        "{}/hooks/sms/isp/{token}",
        state.mailer.public_url.trim_end_matches('/')
    );
    let editable = staff.role.can(Permission::ManageSystemSettings);
    let provider = match &r {
        Some(r) => Provider::parse(&r.provider)?,
        None => Provider::Platform,
    };
    Ok(SmsProviderView {
        provider,
        at_username: r
            .as_ref()
            .and_then(|r| r.at_username.clone())
            .unwrap_or_default(),
        at_sender_id: r
            .as_ref()
            .and_then(|r| r.at_sender_id.clone())
            .unwrap_or_default(),
        generic_url: r
            .as_ref()
            .and_then(|r| r.generic_url.clone())
            .unwrap_or_default(),
        generic_partner_id: r
            .as_ref()
            .and_then(|r| r.generic_partner_id.clone())
            .unwrap_or_default(),
        generic_shortcode: r
            .as_ref()
            .and_then(|r| r.generic_shortcode.clone())
            .unwrap_or_default(),
        key_last4: r.and_then(|r| r.api_key_last4),
        // Only those who may change the gateway see where it reports to (the token is a key).
        delivery_url: if editable {
            format!("{base}/delivery")
        } else {
            String::new()
        },
        inbound_url: if editable {
            format!("{base}/inbound")
        } else {
            String::new()
        },
        platform_available: state.sms.gateway.is_some(),
        editable,
    })
}

/// Saves the ISP's gateway. A key left blank keeps the stored one (which must exist when the
/// gateway needs one).
pub async fn save(
    state: &AppState,
    staff: &Staff,
    form: &SmsProviderForm,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    staff.require(Permission::ManageSystemSettings)?;
    let checked = form.check()?;
    let now = state.clock.now();
    let tenant = staff.tenant;
    let mut tx = state.db.tenant(tenant).await?;
    let before = row(&mut tx).await?;
    let (provider, at_username, at_sender_id, url, partner, shortcode, key) = match &checked {
        CheckedProvider::Platform => (Provider::Platform, None, None, None, None, None, None),
        CheckedProvider::AfricasTalking {
            username,
            sender_id,
            api_key,
        } => (
            Provider::AfricasTalking,
            Some(username.clone()),
            sender_id.clone(),
            None,
            None,
            None,
            api_key.clone(),
        ),
        CheckedProvider::Generic {
            url,
            partner_id,
            shortcode,
            api_key,
        } => (
            Provider::Generic,
            None,
            None,
            Some(url.clone()),
            Some(partner_id.clone()),
            Some(shortcode.clone()),
            api_key.clone(),
        ),
    };
    let (sealed, key_last4) = match &key {
        Some(key) => (
            Some(
                state
                    .secrets
                    .seal(key.as_bytes(), &binding(tenant))
                    .map_err(sealing_failed)?,
            ),
            Some(last4(key)),
        ),
        None if provider == Provider::Platform => (None, None),
        None => {
            // Keep the stored key, but only for the same gateway: another gateway's key is
            // not this one's.
            match before.as_ref() {
                Some(b) if b.provider == provider.as_str() && b.api_key_enc.is_some() => {
                    (b.api_key_enc.clone(), b.api_key_last4.clone())
                }
                _ => return Err(AppError::invalid("api_key", "enter the API key")),
            }
        }
    };
    sqlx::query!(
        "insert into sms_providers (tenant_id, provider, at_username, at_sender_id, generic_url,
                                    generic_partner_id, generic_shortcode, api_key_enc,
                                    api_key_last4, updated_at, updated_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         on conflict (tenant_id) do update
            set provider = excluded.provider, at_username = excluded.at_username,
                at_sender_id = excluded.at_sender_id, generic_url = excluded.generic_url,
                generic_partner_id = excluded.generic_partner_id,
                generic_shortcode = excluded.generic_shortcode,
                api_key_enc = excluded.api_key_enc, api_key_last4 = excluded.api_key_last4,
                updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        tenant.0,
        provider.as_str(),
        at_username,
        at_sender_id,
        url,
        partner,
        shortcode,
        sealed,
        key_last4,
        now,
        staff.user_id
    )
    .execute(tx.conn())
    .await?;
    let entry = Entry::by_staff(
        staff,
        now,
        "settings.sms_provider_changed",
        ("tenant", tenant.0.to_string()),
        meta,
    );
    // Messages set aside while the ISP had no gateway go in the next round (never ones
    // waiting out a retry's back-off: those have been tried).
    sqlx::query!(
        "update sms_outbox set next_attempt_at = $1
          where status = 'queued' and attempts = 0 and next_attempt_at > $1",
        now
    )
    .execute(tx.conn())
    .await?;
    record(
        &mut tx,
        entry
            .with_before(json!({ "provider": before.as_ref().map(|b| b.provider.clone()) }))
            .with_after(json!({
                "provider": provider.as_str(),
                "key_changed": key.is_some(),
            })),
    )
    .await?;
    tx.commit().await?;
    state.sms.nudge();
    Ok(())
}

/// Sends one message to `phone` through the ISP's gateway now (not through the queue) and
/// says what the gateway answered. Audited: it costs the ISP an SMS.
pub async fn test_send(
    state: &AppState,
    staff: &Staff,
    phone: &str,
    meta: &RequestMeta,
) -> Result<TestSend, AppError> {
    staff.require(Permission::ManageSystemSettings)?;
    let phone = normalise_phone("phone", phone)?;
    let now = state.clock.now();
    let mut tx = state.db.tenant(staff.tenant).await?;
    let gateway = gateway_for(&mut tx, state).await?.ok_or_else(|| {
        AppError::invalid(
            "provider",
            "no gateway is set up: choose your own, or ask Jasiyo to set up the shared sender",
        )
    })?;
    let name = sqlx::query_scalar!("select name from tenants where id = $1", staff.tenant.0)
        .fetch_one(tx.conn())
        .await?;
    let entry = Entry::by_staff(
        staff,
        now,
        "settings.sms_test_sent",
        ("tenant", staff.tenant.0.to_string()),
        meta,
    );
    record(&mut tx, entry.with_after(json!({ "to": phone }))).await?;
    tx.commit().await?;
    let client = crate::payments::daraja::http()?;
    let body = format!("{name}: a test message from Jasiyo. Your SMS gateway works.");
    let outcome = gateway.send(client, &phone, &body).await;
    Ok(match outcome {
        Outcome::Sent { message_id, cost } => TestSend {
            sent: true,
            answer: format!(
                "Sent (message id {message_id}{})",
                cost.map(|c| format!(", cost {c}")).unwrap_or_default()
            ),
        },
        Outcome::Rejected { reason } => TestSend {
            sent: false,
            answer: format!("Refused: {reason}"),
        },
        Outcome::Retry { reason } => TestSend {
            sent: false,
            answer: format!("Not sent: {reason}"),
        },
        Outcome::Unknown { reason } => TestSend {
            sent: false,
            answer: format!("No clear answer (it may still arrive): {reason}"),
        },
    })
}
