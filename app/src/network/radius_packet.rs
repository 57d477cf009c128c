//! RADIUS packets (RFC 2865 access, RFC 2866 accounting, RFC 5176 disconnect and CoA): decoding
//! what a NAS sends, encoding what we answer, and the MD5-based checks the protocol is built on
//! (the User-Password hiding, the response and accounting authenticators, and
//! Message-Authenticator, the HMAC-MD5 that RFC 3579 defines and BlastRADIUS made mandatory).
//!
//! Written here: the RADIUS crates on crates.io are either unmaintained or servers with their
//! own runtime and storage, and the format is a header and a list of type-length-value
//! attributes. The decoder checks every length against the bytes that arrived and never
//! allocates more than the datagram's size.

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};

pub const ACCESS_REQUEST: u8 = 1;
pub const ACCESS_ACCEPT: u8 = 2;
pub const ACCESS_REJECT: u8 = 3;
pub const ACCOUNTING_REQUEST: u8 = 4;
pub const ACCOUNTING_RESPONSE: u8 = 5;
pub const DISCONNECT_REQUEST: u8 = 40;
pub const DISCONNECT_ACK: u8 = 41;
pub const DISCONNECT_NAK: u8 = 42;

/// Attribute types this server reads or writes.
pub mod attr {
    pub const USER_NAME: u8 = 1;
    pub const USER_PASSWORD: u8 = 2;
    pub const CHAP_PASSWORD: u8 = 3;
    pub const NAS_IP_ADDRESS: u8 = 4;
    pub const FRAMED_IP_ADDRESS: u8 = 8;
    pub const REPLY_MESSAGE: u8 = 18;
    pub const VENDOR_SPECIFIC: u8 = 26;
    pub const SESSION_TIMEOUT: u8 = 27;
    pub const CALLING_STATION_ID: u8 = 31;
    pub const NAS_IDENTIFIER: u8 = 32;
    pub const ACCT_STATUS_TYPE: u8 = 40;
    pub const ACCT_INPUT_OCTETS: u8 = 42;
    pub const ACCT_OUTPUT_OCTETS: u8 = 43;
    pub const ACCT_SESSION_ID: u8 = 44;
    pub const ACCT_SESSION_TIME: u8 = 46;
    pub const ACCT_TERMINATE_CAUSE: u8 = 49;
    pub const ACCT_INPUT_GIGAWORDS: u8 = 52;
    pub const ACCT_OUTPUT_GIGAWORDS: u8 = 53;
    pub const CHAP_CHALLENGE: u8 = 60;
    pub const MESSAGE_AUTHENTICATOR: u8 = 80;
    pub const ACCT_INTERIM_INTERVAL: u8 = 85;
    pub const ERROR_CAUSE: u8 = 101;
}

/// MikroTik's vendor id, and its rate-limit attribute (`rx/tx` as in a simple queue).
pub const MIKROTIK_VENDOR: u32 = 14988;
pub const MIKROTIK_RATE_LIMIT: u8 = 8;

/// The largest packet RFC 2865 allows, and the smallest (a bare header).
pub const MAX_PACKET: usize = 4096;
const HEADER: usize = 20;

/// Why a datagram is not a RADIUS packet we can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("{0} bytes is shorter than a RADIUS header")]
    TooShort(usize),
    #[error("the length field says {stated} bytes; {got} arrived (and at most 4096 are allowed)")]
    BadLength { stated: usize, got: usize },
    #[error("attribute {kind} at byte {at} has a bad length")]
    BadAttribute { kind: u8, at: usize },
    #[error("an attribute value of {0} bytes is longer than 253")]
    ValueTooLong(usize),
    #[error("the packet would be longer than 4096 bytes")]
    PacketTooLong,
    #[error("a hidden password must be 16 to 128 bytes in steps of 16")]
    BadPassword,
}

