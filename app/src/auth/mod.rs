//! Who is asking: staff roles and the signed-in staff member.
//!
//! Sign-in, sessions and invitations arrive with the accounts issue. Until then the only
//! identity is the demo one: in demo mode every request acts as the demo ISP's owner, and
//! outside demo mode nobody is signed in and every staff server function answers
//! `Unauthenticated`. The server-side check lives in one place ([`identity::current_staff`]) so
//! replacing it with real sessions changes no caller.

pub mod model;

#[cfg(feature = "ssr")]
pub mod identity;
