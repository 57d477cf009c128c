//! Server-side staff sessions. The browser holds an opaque 256-bit random token in an
//! `HttpOnly; Secure; SameSite=Lax` cookie; the database holds only its SHA-256, so a leaked
//! database cannot be replayed as cookies. A session ends at its idle timeout, its absolute
//! timeout, on sign-out, or when its user is disabled or changes password.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    db::{Db, TenantId, TenantTx},
    error::AppError,
};

pub const COOKIE: &str = "jasiyo_session";

/// How long sessions live. Defaults: 8 hours idle; 7 days absolute with "remember me", 12 hours
/// without.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub idle: Duration,
    pub absolute_remembered: Duration,
    pub absolute: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            idle: Duration::hours(8),
            absolute_remembered: Duration::days(7),
            absolute: Duration::hours(12),
        }
    }
}

/// Where a request came from, for sessions and the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    pub ip: Option<std::net::IpAddr>,
    pub user_agent: Option<String>,
}

/// A fresh random token (64 hex characters) and the hash stored for it.
pub fn new_token() -> Result<(String, [u8; 32]), AppError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AppError::internal(&std::io::Error::other(e)))?;
    let token = hex(&bytes);
    let hash = hash_token(&token);
    Ok((token, hash))
}

pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Starts a session for `user_id` and returns the token for the cookie.
pub async fn create(
    tx: &mut TenantTx,
    user_id: Uuid,
    remember: bool,
    now: DateTime<Utc>,
    timeouts: Timeouts,
    meta: &RequestMeta,
) -> Result<String, AppError> {
    let (token, hash) = new_token()?;
    let absolute = now
        + if remember {
            timeouts.absolute_remembered
        } else {
            timeouts.absolute
        };
    let idle = (now + timeouts.idle).min(absolute);
    let tenant = tx.tenant();
    sqlx::query!(
        r#"insert into sessions (tenant_id, id, user_id, token_hash, remember, created_at,
                                 last_seen_at, idle_expires_at, absolute_expires_at, ip, user_agent)
           values ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10)"#,
        tenant.0,
        Uuid::new_v4(),
        user_id,
        &hash[..],
        remember,
        now,
        idle,
        absolute,
        meta.ip.map(sqlx::types::ipnet::IpNet::from),
        meta.user_agent.as_deref(),
    )
    .execute(tx.conn())
    .await?;
    Ok(token)
}

/// A live session found from a cookie token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Live {
    pub tenant: TenantId,
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
    pub role: crate::auth::model::Role,
}

/// How often a session in use records it: the idle timeout moves on at most once a minute, so
/// a busy operator's pages read the session without writing it (no commit to wait for).
const TOUCH_EVERY: chrono::Duration = chrono::Duration::seconds(60);

/// Finds the live session for `token` and extends its idle timeout; `None` when there is no
/// such session or it has expired (an expired one is deleted).
pub async fn resolve(
    db: &Db,
    token: &str,
    now: DateTime<Utc>,
    timeouts: Timeouts,
) -> Result<Option<Live>, AppError> {
    let hash = hash_token(token);
    let Some((mut tx, found)) = db.session_tenant(&hex(&hash)).await? else {
        return Ok(None);
    };
    let row = sqlx::query!(
        r#"select s.idle_expires_at, s.absolute_expires_at, s.last_seen_at, u.disabled_at,
                  u.name, u.email, u.role as "role: crate::auth::model::Role"
             from sessions s
             join users u on u.tenant_id = s.tenant_id and u.id = s.user_id
            where s.tenant_id = $1 and s.id = $2"#,
        found.tenant.0,
        found.session_id
    )
    .fetch_optional(tx.conn())
    .await?;
    let Some(row) = row else { return Ok(None) };
    if row.idle_expires_at <= now || row.absolute_expires_at <= now || row.disabled_at.is_some() {
        end(&mut tx, found.session_id).await?;
        tx.commit().await?;
        return Ok(None);
    }
    if now - row.last_seen_at >= TOUCH_EVERY {
        let idle = (now + timeouts.idle).min(row.absolute_expires_at);
        sqlx::query!(
            "update sessions set last_seen_at = $3, idle_expires_at = $4 where tenant_id = $1 and id = $2",
            found.tenant.0,
            found.session_id,
            now,
            idle
        )
        .execute(tx.conn())
        .await?;
    }
    tx.commit().await?;
    Ok(Some(Live {
        tenant: found.tenant,
        session_id: found.session_id,
        user_id: found.user_id,
        name: row.name,
        email: row.email,
        role: row.role,
    }))
}

pub async fn end(tx: &mut TenantTx, session_id: Uuid) -> Result<(), AppError> {
    let tenant = tx.tenant();
    sqlx::query!(
        "delete from sessions where tenant_id = $1 and id = $2",
        tenant.0,
        session_id
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Ends every session of a user (password change, disabled account), except `keep`.
pub async fn end_all_for_user(
    tx: &mut TenantTx,
    user_id: Uuid,
    keep: Option<Uuid>,
) -> Result<u64, AppError> {
    let tenant = tx.tenant();
    let done = sqlx::query!(
        "delete from sessions where tenant_id = $1 and user_id = $2 and id is distinct from $3",
        tenant.0,
        user_id,
        keep
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected())
}

/// The `Set-Cookie` value carrying a new session. Without "remember me" it is a browser-session
/// cookie; with it, it lasts as long as the session's absolute timeout. `Secure` is accepted on
/// http://localhost by browsers, so it is always set.
pub fn cookie(token: &str, remember: bool, timeouts: Timeouts) -> String {
    let max_age = if remember {
        format!("; Max-Age={}", timeouts.absolute_remembered.num_seconds())
    } else {
        String::new()
    };
    format!("{COOKIE}={token}; HttpOnly; Secure; SameSite=Lax; Path=/{max_age}")
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=0")
}

/// The session token in a `Cookie` header, if any.
pub fn token_from_cookie_header(header: &str) -> Option<&str> {
    token_cookie(header, COOKIE)
}

/// The well-formed token (64 hex digits) in cookie `name` of a `Cookie` header, if any.
pub fn token_cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(cookie, _)| *cookie == name)
        .map(|(_, value)| value)
        .filter(|value| value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_hex_and_stored_only_as_their_hash() {
        let (a, hash_a) = new_token().unwrap();
        let (b, _) = new_token().unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(hash_a, hash_token(&a));
        assert_ne!(hex(&hash_a), a);
    }

    #[test]
    fn the_cookie_is_http_only_secure_lax_and_site_wide() {
        let set = cookie(&"a".repeat(64), false, Timeouts::default());
        for part in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
            assert!(set.contains(part), "{set}");
        }
        assert!(
            !set.contains("Max-Age"),
            "without remember me it ends with the browser"
        );
        let remembered = cookie(&"a".repeat(64), true, Timeouts::default());
        assert!(remembered.ends_with("Max-Age=604800"), "{remembered}");
    }

    #[test]
    fn only_a_well_formed_session_token_is_read_from_the_cookie_header() {
        let token = "0123456789abcdef".repeat(4);
        let header = format!("theme=dark; {COOKIE}={token}; other=1");
        assert_eq!(token_from_cookie_header(&header), Some(token.as_str()));
        assert_eq!(token_from_cookie_header(&format!("{COOKIE}=short")), None);
        assert_eq!(token_from_cookie_header("theme=dark"), None);
    }
}
