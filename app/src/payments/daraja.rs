//! Our thin client for Safaricom's Daraja API, over `reqwest`.
//!
//! Written here rather than taken from a crate: the Daraja crates on crates.io are thin,
//! unmaintained wrappers that parse numbers strictly (Daraja sends them as strings or numbers)
//! and fetch a new OAuth token per call, which invalidates the token every other worker holds.
//! Here one token per ISP is cached sealed in `payment_settings` and refreshed under that row's
//! lock, so all workers and servers share it.

use std::{sync::OnceLock, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, Utc};

use crate::{
    auth::{identity::Staff, model::Permission},
    db::{TenantId, TenantTx},
    error::AppError,
    payments::{
        daraja_wire::{ApiError, Token},
        model::ConnectionTest,
        settings::{self, MpesaCredentials, binding},
    },
    state::AppState,
};

pub const SANDBOX_URL: &str = "https://sandbox.safaricom.co.ke";
pub const PRODUCTION_URL: &str = "https://api.safaricom.co.ke";

/// A token is refreshed this long before Daraja says it expires.
const TOKEN_MARGIN: chrono::Duration = chrono::Duration::seconds(60);

#[derive(Debug, thiserror::Error)]
pub enum DarajaError {
    #[error("M-Pesa could not be reached: {0}")]
    Unreachable(String),
    #[error("M-Pesa refused the consumer key and secret ({0})")]
    BadCredentials(String),
    #[error("M-Pesa answered {code}: {message}", code = .0.error_code, message = .0.error_message)]
    Api(ApiError),
    #[error("M-Pesa answered something unexpected (HTTP {status}): {detail}")]
    Unexpected { status: u16, detail: String },
}

/// One HTTP client for every provider call: connection pools are shared, and rustls gets the
/// ring provider the rest of the tree uses.
pub fn http() -> Result<&'static reqwest::Client, AppError> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client);
    }
    // Fails only when a provider is installed already, which is as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        // Daraja answers within seconds or not at all; a push is retried, never waited on.
        .timeout(Duration::from_secs(20))
        .build()
        .map_err(|e| AppError::internal(&e))?;
    Ok(CLIENT.get_or_init(|| client))
}

/// The Daraja base URL for `environment`, unless the server points all of them elsewhere (the
/// simulator in demo mode and tests).
pub fn base_url(state: &AppState, environment: &str) -> String {
    match &state.providers.daraja_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None if environment == "production" => PRODUCTION_URL.into(),
        None => SANDBOX_URL.into(),
    }
}

/// Reads an error answer: Daraja's `{requestId, errorCode, errorMessage}` where it sent one.
async fn failure(response: reqwest::Response) -> DarajaError {
    let status = response.status().as_u16();
    let body = response.bytes().await.unwrap_or_default();
    match serde_json::from_slice::<ApiError>(&body) {
        Ok(api) => DarajaError::Api(api),
        Err(_) => DarajaError::Unexpected {
            status,
            detail: String::from_utf8_lossy(&body).chars().take(200).collect(),
        },
    }
}

/// Asks Daraja for a new token (which invalidates the previous one).
pub async fn fetch_token(base: &str, creds: &MpesaCredentials) -> Result<Token, DarajaError> {
    let client = http().map_err(|e| DarajaError::Unreachable(e.to_string()))?;
    let basic = STANDARD.encode(format!("{}:{}", creds.consumer_key, creds.consumer_secret));
    let response = client
        .get(format!("{base}/oauth/v1/generate"))
        .query(&[("grant_type", "client_credentials")])
        .header(reqwest::header::AUTHORIZATION, format!("Basic {basic}"))
        .send()
        .await
        .map_err(|e| DarajaError::Unreachable(e.to_string()))?;
    let status = response.status();
    if status.is_success() {
        let body = response
            .bytes()
            .await
            .map_err(|e| DarajaError::Unreachable(e.to_string()))?;
        return serde_json::from_slice::<Token>(&body).map_err(|e| DarajaError::Unexpected {
            status: status.as_u16(),
            detail: e.to_string(),
        });
    }
    // 400/401 on the token endpoint means the key pair was not accepted.
    let code = status.as_u16();
    Err(match failure(response).await {
        DarajaError::Api(api) if matches!(code, 400 | 401) => {
            DarajaError::BadCredentials(api.error_message)
        }
        DarajaError::Unexpected { .. } if matches!(code, 400 | 401) => {
            DarajaError::BadCredentials(format!("HTTP {code}"))
        }
        other => other,
    })
}

