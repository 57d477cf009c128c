//! Secrets at rest: values Jasiyo must be able to read back (a service's PPPoE password, which is
//! pushed to routers; provider credentials later) are sealed with AES-256-GCM under one key from
//! the environment. Each sealed value is bound to where it lives (associated data such as
//! tenant and row id), so a ciphertext copied into another row or tenant does not open.
//!
//! Layout: version byte (1) | 96-bit random nonce | ciphertext with its 128-bit tag.

use aes_gcm::{
    Aes256Gcm, Key, Nonce,
    aead::{Aead, KeyInit, Payload},
};
use base64::{Engine, engine::general_purpose::STANDARD};

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the secret key must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)")]
    BadKey,
    #[error("a sealed value could not be opened: wrong key, wrong place, or damaged")]
    Open,
    #[error("sealing failed: {0}")]
    Seal(String),
}

/// `len` characters drawn from `alphabet` with the operating system's random source (passwords,
/// router secrets). Bytes are reduced modulo the alphabet's size: for alphabets of 31 to 57
/// characters the first few are at most 1/256 likelier, a fraction of a bit over the length.
pub fn random_text(alphabet: &[u8], len: usize) -> Result<String, crate::error::AppError> {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes)
        .map_err(|e| crate::error::AppError::internal(&std::io::Error::other(e)))?;
    Ok(bytes
        .iter()
        .map(|b| char::from(alphabet[usize::from(*b) % alphabet.len()]))
        .collect())
}

/// The key, shared by clones. Debug never prints it.
#[derive(Clone)]
pub struct Secrets {
    cipher: std::sync::Arc<Aes256Gcm>,
    /// A second key derived from the same one, for MACs (one-time codes are kept only as this).
    mac_key: std::sync::Arc<[u8; 32]>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(..)")
    }
}

impl Secrets {
    pub fn from_key(key: [u8; 32]) -> Self {
        use sha2::Digest;
        let mac_key: [u8; 32] = sha2::Sha256::new()
            .chain_update(b"jasiyo mac key v1\0")
            .chain_update(key)
            .finalize()
            .into();
        Self {
            cipher: std::sync::Arc::new(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key))),
            mac_key: std::sync::Arc::new(mac_key),
        }
    }

    /// A key in base64 as kept in `JASIYO_SECRET_KEY` or the demo key file.
    pub fn from_base64(text: &str) -> Result<Self, SecretError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| SecretError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| SecretError::BadKey)?;
        Ok(Self::from_key(key))
    }

    /// A fresh random key in base64 (demo mode and tests).
    pub fn generate_base64() -> Result<String, SecretError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| SecretError::Seal(e.to_string()))?;
        Ok(STANDARD.encode(key))
    }

    /// A throwaway key, for tests and tools that never read old data.
    pub fn random() -> Result<Self, SecretError> {
        Self::from_base64(&Self::generate_base64()?)
    }

    pub fn seal(&self, plaintext: &[u8], bound_to: &[u8]) -> Result<Vec<u8>, SecretError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| SecretError::Seal(e.to_string()))?;
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: bound_to,
                },
            )
            .map_err(|e| SecretError::Seal(e.to_string()))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// HMAC-SHA256 of `parts` (each length-prefixed, so ("ab", "c") and ("a", "bc") differ).
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        use hmac::{KeyInit, Mac};
        type HmacSha256 = hmac::Hmac<sha2::Sha256>;
        let Ok(mut mac) = <HmacSha256 as KeyInit>::new_from_slice(&self.mac_key[..]) else {
            // HMAC takes keys of any length; this branch cannot be reached.
            return [0; 32];
        };
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    pub fn open(&self, sealed: &[u8], bound_to: &[u8]) -> Result<Vec<u8>, SecretError> {
        let (&version, rest) = sealed.split_first().ok_or(SecretError::Open)?;
        if version != VERSION || rest.len() < NONCE_LEN {
            return Err(SecretError::Open);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: bound_to,
                },
            )
            .map_err(|_| SecretError::Open)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_place() {
        let secrets = Secrets::random().unwrap();
        let sealed = secrets.seal(b"hunter2", b"tenant-a/service-1").unwrap();
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(
            secrets.open(&sealed, b"tenant-a/service-1").unwrap(),
            b"hunter2"
        );
        assert!(secrets.open(&sealed, b"tenant-b/service-1").is_err());
        assert!(
            Secrets::random()
                .unwrap()
                .open(&sealed, b"tenant-a/service-1")
                .is_err()
        );
        let mut damaged = sealed.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        assert!(secrets.open(&damaged, b"tenant-a/service-1").is_err());
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts() {
        let secrets = Secrets::random().unwrap();
        assert_ne!(
            secrets.seal(b"same", b"x").unwrap(),
            secrets.seal(b"same", b"x").unwrap()
        );
    }

    #[test]
    fn macs_depend_on_the_key_and_on_where_parts_split() {
        let a = Secrets::random().unwrap();
        let b = Secrets::random().unwrap();
        assert_eq!(a.mac(&[b"ab", b"c"]), a.mac(&[b"ab", b"c"]));
        assert_ne!(a.mac(&[b"ab", b"c"]), a.mac(&[b"a", b"bc"]));
        assert_ne!(a.mac(&[b"ab", b"c"]), b.mac(&[b"ab", b"c"]));
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!(Secrets::from_base64("not base64!").is_err());
        assert!(Secrets::from_base64(&STANDARD.encode([0u8; 16])).is_err());
        assert!(Secrets::from_base64(&STANDARD.encode([7u8; 32])).is_ok());
    }
}
