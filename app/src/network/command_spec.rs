//! What one command tells a router about one user name, and how it is carried out over either
//! pushed API. A command carries the whole desired state (not a change), and carrying it out
//! looks first and then adds, sets or removes, so running it twice leaves the router as once.

use serde::{Deserialize, Serialize};

use crate::{
    network::{
        router_error::RouterError,
        routeros_api::{Command, Reply},
        routeros_rest::{Item, RestClient},
        routeros_v6::V6Client,
    },
    plans::model::rate_limit,
};

/// The state a command takes one user name to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandSpec {
    /// pppoe or hotspot
    pub kind: String,
    /// enabled, disabled or absent
    pub desired: String,
    /// The profile that carries the plan's speed (`jasiyo-…`, made if missing).
    pub profile: Option<String>,
    pub rate_limit: Option<String>,
    pub shared_users: Option<i32>,
    pub limit_bytes_total: Option<i64>,
    /// A voucher: its code is also its password, and its plan's validity its uptime limit.
    #[serde(default)]
    pub voucher: bool,
    /// RouterOS duration (`1d`, `3h`, `30m`) of connected time a voucher allows.
    #[serde(default)]
    pub limit_uptime: Option<String>,
}

/// A plan's validity as a RouterOS duration (`limit-uptime`); months count as 30 days.
pub fn routeros_duration(unit: &str, count: i32) -> String {
    match unit {
        "minutes" => format!("{count}m"),
        "hours" => format!("{count}h"),
        "days" => format!("{count}d"),
        "weeks" => format!("{count}w"),
        _ => format!("{}d", i64::from(count) * 30),
    }
}

/// The plan figures a spec is made from.
#[derive(Debug, Clone, Copy)]
pub struct PlanLimits {
    pub download_kbps: i32,
    pub upload_kbps: i32,
    pub burst: Option<(i32, i32)>,
    pub shared_users: Option<i32>,
    pub data_cap_bytes: Option<i64>,
}

impl CommandSpec {
    pub fn new(kind: &str, desired: &str, plan: Option<PlanLimits>) -> Self {
        let enabled = desired == "enabled";
        let plan = plan.filter(|_| enabled);
        let rate = plan.map(|p| rate_limit(p.download_kbps, p.upload_kbps, p.burst));
        let shared = plan
            .and_then(|p| p.shared_users)
            .filter(|_| kind == "hotspot");
        Self {
            kind: kind.to_string(),
            desired: desired.to_string(),
            profile: rate.as_deref().map(|r| profile_name(r, shared)),
            rate_limit: rate,
            shared_users: shared,
            limit_bytes_total: plan
                .and_then(|p| p.data_cap_bytes)
                .filter(|_| kind == "hotspot"),
            voucher: false,
            limit_uptime: None,
        }
    }

    /// The same spec for a voucher whose plan lasts `validity` (a RouterOS duration).
    pub fn for_voucher(mut self, validity: String) -> Self {
        self.voucher = true;
        if self.desired == "enabled" {
            self.limit_uptime = Some(validity);
        }
        self
    }

    /// The menu the user lives in, its active sessions, the profile menu and the attribute an
    /// active session names its user by.
    pub fn menus(&self) -> Menus {
        if self.kind == "hotspot" {
            Menus {
                users: "/ip/hotspot/user",
                active: "/ip/hotspot/active",
                profiles: "/ip/hotspot/user/profile",
                active_user: "user",
            }
        } else {
            Menus {
                users: "/ppp/secret",
                active: "/ppp/active",
                profiles: "/ppp/profile",
                active_user: "name",
            }
        }
    }

    /// The user's attributes when enabled.
    pub fn user_attributes<'a>(
        &'a self,
        username: &'a str,
        password: &'a str,
    ) -> Vec<(&'a str, String)> {
        let mut attrs = vec![
            ("name", username.to_string()),
            ("password", password.to_string()),
            ("disabled", "no".to_string()),
            ("comment", "jasiyo".to_string()),
        ];
        if self.kind == "pppoe" {
            attrs.push(("service", "pppoe".to_string()));
        }
        if let Some(profile) = &self.profile {
            attrs.push(("profile", profile.clone()));
        }
        if let Some(limit) = self.limit_bytes_total {
            attrs.push(("limit-bytes-total", limit.to_string()));
        }
        if let Some(uptime) = &self.limit_uptime {
            attrs.push(("limit-uptime", uptime.clone()));
        }
        attrs
    }

    pub fn profile_attributes(&self) -> Vec<(&str, String)> {
        let mut attrs = Vec::new();
        if let (Some(profile), Some(rate)) = (&self.profile, &self.rate_limit) {
            attrs.push(("name", profile.clone()));
            attrs.push(("rate-limit", rate.clone()));
            if let Some(shared) = self.shared_users {
                attrs.push(("shared-users", shared.to_string()));
            }
        }
        attrs
    }

    /// Whether what the router shows matches this spec.
    pub fn matches(&self, seen: &Observed) -> bool {
        match self.desired.as_str() {
            "enabled" => seen.present && !seen.disabled && seen.profile == self.profile,
            // A user the router never had is as cut off as a disabled one.
            "disabled" => !seen.present || seen.disabled,
            _ => !seen.present,
        }
    }
}

