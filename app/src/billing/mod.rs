//! Billing: the double-entry ledger, invoices and credit notes, what staff do to them, the
//! billing job that renews and bills on schedule, statements, PDFs and the money report.

pub mod api;
pub mod model;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod actions;
#[cfg(feature = "ssr")]
pub mod documents;
#[cfg(feature = "ssr")]
pub mod invoices;
#[cfg(feature = "ssr")]
pub mod job;
#[cfg(feature = "ssr")]
pub mod ledger;
#[cfg(feature = "ssr")]
pub mod pdf;
#[cfg(feature = "ssr")]
pub mod queries;
