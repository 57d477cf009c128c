//! The subscriber portal, `/portal/{isp}`: sign in with a code sent by SMS or an account number
//! and password, see services, expiry and invoices, and pay.

pub mod api;
pub mod model;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod session;