/// Menus of one kind of user.
#[derive(Debug, Clone, Copy)]
pub struct Menus {
    pub users: &'static str,
    pub active: &'static str,
    pub profiles: &'static str,
    pub active_user: &'static str,
}

/// A profile per distinct speed (and hotspot device count): plans with the same speed share it,
/// and a plan whose speed changes moves its users to another profile rather than editing one
/// that other plans use.
pub fn profile_name(rate: &str, shared_users: Option<i32>) -> String {
    let speed: String = rate
        .chars()
        .map(|c| match c {
            '/' => '-',
            ' ' => '_',
            c => c,
        })
        .collect();
    match shared_users {
        Some(n) => format!("jasiyo-{speed}-x{n}"),
        None => format!("jasiyo-{speed}"),
    }
}

/// A user as read back from the router.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    pub present: bool,
    pub disabled: bool,
    pub profile: Option<String>,
}

fn truthy(value: Option<&str>) -> bool {
    matches!(value, Some("true" | "yes"))
}

/// A signed-in session with a router over either pushed API.
pub enum RouterSession {
    V6(V6Client),
    Rest(RestClient),
}

impl RouterSession {
    /// Items of `menu` whose `key` is `value`.
    pub async fn find(
        &mut self,
        menu: &str,
        key: &str,
        value: &str,
    ) -> Result<Vec<Item>, RouterError> {
        match self {
            RouterSession::V6(client) => {
                let command = Command::new(&format!("{menu}/print")).query(key, value);
                let replies = client.run(&command).await?;
                Ok(replies
                    .into_iter()
                    .filter(|r| r.kind == crate::network::routeros_api::ReplyKind::Re)
                    .map(reply_item)
                    .collect())
            }
            RouterSession::Rest(client) => client.print(menu, &[(key, value)]).await,
        }
    }

    /// Every item of `menu`.
    pub async fn list(&mut self, menu: &str) -> Result<Vec<Item>, RouterError> {
        match self {
            RouterSession::V6(client) => {
                let replies = client.run(&Command::new(&format!("{menu}/print"))).await?;
                Ok(replies
                    .into_iter()
                    .filter(|r| r.kind == crate::network::routeros_api::ReplyKind::Re)
                    .map(reply_item)
                    .collect())
            }
            RouterSession::Rest(client) => client.print(menu, &[]).await,
        }
    }

    pub async fn add(&mut self, menu: &str, attrs: &[(&str, String)]) -> Result<(), RouterError> {
        match self {
            RouterSession::V6(client) => {
                let mut command = Command::new(&format!("{menu}/add"));
                for (k, v) in attrs {
                    command = command.attr(k, v);
                }
                client.run(&command).await.map(|_| ())
            }
            RouterSession::Rest(client) => {
                let attrs: Vec<(&str, &str)> =
                    attrs.iter().map(|(k, v)| (*k, v.as_str())).collect();
                client.add(menu, &attrs).await.map(|_| ())
            }
        }
    }

    pub async fn set(
        &mut self,
        menu: &str,
        id: &str,
        attrs: &[(&str, String)],
    ) -> Result<(), RouterError> {
        match self {
            RouterSession::V6(client) => {
                let mut command = Command::new(&format!("{menu}/set")).attr(".id", id);
                for (k, v) in attrs {
                    command = command.attr(k, v);
                }
                client.run(&command).await.map(|_| ())
            }
            RouterSession::Rest(client) => {
                let attrs: Vec<(&str, &str)> =
                    attrs.iter().map(|(k, v)| (*k, v.as_str())).collect();
                client.set(menu, id, &attrs).await.map(|_| ())
            }
        }
    }

    pub async fn remove(&mut self, menu: &str, id: &str) -> Result<(), RouterError> {
        match self {
            RouterSession::V6(client) => client
                .run(&Command::new(&format!("{menu}/remove")).attr(".id", id))
                .await
                .map(|_| ()),
            RouterSession::Rest(client) => client.remove(menu, id).await,
        }
    }

    /// The RouterOS version (`/system/resource`), which also proves the session works.
    pub async fn version(&mut self) -> Result<Option<String>, RouterError> {
        let items = match self {
            RouterSession::V6(client) => client
                .run(&Command::new("/system/resource/print"))
                .await?
                .into_iter()
                .filter(|r| r.kind == crate::network::routeros_api::ReplyKind::Re)
                .map(reply_item)
                .collect(),
            RouterSession::Rest(client) => client.print("/system/resource", &[]).await?,
        };
        Ok(items.into_iter().find_map(|i| i.get("version").cloned()))
    }

