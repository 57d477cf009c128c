//! Service plans: what an ISP sells (PPPoE, hotspot, static IP), at what price, for how long and
//! how fast. Owners and admins manage them; a plan is archived rather than deleted once in use.

pub mod api;
pub mod model;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod service;
