//! The HTTP surface: the Leptos app and its server functions, health, and the layers around them.

use crate::security;
use app::{App, shell, state::AppState};
use axum::{
    Router,
    http::{HeaderName, HeaderValue, Request, header},
    middleware,
    routing::get,
};
use leptos::{config::LeptosOptions, prelude::provide_context};
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower::ServiceBuilder;
use tower_http::{
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Options of the HTTP surface that come from configuration rather than code.
#[derive(Debug, Clone, Default)]
pub struct Surface {
    /// Send `Strict-Transport-Security` (only behind a TLS-terminating proxy).
    pub hsts: bool,
    /// Demo mode: the SMTP sink whose mail `/dev/mail` shows.
    pub dev_mail: Option<crate::simulators::smtp::SmtpSink>,
    /// Demo mode: the SMS simulator whose messages `/dev/sms` shows.
    pub dev_sms: Option<crate::simulators::sms::SmsSim>,
}

/// The largest request body accepted (the logo route sets its own, smaller limit).
pub const MAX_REQUEST_BYTES: usize = 8 * 1024 * 1024;

pub fn router(state: AppState, options: LeptosOptions) -> Router {
    router_with(state, options, Surface::default())
}

pub fn router_with(state: AppState, options: LeptosOptions, surface: Surface) -> Router {
    let routes = generate_route_list(App);
    let context = {
        let state = state.clone();
        move || {
            provide_context(state.clone());
            provide_context(app::auth::identity::RequestStaff::default());
        }
    };
    let db = state.db.clone();

    let router = Router::new()
        .merge(crate::logo::routes(state.clone()))
        .merge(crate::export::routes(state.clone()));
    let router = match surface.dev_mail {
        Some(sink) => router.merge(crate::dev_mail::routes(sink)),
        None => router,
    };
    let router = match surface.dev_sms {
        Some(sim) => router.merge(crate::dev_mail::sms_routes(sim)),
        None => router,
    };
    let router = router
        .route("/healthz", get(move || crate::health::healthz(db.clone())))
        .leptos_routes_with_context(&options, routes, context.clone(), {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context(
            context, shell,
        ))
        .layer(middleware::from_fn(security::refuse_cross_site))
        // Providers post from their servers, not browsers: outside the cross-site check.
        .merge(crate::hooks::routes(state.clone()))
        // So do routers checking in.
        .merge(crate::agent::routes(state.clone()));
    let router = if surface.hsts {
        router.layer(middleware::from_fn(security::strict_transport))
    } else {
        router
    };
    router
        .layer(
            ServiceBuilder::new()
                // Server functions read whole bodies; nothing Jasiyo accepts is larger than a
                // customer import (50,000 lines), so anything beyond this is refused early.
                .layer(RequestBodyLimitLayer::new(MAX_REQUEST_BYTES))
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                        let id = request
                            .headers()
                            .get(&REQUEST_ID)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-");
                        tracing::info_span!(
                            "request",
                            method = %request.method(),
                            path = %request.uri().path(),
                            request_id = %id,
                        )
                    }),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("strict-origin-when-cross-origin"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::X_FRAME_OPTIONS,
                    HeaderValue::from_static("DENY"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(security::DEFAULT_CSP),
                )),
        )
        .with_state(options)
}
