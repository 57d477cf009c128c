//! The audit log: who did what to which entity, before and after, from where and when. Written
//! with [`store::record`] inside the same transaction as the change it describes, so a change
//! and its record commit or roll back together. Read on Settings → Audit log.

pub mod api;
pub mod model;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod store;
