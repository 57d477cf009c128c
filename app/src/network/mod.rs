//! Network enforcement: what the routers are told so that each service is on when it is paid
//! for and off when it is not. Being built (issue 7); so far the RouterOS APIs (binary v6 and
//! REST v7) and RADIUS packets.

#[cfg(feature = "ssr")]
pub mod radius_packet;
#[cfg(feature = "ssr")]
pub mod router_error;
#[cfg(feature = "ssr")]
pub mod routeros_api;
#[cfg(feature = "ssr")]
pub mod routeros_rest;
#[cfg(feature = "ssr")]
pub mod routeros_v6;
