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

/// The bundle of a public page's address, if it is one.
pub fn public_bundle(path: &str) -> Option<&'static str> {
    SURFACES
        .iter()
        .find(|(prefix, _)| path.starts_with(prefix))
        .map(|(_, bundle)| *bundle)
}

/// The options the page's hydration script is written from: a public page's own bundle, when it
/// has been built (a server run straight from `cargo leptos watch`, without them, keeps
/// hydrating every page from the main bundle).
#[cfg(feature = "ssr")]
pub fn for_request(mut options: leptos::config::LeptosOptions) -> leptos::config::LeptosOptions {
    let bundle = leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|parts| public_bundle(parts.uri.path()));
    if let Some(bundle) = bundle
        && built(&options, bundle)
    {
        options.output_name = std::sync::Arc::from(bundle);
    }
    options
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
    }
}
