//! Money coming in from providers: each ISP's M-Pesa Daraja and Paystack settings, the clients
//! that talk to the providers, and the shape of what the providers send.

pub mod api;
#[cfg(feature = "ssr")]
pub mod daraja;
#[cfg(feature = "ssr")]
pub mod daraja_wire;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod paystack_wire;
#[cfg(feature = "ssr")]
pub mod settings;
