//! Who is asking: staff roles and permissions, passwords, sessions, sign-in and sign-out,
//! throttling. Every server function finds its caller with [`identity::current_staff`] or
//! checks a permission with [`identity::require`]; nothing trusts what the page shows.

pub mod api;
pub mod model;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod account;
#[cfg(feature = "ssr")]
pub mod identity;
#[cfg(feature = "ssr")]
pub mod password;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod session;
#[cfg(feature = "ssr")]
pub mod throttle;
