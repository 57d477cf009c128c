//! Network enforcement: what the routers are told so that each service is on when it is paid
//! for and off when it is not. Being built (issue 7); so far the RouterOS API's wire format.

#[cfg(feature = "ssr")]
pub mod radius_packet;
#[cfg(feature = "ssr")]
pub mod routeros_api;
#[cfg(feature = "ssr")]
pub mod routeros_v6;
