//! Run-time configuration, from the environment and Leptos.toml.

use std::str::FromStr;

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

/// How many connections the runtime pool may hold (`JASIYO_DB_POOL`, default 10).
pub fn pool_size() -> Result<u32, ConfigError> {
    parse_pool_size(std::env::var("JASIYO_DB_POOL").ok().as_deref())
}

fn parse_pool_size(value: Option<&str>) -> Result<u32, ConfigError> {
    match value {
        None => Ok(10),
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

/// Demo mode (`JASIYO_DEMO=1`): every request acts as the demo ISP's owner until sign-in exists.
pub fn demo_tenant() -> Option<String> {
    match std::env::var("JASIYO_DEMO").as_deref() {
        Ok("1") | Ok("true") => Some(crate::demo::DEMO_SLUG.to_string()),
        _ => None,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_size_defaults_to_ten_and_rejects_nonsense_with_the_variable_named() {
        assert_eq!(parse_pool_size(None).unwrap(), 10);
        assert_eq!(parse_pool_size(Some(" 25 ")).unwrap(), 25);
        for bad in ["0", "501", "-3", "ten", ""] {
            let err = parse_pool_size(Some(bad)).unwrap_err().to_string();
            assert!(err.starts_with("JASIYO_DB_POOL="), "{err}");
            assert!(err.contains("1 to 500"), "{err}");
        }
    }
}
