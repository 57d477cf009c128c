//! The ISP's staff: invitations by email with a role, role changes, disabling. The owner is
//! fixed: nobody can demote, disable or remove them.

pub mod api;
pub mod model;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod service;
