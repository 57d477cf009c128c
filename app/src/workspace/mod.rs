//! The signed-in ISP's workspace: who and where you are, and whether the system is healthy.

pub mod api;
pub mod model;

#[cfg(feature = "ssr")]
pub mod store;
