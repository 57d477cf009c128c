//! Downloads: `GET /app/customers/export.csv` and `GET /app/payments/export.csv` (the lists,
//! filtered as the page's address says, as CSV), invoice PDFs (staff's, and a subscriber's own
//! from the portal) and statements. Plain routes
//! rather than server functions so the browser saves them as files.

use app::{
    AppError, auth::identity, customers::import, customers::model::CustomerQuery,
    payments::model::TransactionQuery, state::AppState,
};
use axum::{
    Router,
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};
use uuid::Uuid;

pub fn routes<S>(state: AppState) -> Router<S> {
    Router::new()
        .route("/app/customers/export.csv", get(export))
        .route("/app/payments/export.csv", get(payments_csv))
        .route("/app/invoices/{id}/pdf", get(invoice_pdf))
        .route("/app/customers/{id}/statement.pdf", get(statement_pdf))
        .route("/portal/{slug}/invoices/{id}/pdf", get(portal_invoice_pdf))
        .route("/app/routers/{id}/login.html", get(router_login_html))
        .with_state(state)
}

async fn staff(state: &AppState, headers: &HeaderMap) -> Result<identity::Staff, AppError> {
    let token = identity::token_from_headers(headers).ok_or(AppError::Unauthenticated)?;
    identity::staff_for_token(state, &token).await
}

fn pdf_response(result: Result<(String, Vec<u8>), AppError>) -> Response {
    match result {
        Ok((name, bytes)) => {
            // File names are ours ("INV-000123.pdf", "statement.pdf"): no quoting to escape.
            let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
                .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
            (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/pdf"),
                    ),
                    (header::CONTENT_DISPOSITION, disposition),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                ],
                bytes,
            )
                .into_response()
        }
        Err(err) => (err.status(), err.to_string()).into_response(),
    }
}

/// `GET /app/invoices/{id}/pdf`
async fn invoice_pdf(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Response {
    let result = async {
        let staff = staff(&state, &headers).await?;
        app::billing::documents::invoice_pdf(&state, &staff, id).await
    }
    .await;
    pdf_response(result)
}

/// `GET /portal/{slug}/invoices/{id}/pdf`: a subscriber's own invoice, by their portal session.
async fn portal_invoice_pdf(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((slug, id)): Path<(String, Uuid)>,
) -> Response {
    let result = async {
        let token = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|h| app::portal::session::token_from_cookie_header(h).map(str::to_owned));
        let who = app::portal::service::subscriber(&state, &slug, token.as_deref()).await?;
        app::billing::documents::customer_invoice_pdf(&state, who.tenant, who.customer_id, id).await
    }
    .await;
    pdf_response(result)
}

/// `GET /app/routers/{id}/login.html`: the page for the router's hotspot folder that sends
/// visitors to the ISP's hotspot page.
async fn router_login_html(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Response {
    let result = async {
        let staff = staff(&state, &headers).await?;
        app::hotspot::service::login_html(&state, &staff, id).await
    }
    .await;
    match result {
        Ok(html) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_static("attachment; filename=\"login.html\""),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            html,
        )
            .into_response(),
        Err(err) => (err.status(), err.to_string()).into_response(),
    }
}

#[derive(serde::Deserialize)]
struct Range {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

fn date(field: &str, input: &str) -> Result<Option<chrono::NaiveDate>, AppError> {
    match input.trim() {
        "" => Ok(None),
        text => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| AppError::invalid(field, "must be a date like 2026-11-30")),
    }
}

/// `GET /app/customers/{id}/statement.pdf?from=YYYY-MM-DD&to=YYYY-MM-DD`
async fn statement_pdf(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Query(range): Query<Range>,
) -> Response {
    let result = async {
        let staff = staff(&state, &headers).await?;
        let (from, to) = (date("from", &range.from)?, date("to", &range.to)?);
        app::billing::documents::statement_pdf(&state, &staff, id, from, to).await
    }
    .await;
    pdf_response(result)
}

async fn export(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<CustomerQuery>,
) -> Response {
    let result = async {
        let staff = staff(&state, &headers).await?;
        import::export(&state, &staff, &query.check()?).await
    }
    .await;
    csv_response("customers.csv", result)
}

/// `GET /app/payments/export.csv?channel=&q=&from=&to=`: the Transactions page as CSV.
async fn payments_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<TransactionQuery>,
) -> Response {
    let result = async {
        let staff = staff(&state, &headers).await?;
        app::payments::transactions::csv(&state, &staff, &query).await
    }
    .await;
    csv_response("payments.csv", result)
}

fn csv_response(name: &'static str, result: Result<String, AppError>) -> Response {
    // File names are ours: no quoting to escape.
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    match result {
        Ok(csv) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/csv; charset=utf-8"),
                ),
                (header::CONTENT_DISPOSITION, disposition),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            csv,
        )
            .into_response(),
        Err(err) => (err.status(), err.to_string()).into_response(),
    }
}
