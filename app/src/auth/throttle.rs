//! Sign-in throttling per account and per IP address, with exponential back-off.
//!
//! Keys are SHA-256 digests (`account:…` of the normalised email, `ip:…` of the address), so the
//! table holds no personal data in the clear and serves every tenant. A key is locked after a
//! number of failures (each within a day of the one before), for 30 s doubling with each further
//! failure up to an hour; a success clears an account's key. Answers stay generic: the lock says "try again later", never whether the
//! account exists.

use crate::{auth::session::hex, db::Db, error::AppError};
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

/// Failures allowed before a key locks: per account, and (higher, for shared NAT addresses
/// common on Kenyan mobile networks) per IP.
pub const ACCOUNT_FREE_FAILURES: i32 = 5;
pub const IP_FREE_FAILURES: i32 = 20;
const FIRST_LOCK_SECONDS: i64 = 30;
const MAX_LOCK_SECONDS: i64 = 3600;

pub fn account_key(email: &str) -> String {
    format!("account:{}", hex(&Sha256::digest(email.as_bytes())))
}

pub fn ip_key(ip: std::net::IpAddr) -> String {
    format!("ip:{}", hex(&Sha256::digest(ip.to_string().as_bytes())))
}

/// How long a key stays locked after `failures` consecutive failures (zero while free).
pub fn lock_for(failures: i32, free: i32) -> Duration {
    if failures < free {
        return Duration::zero();
    }
    let doublings = (failures - free).min(20) as u32;
    let seconds = FIRST_LOCK_SECONDS.saturating_mul(1_i64 << doublings);
    Duration::seconds(seconds.min(MAX_LOCK_SECONDS))
}

/// When the earliest next attempt is allowed, if any of `keys` is locked now.
pub async fn locked_until(
    db: &Db,
    keys: &[String],
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select max(locked_until) from auth_throttle where key = any($1) and locked_until > $2"#,
        keys,
        now
    )
    .fetch_one(db.global())
    .await
}

/// Refuses with `Throttled` (and how long to wait) while any of `keys` is locked.
pub async fn check(db: &Db, keys: &[(String, i32)], now: DateTime<Utc>) -> Result<(), AppError> {
    let names: Vec<String> = keys.iter().map(|(k, _)| k.clone()).collect();
    match locked_until(db, &names, now).await? {
        None => Ok(()),
        Some(until) => Err(AppError::Throttled {
            retry_after_seconds: u64::try_from((until - now).num_seconds().max(1)).unwrap_or(1),
        }),
    }
}

/// The keys an attempt counts against: the account, and the address when known.
pub fn keys_for(account: &str, ip: Option<std::net::IpAddr>) -> Vec<(String, i32)> {
    let mut keys = vec![(account_key(account), ACCOUNT_FREE_FAILURES)];
    if let Some(ip) = ip {
        keys.push((ip_key(ip), IP_FREE_FAILURES));
    }
    keys
}

/// The address's throttle key for `what` this hour, with its allowance: for public pages whose
/// visitors share addresses (a mobile network's, a hotspot router's), the count starts afresh
/// each hour (the key names the hour) rather than building up for ever.
pub fn hourly_ip_keys(
    ip: Option<std::net::IpAddr>,
    what: &str,
    free: i32,
    now: DateTime<Utc>,
) -> Vec<(String, i32)> {
    let hour = now.timestamp().div_euclid(3600);
    ip.map(|ip| vec![(format!("{what}-{hour}-{}", ip_key(ip)), free)])
        .unwrap_or_default()
}

/// Counts a failure against each `(key, free failures)` and locks those past their allowance.
pub async fn record_failure(
    db: &Db,
    keys: &[(String, i32)],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    for (key, free) in keys {
        // Failures a day apart start the count afresh: without a window an office's or a
        // mobile network's shared address collected failures for ever and was locked at each
        // new one; within a day, repeated guessing still locks and backs off.
        let failures: i32 = sqlx::query_scalar!(
            r#"insert into auth_throttle (key, failures, updated_at) values ($1, 1, $2)
               on conflict (key) do update
                 set failures = case when auth_throttle.updated_at < $2 - interval '1 day' then 1
                                     else auth_throttle.failures + 1 end,
                     updated_at = $2
               returning failures"#,
            key,
            now
        )
        .fetch_one(db.global())
        .await?;
        let lock = lock_for(failures, *free);
        if lock > Duration::zero() {
            sqlx::query!(
                "update auth_throttle set locked_until = $2 where key = $1",
                key,
                now + lock
            )
            .execute(db.global())
            .await?;
        }
    }
    Ok(())
}

/// A success clears the account's record (the IP's count stays: one good password does not
/// excuse a thousand bad ones from the same address).
pub async fn clear(db: &Db, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("delete from auth_throttle where key = $1", key)
        .execute(db.global())
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_start_after_the_free_failures_and_double_up_to_an_hour() {
        assert_eq!(lock_for(4, 5), Duration::zero());
        assert_eq!(lock_for(5, 5), Duration::seconds(30));
        assert_eq!(lock_for(6, 5), Duration::seconds(60));
        assert_eq!(lock_for(7, 5), Duration::seconds(120));
        assert_eq!(lock_for(30, 5), Duration::seconds(3600));
        assert_eq!(lock_for(i32::MAX, 5), Duration::seconds(3600));
    }

    #[test]
    fn keys_do_not_carry_the_email_or_address_in_the_clear() {
        let key = account_key("owner@isp.co.ke");
        assert!(key.starts_with("account:") && !key.contains("isp"));
        assert_eq!(key.len(), "account:".len() + 64);
        assert_ne!(
            ip_key("10.0.0.1".parse().unwrap()),
            ip_key("10.0.0.2".parse().unwrap())
        );
    }
}
