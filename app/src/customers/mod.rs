//! Customers (an ISP's subscribers) and their services: the plan each is on, the log-in the
//! router knows them by, and whether they are active, expired or suspended.

pub mod api;
pub mod import_page;
pub mod model;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod import;
#[cfg(feature = "ssr")]
pub mod service;
