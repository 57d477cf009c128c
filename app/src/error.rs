//! The one error type that crosses the wire from server functions to the browser.
//!
//! Each variant carries what the user may see and nothing more: database and internal causes
//! are logged on the server with a reference, and only the reference is sent.

use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum AppError {
    /// Nobody is signed in, or the session ended.
    #[error("Please sign in to continue.")]
    Unauthenticated,
    /// Wrong email or password, unknown account or disabled account: one answer for all, so
    /// the reply never tells whether an email is registered.
    #[error("The email or password is not right.")]
    SignInFailed,
    /// Right password, but the email address was never confirmed.
    #[error("Please confirm your email address first: follow the link we sent you.")]
    EmailNotVerified,
    /// Too many failed attempts from this account or address.
    #[error("Too many attempts. Please wait {} and try again.", wait_label(*retry_after_seconds))]
    Throttled { retry_after_seconds: u64 },
    /// Signed in, but the role does not allow this.
    #[error("You do not have permission to do that.")]
    Forbidden,
    /// A field failed validation; `field` names the form field so the page can mark it.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("{what} was not found.")]
    NotFound { what: String },
    /// Something failed on the server. The cause is in the server log under `reference`.
    #[error(
        "Something went wrong on our side. If it keeps happening, quote reference {reference}."
    )]
    Internal { reference: String },
    /// The request never completed (network down, server restarting, bad response).
    #[error("Could not reach Jasiyo: {message}")]
    Transport { message: String },
}

impl AppError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A stable, machine-readable code for tests, logs and the UI.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthenticated",
            Self::SignInFailed => "sign_in_failed",
            Self::Throttled { .. } => "throttled",
            Self::EmailNotVerified => "email_not_verified",
            Self::Forbidden => "forbidden",
            Self::Invalid { .. } => "invalid",
            Self::NotFound { .. } => "not_found",
            Self::Internal { .. } => "internal",
            Self::Transport { .. } => "transport",
        }
    }
}

fn wait_label(seconds: u64) -> String {
    match seconds {
        0..=59 => format!("{} seconds", seconds.max(1)),
        60..=119 => "a minute".to_string(),
        _ => format!("{} minutes", seconds.div_ceil(60)),
    }
}

impl FromServerFnError for AppError {
    // Decoded from text, as the answers are (see `wire`).
    type Encoder = crate::wire::TextJson;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Transport {
            message: value.to_string(),
        }
    }
}

#[cfg(feature = "ssr")]
pub use ssr::respond;

#[cfg(feature = "ssr")]
mod ssr {
    use super::AppError;

    impl AppError {
        /// Logs an internal failure once, with its full cause chain, and returns the error the
        /// user sees: a short reference to quote, never the cause itself.
        pub fn internal(cause: &(dyn std::error::Error + 'static)) -> Self {
            let reference = uuid::Uuid::new_v4().simple().to_string()[..10].to_string();
            let mut chain = cause.to_string();
            let mut source = cause.source();
            while let Some(inner) = source {
                chain.push_str(": ");
                chain.push_str(&inner.to_string());
                source = inner.source();
            }
            tracing::error!(reference = %reference, error = %chain, "internal error");
            Self::Internal { reference }
        }
    }

    impl AppError {
        /// The HTTP status a server function answers with for this error.
        pub fn status(&self) -> axum::http::StatusCode {
            use axum::http::StatusCode;
            match self {
                Self::Unauthenticated | Self::SignInFailed => StatusCode::UNAUTHORIZED,
                Self::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
                Self::Forbidden | Self::EmailNotVerified => StatusCode::FORBIDDEN,
                Self::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                Self::NotFound { .. } => StatusCode::NOT_FOUND,
                Self::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
                Self::Transport { .. } => StatusCode::BAD_GATEWAY,
            }
        }
    }

    /// Runs a server function's body and, when it fails, sets the answer's HTTP status from the
    /// error (401, 403, 422, 429 with Retry-After, ...) instead of the blanket 500.
    ///
    /// Not for a plain form post (a browser without, or not yet with, the WebAssembly): server_fn
    /// answers that with a redirect back to the form carrying the error in the address, which
    /// the page renders; a 4xx status on that answer would leave the browser on the bare error
    /// body instead of following the redirect.
    pub async fn respond<T>(
        body: impl std::future::Future<Output = Result<T, AppError>>,
    ) -> Result<T, AppError> {
        let result = body.await;
        if let Err(err) = &result
            && !is_plain_form_post()
            && let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
        {
            response.set_status(err.status());
            if let AppError::Throttled {
                retry_after_seconds,
            } = err
                && let Ok(value) =
                    axum::http::HeaderValue::from_str(&retry_after_seconds.to_string())
            {
                response.insert_header(axum::http::header::RETRY_AFTER, value);
            }
        }
        result
    }

    /// Whether the server function was called by a browser's own form submission: a POST that
    /// asks for HTML, where the WebAssembly client asks for the encoding's type. (A page being
    /// rendered, which calls server functions in-process, is a GET and keeps its status.)
    fn is_plain_form_post() -> bool {
        leptos::prelude::use_context::<axum::http::request::Parts>().is_some_and(|parts| {
            parts.method == axum::http::Method::POST
                && parts
                    .headers
                    .get(axum::http::header::ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.contains("text/html"))
        })
    }

    impl From<sqlx::Error> for AppError {
        fn from(err: sqlx::Error) -> Self {
            Self::internal(&err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_cross_the_wire_unchanged_with_a_stable_code() {
        let err = AppError::invalid("phone", "must start with 07, 01, +254 or 254");
        let bytes = err.ser();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(text.contains(r#""code":"invalid""#), "{text}");
        assert_eq!(AppError::de(bytes), err);
        assert_eq!(err.code(), "invalid");
        assert_eq!(
            err.to_string(),
            "phone: must start with 07, 01, +254 or 254"
        );
    }

    #[test]
    fn a_garbled_error_body_becomes_a_transport_error() {
        let err = AppError::de(b"<html>502 Bad Gateway</html>".to_vec().into());
        assert_eq!(err.code(), "transport");
    }
}
