//! Portal sessions: a subscriber signed in to one ISP's portal as one of its customers. Kept
//! apart from staff sessions (own table, own cookie): a portal session can never reach `/app`,
//! and a staff session is not a subscriber. As for staff, the cookie holds a random 256-bit
//! token and the database only its SHA-256.
//!
//! Subscribers sign in from phones over SMS codes that cost the ISP money, so sessions last
//! longer than staff ones: 30 days idle, 90 days at most.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::{
    auth::session::{RequestMeta, hash_token, hex, new_token},
    db::{Db, TenantId, TenantTx},
    error::AppError,
};

pub const COOKIE: &str = "jasiyo_portal";
pub const IDLE: Duration = Duration::days(30);
pub const ABSOLUTE: Duration = Duration::days(90);
const TOUCH_EVERY: Duration = Duration::minutes(5);

/// A signed-in subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    pub tenant: TenantId,
    pub session_id: Uuid,
    pub customer_id: Uuid,
    /// The phone number a code was verified for (`None` after a password sign-in).
    pub phone: Option<String>,
}

/// Starts a session and returns the token for the cookie.
pub async fn create(
    tx: &mut TenantTx,
    customer: Uuid,
    phone: Option<&str>,
    now: DateTime<Utc>,
    meta: &RequestMeta,
) -> Result<String, AppError> {
    let (token, hash) = new_token()?;
    let tenant = tx.tenant();
    sqlx::query!(
        r#"insert into portal_sessions (tenant_id, id, customer_id, phone, token_hash, created_at,
                                        last_seen_at, idle_expires_at, absolute_expires_at, ip,
                                        user_agent)
           values ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10)"#,
        tenant.0,
        Uuid::new_v4(),
        customer,
        phone,
        &hash[..],
        now,
        now + IDLE,
        now + ABSOLUTE,
        meta.ip.map(sqlx::types::ipnet::IpNet::from),
        meta.user_agent.as_deref(),
    )
    .execute(tx.conn())
    .await?;
    Ok(token)
}

/// The live session for `token`, its idle timeout moved on; `None` when there is none (an
/// expired one, or one whose customer was archived, is deleted).
pub async fn resolve(
    db: &Db,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<Subscriber>, AppError> {
    let hash = hex(&hash_token(token));
    let Some(mut tx) = db.portal_session_tenant(&hash).await? else {
        return Ok(None);
    };
    let tenant = tx.tenant();
    let Some(row) = sqlx::query!(
        r#"select s.id, s.customer_id, s.phone, s.idle_expires_at, s.absolute_expires_at,
                  s.last_seen_at, c.archived_at is not null as "archived!"
             from portal_sessions s
             join customers c on c.tenant_id = s.tenant_id and c.id = s.customer_id
            where s.tenant_id = $1 and s.token_hash = decode($2, 'hex')"#,
        tenant.0,
        hash
    )
    .fetch_optional(tx.conn())
    .await?
    else {
        tx.commit().await?;
        return Ok(None);
    };
    if row.idle_expires_at <= now || row.absolute_expires_at <= now || row.archived {
        end(&mut tx, row.id).await?;
        tx.commit().await?;
        return Ok(None);
    }
    if now - row.last_seen_at >= TOUCH_EVERY {
        sqlx::query!(
            "update portal_sessions set last_seen_at = $3, idle_expires_at = $4
              where tenant_id = $1 and id = $2",
            tenant.0,
            row.id,
            now,
            (now + IDLE).min(row.absolute_expires_at)
        )
        .execute(tx.conn())
        .await?;
    }
    tx.commit().await?;
    Ok(Some(Subscriber {
        tenant,
        session_id: row.id,
        customer_id: row.customer_id,
        phone: row.phone,
    }))
}

pub async fn end(tx: &mut TenantTx, session: Uuid) -> Result<(), AppError> {
    let tenant = tx.tenant();
    sqlx::query!(
        "delete from portal_sessions where tenant_id = $1 and id = $2",
        tenant.0,
        session
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The `Set-Cookie` value for a new portal session (site-wide: server functions live under
/// `/api`).
pub fn cookie(token: &str) -> String {
    format!(
        "{COOKIE}={token}; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age={}",
        ABSOLUTE.num_seconds()
    )
}

pub fn clear_cookie() -> String {
    format!("{COOKIE}=; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=0")
}

/// The portal token in a `Cookie` header, if well formed.
pub fn token_from_cookie_header(header: &str) -> Option<&str> {
    crate::auth::session::token_cookie(header, COOKIE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_portal_cookie_is_its_own_and_not_the_staff_one() {
        let token = "ab".repeat(32);
        let header = format!("jasiyo_session={}; {COOKIE}={token}", "cd".repeat(32));
        assert_eq!(token_from_cookie_header(&header), Some(token.as_str()));
        assert_eq!(
            token_from_cookie_header(&format!("jasiyo_session={token}")),
            None
        );
        let set = cookie(&token);
        for part in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
            assert!(set.contains(part), "{set}");
        }
    }
}
