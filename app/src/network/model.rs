//! Routers and their command queues as both sides see them, and the router form's rules (run in
//! the browser for instant errors and on the server as the check that counts).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::AppError;

/// How Jasiyo reaches a router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouterMode {
    /// The router calls us every few seconds and runs the commands it is given (no inbound port).
    Agent,
    /// RouterOS v7 REST API, pushed from the server.
    Rest,
    /// RouterOS binary API (v6; v7 serves it too), pushed from the server.
    Api,
    /// The router asks our RADIUS server; we disconnect sessions when a service is cut off.
    Radius,
}

impl RouterMode {
    pub const ALL: [RouterMode; 4] = [
        RouterMode::Agent,
        RouterMode::Rest,
        RouterMode::Api,
        RouterMode::Radius,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RouterMode::Agent => "agent",
            RouterMode::Rest => "rest",
            RouterMode::Api => "api",
            RouterMode::Radius => "radius",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RouterMode::Agent => "Phone-home agent",
            RouterMode::Rest => "RouterOS v7 REST API",
            RouterMode::Api => "RouterOS API (v6)",
            RouterMode::Radius => "RADIUS NAS",
        }
    }

    pub fn parse(input: &str) -> Result<Self, AppError> {
        RouterMode::ALL
            .into_iter()
            .find(|m| m.as_str() == input)
            .ok_or_else(|| {
                AppError::invalid("mode", "choose the agent, REST, the v6 API or RADIUS")
            })
    }

    /// Modes the server connects to, which need an address and API credentials.
    pub fn is_pushed(self) -> bool {
        matches!(self, RouterMode::Rest | RouterMode::Api)
    }

    /// The usual port: REST over https 443 (http 80), API-SSL 8729 (plain 8728), and for a
    /// RADIUS NAS the port it takes Disconnect-Requests on (RFC 5176: 3799).
    pub fn default_port(self, tls: bool) -> Option<u16> {
        match (self, tls) {
            (RouterMode::Rest, true) => Some(443),
            (RouterMode::Rest, false) => Some(80),
            (RouterMode::Api, true) => Some(8729),
            (RouterMode::Api, false) => Some(8728),
            (RouterMode::Radius, _) => Some(3799),
            (RouterMode::Agent, _) => None,
        }
    }
}

/// The router form as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouterForm {
    pub name: String,
    #[serde(default)]
    pub site: String,
    pub mode: String,
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub port: String,
    /// A checkbox: https for REST, API-SSL for the API.
    #[serde(default)]
    pub tls: Option<String>,
    #[serde(default)]
    pub api_username: String,
    /// Blank on an edit keeps the stored password.
    #[serde(default)]
    pub api_password: String,
    #[serde(default)]
    pub interval_secs: String,
}

/// A checked router form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterInput {
    pub name: String,
    pub site: Option<String>,
    pub mode: RouterMode,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub tls: bool,
    pub api_username: Option<String>,
    pub api_password: Option<String>,
    pub interval_secs: i32,
}

/// The agent's default check-in interval and the shortest allowed.
pub const DEFAULT_INTERVAL_SECS: i32 = 10;
pub const MIN_INTERVAL_SECS: i32 = 5;

fn blank(value: &str) -> Option<&str> {
    let v = value.trim();
    (!v.is_empty()).then_some(v)
}

/// A host name or IP address as RouterOS and URLs accept it.
pub fn check_host(value: &str) -> Result<String, AppError> {
    let v = value.trim();
    let ok = (1..=253).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'-' | b'_'));
    if ok {
        Ok(v.to_ascii_lowercase())
    } else {
        Err(AppError::invalid(
            "host",
            "enter the router's IP address or host name (letters, digits, dots, colons)",
        ))
    }
}

