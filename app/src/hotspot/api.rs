//! The hotspot page's server functions. None needs a session: a purchase is followed by its
//! request id, and a voucher code is its own proof.

use leptos::prelude::*;
use uuid::Uuid;

use crate::{
    error::AppError,
    hotspot::model::{HotspotView, Purchase, Redeemed},
};

/// The ISP's hotspot page: its packages on sale.
#[server(prefix = "/api", endpoint = "hotspot/page", output = crate::wire::Json)]
pub async fn hotspot_page(slug: String) -> Result<HotspotView, AppError> {
    crate::error::respond(async move {
        let state = crate::state::app_state()?;
        crate::hotspot::service::page(&state, &slug).await
    })
    .await
}

/// "Buy": sends the M-Pesa prompt for a package to `phone`.
#[server(prefix = "/api", endpoint = "hotspot/buy", output = crate::wire::Json)]
pub async fn hotspot_buy(
    slug: String,
    plan: Uuid,
    phone: String,
    router: Option<Uuid>,
) -> Result<Purchase, AppError> {
    crate::error::respond(async move {
        let state = crate::state::app_state()?;
        let meta = crate::auth::identity::request_meta();
        crate::hotspot::service::buy(&state, &slug, plan, &phone, router, &meta).await
    })
    .await
}

/// Where a purchase stands; once paid, its code.
#[server(prefix = "/api", endpoint = "hotspot/status", output = crate::wire::Json)]
pub async fn hotspot_status(slug: String, request: Uuid) -> Result<Purchase, AppError> {
    crate::error::respond(async move {
        let state = crate::state::app_state()?;
        crate::hotspot::service::status(&state, &slug, request).await
    })
    .await
}

/// "Use voucher": checks a code before the device logs in with it.
#[server(prefix = "/api", endpoint = "hotspot/voucher", output = crate::wire::Json)]
pub async fn hotspot_redeem(slug: String, code: String) -> Result<Redeemed, AppError> {
    crate::error::respond(async move {
        let state = crate::state::app_state()?;
        let meta = crate::auth::identity::request_meta();
        crate::hotspot::service::redeem(&state, &slug, &code, &meta).await
    })
    .await
}
