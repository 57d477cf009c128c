//! What the hotspot page shows, shared by the server and the browser, and the rules both apply
//! to what the router passes on.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::payments::model::PaymentRequestView;

/// A package on sale at the hotspot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HotspotPlan {
    pub id: Uuid,
    pub name: String,
    pub price_minor: i64,
    /// "1 hour", "7 days".
    pub validity: String,
    /// "5M/10M".
    pub speed: String,
    /// "2 GB", when the plan has a data cap.
    pub data_cap: Option<String>,
    /// Devices that may use one code at once, when the plan says.
    pub shared_users: Option<i32>,
}

/// The hotspot page of an ISP, as a visitor behind one of its routers sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HotspotView {
    pub business: String,
    pub slug: String,
    pub has_logo: bool,
    pub plans: Vec<HotspotPlan>,
    /// Whether packages can be bought by M-Pesa here (the ISP set M-Pesa up).
    pub mpesa: bool,
}

/// Where a purchase stands: the payment, and once paid the code and whether the router has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purchase {
    pub request: PaymentRequestView,
    pub code: Option<String>,
    /// The router knows the code (or RADIUS answers for it): logging in will work now.
    pub ready: bool,
}

/// A voucher accepted by "Use voucher".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redeemed {
    pub code: String,
    pub plan: String,
    pub ready: bool,
}

/// What the router's login page passes on (`$(mac)`, `$(ip)`, `$(link-login-only)`,
/// `$(link-orig)`), plus the router's id that our `login.html` adds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouterParams {
    pub router: Option<Uuid>,
    pub mac: Option<String>,
    pub ip: Option<String>,
    /// Where the device logs in: checked by `login_target`.
    pub link_login: Option<String>,
    /// Where the visitor was going.
    pub link_orig: Option<String>,
}

/// The router's login address, if it is one a page may post a code to: an `http` or `https`
/// address (never `javascript:` or `data:`) of at most 300 characters with nothing in it that
/// would need escaping. Anything else is dropped, and the page then shows the code to type into
/// the router's own page instead.
pub fn login_target(raw: &str) -> Option<String> {
    let url = raw.trim();
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"))?;
    let host_ok = rest
        .split(['/', '?', '#'])
        .next()
        .is_some_and(|host| !host.is_empty() && !host.contains('@'));
    let chars_ok = url
        .chars()
        .all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '<' | '>' | '\\' | '`'));
    (url.len() <= 300 && host_ok && chars_ok).then(|| url.to_string())
}

/// Where the visitor goes after logging in: an `http(s)` address, or nothing.
pub fn original_target(raw: &str) -> Option<String> {
    login_target(raw)
}

/// The `login.html` to put in a MikroTik router's hotspot directory: it sends every visitor to
/// this ISP's hotspot page with what the router knows (RouterOS fills in the `$(…-esc)`
/// variables, URL-escaped).
pub fn router_login_html(public_url: &str, slug: &str, router: Uuid, business: &str) -> String {
    let base = public_url.trim_end_matches('/');
    let target = format!(
        "{base}/hotspot/{slug}?router={router}&mac=$(mac-esc)&ip=$(ip)&link-login=$(link-login-only-esc)&link-orig=$(link-orig-esc)"
    );
    let business = html_escape(business);
    format!(
        r#"<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="0; url={target}">
<title>{business} WiFi</title>
</head>
<body>
<p>Opening the {business} WiFi page… <a href="{target}">Continue</a></p>
</body>
</html>
"#
    )
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The lines to run on the router so that visitors reach this server before they log in.
pub fn walled_garden_lines(public_url: &str) -> String {
    let host = public_url
        .trim_end_matches('/')
        .split("://")
        .nth(1)
        .unwrap_or(public_url)
        .split(['/', ':'])
        .next()
        .unwrap_or_default()
        .to_string();
    format!(
        "/ip hotspot walled-garden add dst-host={host} comment=jasiyo\n\
         /ip hotspot profile set [find] login-by=http-pap,http-chap,cookie"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_targets_are_plain_web_addresses() {
        assert_eq!(
            login_target(" http://10.5.50.1/login ").as_deref(),
            Some("http://10.5.50.1/login")
        );
        assert!(login_target("https://wifi.example.co.ke/login?x=1").is_some());
        assert_eq!(login_target("javascript:alert(1)"), None);
        assert_eq!(login_target("JAVASCRIPT://x/%0aalert(1)"), None);
        assert_eq!(login_target("data:text/html,hi"), None);
        assert_eq!(login_target("http://"), None);
        assert_eq!(login_target("http://user@evil/"), None);
        assert_eq!(login_target("http://10.5.50.1/lo\"gin"), None);
        assert_eq!(login_target("http://10.5.50.1/ login"), None);
        assert_eq!(login_target(&format!("http://h/{}", "a".repeat(300))), None);
    }

    #[test]
    fn the_login_page_sends_visitors_here_with_what_the_router_knows() {
        let router = Uuid::nil();
        let html = router_login_html("https://app.jasiyo.test/", "acme", router, "A&B <Net>");
        assert!(html.contains(
            "url=https://app.jasiyo.test/hotspot/acme?router=00000000-0000-0000-0000-000000000000&mac=$(mac-esc)&ip=$(ip)&link-login=$(link-login-only-esc)&link-orig=$(link-orig-esc)"
        ));
        assert!(html.contains("A&amp;B &lt;Net&gt; WiFi"));
    }

    #[test]
    fn the_walled_garden_names_this_host() {
        let lines = walled_garden_lines("https://app.jasiyo.test:8443/");
        assert!(lines.starts_with("/ip hotspot walled-garden add dst-host=app.jasiyo.test "));
    }
}
