//! Stand-ins for the outside world, listening on real sockets on 127.0.0.1, for demo mode and
//! tests: Jasiyo's real clients talk to them exactly as to the real services.

pub mod daraja;
pub mod generic_sms;
pub mod nas;
pub mod paystack;
pub mod routeros;
pub mod sms;
pub mod smtp;
