//! The axum host for Jasiyo: configuration, the HTTP router and its layers, health checks,
//! migrations and the demo seed. The screens and server functions live in the `app` crate.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod agent;
pub mod bench;
pub mod config;
pub mod demo;
pub mod dev_mail;
pub mod export;
pub mod health;
pub mod hooks;
pub mod logo;
pub mod migrate;
pub mod routes;
pub mod security;
pub mod serve;
pub mod simulators;
pub mod telemetry;