/// A decoded packet: code, identifier, authenticator and attributes in order (an attribute may
/// repeat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub code: u8,
    pub identifier: u8,
    pub authenticator: [u8; 16],
    pub attributes: Vec<(u8, Vec<u8>)>,
}

impl Packet {
    pub fn new(code: u8, identifier: u8, authenticator: [u8; 16]) -> Self {
        Self {
            code,
            identifier,
            authenticator,
            attributes: Vec::new(),
        }
    }

    /// Reads a datagram. Bytes after the stated length are padding and ignored (RFC 2865 §3).
    pub fn decode(bytes: &[u8]) -> Result<Self, PacketError> {
        if bytes.len() < HEADER {
            return Err(PacketError::TooShort(bytes.len()));
        }
        let stated = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
        if !(HEADER..=MAX_PACKET).contains(&stated) || stated > bytes.len() {
            return Err(PacketError::BadLength {
                stated,
                got: bytes.len(),
            });
        }
        let mut authenticator = [0; 16];
        authenticator.copy_from_slice(&bytes[4..HEADER]);
        let mut attributes = Vec::new();
        let mut at = HEADER;
        while at < stated {
            let kind = bytes[at];
            let length = usize::from(
                *bytes
                    .get(at + 1)
                    .ok_or(PacketError::BadAttribute { kind, at })?,
            );
            if length < 2 || at + length > stated {
                return Err(PacketError::BadAttribute { kind, at });
            }
            attributes.push((kind, bytes[at + 2..at + length].to_vec()));
            at += length;
        }
        Ok(Self {
            code: bytes[0],
            identifier: bytes[1],
            authenticator,
            attributes,
        })
    }

    /// The packet as bytes, with the authenticator as it stands.
    pub fn encode(&self) -> Result<Vec<u8>, PacketError> {
        let mut out = Vec::with_capacity(HEADER + 64);
        out.extend_from_slice(&[self.code, self.identifier, 0, 0]);
        out.extend_from_slice(&self.authenticator);
        for (kind, value) in &self.attributes {
            if value.len() > 253 {
                return Err(PacketError::ValueTooLong(value.len()));
            }
            // Bounded to 255 just above.
            out.push(*kind);
            out.push((value.len() + 2) as u8);
            out.extend_from_slice(value);
        }
        if out.len() > MAX_PACKET {
            return Err(PacketError::PacketTooLong);
        }
        let length = (out.len() as u16).to_be_bytes();
        out[2..4].copy_from_slice(&length);
        Ok(out)
    }

    /// The first attribute of `kind`.
    pub fn get(&self, kind: u8) -> Option<&[u8]> {
        self.attributes
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, v)| v.as_slice())
    }

    pub fn text(&self, kind: u8) -> Option<String> {
        self.get(kind)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// A 32-bit integer attribute.
    pub fn integer(&self, kind: u8) -> Option<u32> {
        let bytes: [u8; 4] = self.get(kind)?.try_into().ok()?;
        Some(u32::from_be_bytes(bytes))
    }

    pub fn push(&mut self, kind: u8, value: impl Into<Vec<u8>>) {
        self.attributes.push((kind, value.into()));
    }

    pub fn push_integer(&mut self, kind: u8, value: u32) {
        self.push(kind, value.to_be_bytes().to_vec());
    }

    /// A vendor-specific attribute (type 26): vendor id, then the vendor's own type-length-value.
    pub fn push_vendor(&mut self, vendor: u32, kind: u8, value: &[u8]) {
        let mut vsa = vendor.to_be_bytes().to_vec();
        vsa.push(kind);
        vsa.push((value.len().min(247) + 2) as u8);
        vsa.extend_from_slice(&value[..value.len().min(247)]);
        self.push(attr::VENDOR_SPECIFIC, vsa);
    }

    /// The first vendor-specific attribute of `vendor` and `kind`.
    pub fn vendor(&self, vendor: u32, kind: u8) -> Option<&[u8]> {
        self.attributes
            .iter()
            .filter(|(k, _)| *k == attr::VENDOR_SPECIFIC)
            .find_map(|(_, v)| {
                let id = u32::from_be_bytes(v.get(..4)?.try_into().ok()?);
                let (&inner, &length) = (v.get(4)?, v.get(5)?);
                (id == vendor && inner == kind)
                    .then(|| v.get(6..usize::from(length) + 4))
                    .flatten()
            })
    }

    /// A byte count split over an octets attribute and its gigawords (RFC 2869: the 32-bit
    /// counter wraps; the gigawords attribute counts the wraps).
    pub fn octets(&self, octets: u8, gigawords: u8) -> u64 {
        let low = u64::from(self.integer(octets).unwrap_or(0));
        let high = u64::from(self.integer(gigawords).unwrap_or(0));
        (high << 32) | low
    }
}

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut hash = Md5::new();
    for part in parts {
        hash.update(part);
    }
    hash.finalize().into()
}

