//! The portal's server functions. Every one but the sign-in steps works only for a subscriber
//! signed in to the portal named by `slug`, and only ever on their own customer.

use leptos::prelude::*;

use crate::{
    error::AppError,
    portal::model::{PortalHome, PortalView},
};

/// The portal session token the request carries, if any.
#[cfg(feature = "ssr")]
pub fn portal_token() -> Option<String> {
    ssr::token()
}

#[cfg(feature = "ssr")]
mod ssr {
    use crate::{
        error::AppError,
        portal::{service, session},
        state::AppState,
    };

    /// The portal token the request carries, if any.
    pub fn token() -> Option<String> {
        let parts = leptos::prelude::use_context::<axum::http::request::Parts>()?;
        parts
            .headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|h| session::token_from_cookie_header(h).map(str::to_owned))
    }

    pub async fn subscriber(slug: &str) -> Result<(AppState, session::Subscriber), AppError> {
        let state = crate::state::app_state()?;
        let who = service::subscriber(&state, slug, token().as_deref()).await?;
        Ok((state, who))
    }

    pub fn home_path(slug: &str) -> String {
        format!("/portal/{}", slug.trim())
    }
}

/// The portal's page: the signed-in subscriber's home, or the ISP's sign-in page (no error for
/// not being signed in: that is the page's normal first state).
#[server(prefix = "/api", endpoint = "portal/page", output = crate::wire::Json)]
pub async fn portal_page(slug: String) -> Result<PortalView, AppError> {
    crate::error::respond(async move {
        let state = crate::state::app_state()?;
        match crate::portal::service::subscriber(&state, &slug, ssr::token().as_deref()).await {
            Ok(who) => crate::portal::service::home(&state, &slug, &who)
                .await
                .map(PortalView::Home),
            Err(AppError::Unauthenticated) => crate::portal::service::start(&state, &slug)
                .await
                .map(PortalView::SignIn),
            Err(other) => Err(other),
        }
    })
    .await
}

/// Sends a sign-in code by SMS (the same answer whether or not the number is a customer's),
/// then shows the page that asks for it.
#[server(prefix = "/api", endpoint = "portal/code", output = crate::wire::Json)]
pub async fn portal_request_code(slug: String, phone: String) -> Result<(), AppError> {
    crate::error::respond(async move {
        let state = crate::state::app_state()?;
        let meta = crate::auth::identity::request_meta();
        crate::portal::service::request_code(&state, &slug, &phone, &meta).await?;
        let phone = crate::phone::normalise_phone("phone", &phone)?;
        leptos_axum::redirect(&format!("{}?phone={phone}", ssr::home_path(&slug)));
        Ok(())
    })
    .await
}

/// Checks the code; signed in, the portal's home opens.
#[server(prefix = "/api", endpoint = "portal/verify", output = crate::wire::Json)]
pub async fn portal_verify_code(slug: String, phone: String, code: String) -> Result<(), AppError> {
    crate::error::respond(async move {
        let state = crate::state::app_state()?;
        let meta = crate::auth::identity::request_meta();
        let token =
            crate::portal::service::verify_code(&state, &slug, &phone, &code, &meta).await?;
        crate::auth::api::set_cookie(&crate::portal::session::cookie(&token))?;
        leptos_axum::redirect(&ssr::home_path(&slug));
        Ok(())
    })
    .await
}

/// Signs in with the account number and the subscriber's own password.
#[server(prefix = "/api", endpoint = "portal/sign-in", output = crate::wire::Json)]
pub async fn portal_sign_in(
    slug: String,
    account: String,
    password: String,
) -> Result<(), AppError> {
    crate::error::respond(async move {
        let state = crate::state::app_state()?;
        let meta = crate::auth::identity::request_meta();
        let token =
            crate::portal::service::sign_in_password(&state, &slug, &account, &password, &meta)
                .await?;
        crate::auth::api::set_cookie(&crate::portal::session::cookie(&token))?;
        leptos_axum::redirect(&ssr::home_path(&slug));
        Ok(())
    })
    .await
}

/// The signed-in subscriber's home.
#[server(prefix = "/api", endpoint = "portal/overview", output = crate::wire::Json)]
pub async fn portal_overview(slug: String) -> Result<PortalHome, AppError> {
    crate::error::respond(async move {
        let (state, who) = ssr::subscriber(&slug).await?;
        crate::portal::service::home(&state, &slug, &who).await
    })
    .await
}

/// Sets the subscriber's password (for signing in with the account number).
#[server(prefix = "/api", endpoint = "portal/password", output = crate::wire::Json)]
pub async fn portal_set_password(slug: String, password: String) -> Result<(), AppError> {
    crate::error::respond(async move {
        let (state, who) = ssr::subscriber(&slug).await?;
        let meta = crate::auth::identity::request_meta();
        crate::portal::service::set_password(&state, &who, &password, &meta).await
    })
    .await
}

/// Ends the portal session.
#[server(prefix = "/api", endpoint = "portal/sign-out", output = crate::wire::Json)]
pub async fn portal_sign_out(slug: String) -> Result<(), AppError> {
    crate::error::respond(async move {
        match ssr::subscriber(&slug).await {
            Ok((state, who)) => crate::portal::service::sign_out(&state, &who).await?,
            Err(AppError::Unauthenticated) => {}
            Err(other) => return Err(other),
        }
        crate::auth::api::set_cookie(&crate::portal::session::clear_cookie())?;
        leptos_axum::redirect(&format!("{}?signed_out=1", ssr::home_path(&slug)));
        Ok(())
    })
    .await
}

/// Moves a service to another plan; the page then shows what is due for it.
#[server(prefix = "/api", endpoint = "portal/change-plan", output = crate::wire::Json)]
pub async fn portal_change_plan(
    slug: String,
    service: uuid::Uuid,
    plan: uuid::Uuid,
) -> Result<(), AppError> {
    crate::error::respond(async move {
        let (state, who) = ssr::subscriber(&slug).await?;
        let meta = crate::auth::identity::request_meta();
        crate::portal::service::change_plan(&state, &who, service, plan, &meta).await?;
        leptos_axum::redirect(&format!("{}?changed={plan}", ssr::home_path(&slug)));
        Ok(())
    })
    .await
}
