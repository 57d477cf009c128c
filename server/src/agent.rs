//! `/api/routers/agent`: where phone-home routers check in (see `app::network::agent`). The
//! answer is a RouterOS script as plain text; a refused check-in gets only a status (403 for
//! an unknown router or wrong secret, 409 for a replayed one), which makes the router's script
//! forget its nonce and start afresh.

use app::{
    network::agent::{self, Answer, CheckIn, Refusal},
    state::AppState,
};
use axum::{
    Form, Router,
    extract::{DefaultBodyLimit, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};

/// Check-ins are small: ids, a secret, a nonce and a few results.
const MAX_CHECK_IN_BYTES: usize = 64 * 1024;

pub fn routes<S>(state: AppState) -> Router<S> {
    Router::new()
        .route("/api/routers/agent", post(check_in))
        .layer(DefaultBodyLimit::max(MAX_CHECK_IN_BYTES))
        .with_state(state)
}

async fn check_in(State(state): State<AppState>, Form(form): Form<CheckIn>) -> Response {
    match agent::check_in(&state, &form).await {
        Ok(Answer::Script(script)) => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            script,
        )
            .into_response(),
        Ok(Answer::Refused(why)) => {
            tracing::warn!(router = %form.router, reason = %why, "agent check-in refused");
            let status = match why {
                Refusal::StaleNonce => StatusCode::CONFLICT,
                Refusal::Unknown | Refusal::WrongSecret | Refusal::NotAgent => {
                    StatusCode::FORBIDDEN
                }
            };
            (status, "refused\n").into_response()
        }
        Err(err) => {
            tracing::error!(error = %err, "agent check-in failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "try again\n").into_response()
        }
    }
}
