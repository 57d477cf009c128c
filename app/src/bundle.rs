//! Which browser bundle a page loads. The operator app is large; each public page a subscriber
//! opens on a phone (the payment link, the portal, the hotspot page) hydrates from a bundle of
//! its own (crate `frontend-public`, built once per page by `server/scripts/public-bundle.sh` as
//! `/pkg/jasiyo_{pay,portal,hotspot}.{js,wasm}`), a fraction of the size.

/// The public pages: the address prefix and the bundle's file name, without extension.
pub const SURFACES: [(&str, &str); 3] = [
    ("/pay/", "jasiyo_pay"),
    ("/portal/", "jasiyo_portal"),
    ("/hotspot/", "jasiyo_hotspot"),
];

/// A public page, rendered from a root of its own (see `crate::surface`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Surface {
    Pay,
    Portal,
    Hotspot,
}

impl Surface {
    /// The public page at this address: its prefix and one segment (`/portal/{isp}`, a trailing
    /// slash allowed). Anything deeper is another route (a PDF) or not found.
    pub fn of(path: &str) -> Option<Self> {
        let (index, rest) = SURFACES
            .iter()
            .enumerate()
            .find_map(|(i, (prefix, _))| path.strip_prefix(prefix).map(|rest| (i, rest)))?;
        let key = rest.strip_suffix('/').unwrap_or(rest);
        if key.is_empty() || key.contains('/') {
            return None;
        }
        Some([Surface::Pay, Surface::Portal, Surface::Hotspot][index])
    }

    /// The file name of its bundle, without extension.
    pub fn bundle(self) -> &'static str {
        SURFACES[self as usize].1
    }
}

/// The bundle of a public page's address, if it is one.
pub fn public_bundle(path: &str) -> Option<&'static str> {
    Surface::of(path).map(Surface::bundle)
}

/// The options the page's hydration script is written from: a public page's own bundle, when it
/// has been built (a server run straight from `cargo leptos watch`, without them, keeps
/// hydrating every page from the main bundle).
#[cfg(feature = "ssr")]
pub fn for_request(mut options: leptos::config::LeptosOptions) -> leptos::config::LeptosOptions {
    let bundle = public_bundle(&request_path());
    if let Some(bundle) = bundle
        && built(&options, bundle)
    {
        options.output_name = std::sync::Arc::from(bundle);
    }
    options
}

/// The path of the request being rendered ("" outside one).
#[cfg(feature = "ssr")]
pub fn request_path() -> String {
    leptos::prelude::use_context::<axum::http::request::Parts>()
        .map(|parts| parts.uri.path().to_string())
        .unwrap_or_default()
}

#[cfg(not(feature = "ssr"))]
pub fn request_path() -> String {
    String::new()
}

#[cfg(not(feature = "ssr"))]
pub fn for_request(options: leptos::config::LeptosOptions) -> leptos::config::LeptosOptions {
    options
}

/// Whether a public bundle is on disk, looked up once per process.
#[cfg(feature = "ssr")]
fn built(options: &leptos::config::LeptosOptions, bundle: &str) -> bool {
    static BUILT: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let pkg = std::path::Path::new(&*options.site_root).join(&*options.site_pkg_dir);
            SURFACES
                .iter()
                .map(|(_, name)| *name)
                .filter(|name| pkg.join(format!("{name}.wasm")).exists())
                .collect()
        })
        .contains(&bundle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_subscriber_page_has_its_bundle_and_nothing_else_does() {
        assert_eq!(public_bundle("/pay/abc"), Some("jasiyo_pay"));
        assert_eq!(public_bundle("/portal/demo"), Some("jasiyo_portal"));
        assert_eq!(public_bundle("/hotspot/demo"), Some("jasiyo_hotspot"));
        assert_eq!(public_bundle("/app/customers"), None);
        assert_eq!(public_bundle("/portal"), None);
        assert_eq!(public_bundle("/login"), None);
        assert_eq!(public_bundle("/payments"), None);
        assert_eq!(public_bundle("/portal/demo/"), Some("jasiyo_portal"));
        assert_eq!(public_bundle("/portal/"), None);
        assert_eq!(public_bundle("/portal/demo/invoices/1/pdf"), None);
        assert_eq!(Surface::of("/hotspot/demo"), Some(Surface::Hotspot));
        assert_eq!(Surface::of("/pay/abc"), Some(Surface::Pay));
    }
}
