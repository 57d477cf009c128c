//! Money coming in from providers: each ISP's M-Pesa Daraja and Paystack settings, the clients
//! that talk to the providers, and the shape of what the providers send.

pub mod api;
#[cfg(feature = "ssr")]
pub mod applier;
#[cfg(feature = "ssr")]
pub mod c2b;
#[cfg(feature = "ssr")]
pub mod daraja;
#[cfg(feature = "ssr")]
pub mod daraja_wire;
#[cfg(feature = "ssr")]
pub mod events;
#[cfg(feature = "ssr")]
pub mod links;
pub mod model;
pub mod pages;
pub mod pay_page;
#[cfg(feature = "ssr")]
pub mod paystack;
#[cfg(feature = "ssr")]
pub mod paystack_wire;
#[cfg(feature = "ssr")]
pub mod requests;
#[cfg(feature = "ssr")]
pub mod settings;
#[cfg(feature = "ssr")]
pub mod stk;
#[cfg(feature = "ssr")]
pub mod transactions;
pub mod transactions_page;
#[cfg(feature = "ssr")]
pub mod unmatched;

/// A provider's payload that is not what the provider documents: the field and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct WireError {
    pub field: &'static str,
    pub reason: String,
}

impl WireError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}