/// Hides a password as a NAS does for User-Password (RFC 2865 §5.2): padded to 16-byte blocks,
/// each XORed with MD5(secret + the previous block), the first with the request authenticator.
pub fn hide_password(password: &[u8], secret: &[u8], authenticator: &[u8; 16]) -> Vec<u8> {
    let mut padded = password.to_vec();
    padded.resize(password.len().div_ceil(16).clamp(1, 8) * 16, 0);
    let mut out = Vec::with_capacity(padded.len());
    let mut previous: Vec<u8> = authenticator.to_vec();
    for block in padded.chunks(16) {
        let key = md5(&[secret, &previous]);
        let hidden: Vec<u8> = block.iter().zip(key).map(|(b, k)| b ^ k).collect();
        out.extend_from_slice(&hidden);
        previous = hidden;
    }
    out
}

/// Recovers a User-Password; the padding is removed.
pub fn reveal_password(
    hidden: &[u8],
    secret: &[u8],
    authenticator: &[u8; 16],
) -> Result<Vec<u8>, PacketError> {
    if hidden.is_empty() || hidden.len() > 128 || !hidden.len().is_multiple_of(16) {
        return Err(PacketError::BadPassword);
    }
    let mut out = Vec::with_capacity(hidden.len());
    let mut previous: &[u8] = authenticator;
    for block in hidden.chunks(16) {
        let key = md5(&[secret, previous]);
        out.extend(block.iter().zip(key).map(|(b, k)| b ^ k));
        previous = block;
    }
    while out.last() == Some(&0) {
        out.pop();
    }
    Ok(out)
}

/// Whether a CHAP-Password (id byte + MD5(id + password + challenge)) matches `password`. The
/// challenge is the CHAP-Challenge attribute, or the request authenticator without one.
pub fn chap_matches(chap: &[u8], password: &[u8], challenge: &[u8]) -> bool {
    let Some((&id, response)) = chap.split_first() else {
        return false;
    };
    response.len() == 16 && constant_eq(&md5(&[&[id], password, challenge]), response)
}

/// Sets the authenticator of a reply (`bytes`, encoded with the request's authenticator in
/// place): MD5(code + identifier + length + request authenticator + attributes + secret). The
/// same formula, with 16 zero bytes, signs an Accounting-Request or a Disconnect-Request.
pub fn sign(bytes: &mut [u8], secret: &[u8]) {
    if bytes.len() < HEADER {
        return;
    }
    let digest = md5(&[bytes, secret]);
    bytes[4..HEADER].copy_from_slice(&digest);
}

/// Whether an Accounting-Request or a Disconnect/CoA packet was signed with `secret`: its
/// authenticator is MD5 of the packet with 16 zero bytes in its place, plus the secret.
pub fn request_signed(bytes: &[u8], secret: &[u8]) -> bool {
    if bytes.len() < HEADER {
        return false;
    }
    let mut zeroed = bytes.to_vec();
    zeroed[4..HEADER].fill(0);
    constant_eq(&md5(&[&zeroed, secret]), &bytes[4..HEADER])
}

