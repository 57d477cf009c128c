//! Support tickets between subscribers (on the portal) and their ISP's staff (`/app/tickets`).

pub mod api;
pub mod model;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod service;
