//! The subscriber's pages (payment link, portal, hotspot) run without a client-side router.
//!
//! Each is a single page whose forms post and come back: a plain form post without JavaScript,
//! a server function with it, whose redirect then loads the page again. A router would only ever
//! re-render that same page, and it was a sixth of each page's bundle (measured with the other
//! trims of the same change: the hotspot page's bundle 241 KB → 200 KB brotli, the portal's
//! 285 KB → 240 KB; BENCHMARKS.md). So the server renders these pages from roots without one
//! (`PayApp`, `PortalApp`, `HotspotApp`), the browser hydrates the same roots, and a page reads
//! its address here: from the request on the server, from `window.location` in the browser.

/// A public page's address: its path segments and its query.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageUrl {
    segments: Vec<String>,
    query: Vec<(String, String)>,
}

impl PageUrl {
    /// `path` as in `/portal/demo`, `query` without the `?`, percent-encoded as sent.
    pub fn parse(path: &str, query: &str) -> Self {
        PageUrl {
            segments: path
                .split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            query: form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
                .into_owned()
                .collect(),
        }
    }

    /// The path segment after the page's own (`/portal/{slug}` → the slug), or "".
    pub fn key(&self) -> String {
        self.segments.get(1).cloned().unwrap_or_default()
    }

    /// The first value of a query parameter, decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    }
}

/// The address of the page being rendered (server) or shown (browser).
pub fn page_url() -> PageUrl {
    #[cfg(feature = "ssr")]
    {
        leptos::prelude::use_context::<axum::http::request::Parts>()
            .map(|parts| PageUrl::parse(parts.uri.path(), parts.uri.query().unwrap_or("")))
            .unwrap_or_default()
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        let location = leptos::prelude::window().location();
        PageUrl::parse(
            &location.pathname().unwrap_or_default(),
            &location.search().unwrap_or_default(),
        )
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        PageUrl::default()
    }
}

/// Where a server function's redirect takes a public page: the browser loads the address, even
/// when it differs from the current one only after `#` (a form that comes back to the same
/// section must show the page read again, not merely scroll).
pub fn load_redirects() {
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        // Err: already set (by a router, or an earlier page): that one stays.
        let _ = leptos::server_fn::redirect::set_redirect_hook(|target: &str| {
            let location = leptos::prelude::window().location();
            let here = location.href().unwrap_or_default();
            let there = web_sys::Url::new_with_base(target, &here)
                .map(|url| url.href())
                .unwrap_or_else(|_| target.to_string());
            let _ = location.set_href(&there);
            // Only the fragment differs (or nothing): setting it does not load; load it again.
            if without_fragment(&there) == without_fragment(&here) {
                let _ = location.reload();
            }
        });
    }
}

/// An address without what follows `#`.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn without_fragment(href: &str) -> &str {
    href.split('#').next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_key_and_decodes_the_query() {
        let url = PageUrl::parse(
            "/hotspot/demo-isp",
            "?router=7&mac=AA%3ABB&link-login=http%3A%2F%2F10.5.50.1%2Flogin&empty=",
        );
        assert_eq!(url.key(), "demo-isp");
        assert_eq!(url.query("mac").as_deref(), Some("AA:BB"));
        assert_eq!(
            url.query("link-login").as_deref(),
            Some("http://10.5.50.1/login")
        );
        assert_eq!(url.query("empty").as_deref(), Some(""));
        assert_eq!(url.query("missing"), None);
        assert_eq!(PageUrl::parse("/pay/", "").key(), "");
        assert_eq!(
            PageUrl::parse("/portal/x/", "a=1+2").query("a").as_deref(),
            Some("1 2")
        );
        assert_eq!(
            without_fragment("https://x/portal/a?t=1#tickets"),
            "https://x/portal/a?t=1"
        );
        assert_eq!(without_fragment("https://x/portal/a"), "https://x/portal/a");
    }
}