/// Whether a reply was signed with `secret` for the request whose authenticator is
/// `request_authenticator`.
pub fn reply_signed(bytes: &[u8], secret: &[u8], request_authenticator: &[u8; 16]) -> bool {
    if bytes.len() < HEADER {
        return false;
    }
    let mut with_request = bytes.to_vec();
    with_request[4..HEADER].copy_from_slice(request_authenticator);
    constant_eq(&md5(&[&with_request, secret]), &bytes[4..HEADER])
}

fn hmac_md5(secret: &[u8], bytes: &[u8]) -> [u8; 16] {
    // HMAC takes keys of any length, so this cannot fail; an empty MAC never matches.
    let Ok(mut mac) = <Hmac<Md5> as KeyInit>::new_from_slice(secret) else {
        return [0; 16];
    };
    mac.update(bytes);
    mac.finalize().into_bytes().into()
}

/// Where the Message-Authenticator's 16 bytes are in an encoded packet.
fn message_authenticator_at(bytes: &[u8]) -> Option<usize> {
    let stated = usize::from(u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?])).min(bytes.len());
    let mut at = HEADER;
    while at + 2 <= stated {
        let (kind, length) = (bytes[at], usize::from(bytes[at + 1]));
        // An attribute running past the packet ends the search (found by fuzzing: the
        // Message-Authenticator's 16 bytes were sliced past the end of a short datagram).
        if length < 2 || at + length > stated {
            return None;
        }
        if kind == attr::MESSAGE_AUTHENTICATOR && length == 18 {
            return Some(at + 2);
        }
        at += length;
    }
    None
}

/// Whether the packet carries a Message-Authenticator that HMAC-MD5 under `secret` confirms
/// (computed with the attribute zeroed and, for a reply, the request's authenticator in the
/// header). `false` when it has none.
pub fn message_authenticator_valid(
    bytes: &[u8],
    secret: &[u8],
    request_authenticator: Option<&[u8; 16]>,
) -> bool {
    let Some(at) = message_authenticator_at(bytes) else {
        return false;
    };
    let mut copy = bytes.to_vec();
    let sent = bytes[at..at + 16].to_vec();
    copy[at..at + 16].fill(0);
    if let Some(request) = request_authenticator {
        copy[4..HEADER].copy_from_slice(request);
    }
    constant_eq(&hmac_md5(secret, &copy), &sent)
}

