//! Resolves the staff member behind a request from its session cookie, and the role checks
//! every server function makes.

use uuid::Uuid;

use crate::{
    auth::{
        model::{Permission, Role},
        session::{self, RequestMeta},
    },
    db::TenantId,
    error::AppError,
    state::AppState,
};

/// A signed-in ISP staff member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    pub tenant: TenantId,
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
}

impl Staff {
    /// Refuses with `Forbidden` unless the role has `permission`. The check that counts: pages
    /// hide what a role cannot do only as a courtesy.
    pub fn require(&self, permission: Permission) -> Result<(), AppError> {
        if self.role.can(permission) {
            Ok(())
        } else {
            tracing::info!(user = %self.user_id, role = ?self.role, ?permission, "refused: role");
            Err(AppError::Forbidden)
        }
    }
}

/// The request being served (headers, peer address), as leptos_axum provides it.
fn request_parts() -> Option<axum::http::request::Parts> {
    leptos::prelude::use_context::<axum::http::request::Parts>()
}

/// The session token the request carries, if any.
pub fn session_token() -> Option<String> {
    token_from_headers(&request_parts()?.headers)
}

/// Where the request came from: the peer address and the user agent.
pub fn request_meta() -> RequestMeta {
    let Some(parts) = request_parts() else {
        return RequestMeta::default();
    };
    RequestMeta {
        ip: parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.ip()),
        user_agent: parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(512).collect()),
    }
}

/// The staff member behind a request, looked up once: a page's layout, its lists and its forms
/// each ask, and one session lookup answers them all. The server provides a fresh one per request
/// (see `server::routes`); a failed lookup is not kept, so it is retried.
#[derive(Clone, Default)]
pub struct RequestStaff(std::sync::Arc<tokio::sync::OnceCell<Staff>>);

/// What a server function starts with: the app state and the staff member calling.
pub async fn caller() -> Result<(AppState, Staff), AppError> {
    let state = crate::state::app_state()?;
    let staff = current_staff(&state).await?;
    Ok((state, staff))
}

/// The staff member making this request, or `Unauthenticated`.
#[tracing::instrument(level = "debug", skip(state))]
pub async fn current_staff(state: &AppState) -> Result<Staff, AppError> {
    let token = session_token().ok_or(AppError::Unauthenticated)?;
    match leptos::prelude::use_context::<RequestStaff>() {
        Some(cache) => cache
            .0
            .get_or_try_init(|| staff_for_token(state, &token))
            .await
            .cloned(),
        None => staff_for_token(state, &token).await,
    }
}

/// The session token in a request's `Cookie` headers (for plain axum handlers).
pub fn token_from_headers(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| session::token_from_cookie_header(h).map(str::to_owned))
}

/// The staff member whose session `token` is, or `Unauthenticated`.
pub async fn staff_for_token(state: &AppState, token: &str) -> Result<Staff, AppError> {
    let token = token.to_owned();
    let live = session::resolve(&state.db, &token, state.clock.now(), state.sessions)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    // `resolve` refuses sessions of disabled users and reads the user with the session.
    Ok(Staff {
        tenant: live.tenant,
        user_id: live.user_id,
        session_id: live.session_id,
        name: live.name,
        email: live.email,
        role: live.role,
    })
}

/// The signed-in staff member, refused unless their role has `permission`.
pub async fn require(state: &AppState, permission: Permission) -> Result<Staff, AppError> {
    let staff = current_staff(state).await?;
    staff.require(permission)?;
    Ok(staff)
}
