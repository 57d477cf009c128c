//! Server functions for signing in and out. Thin: the steps are in `service.rs`.

use leptos::prelude::*;

use crate::error::AppError;

/// Signs in with email and password; on success sets the session cookie and goes to the
/// dashboard. Works as a plain HTML form post too (no JavaScript needed).
#[server(prefix = "/api", endpoint = "sign-in")]
pub async fn sign_in(
    email: String,
    password: String,
    remember: Option<String>,
) -> Result<(), AppError> {
    use crate::auth::{identity, service, session};
    use crate::state::app_state;

    crate::error::respond(async move {
        let state = app_state()?;
        let remember = remember.is_some();
        let previous = identity::session_token();
        let token = service::sign_in(
            &state,
            &email,
            &password,
            remember,
            previous.as_deref(),
            &identity::request_meta(),
        )
        .await?;
        set_cookie(&session::cookie(&token, remember, state.sessions))?;
        leptos_axum::redirect("/app");
        Ok(())
    })
    .await
}

/// Ends the current session (server-side) and clears the cookie.
#[server(prefix = "/api", endpoint = "sign-out")]
pub async fn sign_out() -> Result<(), AppError> {
    use crate::auth::{identity, service, session};
    use crate::state::app_state;

    crate::error::respond(async move {
        let state = app_state()?;
        match identity::current_staff(&state).await {
            Ok(staff) => service::sign_out(&state, &staff, &identity::request_meta()).await?,
            Err(AppError::Unauthenticated) => {}
            Err(other) => return Err(other),
        }
        set_cookie(&session::clear_cookie())?;
        leptos_axum::redirect("/login");
        Ok(())
    })
    .await
}

/// Changes the signed-in staff member's password; their other sessions end.
#[server(prefix = "/api", endpoint = "change-password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    use crate::auth::{identity, service};
    use crate::state::app_state;

    crate::error::respond(async move {
        let state = app_state()?;
        let staff = identity::current_staff(&state).await?;
        service::change_password(
            &state,
            &staff,
            &current_password,
            &new_password,
            &identity::request_meta(),
        )
        .await
    })
    .await
}

/// Creates an ISP and its owner, and emails a verification link. Answers the same whether or
/// not the email already has an account.
#[server(prefix = "/api", endpoint = "sign-up")]
pub async fn sign_up(
    name: String,
    email: String,
    company: String,
    password: String,
) -> Result<(), AppError> {
    use crate::auth::{account, identity};
    use crate::state::app_state;

    crate::error::respond(async move {
        let state = app_state()?;
        let form = account::SignUp {
            name: &name,
            email: &email,
            company: &company,
            password: &password,
        };
        account::sign_up(&state, form, &identity::request_meta()).await
    })
    .await
}

/// Confirms an email address from the emailed link.
#[server(prefix = "/api", endpoint = "verify-email")]
pub async fn verify_email(token: String) -> Result<(), AppError> {
    use crate::auth::{account, identity};
    use crate::state::app_state;

    crate::error::respond(async move {
        let state = app_state()?;
        account::verify_email(&state, &token, &identity::request_meta()).await
    })
    .await
}

/// Emails a password-reset link if the address has an account; always answers the same.
#[server(prefix = "/api", endpoint = "forgot-password")]
pub async fn forgot_password(email: String) -> Result<(), AppError> {
    use crate::auth::{account, identity};
    use crate::state::app_state;

    crate::error::respond(async move {
        let state = app_state()?;
        account::request_password_reset(&state, &email, &identity::request_meta()).await
    })
    .await
}

/// Sets a new password from a reset link; every session of the account ends.
#[server(prefix = "/api", endpoint = "reset-password")]
pub async fn reset_password(token: String, new_password: String) -> Result<(), AppError> {
    use crate::auth::{account, identity};
    use crate::state::app_state;

    crate::error::respond(async move {
        let state = app_state()?;
        account::reset_password(&state, &token, &new_password, &identity::request_meta()).await
    })
    .await
}

#[cfg(feature = "ssr")]
pub(crate) fn set_cookie(value: &str) -> Result<(), AppError> {
    use axum::http::{HeaderValue, header::SET_COOKIE};
    let value = HeaderValue::from_str(value).map_err(|e| AppError::internal(&e))?;
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.append_header(SET_COOKIE, value);
    }
    Ok(())
}