/// Fills in the Message-Authenticator of an encoded packet (it must already carry one, zeroed,
/// as `Packet::push(MESSAGE_AUTHENTICATOR, [0; 16])` leaves it). Call before `sign` for a reply.
pub fn set_message_authenticator(bytes: &mut [u8], secret: &[u8]) -> bool {
    let Some(at) = message_authenticator_at(bytes) else {
        return false;
    };
    bytes[at..at + 16].fill(0);
    let mac = hmac_md5(secret, bytes);
    bytes[at..at + 16].copy_from_slice(&mac);
    true
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SECRET: &[u8] = b"xyzzy5461";
    const RA: [u8; 16] = [
        0x0f, 0x40, 0x3f, 0x94, 0x73, 0x97, 0x80, 0x57, 0xbd, 0x83, 0xd5, 0xcb, 0x98, 0xf4, 0x22,
        0x7a,
    ];

    /// The hidden password of RFC 2865's example 7.1 (user "nemo", password "arctangent").
    #[test]
    fn the_rfc_example_password_is_hidden_and_revealed() {
        let hidden = hide_password(b"arctangent", SECRET, &RA);
        assert_eq!(
            hidden,
            [
                0x0d, 0xbe, 0x70, 0x8d, 0x93, 0xd4, 0x13, 0xce, 0x31, 0x96, 0xe4, 0x3f, 0x78, 0x2a,
                0x0a, 0xee
            ]
        );
        assert_eq!(
            reveal_password(&hidden, SECRET, &RA).unwrap(),
            b"arctangent"
        );
        assert_eq!(
            reveal_password(&hidden[..15], SECRET, &RA),
            Err(PacketError::BadPassword)
        );
        // A long password spans blocks chained on the previous one.
        let long = b"a password longer than sixteen bytes, spanning three blocks";
        let hidden = hide_password(long, SECRET, &RA);
        assert_eq!(hidden.len(), 64);
        assert_eq!(reveal_password(&hidden, SECRET, &RA).unwrap(), long);
    }

    #[test]
    fn packets_round_trip_and_lengths_are_checked() {
        let mut packet = Packet::new(ACCESS_REQUEST, 7, RA);
        packet.push(attr::USER_NAME, b"nemo".to_vec());
        packet.push(
            attr::USER_PASSWORD,
            hide_password(b"arctangent", SECRET, &RA),
        );
        packet.push_integer(attr::SESSION_TIMEOUT, 3_600);
        packet.push_vendor(MIKROTIK_VENDOR, MIKROTIK_RATE_LIMIT, b"10M/10M");
        let bytes = packet.encode().unwrap();
        assert_eq!(
            usize::from(u16::from_be_bytes([bytes[2], bytes[3]])),
            bytes.len()
        );
        let back = Packet::decode(&bytes).unwrap();
        assert_eq!(back, packet);
        assert_eq!(back.text(attr::USER_NAME).as_deref(), Some("nemo"));
        assert_eq!(back.integer(attr::SESSION_TIMEOUT), Some(3_600));
        assert_eq!(
            back.vendor(MIKROTIK_VENDOR, MIKROTIK_RATE_LIMIT),
            Some(&b"10M/10M"[..])
        );
        // The vendor-specific attribute's bytes, as MikroTik reads them.
        let vsa = back.get(attr::VENDOR_SPECIFIC).unwrap();
        assert_eq!(
            vsa,
            [
                0, 0, 0x3a, 0x8c, 8, 9, b'1', b'0', b'M', b'/', b'1', b'0', b'M'
            ]
        );

        // Padding after the stated length is ignored; a short datagram or bad lengths are not.
        let mut padded = bytes.clone();
        padded.extend_from_slice(&[0xAA; 7]);
        assert_eq!(Packet::decode(&padded).unwrap(), packet);
        assert_eq!(Packet::decode(&bytes[..19]), Err(PacketError::TooShort(19)));
        assert!(matches!(
            Packet::decode(&bytes[..bytes.len() - 1]),
            Err(PacketError::BadLength { .. })
        ));
        let mut zero_length = bytes.clone();
        zero_length[21] = 0;
        assert!(matches!(
            Packet::decode(&zero_length),
            Err(PacketError::BadAttribute { .. })
        ));
        packet.push(attr::REPLY_MESSAGE, vec![b'x'; 254]);
        assert_eq!(packet.encode(), Err(PacketError::ValueTooLong(254)));
    }

    #[test]
    fn octets_fold_in_the_gigawords() {
        let mut packet = Packet::new(ACCOUNTING_REQUEST, 1, [0; 16]);
        packet.push_integer(attr::ACCT_INPUT_OCTETS, 5);
        packet.push_integer(attr::ACCT_INPUT_GIGAWORDS, 2);
        assert_eq!(
            packet.octets(attr::ACCT_INPUT_OCTETS, attr::ACCT_INPUT_GIGAWORDS),
            2 * (1 << 32) + 5
        );
        assert_eq!(
            packet.octets(attr::ACCT_OUTPUT_OCTETS, attr::ACCT_OUTPUT_GIGAWORDS),
            0
        );
    }

    #[test]
    fn replies_and_accounting_requests_are_signed_and_checked() {
        let mut reply = Packet::new(ACCESS_ACCEPT, 7, RA);
        reply.push(attr::MESSAGE_AUTHENTICATOR, vec![0; 16]);
        reply.push_integer(attr::SESSION_TIMEOUT, 60);
        let mut bytes = reply.encode().unwrap();
        // RFC 3579: the Message-Authenticator is computed with the request's authenticator in
        // the header, then the response authenticator covers it.
        assert!(set_message_authenticator(&mut bytes, SECRET));
        sign(&mut bytes, SECRET);
        assert!(reply_signed(&bytes, SECRET, &RA));
        assert!(!reply_signed(&bytes, b"other", &RA));
        assert!(message_authenticator_valid(&bytes, SECRET, Some(&RA)));
        assert!(!message_authenticator_valid(&bytes, b"other", Some(&RA)));

        let mut accounting = Packet::new(ACCOUNTING_REQUEST, 9, [0; 16]);
        accounting.push_integer(attr::ACCT_STATUS_TYPE, 1);
        let mut bytes = accounting.encode().unwrap();
        sign(&mut bytes, SECRET);
        assert!(request_signed(&bytes, SECRET));
        bytes[25] ^= 1;
        assert!(!request_signed(&bytes, SECRET), "a changed byte breaks it");

        // A request with a Message-Authenticator: checked over the packet as sent.
        let mut request = Packet::new(ACCESS_REQUEST, 3, RA);
        request.push(attr::USER_NAME, b"nemo".to_vec());
        request.push(attr::MESSAGE_AUTHENTICATOR, vec![0; 16]);
        let mut bytes = request.encode().unwrap();
        assert!(set_message_authenticator(&mut bytes, SECRET));
        assert!(message_authenticator_valid(&bytes, SECRET, None));
        let last = bytes.len() - 1;
        bytes[last] ^= 0xFF;
        assert!(!message_authenticator_valid(&bytes, SECRET, None));
        // None at all: not valid (the server requires it).
        let bare = Packet::new(ACCESS_REQUEST, 4, RA).encode().unwrap();
        assert!(!message_authenticator_valid(&bare, SECRET, None));
    }

    #[test]
    fn chap_is_checked_against_the_challenge() {
        let challenge = [7_u8; 16];
        let mut chap = vec![42];
        chap.extend_from_slice(&md5(&[&[42], b"arctangent", &challenge]));
        assert!(chap_matches(&chap, b"arctangent", &challenge));
        assert!(!chap_matches(&chap, b"wrong", &challenge));
        assert!(!chap_matches(&chap[..10], b"arctangent", &challenge));
        assert!(!chap_matches(&[], b"arctangent", &challenge));
    }

    #[test]
    fn a_message_authenticator_cut_short_is_no_message_authenticator() {
        // Found by cargo fuzz: the attribute header claims 18 bytes, the datagram has fewer.
        let mut bytes = vec![1, 0, 0, 24];
        bytes.extend_from_slice(&[0; 16]);
        bytes.extend_from_slice(&[attr::MESSAGE_AUTHENTICATOR, 18, 0, 0]);
        assert!(!message_authenticator_valid(&bytes, b"s", None));
        assert!(!set_message_authenticator(&mut bytes, b"s"));
    }

    proptest! {
        #[test]
        fn arbitrary_datagrams_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(packet) = Packet::decode(&bytes) {
                // Whatever decodes encodes back to the bytes it was read from (less padding).
                let encoded = packet.encode().unwrap();
                prop_assert_eq!(&encoded[..], &bytes[..encoded.len()]);
            }
            let _ = message_authenticator_valid(&bytes, SECRET, None);
            let _ = request_signed(&bytes, SECRET);
            let _ = reveal_password(&bytes, SECRET, &RA);
        }

        #[test]
        fn any_password_up_to_128_bytes_round_trips(
            password in proptest::collection::vec(1_u8..=255, 1..=128)
        ) {
            let hidden = hide_password(&password, SECRET, &RA);
            prop_assert_eq!(reveal_password(&hidden, SECRET, &RA).unwrap(), password);
        }
    }
}
