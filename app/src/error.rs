//! The one error type that crosses the wire from server functions to the browser.
//!
//! Each variant carries what the user may see and nothing more: database and internal causes
//! are logged on the server with a reference, and only the reference is sent.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum AppError {
    /// Nobody is signed in, or the session ended.
    #[error("Please sign in to continue.")]
    Unauthenticated,
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
            Self::Forbidden => "forbidden",
            Self::Invalid { .. } => "invalid",
            Self::NotFound { .. } => "not_found",
            Self::Internal { .. } => "internal",
            Self::Transport { .. } => "transport",
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Transport {
            message: value.to_string(),
        }
    }
}

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
