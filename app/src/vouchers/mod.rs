//! Hotspot vouchers: codes an ISP prints and sells over the counter. Each is a hotspot user
//! (user name and password both the code) on its router, or is answered by RADIUS; it is used
//! when first seen in accounting or on the router, and ends when its plan's validity has run
//! from then, or unused when its shelf life ends.

pub mod api;
pub mod model;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod service;
