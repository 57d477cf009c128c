//! Messages to subscribers: templates and their SMS count (shared with the browser), the SMS
//! outbox and the gateway it is sent through, and Settings → Messages.

pub mod api;
pub mod log_page;
pub mod model;
pub mod pages;
pub mod segments;
pub mod template;

#[cfg(feature = "ssr")]
pub mod africastalking;
#[cfg(feature = "ssr")]
pub mod delivery;
#[cfg(feature = "ssr")]
pub mod log;
#[cfg(feature = "ssr")]
pub mod reminders;
#[cfg(feature = "ssr")]
pub mod sms;
#[cfg(feature = "ssr")]
pub mod templates;
