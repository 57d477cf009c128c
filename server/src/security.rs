//! Request-level defences: refusing cross-site state-changing requests (CSRF) and the response
//! headers every answer carries. The HTML pages set their own Content-Security-Policy with the
//! per-response nonce (see `app::csp`); everything else gets the strict default below.

use axum::{
    extract::Request,
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// For responses that are not pages (JSON, health, files): nothing may be loaded or framed.
pub const DEFAULT_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Server functions are plain POST endpoints with no CSRF token of their own, and the session
/// cookie is `SameSite=Lax`, so a cross-site POST is refused here, before any handler runs.
/// Browsers say where a request comes from in `Sec-Fetch-Site`; older ones only in `Origin`.
/// Requests with neither (curl, payment providers' webhooks) are not browser CSRF and pass.
pub async fn refuse_cross_site(request: Request, next: Next) -> Response {
    if is_safe(request.method()) {
        return next.run(request).await;
    }
    match cross_site(request.headers()) {
        None => next.run(request).await,
        Some(reason) => {
            tracing::warn!(
                method = %request.method(),
                path = %request.uri().path(),
                reason,
                "refused a cross-site request"
            );
            (
                StatusCode::FORBIDDEN,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "Cross-site requests are not accepted. Reload the page and try again.",
            )
                .into_response()
        }
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Why the request is cross-site, or `None` when it is not (or cannot be told).
pub fn cross_site(headers: &HeaderMap) -> Option<&'static str> {
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.as_bytes() {
            b"same-origin" | b"none" => None,
            _ => Some("Sec-Fetch-Site is not same-origin"),
        };
    }
    let origin = headers.get(header::ORIGIN)?;
    let Some(origin_host) = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest)
    else {
        return Some("Origin is opaque or malformed");
    };
    match headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
        Some(host) if host.eq_ignore_ascii_case(origin_host) => None,
        _ => Some("Origin does not match Host"),
    }
}

/// `Strict-Transport-Security` for deployments behind a TLS-terminating proxy
/// (`JASIYO_HSTS=1`); never sent over plain http, where browsers ignore it anyway.
pub async fn strict_transport(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response.headers_mut().insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn same_origin_and_typed_in_requests_pass() {
        assert_eq!(
            cross_site(&headers(&[("sec-fetch-site", "same-origin")])),
            None
        );
        assert_eq!(cross_site(&headers(&[("sec-fetch-site", "none")])), None);
    }

    #[test]
    fn cross_site_and_same_site_requests_are_refused() {
        assert!(cross_site(&headers(&[("sec-fetch-site", "cross-site")])).is_some());
        assert!(cross_site(&headers(&[("sec-fetch-site", "same-site")])).is_some());
    }

    #[test]
    fn without_fetch_metadata_the_origin_must_match_the_host() {
        let ok = headers(&[
            ("origin", "http://127.0.0.1:3000"),
            ("host", "127.0.0.1:3000"),
        ]);
        assert_eq!(cross_site(&ok), None);
        let evil = headers(&[
            ("origin", "https://evil.example"),
            ("host", "isp.jasiyo.app"),
        ]);
        assert!(cross_site(&evil).is_some());
        assert!(cross_site(&headers(&[("origin", "null"), ("host", "a")])).is_some());
    }

    #[test]
    fn requests_without_browser_signals_pass() {
        // Provider webhooks and command-line clients send neither header.
        assert_eq!(cross_site(&headers(&[("host", "isp.jasiyo.app")])), None);
    }
}
