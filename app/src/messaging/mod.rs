//! Messages to subscribers: the SMS outbox and the gateway it is sent through.

#[cfg(feature = "ssr")]
pub mod africastalking;
#[cfg(feature = "ssr")]
pub mod sms;
