//! The Content-Security-Policy of every page, bound to the nonce Leptos puts on its inline
//! scripts for this one response: scripts run only from our origin or with that nonce, the
//! WebAssembly may compile, nothing may frame the page.

/// The policy for a page at `path` rendered with `nonce`. Forms post only to our origin, except
/// on the hotspot page, whose last step posts the code to the hotspot router's own login
/// address (a private address on the visitor's network, often plain `http:`).
pub fn page_policy(nonce: &str, path: &str) -> String {
    let form_action = if path.starts_with("/hotspot/") {
        "'self' http: https:"
    } else {
        "'self'"
    };
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action {form_action}; frame-ancestors 'none'"
    )
}

/// Sets the page's policy header while it is rendered on the server; renders nothing.
#[leptos::component]
pub fn ContentSecurityPolicy() -> impl leptos::IntoView {
    #[cfg(feature = "ssr")]
    {
        use leptos::prelude::use_context;
        let path = use_context::<axum::http::request::Parts>()
            .map(|parts| parts.uri.path().to_string())
            .unwrap_or_default();
        if let (Some(nonce), Some(response)) = (
            leptos::nonce::use_nonce(),
            use_context::<leptos_axum::ResponseOptions>(),
        ) && let Ok(value) = axum::http::HeaderValue::from_str(&page_policy(&nonce, &path))
        {
            response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_policy_names_the_nonce_and_forbids_framing() {
        let policy = page_policy("abc123", "/app");
        assert!(policy.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval'"));
        assert!(policy.contains("frame-ancestors 'none'"));
        assert!(policy.contains("form-action 'self';"));
        assert!(!policy.contains("unsafe-inline"));
    }

    #[test]
    fn only_the_hotspot_page_may_post_to_the_router() {
        assert!(page_policy("n", "/hotspot/acme").contains("form-action 'self' http: https:;"));
        assert!(page_policy("n", "/portal/acme").contains("form-action 'self';"));
        assert!(page_policy("n", "/app/hotspot/x").contains("form-action 'self';"));
    }
}