impl RouterForm {
    /// Checks the form. `editing` lets a blank API password keep the stored one.
    pub fn check(&self, editing: bool) -> Result<RouterInput, AppError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(AppError::invalid(
                "name",
                "enter a name of 1 to 80 characters",
            ));
        }
        let site = blank(&self.site).map(str::to_string);
        if site.as_ref().is_some_and(|s| s.chars().count() > 120) {
            return Err(AppError::invalid("site", "must be at most 120 characters"));
        }
        let mode = RouterMode::parse(self.mode.trim())?;
        let tls = crate::customers::model::checkbox(self.tls.as_deref());
        let host = blank(&self.host).map(check_host).transpose()?;
        let port = match blank(&self.port) {
            None => None,
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| AppError::invalid("port", "enter a port from 1 to 65535"))?,
            ),
        };
        let interval_secs = match blank(&self.interval_secs) {
            None => DEFAULT_INTERVAL_SECS,
            Some(s) => s
                .parse::<i32>()
                .ok()
                .filter(|s| (MIN_INTERVAL_SECS..=3600).contains(s))
                .ok_or_else(|| {
                    AppError::invalid(
                        "interval_secs",
                        format!("check in every {MIN_INTERVAL_SECS} to 3600 seconds"),
                    )
                })?,
        };
        let api_username = blank(&self.api_username).map(str::to_string);
        let api_password = blank(&self.api_password).map(str::to_string);
        if mode.is_pushed() {
            if host.is_none() {
                return Err(AppError::invalid(
                    "host",
                    "the server connects to this router: enter its address",
                ));
            }
            if api_username.as_ref().is_none_or(|u| u.chars().count() > 64) {
                return Err(AppError::invalid(
                    "api_username",
                    "enter the RouterOS user the server signs in as (up to 64 characters)",
                ));
            }
            if api_password.is_none() && !editing {
                return Err(AppError::invalid(
                    "api_password",
                    "enter that user's password",
                ));
            }
        }
        if mode == RouterMode::Api && tls {
            return Err(AppError::invalid(
                "tls",
                "API-SSL (8729) is not supported yet: untick it and use port 8728 over a private \
                 link or VPN, or choose the REST API or the agent",
            ));
        }
        if mode == RouterMode::Radius && host.is_none() {
            return Err(AppError::invalid(
                "host",
                "enter the address the router's RADIUS packets come from",
            ));
        }
        Ok(RouterInput {
            name: name.to_string(),
            site,
            mode,
            host,
            port: port.or_else(|| mode.default_port(tls)),
            tls,
            api_username: if mode.is_pushed() { api_username } else { None },
            api_password: if mode.is_pushed() { api_password } else { None },
            interval_secs,
        })
    }
}

/// Whether a router counts as online: seen within two intervals.
pub fn is_online(last_seen: Option<DateTime<Utc>>, interval_secs: i32, now: DateTime<Utc>) -> bool {
    last_seen
        .is_some_and(|seen| now - seen <= chrono::Duration::seconds(2 * i64::from(interval_secs)))
}

/// A router in the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouterRow {
    pub id: Uuid,
    pub name: String,
    pub site: Option<String>,
    pub mode: RouterMode,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub tls: bool,
    pub api_username: Option<String>,
    pub interval_secs: i32,
    pub online: bool,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub routeros_version: Option<String>,
    pub last_error: Option<String>,
    pub services: i64,
    /// Commands waiting (queued or on their way).
    pub waiting: i64,
    pub failed: i64,
}

/// A command as the router page lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandRow {
    pub id: i64,
    pub username: String,
    /// enabled, disabled, absent
    pub desired: String,
    pub reason: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    /// Due (expiry plus grace, or the change) to confirmed, in milliseconds.
    pub latency_ms: Option<i64>,
}

/// Due-to-confirmed latencies of one kind of change on one router.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyFigures {
    pub count: i64,
    pub p50_ms: Option<i64>,
    pub p95_ms: Option<i64>,
    pub max_ms: Option<i64>,
}

/// The routers page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouterList {
    pub routers: Vec<RouterRow>,
    /// The ISP's UTC offset now, for showing times.
    pub utc_offset_seconds: i32,
    pub can_manage: bool,
}

