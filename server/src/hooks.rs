//! Where payment providers call us: `/hooks/mpesa/{token}/c2b/validation`,
//! `/hooks/mpesa/{token}/c2b/confirmation`, `/hooks/mpesa/{token}/stk` and
//! `/hooks/paystack/{token}`. The token in the path is the ISP's unguessable hook
//! token (Daraja signs nothing); a wrong one is refused before anything is read or stored.
//! Africa's Talking posts the platform account's delivery reports to
//! `/hooks/sms/africastalking/{secret}` (`server sms-delivery-url` prints it) and replies to
//! `/hooks/sms/africastalking/{secret}/inbound` (a STOP withdraws marketing consent); an ISP's
//! own account posts both under its hook token: `/hooks/sms/isp/{token}/delivery`, `/inbound`.
//! Answers are in the form Daraja expects; a malformed body gets a 400 naming the field, and
//! nothing is stored.

use app::{
    AppError,
    db::TenantId,
    messaging::{consent, delivery},
    payments::{c2b, daraja_wire::c2b_confirmed, paystack, settings, stk},
    state::AppState,
};
use axum::{
    Json, Router,
    body::Bytes,
    extract::{Form, Path, State, rejection::FormRejection},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::json;

pub fn routes<S>(state: AppState) -> Router<S> {
    Router::new()
        .route("/hooks/mpesa/{token}/c2b/validation", post(c2b_validation))
        .route(
            "/hooks/mpesa/{token}/c2b/confirmation",
            post(c2b_confirmation),
        )
        .route("/hooks/mpesa/{token}/stk", post(stk_callback))
        .route("/hooks/paystack/{token}", post(paystack_webhook))
        .route("/hooks/sms/africastalking/{secret}", post(sms_delivery))
        .route(
            "/hooks/sms/africastalking/{secret}/inbound",
            post(sms_inbound),
        )
        .route("/hooks/sms/isp/{token}/delivery", post(isp_sms_delivery))
        .route("/hooks/sms/isp/{token}/inbound", post(isp_sms_inbound))
        .with_state(state)
}

fn refused(err: &AppError) -> Response {
    let status = match err {
        AppError::Invalid { field, .. } if field == paystack::SIGNATURE_HEADER => {
            StatusCode::UNAUTHORIZED
        }
        AppError::Invalid { .. } => StatusCode::BAD_REQUEST,
        AppError::NotFound { .. } => StatusCode::NOT_FOUND,
        other => other.status(),
    };
    if status.is_server_error() {
        tracing::error!(error = %err, "payment hook failed");
    } else {
        tracing::warn!(error = %err, "payment hook refused");
    }
    (status, Json(json!({"error": err.to_string()}))).into_response()
}

fn unknown_hook() -> AppError {
    AppError::NotFound {
        what: "That payment hook".into(),
    }
}

async fn tenant(state: &AppState, token: &str) -> Result<TenantId, AppError> {
    settings::tenant_by_hook_token(&state.db, token)
        .await?
        .ok_or_else(unknown_hook)
}

/// Runs `apply` for the ISP the token names and answers with what it returns, or refuses.
async fn answer<F, Fut>(state: AppState, token: &str, apply: F) -> Response
where
    F: FnOnce(AppState, TenantId) -> Fut,
    Fut: std::future::Future<Output = Result<serde_json::Value, AppError>>,
{
    let result = async {
        let tenant = tenant(&state, token).await?;
        apply(state.clone(), tenant).await
    }
    .await;
    reply(result)
}

fn reply(result: Result<serde_json::Value, AppError>) -> Response {
    match result {
        Ok(answer) => Json(answer).into_response(),
        Err(err) => refused(&err),
    }
}

async fn c2b_validation(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    answer(state, &token, |state, tenant| async move {
        c2b::validate(&state, tenant, &body).await
    })
    .await
}

/// Stored (and applied a moment later) or a replay: Daraja hears success every time. The
/// busiest hook, so the token lookup and the storing share one transaction.
async fn c2b_confirmation(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let result = async {
        let tx = settings::hook_transaction(&state.db, &token)
            .await?
            .ok_or_else(unknown_hook)?;
        c2b::confirm(&state, tx, &body).await?;
        Ok(c2b_confirmed())
    }
    .await;
    reply(result)
}

/// An STK push's result; a replay or a result for a push already settled is still success.
async fn stk_callback(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    answer(state, &token, |state, tenant| async move {
        stk::callback(&state, tenant, &body).await?;
        Ok(json!({"ResultCode": 0, "ResultDesc": "Accepted"}))
    })
    .await
}

/// A Paystack event, signed with the ISP's secret key (a bad signature is a 401 and nothing
/// is stored); anything else Paystack hears as 200 so it stops retrying.
async fn paystack_webhook(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signature = headers
        .get(paystack::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    answer(state, &token, |state, tenant| async move {
        paystack::webhook(&state, tenant, &body, signature.as_deref()).await?;
        Ok(json!({"status": "ok"}))
    })
    .await
}

/// A delivery report for a message sent through the platform's Africa's Talking account.
async fn sms_delivery(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    form: Result<Form<delivery::Report>, FormRejection>,
) -> Response {
    if !delivery::is_delivery_secret(&state.secrets, &secret) {
        return refused(&AppError::NotFound {
            what: "That hook".into(),
        });
    }
    let Form(report) = match form {
        Ok(form) => form,
        Err(rejection) => {
            return refused(&AppError::invalid("report", rejection.body_text()));
        }
    };
    delivery_reply(delivery::apply(&state, None, &report).await)
}

fn delivery_reply(result: Result<delivery::Applied, AppError>) -> Response {
    match result {
        Ok(applied) => (
            StatusCode::OK,
            Json(json!({"status": format!("{applied:?}").to_lowercase()})),
        )
            .into_response(),
        Err(err) => refused(&err),
    }
}

/// A delivery report from an ISP's own Africa's Talking account.
async fn isp_sms_delivery(
    State(state): State<AppState>,
    Path(token): Path<String>,
    form: Result<Form<delivery::Report>, FormRejection>,
) -> Response {
    let tenant = match tenant(&state, &token).await {
        Ok(tenant) => tenant,
        Err(err) => return refused(&err),
    };
    match form {
        Ok(Form(report)) => delivery_reply(delivery::apply(&state, Some(tenant), &report).await),
        Err(rejection) => refused(&AppError::invalid("report", rejection.body_text())),
    }
}

/// A reply to an ISP's own Africa's Talking account: a STOP withdraws consent with that ISP.
async fn isp_sms_inbound(
    State(state): State<AppState>,
    Path(token): Path<String>,
    form: Result<Form<consent::Inbound>, FormRejection>,
) -> Response {
    let tenant = match tenant(&state, &token).await {
        Ok(tenant) => tenant,
        Err(err) => return refused(&err),
    };
    match form {
        Ok(Form(inbound)) => {
            inbound_reply(consent::apply_inbound(&state, Some(tenant), &inbound).await)
        }
        Err(rejection) => refused(&AppError::invalid("message", rejection.body_text())),
    }
}

/// A reply to the platform's Africa's Talking account: a STOP withdraws marketing consent.
async fn sms_inbound(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    form: Result<Form<consent::Inbound>, FormRejection>,
) -> Response {
    if !delivery::is_delivery_secret(&state.secrets, &secret) {
        return refused(&AppError::NotFound {
            what: "That hook".into(),
        });
    }
    let Form(inbound) = match form {
        Ok(form) => form,
        Err(rejection) => {
            return refused(&AppError::invalid("message", rejection.body_text()));
        }
    };
    inbound_reply(consent::apply_inbound(&state, None, &inbound).await)
}

fn inbound_reply(result: Result<consent::Outcome, AppError>) -> Response {
    match result {
        Ok(consent::Outcome::Withdrawn(customers)) => (
            StatusCode::OK,
            Json(json!({"status": "withdrawn", "customers": customers})),
        )
            .into_response(),
        Ok(consent::Outcome::Ignored) => {
            (StatusCode::OK, Json(json!({"status": "ignored"}))).into_response()
        }
        Err(err) => refused(&err),
    }
}
