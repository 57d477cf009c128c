//! Messages to subscribers: templates and their SMS count (shared with the browser), the SMS
//! outbox and the gateway it is sent through, the texts that follow an account's events
//! (receipts, reminders, cut-off notices, invoices), bulk messages with consent, delivery
//! reports and STOP replies, Settings → Messages and the messages pages.

pub mod api;
pub mod bulk_api;
pub mod bulk_model;
pub mod bulk_page;
pub mod log_page;
pub mod model;
pub mod pages;
pub mod provider_model;
pub mod segments;
pub mod template;

#[cfg(feature = "ssr")]
pub mod africastalking;
#[cfg(feature = "ssr")]
pub mod bulk;
#[cfg(feature = "ssr")]
pub mod consent;
#[cfg(feature = "ssr")]
pub mod delivery;
#[cfg(feature = "ssr")]
pub mod email;
#[cfg(feature = "ssr")]
pub mod events;
#[cfg(feature = "ssr")]
pub mod generic_gateway;
#[cfg(feature = "ssr")]
pub mod log;
#[cfg(feature = "ssr")]
pub mod providers;
#[cfg(feature = "ssr")]
pub mod reminders;
#[cfg(feature = "ssr")]
pub mod sms;
#[cfg(feature = "ssr")]
pub mod templates;
