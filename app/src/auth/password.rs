//! Staff and subscriber passwords: argon2id with the `argon2` crate's defaults (m=19456 KiB,
//! t=2, p=1, the OWASP minimum). Hashing takes tens of milliseconds of CPU, so it runs on a
//! blocking thread, never on the async runtime.

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{self, SaltString},
};

use crate::auth::model::validate_password;
use crate::error::AppError;

/// Hashes a new password (after checking its length) into a PHC string.
pub async fn hash(password: &str) -> Result<String, AppError> {
    validate_password(password)?;
    let password = password.to_owned();
    blocking(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| AppError::internal(&std::io::Error::other(e)))?;
        let salt = SaltString::encode_b64(&salt).map_err(internal)?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(internal)
    })
    .await
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    No,
    Yes,
    /// Correct, but hashed with other parameters than today's: store a fresh hash.
    YesRehash,
}

/// Checks `password` against `stored`. With `stored = None` (no such account) it still spends
/// one hash's worth of work, so the answer time does not tell whether an account exists.
pub async fn verify(password: &str, stored: Option<String>) -> Result<Verified, AppError> {
    let password = password.to_owned();
    blocking(move || {
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_string());
        let parsed = PasswordHash::new(&stored).map_err(internal)?;
        let argon = Argon2::default();
        match argon.verify_password(password.as_bytes(), &parsed) {
            Ok(()) if stored == DUMMY_HASH => Ok(Verified::No),
            Ok(()) => Ok(if is_current(&parsed) {
                Verified::Yes
            } else {
                Verified::YesRehash
            }),
            Err(password_hash::Error::Password) => Ok(Verified::No),
            Err(err) => Err(internal(err)),
        }
    })
    .await
}

/// A valid argon2id hash (of a random string nobody knows) with today's parameters, verified
/// against when an account does not exist.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3Wd5gT0F1dbxpFxHdxbYXaXdO5ud4gXQ0l0CqoRcs10";

fn is_current(hash: &PasswordHash<'_>) -> bool {
    let params = argon2::Params::default();
    hash.algorithm == argon2::Algorithm::Argon2id.ident()
        && hash.version == Some(argon2::Version::V0x13 as u32)
        && hash.params.get_decimal("m") == Some(params.m_cost())
        && hash.params.get_decimal("t") == Some(params.t_cost())
        && hash.params.get_decimal("p") == Some(params.p_cost())
}

fn internal(err: password_hash::Error) -> AppError {
    AppError::internal(&std::io::Error::other(err.to_string()))
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::internal(&e))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let stored = hash("correct horse battery").await.unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert_eq!(
            verify("correct horse battery", Some(stored.clone()))
                .await
                .unwrap(),
            Verified::Yes
        );
        assert_eq!(
            verify("correct horse batterx", Some(stored)).await.unwrap(),
            Verified::No
        );
    }

    #[tokio::test]
    async fn an_unknown_account_is_refused_after_a_full_hash() {
        // The dummy hash parses and is checked like a real one.
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        assert_eq!(verify("anything at all", None).await.unwrap(), Verified::No);
    }

    #[tokio::test]
    async fn a_hash_made_with_weaker_parameters_asks_to_be_upgraded() {
        let params = argon2::Params::new(8192, 1, 1, None).unwrap();
        let old = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let stored = old
            .hash_password(b"old password 1", &salt)
            .unwrap()
            .to_string();
        assert_eq!(
            verify("old password 1", Some(stored)).await.unwrap(),
            Verified::YesRehash
        );
    }

    #[tokio::test]
    async fn passwords_outside_8_to_128_characters_are_refused_with_the_field_named() {
        for bad in ["short", &"x".repeat(129)] {
            match hash(bad).await {
                Err(AppError::Invalid { field, .. }) => assert_eq!(field, "password"),
                other => panic!("expected an invalid-password error, got {other:?}"),
            }
        }
    }
}
