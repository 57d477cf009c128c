//! Email: the durable outbox and the SMTP sender. A change that should send mail writes an
//! outbox row in its own transaction ([`outbox::enqueue`]); after commit the row is delivered
//! ([`outbox::deliver_later`]). A failed delivery stays in the outbox with its error.

#[cfg(feature = "ssr")]
pub mod mailer;
#[cfg(feature = "ssr")]
pub mod outbox;
