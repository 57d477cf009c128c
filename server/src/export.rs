//! `GET /app/customers/export.csv`: the customers list, filtered as the page's address says, as a
//! CSV download. A plain route rather than a server function so the browser saves it as a file.

use app::{
    AppError, auth::identity, customers::import, customers::model::CustomerQuery, state::AppState,
};
use axum::{
    Router,
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};

pub fn routes<S>(state: AppState) -> Router<S> {
    Router::new()
        .route("/app/customers/export.csv", get(export))
        .with_state(state)
}

async fn export(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<CustomerQuery>,
) -> Response {
    let result = async {
        let token = identity::token_from_headers(&headers).ok_or(AppError::Unauthenticated)?;
        let staff = identity::staff_for_token(&state, &token).await?;
        import::export(&state, &staff, &query.check()?).await
    }
    .await;
    match result {
        Ok(csv) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/csv; charset=utf-8"),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_static("attachment; filename=\"customers.csv\""),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            csv,
        )
            .into_response(),
        Err(err) => (err.status(), err.to_string()).into_response(),
    }
}