pub fn provider_error(err: DarajaError) -> AppError {
    match err {
        DarajaError::BadCredentials(_) => AppError::invalid("mpesa_consumer_key", err.to_string()),
        other => AppError::Transport {
            message: other.to_string(),
        },
    }
}

/// Stores a fresh token, sealed, for every worker to share.
async fn store_token(
    tx: &mut TenantTx,
    state: &AppState,
    token: &Token,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let tenant = tx.tenant();
    let sealed = state
        .secrets
        .seal(
            token.access_token.as_bytes(),
            &binding(tenant, "mpesa_token"),
        )
        .map_err(|e| AppError::internal(&e))?;
    let expires = now + chrono::Duration::seconds(token.expires_in.clamp(0, 86_400));
    sqlx::query!(
        "update payment_settings set mpesa_token_enc = $2, mpesa_token_expires_at = $3
          where tenant_id = $1",
        tenant.0,
        sealed,
        expires
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The ISP's Daraja credentials and a live token: the cached one while it has more than a
/// minute left, else a new one fetched under the settings row's lock (a second worker waits
/// for it and then uses it instead of invalidating it with its own).
pub async fn session(
    state: &AppState,
    tenant: TenantId,
) -> Result<(MpesaCredentials, String), AppError> {
    token(state, tenant, false).await
}

/// `session`, or with `fresh` a new token whatever the cache holds (which then becomes the
/// shared one).
async fn token(
    state: &AppState,
    tenant: TenantId,
    fresh: bool,
) -> Result<(MpesaCredentials, String), AppError> {
    let now = state.clock.now();
    let mut tx = state.db.tenant(tenant).await?;
    let cached = sqlx::query!(
        "select mpesa_token_enc, mpesa_token_expires_at from payment_settings
          where tenant_id = $1 for update",
        tenant.0
    )
    .fetch_optional(tx.conn())
    .await?;
    let creds = settings::mpesa_credentials(&mut tx, &state.secrets).await?;
    if !fresh
        && let Some(row) = cached
        && let (Some(sealed), Some(expires)) = (row.mpesa_token_enc, row.mpesa_token_expires_at)
        && expires - TOKEN_MARGIN > now
    {
        let token = state
            .secrets
            .open(&sealed, &binding(tenant, "mpesa_token"))
            .map_err(|e| AppError::internal(&e))
            .and_then(|b| String::from_utf8(b).map_err(|e| AppError::internal(&e)))?;
        tx.commit().await?;
        return Ok((creds, token));
    }
    let base = base_url(state, &creds.environment);
    let token = fetch_token(&base, &creds).await.map_err(provider_error)?;
    store_token(&mut tx, state, &token, now).await?;
    tx.commit().await?;
    Ok((creds, token.access_token))
}

/// "Test connection": fetches a new token with the saved credentials and keeps it as the
/// shared one. Never fails as a request over the provider: the answer says what went wrong.
pub async fn test_connection(state: &AppState, staff: &Staff) -> Result<ConnectionTest, AppError> {
    staff.require(Permission::ManagePaymentSettings)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    settings::ensure_row(&mut tx, &state.secrets, state.clock.now()).await?;
    tx.commit().await?;
    let result = match token(state, staff.tenant, true).await {
        Ok((creds, _)) => ConnectionTest {
            ok: true,
            message: format!(
                "Connected to M-Pesa ({}): a token was issued for shortcode {}.",
                creds.environment, creds.shortcode
            ),
        },
        // Missing settings, refused credentials, an unreachable or confused Daraja.
        Err(AppError::Invalid { field, reason }) => ConnectionTest {
            ok: false,
            message: format!("{}: {reason}", field.replace('_', " ")),
        },
        Err(AppError::Transport { message }) => ConnectionTest { ok: false, message },
        Err(other) => return Err(other),
    };
    tracing::info!(ok = result.ok, "M-Pesa connection tested");
    Ok(result)
}

/// Registers the ISP's paybill or till URLs with Daraja: confirmations and validations come to
/// this server under the ISP's hook token. `ResponseType` is "Completed": if our validation
/// cannot be reached the payment still goes through (and is then confirmed to us), rather than
/// a customer's money being refused for our outage.
pub async fn register_c2b_urls(state: &AppState, staff: &Staff) -> Result<String, AppError> {
    staff.require(Permission::ManagePaymentSettings)?;
    register_c2b_urls_for(state, staff.tenant).await
}

/// `register_c2b_urls` without a staff member (demo start-up).
pub async fn register_c2b_urls_for(state: &AppState, tenant: TenantId) -> Result<String, AppError> {
    let public = state.providers.public_url.clone().ok_or_else(|| {
        AppError::invalid(
            "mpesa_shortcode",
            "this server has no public address (JASIYO_PUBLIC_URL) for M-Pesa to call",
        )
    })?;
    let creds = {
        let mut tx = state.db.tenant(tenant).await?;
        let creds = settings::mpesa_credentials(&mut tx, &state.secrets).await?;
        tx.commit().await?;
        creds
    };
    let hook = hook_token(state, tenant).await?;
    let public = public.trim_end_matches('/');
    let body = serde_json::json!({
        "ShortCode": creds.shortcode,
        "ResponseType": "Completed",
        "ConfirmationURL": format!("{public}/hooks/mpesa/{hook}/c2b/confirmation"),
        "ValidationURL": format!("{public}/hooks/mpesa/{hook}/c2b/validation"),
    });
    call(state, tenant, "/mpesa/c2b/v2/registerurl", &body)
        .await
        .map_err(|e| provider_error(e.error))?;
    tracing::info!(shortcode = %creds.shortcode, "C2B URLs registered");
    Ok(creds.shortcode)
}

/// The ISP's webhook token, for the URLs we give Daraja.
async fn hook_token(state: &AppState, tenant: TenantId) -> Result<String, AppError> {
    let mut tx = state.db.tenant(tenant).await?;
    let hook = settings::hook_token(&mut tx, &state.secrets).await?;
    tx.commit().await?;
    Ok(hook)
}

/// Where Daraja posts the ISP's STK results.
pub async fn stk_callback_url(state: &AppState, tenant: TenantId) -> Result<String, AppError> {
    let public = state.providers.public_url.clone().ok_or_else(|| {
        AppError::invalid(
            "mpesa_shortcode",
            "this server has no public address (JASIYO_PUBLIC_URL) for M-Pesa to call",
        )
    })?;
    let hook = hook_token(state, tenant).await?;
    Ok(format!(
        "{}/hooks/mpesa/{hook}/stk",
        public.trim_end_matches('/')
    ))
}

/// Why a call failed, for the caller to decide: refused by Daraja (with its error body), or
/// never answered. `sent` is false only when the request certainly did not leave (the
/// connection was refused), so a push that timed out is never taken for one not made.
#[derive(Debug)]
pub struct CallError {
    pub error: DarajaError,
    pub sent: bool,
}

impl From<CallError> for DarajaError {
    fn from(err: CallError) -> Self {
        err.error
    }
}

/// POSTs `body` to `path` with the ISP's shared token and returns the JSON answer. A token
/// Daraja no longer accepts (someone fetched another with the same key pair) is replaced once.
pub async fn call(
    state: &AppState,
    tenant: TenantId,
    path: &str,
    body: &serde_json::Value,
) -> Result<Vec<u8>, CallError> {
    let not_sent = |error: AppError| CallError {
        error: DarajaError::Unreachable(error.to_string()),
        sent: false,
    };
    let client = http().map_err(not_sent)?;
    let mut fresh = false;
    loop {
        let (creds, token) = token(state, tenant, fresh).await.map_err(not_sent)?;
        let url = format!("{}{path}", base_url(state, &creds.environment));
        let response = client
            .post(url)
            .bearer_auth(&token)
            .json(body)
            .send()
            .await
            .map_err(|e| CallError {
                sent: !e.is_connect(),
                error: DarajaError::Unreachable(e.to_string()),
            })?;
        if response.status().is_success() {
            return response
                .bytes()
                .await
                .map(|b| b.to_vec())
                .map_err(|e| CallError {
                    error: DarajaError::Unreachable(e.to_string()),
                    sent: true,
                });
        }
        let error = failure(response).await;
        match &error {
            DarajaError::Api(api) if api.error_code == "404.001.03" && !fresh => fresh = true,
            _ => return Err(CallError { error, sent: true }),
        }
    }
}
