//! Any datagram: the decoder never panics, and what it accepts encodes back to a packet that
//! decodes the same; the authenticator checks never panic on it either.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../app/src/network/radius_packet.rs"]
#[allow(dead_code)]
mod radius_packet;

fuzz_target!(|data: &[u8]| {
    let secret = b"fuzzing-secret";
    let _ = radius_packet::request_signed(data, secret);
    let _ = radius_packet::message_authenticator_valid(data, secret, None);
    let _ = radius_packet::message_authenticator_valid(data, secret, Some(&[0; 16]));
    if let Ok(packet) = radius_packet::Packet::decode(data) {
        if let Some(hidden) = packet.get(radius_packet::attr::USER_PASSWORD) {
            let _ = radius_packet::reveal_password(hidden, secret, &packet.authenticator);
        }
        let _ = packet.octets(
            radius_packet::attr::ACCT_INPUT_OCTETS,
            radius_packet::attr::ACCT_INPUT_GIGAWORDS,
        );
        let encoded = packet.encode().expect("a decoded packet encodes");
        let again = radius_packet::Packet::decode(&encoded).expect("an encoded packet decodes");
        assert_eq!(again, packet);
    }
});
