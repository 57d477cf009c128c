//! What every request handler and server function can reach on the server.

use crate::{
    auth::session::Timeouts,
    clock::Clock,
    db::Db,
    error::AppError,
    mail::mailer::Mailer,
    network::{
        radius_cache::AuthCache,
        radius_server::{NasTable, RadiusSettings},
        worker::NetworkWorker,
    },
    payments::applier::C2bApplier,
    secrets::Secrets,
};

/// Shared, cheap to clone (everything inside is reference-counted).
#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    pub clock: Clock,
    pub sessions: Timeouts,
    pub mailer: Mailer,
    /// Seals and opens secrets kept in the database.
    pub secrets: Secrets,
    /// Where the payment providers are (the simulators in demo mode and tests).
    pub providers: ProviderUrls,
    /// Applies stored paybill confirmations in batches.
    pub c2b: C2bApplier,
    /// Cuts off, queues and pushes router commands.
    pub network: NetworkWorker,
    /// The RADIUS server's addresses and what it tells NASes.
    pub radius: RadiusSettings,
    /// The RADIUS clients (routers in RADIUS mode), by address.
    pub radius_nases: std::sync::Arc<NasTable>,
    /// Sends queued text messages.
    pub sms: crate::messaging::sms::SmsSender,
    /// What active services' Access-Requests are accepted with, kept fresh by notifications.
    pub radius_cache: std::sync::Arc<AuthCache>,
}

/// Base URLs that replace the providers' real ones; `None` uses the real service.
#[derive(Clone, Debug, Default)]
pub struct ProviderUrls {
    pub daraja_url: Option<String>,
    pub paystack_url: Option<String>,
    /// Where providers reach this server (`JASIYO_PUBLIC_URL`), for callback URLs.
    pub public_url: Option<String>,
}

impl AppState {
    pub fn new(db: Db, secrets: Secrets) -> Self {
        Self {
            db,
            clock: Clock::system(),
            sessions: Timeouts::default(),
            mailer: Mailer::disabled("http://127.0.0.1:3000"),
            secrets,
            providers: ProviderUrls::default(),
            c2b: C2bApplier::default(),
            network: NetworkWorker::default(),
            radius: RadiusSettings::default(),
            radius_nases: std::sync::Arc::default(),
            radius_cache: std::sync::Arc::default(),
            sms: crate::messaging::sms::SmsSender::default(),
        }
    }
}

/// The state provided to server functions by the axum host.
pub fn app_state() -> Result<AppState, AppError> {
    leptos::prelude::use_context::<AppState>().ok_or_else(|| {
        AppError::internal(&std::io::Error::other(
            "AppState was not provided to this server function",
        ))
    })
}
