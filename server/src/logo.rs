//! The logo upload and download routes. Plain HTTP rather than server functions: a multipart
//! form post works without JavaScript, and an `<img>` needs a URL.

use std::net::SocketAddr;

use app::{
    AppError,
    auth::{identity, session::RequestMeta},
    settings::logo,
    state::AppState,
};
use axum::{
    Router,
    extract::{ConnectInfo, DefaultBodyLimit, Multipart, State},
    http::{Extensions, HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};

pub fn routes<S>(state: AppState) -> Router<S> {
    Router::new()
        .route(
            "/app/settings/logo",
            // Room for the multipart framing around the largest accepted image.
            post(upload).layer(DefaultBodyLimit::max(logo::MAX_BYTES + 64 * 1024)),
        )
        .route("/app/logo", get(download))
        // The portal's and hotspot's branding: public, as the ISP's name is.
        .route("/portal/{slug}/logo", get(public_download))
        .with_state(state)
}

fn meta(headers: &HeaderMap, extensions: &Extensions) -> RequestMeta {
    RequestMeta {
        ip: extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip()),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(512).collect()),
    }
}

/// Back to the settings page, with the outcome in the query string.
fn back(outcome: Result<(), AppError>) -> Response {
    let target = match outcome {
        Ok(()) => "/app/settings?logo=saved".to_string(),
        Err(AppError::Unauthenticated) => "/login".to_string(),
        Err(AppError::Invalid { reason, .. }) => {
            format!("/app/settings?logo_error={}", encode(&reason))
        }
        Err(other) => format!("/app/settings?logo_error={}", encode(&other.to_string())),
    };
    Redirect::to(&target).into_response()
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    mut multipart: Multipart,
) -> Response {
    back(store_upload(&state, &headers, &extensions, &mut multipart).await)
}

async fn store_upload(
    state: &AppState,
    headers: &HeaderMap,
    extensions: &Extensions,
    multipart: &mut Multipart,
) -> Result<(), AppError> {
    let token = identity::token_from_headers(headers).ok_or(AppError::Unauthenticated)?;
    let staff = identity::staff_for_token(state, &token).await?;
    let mut bytes = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| AppError::invalid("logo", "must be at most 256 KB"))?
    {
        if field.name() == Some("logo") {
            bytes = Some(
                field
                    .bytes()
                    .await
                    .map_err(|_| AppError::invalid("logo", "must be at most 256 KB"))?,
            );
        }
    }
    let bytes = bytes.ok_or_else(|| AppError::invalid("logo", "choose an image file"))?;
    logo::save(state, &staff, &bytes, &meta(headers, extensions)).await
}

async fn download(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let result = async {
        let token = identity::token_from_headers(&headers).ok_or(AppError::Unauthenticated)?;
        let staff = identity::staff_for_token(&state, &token).await?;
        let mut tx = state.db.tenant(staff.tenant).await?;
        let found = logo::load(&mut tx).await?;
        tx.commit().await?;
        Ok::<_, AppError>(found)
    }
    .await;
    image(result)
}

/// `GET /portal/{slug}/logo`: the ISP's logo for its subscribers' pages (only PNG, JPEG or WebP
/// is ever stored, so nothing here can run script).
async fn public_download(
    State(state): State<AppState>,
    axum::extract::Path(slug): axum::extract::Path<String>,
) -> Response {
    let result = async {
        let tenant = app::portal::service::tenant(&state, &slug).await?;
        let mut tx = state.db.tenant(tenant).await?;
        let found = logo::load(&mut tx).await?;
        tx.commit().await?;
        Ok::<_, AppError>(found)
    }
    .await;
    image(result)
}

fn image(result: Result<Option<(String, Vec<u8>)>, AppError>) -> Response {
    match result {
        Ok(Some((content_type, bytes))) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_str(&content_type)
                        .unwrap_or(HeaderValue::from_static("application/octet-stream")),
                ),
                // The URL carries the version, so the browser may keep it.
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("private, max-age=86400"),
                ),
            ],
            bytes,
        )
            .into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(err) => err.status().into_response(),
    }
}
