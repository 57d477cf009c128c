//! What every request handler and server function can reach on the server.

use crate::{db::Db, error::AppError};

/// Shared, cheap to clone (everything inside is reference-counted).
#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    /// Demo mode: requests act as the owner of this tenant (by slug) until sign-in exists.
    /// `None` outside demo mode, where nobody is signed in.
    pub demo_tenant: Option<String>,
}

/// The state provided to server functions by the axum host.
pub fn app_state() -> Result<AppState, AppError> {
    leptos::prelude::use_context::<AppState>().ok_or_else(|| {
        AppError::internal(&std::io::Error::other(
            "AppState was not provided to this server function",
        ))
    })
}
