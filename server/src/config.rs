//! Run-time configuration, from the environment and Leptos.toml.

use std::str::FromStr;

use app::{auth::session::Timeouts, secrets::Secrets};
use chrono::Duration;
use leptos::config::LeptosOptions;
use sqlx::postgres::PgConnectOptions;

/// Where Leptos.toml is looked for unless `JASIYO_LEPTOS_TOML` says otherwise. The server is
/// started from the workspace root (the site root in it is relative to that).
pub const DEFAULT_LEPTOS_TOML: &str = "Leptos.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is not set: {hint}")]
    Missing {
        name: &'static str,
        hint: &'static str,
    },
    #[error("{name} is not a valid PostgreSQL URL: {source}")]
    BadDatabaseUrl {
        name: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("{name}={value:?} is not valid: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("{name}: {message}")]
    Secret { name: &'static str, message: String },
    #[error("could not read the Leptos site settings from {path}: {message}")]
    Leptos { path: String, message: String },
}

/// The runtime database role's connection (`jasiyo_app`: no superuser, no BYPASSRLS).
pub fn app_database() -> Result<PgConnectOptions, ConfigError> {
    database_from_env(
        "APP_DATABASE_URL",
        "the runtime role's URL, e.g. postgres://jasiyo_app:PASSWORD@127.0.0.1:54329/jasiyo \
         (make run and make test set it for their local cluster)",
    )
}

/// The owner role's connection, used only to run migrations.
pub fn owner_database() -> Result<PgConnectOptions, ConfigError> {
    database_from_env(
        "DATABASE_URL",
        "the owner role's URL, e.g. postgres://jasiyo_owner:PASSWORD@127.0.0.1:54329/jasiyo",
    )
}

fn database_from_env(
    name: &'static str,
    hint: &'static str,
) -> Result<PgConnectOptions, ConfigError> {
    let url = std::env::var(name).map_err(|_| ConfigError::Missing { name, hint })?;
    PgConnectOptions::from_str(&url).map_err(|source| ConfigError::BadDatabaseUrl { name, source })
}

/// How many connections the runtime pool may hold: `JASIYO_DB_POOL`, or by default twice the
/// machine's cores and at least 4. PostgreSQL does the most with a few busy connections; on the
/// 2-core bench machine 4 connections gave the same throughput as 16 with a third lower p99.
pub fn pool_size() -> Result<u32, ConfigError> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    parse_pool_size(std::env::var("JASIYO_DB_POOL").ok().as_deref(), cores)
}

fn parse_pool_size(value: Option<&str>, cores: usize) -> Result<u32, ConfigError> {
    match value {
        None => Ok(u32::try_from(cores.saturating_mul(2))
            .unwrap_or(500)
            .clamp(4, 500)),
        Some(value) => match value.trim().parse::<u32>() {
            Ok(n) if (1..=500).contains(&n) => Ok(n),
            _ => Err(ConfigError::Invalid {
                name: "JASIYO_DB_POOL",
                value: value.to_string(),
                reason: "expected a whole number from 1 to 500",
            }),
        },
    }
}

/// Session lifetimes: `JASIYO_SESSION_IDLE_MINUTES` (default 480), `JASIYO_SESSION_HOURS`
/// (absolute, default 12) and `JASIYO_SESSION_REMEMBER_DAYS` (absolute with "keep me signed
/// in", default 7).
pub fn session_timeouts() -> Result<Timeouts, ConfigError> {
    let defaults = Timeouts::default();
    let read = |name: &'static str, default: i64, max: i64| {
        number(name, std::env::var(name).ok().as_deref(), default, max)
    };
    Ok(Timeouts {
        idle: Duration::minutes(read(
            "JASIYO_SESSION_IDLE_MINUTES",
            defaults.idle.num_minutes(),
            60 * 24 * 30,
        )?),
        absolute: Duration::hours(read(
            "JASIYO_SESSION_HOURS",
            defaults.absolute.num_hours(),
            24 * 30,
        )?),
        absolute_remembered: Duration::days(read(
            "JASIYO_SESSION_REMEMBER_DAYS",
            defaults.absolute_remembered.num_days(),
            90,
        )?),
    })
}

fn number(
    name: &'static str,
    value: Option<&str>,
    default: i64,
    max: i64,
) -> Result<i64, ConfigError> {
    match value {
        None => Ok(default),
        Some(value) => match value.trim().parse::<i64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ConfigError::Invalid {
                name,
                value: value.to_string(),
                reason: "expected a whole number in the allowed range",
            }),
        },
    }
}

