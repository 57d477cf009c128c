//! The hotspot captive page, `/hotspot/{isp}`: a MikroTik hotspot sends visitors here (through
//! the `login.html` downloaded from the router's page); they buy a package by M-Pesa or type a
//! voucher, and the page logs the device in through the router's own login address.

pub mod api;
pub mod model;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod sale;
#[cfg(feature = "ssr")]
pub mod service;
