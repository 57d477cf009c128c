//! What can go wrong talking to a router, whichever API carries the command.

use std::time::Duration;

use crate::network::routeros_api::{CodecError, ReplyError};

/// Why a command did not go through.
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    #[error("could not reach the router: {0}")]
    Io(#[from] std::io::Error),
    /// The REST API's HTTP request failed (no connection, TLS, a body that is not JSON).
    #[error("could not reach the router: {0}")]
    Http(String),
    #[error("the router took longer than {0:?}")]
    Timeout(Duration),
    #[error("the router's answer is not the RouterOS API: {0}")]
    Codec(#[from] CodecError),
    #[error("the router's answer is not the RouterOS API: {0}")]
    Reply(#[from] ReplyError),
    /// The router refused the command (`!trap`); its message says why.
    #[error("the router refused: {0}")]
    Refused(String),
    /// The router closed the session (`!fatal`).
    #[error("the router ended the session: {0}")]
    Fatal(String),
    #[error("the router closed the connection")]
    Closed,
    #[error("this RouterOS is older than 6.43; upgrade it or use the phone-home agent")]
    TooOld,
}