/// The billing job's schedule and batch size: `JASIYO_BILLING_INTERVAL_SECONDS` (default 60)
/// and `JASIYO_BILLING_BATCH` (services per transaction, default 1,000).
pub fn billing() -> Result<(std::time::Duration, i64), ConfigError> {
    let read = |name: &'static str, default: i64, max: i64| {
        number(name, std::env::var(name).ok().as_deref(), default, max)
    };
    let every = read("JASIYO_BILLING_INTERVAL_SECONDS", 60, 24 * 3600)?;
    let batch = read("JASIYO_BILLING_BATCH", 1_000, 100_000)?;
    Ok((std::time::Duration::from_secs(every.unsigned_abs()), batch))
}

/// The RADIUS server: `JASIYO_RADIUS_AUTH_ADDR` and `JASIYO_RADIUS_ACCT_ADDR` (e.g.
/// `0.0.0.0:1812` and `0.0.0.0:1813`; unset serves no RADIUS) and `JASIYO_RADIUS_INTERIM_SECONDS`
/// (the `Acct-Interim-Interval` sent, default 300). `JASIYO_RADIUS_CACHE=off` reads the database
/// for every Access-Request instead of accepting active users from memory (for comparison).
pub fn radius() -> Result<app::network::radius_server::RadiusSettings, ConfigError> {
    let addr = |name: &'static str| -> Result<Option<std::net::SocketAddr>, ConfigError> {
        match std::env::var(name).ok().filter(|v| !v.trim().is_empty()) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ConfigError::Invalid {
                    name,
                    value: v,
                    reason: "expected an address and port such as 0.0.0.0:1812",
                }),
        }
    };
    let interim = number(
        "JASIYO_RADIUS_INTERIM_SECONDS",
        std::env::var("JASIYO_RADIUS_INTERIM_SECONDS")
            .ok()
            .as_deref(),
        300,
        86_400,
    )?;
    Ok(app::network::radius_server::RadiusSettings {
        auth: addr("JASIYO_RADIUS_AUTH_ADDR")?,
        acct: addr("JASIYO_RADIUS_ACCT_ADDR")?,
        interim_secs: u32::try_from(interim.max(60)).unwrap_or(300),
        cache: match std::env::var("JASIYO_RADIUS_CACHE")
            .as_deref()
            .map(str::trim)
        {
            Err(_) | Ok("" | "on" | "1" | "true") => true,
            Ok("off" | "0" | "false") => false,
            Ok(other) => {
                return Err(ConfigError::Invalid {
                    name: "JASIYO_RADIUS_CACHE",
                    value: other.to_string(),
                    reason: "expected on or off",
                });
            }
        },
        ..Default::default()
    })
}

/// `JASIYO_HSTS=1`: send Strict-Transport-Security (set it only behind a TLS-terminating proxy).
pub fn hsts() -> bool {
    matches!(
        std::env::var("JASIYO_HSTS").as_deref(),
        Ok("1") | Ok("true")
    )
}

/// The key that seals secrets at rest: `JASIYO_SECRET_KEY` (32 bytes, base64), or else the file
/// named by `JASIYO_SECRET_KEY_FILE`, which is created with a fresh key on first use (`make run`
/// keeps one in `.data/secret.key` for the demo). Losing the key loses every sealed secret, so
/// production sets `JASIYO_SECRET_KEY` from its secret store and backs it up.
pub fn secrets() -> Result<Secrets, ConfigError> {
    let sealed = |name, e: app::secrets::SecretError| ConfigError::Secret {
        name,
        message: e.to_string(),
    };
    if let Ok(key) = std::env::var("JASIYO_SECRET_KEY") {
        return Secrets::from_base64(&key).map_err(|e| sealed("JASIYO_SECRET_KEY", e));
    }
    let Ok(path) = std::env::var("JASIYO_SECRET_KEY_FILE") else {
        return Err(ConfigError::Missing {
            name: "JASIYO_SECRET_KEY",
            hint: "32 random bytes in base64 (openssl rand -base64 32), or JASIYO_SECRET_KEY_FILE \
                   naming a file to keep a generated key in (make run does this)",
        });
    };
    let io = |e: std::io::Error| ConfigError::Secret {
        name: "JASIYO_SECRET_KEY_FILE",
        message: format!("{path}: {e}"),
    };
    let key = match std::fs::read_to_string(&path) {
        Ok(key) => key,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key =
                Secrets::generate_base64().map_err(|e| sealed("JASIYO_SECRET_KEY_FILE", e))?;
            write_private(&path, &key).map_err(io)?;
            tracing::info!(%path, "generated a secret key for sealing secrets at rest");
            key
        }
        Err(e) => return Err(io(e)),
    };
    Secrets::from_base64(&key).map_err(|e| sealed("JASIYO_SECRET_KEY_FILE", e))
}