/// A router's page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouterDetail {
    pub router: RouterRow,
    pub utc_offset_seconds: i32,
    pub can_manage: bool,
    pub commands: Vec<CommandRow>,
    /// Expiry (plus grace) to confirmed cut-off, over the last 7 days.
    pub cut_off: LatencyFigures,
    /// Payment (or reactivation) to confirmed reconnection, over the last 7 days.
    pub reconnect: LatencyFigures,
    /// What to paste into the router: the agent's install script, or the RADIUS settings with
    /// the shared secret (owner/admin only).
    pub install_script: Option<String>,
    /// The hotspot's walled-garden lines (owner/admin only; `login.html` is downloaded from
    /// `/app/routers/{id}/login.html`).
    pub hotspot_setup: Option<String>,
}

impl CommandRow {
    pub fn reason_label(&self) -> &'static str {
        match self.reason.as_str() {
            "added" => "Added",
            "cut_off" => "Cut off at expiry",
            "suspended" => "Suspended",
            "reconnected" => "Reconnected",
            "plan" => "Plan changed",
            "password" => "Password changed",
            "moved" => "Moved",
            "removed" => "Removed",
            _ => "Changed",
        }
    }

    pub fn desired_label(&self) -> &'static str {
        match self.desired.as_str() {
            "enabled" => "On",
            "disabled" => "Off",
            _ => "Removed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(mode: &str) -> RouterForm {
        RouterForm {
            name: "Kasarani POP".into(),
            mode: mode.into(),
            ..RouterForm::default()
        }
    }

    #[test]
    fn an_agent_router_needs_only_a_name() {
        let input = form("agent").check(false).unwrap();
        assert_eq!(input.mode, RouterMode::Agent);
        assert_eq!(input.interval_secs, DEFAULT_INTERVAL_SECS);
        assert_eq!(input.port, None);
        let mut nas = form("radius");
        nas.host = "10.0.0.2".into();
        assert_eq!(nas.check(false).unwrap().port, Some(3799));
    }

    #[test]
    fn pushed_routers_need_an_address_and_credentials() {
        let err = form("api").check(false).unwrap_err();
        assert!(matches!(err, AppError::Invalid { ref field, .. } if field == "host"));
        let mut f = form("api");
        f.host = "10.0.0.1".into();
        let err = f.check(false).unwrap_err();
        assert!(matches!(err, AppError::Invalid { ref field, .. } if field == "api_username"));
        f.api_username = "jasiyo".into();
        let err = f.check(false).unwrap_err();
        assert!(matches!(err, AppError::Invalid { ref field, .. } if field == "api_password"));
        // An edit keeps the stored password when the field is left blank.
        assert!(f.check(true).is_ok());
        f.api_password = "s3cret".into();
        assert_eq!(f.check(false).unwrap().port, Some(8728));
        f.tls = Some("on".into());
        let err = f.check(false).unwrap_err();
        assert!(matches!(err, AppError::Invalid { ref field, .. } if field == "tls"));
        f.mode = "rest".into();
        assert_eq!(f.check(false).unwrap().port, Some(443));
        f.tls = None;
        assert_eq!(f.check(false).unwrap().port, Some(80));
    }

    #[test]
    fn the_interval_is_bounded() {
        let mut f = form("agent");
        f.interval_secs = "4".into();
        assert!(f.check(false).is_err());
        f.interval_secs = "5".into();
        assert_eq!(f.check(false).unwrap().interval_secs, 5);
    }

    #[test]
    fn hosts_are_checked() {
        assert_eq!(
            check_host(" Router.Example.TEST ").unwrap(),
            "router.example.test"
        );
        assert!(check_host("10.0.0.1; rm -rf").is_err());
        assert!(check_host("fe80::1").is_ok());
    }

    #[test]
    fn online_means_seen_within_two_intervals() {
        let now = Utc::now();
        assert!(!is_online(None, 10, now));
        assert!(is_online(
            Some(now - chrono::Duration::seconds(20)),
            10,
            now
        ));
        assert!(!is_online(
            Some(now - chrono::Duration::seconds(21)),
            10,
            now
        ));
    }
}