    /// Carries out `spec` for `username` (the password is needed only to enable) and reads the
    /// user back. Idempotent: every step looks before it changes.
    pub async fn apply(
        &mut self,
        spec: &CommandSpec,
        username: &str,
        password: Option<&str>,
    ) -> Result<Observed, RouterError> {
        let menus = spec.menus();
        let existing = self.find(menus.users, "name", username).await?;
        match spec.desired.as_str() {
            "enabled" => {
                let profile = spec.profile_attributes();
                if let Some(name) = &spec.profile {
                    let found = self.find(menus.profiles, "name", name).await?;
                    match found.first().and_then(|p| p.get(".id")) {
                        None => self.add(menus.profiles, &profile).await?,
                        Some(id) => {
                            let id = id.clone();
                            self.set(menus.profiles, &id, &profile[1..]).await?
                        }
                    }
                }
                let password = password.ok_or_else(|| {
                    RouterError::Refused("the service's password could not be read".into())
                })?;
                let attrs = spec.user_attributes(username, password);
                match existing.first().and_then(|u| u.get(".id")) {
                    None => self.add(menus.users, &attrs).await?,
                    Some(id) => {
                        let id = id.clone();
                        self.set(menus.users, &id, &attrs[1..]).await?
                    }
                }
            }
            "disabled" => {
                if let Some(id) = existing.first().and_then(|u| u.get(".id")) {
                    let id = id.clone();
                    self.set(menus.users, &id, &[("disabled", "yes".to_string())])
                        .await?;
                }
                self.kick(menus, username).await?;
            }
            _ => {
                for user in &existing {
                    if let Some(id) = user.get(".id") {
                        self.remove(menus.users, id).await?;
                    }
                }
                self.kick(menus, username).await?;
            }
        }
        self.observe(spec, username).await
    }

    /// Ends the user's sessions, so a cut-off takes effect now rather than at the next log-in.
    async fn kick(&mut self, menus: Menus, username: &str) -> Result<(), RouterError> {
        for session in self.find(menus.active, menus.active_user, username).await? {
            if let Some(id) = session.get(".id") {
                self.remove(menus.active, id).await?;
            }
        }
        Ok(())
    }

    pub async fn observe(
        &mut self,
        spec: &CommandSpec,
        username: &str,
    ) -> Result<Observed, RouterError> {
        let menus = spec.menus();
        let found = self.find(menus.users, "name", username).await?;
        Ok(match found.first() {
            None => Observed::default(),
            Some(user) => Observed {
                present: true,
                disabled: truthy(user.get("disabled").map(String::as_str)),
                profile: user.get("profile").cloned(),
            },
        })
    }
}

fn reply_item(reply: Reply) -> Item {
    reply.attributes.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> PlanLimits {
        PlanLimits {
            download_kbps: 10_000,
            upload_kbps: 5_000,
            burst: None,
            shared_users: Some(2),
            data_cap_bytes: Some(1_000_000_000),
        }
    }

    #[test]
    fn profiles_are_named_after_speed() {
        let pppoe = CommandSpec::new("pppoe", "enabled", Some(plan()));
        assert_eq!(pppoe.rate_limit.as_deref(), Some("5M/10M"));
        assert_eq!(pppoe.profile.as_deref(), Some("jasiyo-5M-10M"));
        assert_eq!(
            pppoe.shared_users, None,
            "device limits are a hotspot thing"
        );
        let hotspot = CommandSpec::new("hotspot", "enabled", Some(plan()));
        assert_eq!(hotspot.profile.as_deref(), Some("jasiyo-5M-10M-x2"));
        assert_eq!(hotspot.limit_bytes_total, Some(1_000_000_000));
    }

    #[test]
    fn a_voucher_is_limited_to_its_plans_time() {
        let spec = CommandSpec::new("hotspot", "enabled", Some(plan()))
            .for_voucher(routeros_duration("hours", 3));
        assert!(spec.voucher);
        let attrs = spec.user_attributes("X7K2-P9MQ", "X7K2-P9MQ");
        assert!(attrs.contains(&("limit-uptime", "3h".to_string())));
        assert_eq!(routeros_duration("months", 1), "30d");
    }

    #[test]
    fn a_cut_off_carries_no_plan() {
        let spec = CommandSpec::new("pppoe", "disabled", Some(plan()));
        assert_eq!(spec.profile, None);
        assert!(spec.matches(&Observed::default()));
        assert!(spec.matches(&Observed {
            present: true,
            disabled: true,
            profile: None
        }));
        assert!(!spec.matches(&Observed {
            present: true,
            disabled: false,
            profile: None
        }));
    }

    #[test]
    fn enabled_needs_the_right_profile() {
        let spec = CommandSpec::new("pppoe", "enabled", Some(plan()));
        let mut seen = Observed {
            present: true,
            disabled: false,
            profile: Some("jasiyo-5M-10M".into()),
        };
        assert!(spec.matches(&seen));
        seen.profile = Some("default".into());
        assert!(!spec.matches(&seen));
    }
}