/// Creates a file only its owner can read, failing if it exists (never overwrite a key).
fn write_private(path: &str, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = std::path::Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

/// `JASIYO_DEV_MAIL=1` (set by `make run`): catch all mail in a local SMTP sink and show it at
/// `/dev/mail`, instead of sending it anywhere.
pub fn dev_mail() -> bool {
    matches!(
        std::env::var("JASIYO_DEV_MAIL").as_deref(),
        Ok("1") | Ok("true")
    )
}

/// `JASIYO_DEV_PROVIDERS=1` (set by `make run`): payment providers are the simulators this
/// process starts on 127.0.0.1, so the demo can take payments without reaching the internet.
pub fn dev_providers() -> bool {
    matches!(
        std::env::var("JASIYO_DEV_PROVIDERS").as_deref(),
        Ok("1") | Ok("true")
    )
}

/// `JASIYO_DARAJA_URL`: a Daraja base URL replacing Safaricom's (a simulator or a proxy).
pub fn daraja_url() -> Option<String> {
    url_override("JASIYO_DARAJA_URL")
}

/// `JASIYO_PAYSTACK_URL`: a Paystack API base URL replacing api.paystack.co.
pub fn paystack_url() -> Option<String> {
    url_override("JASIYO_PAYSTACK_URL")
}

fn url_override(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The outgoing mail server (`JASIYO_SMTP_URL`), sender (`JASIYO_MAIL_FROM`) and the public
/// address links in mail point to (`JASIYO_PUBLIC_URL`, default `http://` + the site address).
pub struct MailSettings {
    pub smtp_url: Option<String>,
    pub from: String,
    pub public_url: String,
}

pub fn mail(site_addr: std::net::SocketAddr) -> MailSettings {
    MailSettings {
        smtp_url: std::env::var("JASIYO_SMTP_URL")
            .ok()
            .filter(|v| !v.is_empty()),
        from: std::env::var("JASIYO_MAIL_FROM")
            .unwrap_or_else(|_| app::mail::mailer::DEFAULT_FROM.to_string()),
        public_url: std::env::var("JASIYO_PUBLIC_URL")
            .unwrap_or_else(|_| format!("http://{site_addr}")),
    }
}

/// The Leptos site settings: Leptos.toml, overridden by `LEPTOS_*` variables
/// (`LEPTOS_SITE_ADDR=127.0.0.1:8080` changes the address).
pub fn leptos_options() -> Result<LeptosOptions, ConfigError> {
    let path =
        std::env::var("JASIYO_LEPTOS_TOML").unwrap_or_else(|_| DEFAULT_LEPTOS_TOML.to_string());
    leptos::config::get_configuration(Some(&path))
        .map(|conf| conf.leptos_options)
        .map_err(|err| ConfigError::Leptos {
            path,
            message: err.to_string(),
        })
}

/// The platform's SMS gateway (Africa's Talking): `JASIYO_SMS_AT_USERNAME`,
/// `JASIYO_SMS_AT_API_KEY`, optional `JASIYO_SMS_AT_SENDER_ID` and `JASIYO_SMS_AT_URL` (default
/// `https://api.africastalking.com`). Unset, text messages stay queued.
pub fn sms_gateway() -> Option<app::messaging::africastalking::AtConfig> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    Some(app::messaging::africastalking::AtConfig {
        username: var("JASIYO_SMS_AT_USERNAME")?,
        api_key: var("JASIYO_SMS_AT_API_KEY")?,
        sender_id: var("JASIYO_SMS_AT_SENDER_ID"),
        base_url: var("JASIYO_SMS_AT_URL")
            .unwrap_or_else(|| "https://api.africastalking.com".to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_size_defaults_to_ten_and_rejects_nonsense_with_the_variable_named() {
        assert_eq!(parse_pool_size(None, 2).unwrap(), 4);
        assert_eq!(parse_pool_size(None, 1).unwrap(), 4);
        assert_eq!(parse_pool_size(None, 16).unwrap(), 32);
        assert_eq!(parse_pool_size(Some(" 25 "), 2).unwrap(), 25);
        for bad in ["0", "501", "-3", "ten", ""] {
            let err = parse_pool_size(Some(bad), 2).unwrap_err().to_string();
            assert!(err.starts_with("JASIYO_DB_POOL="), "{err}");
            assert!(err.contains("1 to 500"), "{err}");
        }
    }

    #[test]
    fn session_numbers_default_and_refuse_out_of_range_values() {
        assert_eq!(number("X", None, 8, 10).unwrap(), 8);
        assert_eq!(number("X", Some("3"), 8, 10).unwrap(), 3);
        assert!(number("X", Some("0"), 8, 10).is_err());
        assert!(number("X", Some("11"), 8, 10).is_err());
    }
}
