//! Jasiyo's screens and the server functions behind them.
//!
//! This crate is compiled twice: with `ssr` for the axum host (server functions run, SQL is
//! reachable) and with `hydrate` for the browser (server functions become HTTP calls). Each
//! capability has its own folder: `model.rs` for types and rules both sides share, `api.rs` for
//! the `#[server]` functions, `pages.rs` for components, and ssr-only `store.rs` for SQL.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]
// Release builds keep Leptos's full view types (debug builds erase them); the operator pages
// nest deeper than rustc's default limit of 128.
#![recursion_limit = "256"]

pub mod areas;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod bundle;
pub mod clock;
pub mod csp;
pub mod customers;
pub mod dashboard;
pub mod error;
pub mod hotspot;
pub mod layout;
pub mod mail;
pub mod messaging;
pub mod money;
pub mod network;
pub mod payments;
pub mod phone;
pub mod plans;
pub mod portal;
pub mod settings;
pub mod staff;
pub mod surface;
pub mod tickets;
pub mod vouchers;
pub mod wire;
pub mod workspace;

#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod outbox;
#[cfg(feature = "ssr")]
pub mod secrets;
#[cfg(feature = "ssr")]
pub mod state;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{ParentRoute, Redirect, Route, Router, Routes},
    path,
};

pub use error::AppError;

/// The HTML document the server streams around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let options = bundle::for_request(options);
    let path = bundle::request_path();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="theme-color" content="#0f5132" />
                // An inline icon: no extra request and no asset folder to ship.
                <link
                    rel="icon"
                    href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E%3Crect width='32' height='32' rx='7' fill='%23157347'/%3E%3Ctext x='16' y='23' font-size='19' text-anchor='middle' fill='white' font-family='sans-serif'%3EJ%3C/text%3E%3C/svg%3E"
                />
                <csp::ContentSecurityPolicy />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <Root path />
            </body>
        </html>
    }
}

/// The stylesheet and the title's format, the same on every page.
#[component]
fn DocumentHead() -> impl IntoView {
    view! {
        <Stylesheet id="leptos" href="/pkg/jasiyo.css" />
        <Title formatter=|title: String| {
            if title.is_empty() { "Jasiyo".to_string() } else { format!("{title} · Jasiyo") }
        } />
    }
}

/// The root component: routes for every surface.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <DocumentHead />
        <Router>
            <Routes fallback=areas::NotFound>
                <Route path=path!("/") view=|| view! { <Redirect path="/app" /> } />
                <Route path=path!("/login") view=auth::pages::SignInPage ssr=SsrMode::Async />
                <Route path=path!("/signup") view=auth::pages::SignUpPage ssr=SsrMode::Async />
                <Route path=path!("/verify-email") view=auth::pages::VerifyEmailPage ssr=SsrMode::Async />
                <Route path=path!("/forgot-password") view=auth::pages::ForgotPasswordPage ssr=SsrMode::Async />
                <Route path=path!("/reset-password") view=auth::pages::ResetPasswordPage ssr=SsrMode::Async />
                <Route path=path!("/pay/:code") view=payments::pay_page::PayPage ssr=SsrMode::Async />
                <Route path=path!("/portal/:slug") view=portal::pages::PortalPage ssr=SsrMode::Async />
                <Route path=path!("/hotspot/:slug") view=hotspot::pages::HotspotPage ssr=SsrMode::Async />
                <Route path=path!("/vouchers/print/:batch") view=vouchers::pages::VoucherSheetPage ssr=SsrMode::Async />
                <Route path=path!("/accept-invitation") view=staff::pages::AcceptInvitationPage ssr=SsrMode::Async />
                // Async: the operator pages arrive complete, readable before (or without) the
                // WebAssembly, instead of streaming placeholders that need a script to fill.
                <ParentRoute path=path!("/app") view=layout::OperatorLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=dashboard::DashboardPage />
                    <Route path=path!("customers") view=customers::pages::CustomersPage />
                    <Route path=path!("customers/import") view=customers::import_page::ImportCustomersPage />
                    <Route path=path!("plans") view=plans::pages::PlansPage />
                    <Route path=path!("invoices") view=billing::pages::InvoicesPage />
                    <Route path=path!("payments") view=payments::transactions_page::TransactionsPage />
                    <Route path=path!("payments/unmatched") view=payments::pages::UnmatchedPage />
                    <Route path=path!("payments/reconciliation") view=payments::transactions_page::ReconciliationPage />
                    <Route path=path!("payments/events") view=payments::transactions_page::ProviderEventsPage />
                    <Route path=path!("routers") view=network::pages::RoutersPage />
                    <Route path=path!("routers/:id") view=network::pages::RouterPage />
                    <Route path=path!("vouchers") view=vouchers::pages::VouchersPage />
                    <Route path=path!("tickets") view=tickets::pages::TicketsPage />
                    <Route path=path!("tickets/:id") view=tickets::pages::TicketPage />
                    <Route path=path!("messages") view=messaging::log_page::MessagesPage />
                    <Route path=path!("messages/bulk") view=messaging::bulk_page::BulkSmsPage />
                    <Route path=path!("messages/bulk/:id") view=messaging::bulk_page::BulkProgressPage />
                    <Route path=path!("reports") view=billing::pages::ReportsPage />
                    <Route path=path!("settings") view=settings::GeneralSettingsPage />
                    <Route path=path!("settings/billing") view=billing::pages::BillingSettingsPage />
                    <Route path=path!("settings/payments") view=payments::pages::PaymentSettingsPage />
                    <Route path=path!("settings/messages") view=messaging::pages::MessageSettingsPage />
                    <Route path=path!("settings/staff") view=staff::pages::StaffPage />
                    <Route path=path!("settings/audit") view=audit::pages::AuditLogPage />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// The root for an address: a public page's own (see `surface`), or [`App`]. The server renders
/// and the main bundle hydrates through this, so both pick the same; a public page's own bundle
/// mounts its root directly.
#[component]
pub fn Root(path: String) -> impl IntoView {
    match bundle::Surface::of(&path) {
        Some(bundle::Surface::Pay) => view! { <PayApp /> }.into_any(),
        Some(bundle::Surface::Portal) => view! { <PortalApp /> }.into_any(),
        Some(bundle::Surface::Hotspot) => view! { <HotspotApp /> }.into_any(),
        None => view! { <App /> }.into_any(),
    }
}

/// A public page's own root: the same head as [`App`] around that page alone, without a router
/// (see `surface`), so the bundle built from it (`frontend-public`) carries nothing else.
macro_rules! surface_app {
    ($(#[$doc:meta])* $name:ident, $page:path) => {
        $(#[$doc])*
        #[component]
        pub fn $name() -> impl IntoView {
            provide_meta_context();
            surface::load_redirects();
            view! {
                <DocumentHead />
                <$page />
            }
        }
    };
}

surface_app!(
    /// `/pay/{code}` alone (bundle `jasiyo_pay`).
    PayApp,
    payments::pay_page::PayPage
);
surface_app!(
    /// `/portal/{isp}` alone (bundle `jasiyo_portal`).
    PortalApp,
    portal::pages::PortalPage
);
surface_app!(
    /// `/hotspot/{isp}` alone (bundle `jasiyo_hotspot`).
    HotspotApp,
    hotspot::pages::HotspotPage
);
