//! Network enforcement: what the routers are told so that each service is on when it is paid
//! for and off when it is not.
//!
//! The database holds each service's desired state (`network_entries`, kept by triggers in the
//! transaction that changes a service); the worker turns changes into commands in a durable
//! per-router queue and pushes them over the RouterOS APIs, or hands them to the phone-home
//! agent when the router checks in. Nothing here talks to a router inside a web request.

pub mod api;
pub mod model;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod agent;
#[cfg(feature = "ssr")]
pub mod command_spec;
#[cfg(feature = "ssr")]
pub mod queue;
#[cfg(feature = "ssr")]
pub mod radius_cache;
#[cfg(feature = "ssr")]
pub mod radius_packet;
#[cfg(feature = "ssr")]
pub mod radius_server;
#[cfg(feature = "ssr")]
pub mod router_error;
#[cfg(feature = "ssr")]
pub mod routeros_api;
#[cfg(feature = "ssr")]
pub mod routeros_rest;
#[cfg(feature = "ssr")]
pub mod routeros_v6;
#[cfg(feature = "ssr")]
pub mod routers;
#[cfg(feature = "ssr")]
pub mod worker;
