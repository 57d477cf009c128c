//! A fake NAS (a MikroTik using RADIUS) for tests, benchmarks and demo mode: it sends
//! Access-Requests (PAP or CHAP, with a Message-Authenticator) and Accounting-Requests from its
//! own loopback address, checks the server's answers are signed with the shared secret, and
//! answers Disconnect-Requests and CoA-Requests with ACK or NAK (or not at all) on its own
//! dynamic-authorization port, keeping a list of what it was asked.

use std::{
    net::{IpAddr, SocketAddr},
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU8, Ordering},
    },
    time::Duration,
};

use app::network::radius_packet::{
    self as rp, ACCESS_REQUEST, ACCOUNTING_REQUEST, DISCONNECT_ACK, DISCONNECT_NAK,
    DISCONNECT_REQUEST, Packet, attr,
};
use tokio::net::UdpSocket;

/// CoA-Request, -ACK and -NAK (RFC 5176).
const COA_REQUEST: u8 = 43;
const COA_ACK: u8 = 44;
const COA_NAK: u8 = 45;

/// How the NAS answers Disconnect-Requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmMode {
    Ack,
    /// NAK with this Error-Cause.
    Nak(u32),
    /// No answer at all (the NAS is down).
    Silent,
}

/// One Disconnect-Request received: user name and Acct-Session-Id.
pub type Disconnected = (String, Option<String>);

struct State {
    mode: DmMode,
    disconnects: Vec<Disconnected>,
}

/// An answer from the server, with whether it was signed as RFC 2865 and 3579 require.
#[derive(Debug, Clone)]
pub struct Answer {
    pub packet: Packet,
    /// The response authenticator and the Message-Authenticator both check out.
    pub signed: bool,
}

/// One accounting packet's contents.
#[derive(Debug, Clone, Default)]
pub struct Acct<'a> {
    /// 1 Start, 2 Stop, 3 Interim-Update, 7 Accounting-On, 8 Accounting-Off.
    pub status: u32,
    pub session_id: &'a str,
    pub username: &'a str,
    pub input_bytes: u64,
    pub output_bytes: u64,
    pub session_time: u32,
    pub framed_ip: Option<[u8; 4]>,
    /// Acct-Terminate-Cause for a Stop.
    pub cause: Option<u32>,
}

#[derive(Clone)]
pub struct FakeNas {
    ip: IpAddr,
    secret: Vec<u8>,
    dm_port: u16,
    next_id: Arc<AtomicU8>,
    state: Arc<Mutex<State>>,
    /// How long to wait for the server's answer.
    pub timeout: Duration,
}

impl FakeNas {
    /// A NAS at `ip` (any 127.x.y.z works on Linux without setup), listening for
    /// Disconnect-Requests on a free port of that address.
    pub async fn start(ip: IpAddr, secret: &str) -> std::io::Result<Self> {
        let dm = UdpSocket::bind((ip, 0)).await?;
        let nas = Self {
            ip,
            secret: secret.as_bytes().to_vec(),
            dm_port: dm.local_addr()?.port(),
            next_id: Arc::new(AtomicU8::new(1)),
            state: Arc::new(Mutex::new(State {
                mode: DmMode::Ack,
                disconnects: Vec::new(),
            })),
            timeout: Duration::from_millis(1_500),
        };
        let serving = nas.clone();
        tokio::spawn(async move { serving.answer_disconnects(dm).await });
        Ok(nas)
    }

    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    pub fn dm_port(&self) -> u16 {
        self.dm_port
    }

    pub fn set_dm_mode(&self, mode: DmMode) {
        self.with(|s| s.mode = mode);
    }

    pub fn disconnects(&self) -> Vec<Disconnected> {
        self.with(|s| s.disconnects.clone())
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn identifier(&self) -> u8 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// An Access-Request with a PAP password, as bytes (tests tamper with them).
    pub fn access_pap_bytes(&self, username: &str, password: &str) -> Vec<u8> {
        let authenticator = random16();
        let mut packet = Packet::new(ACCESS_REQUEST, self.identifier(), authenticator);
        packet.push(attr::USER_NAME, username.as_bytes());
        packet.push(
            attr::USER_PASSWORD,
            rp::hide_password(password.as_bytes(), &self.secret, &authenticator),
        );
        self.finish_access(packet)
    }

    /// An Access-Request with CHAP (a CHAP-Challenge attribute, as MikroTik sends).
    pub fn access_chap_bytes(&self, username: &str, password: &str) -> Vec<u8> {
        let authenticator = random16();
        let challenge = random16();
        let chap_id = 7u8;
        let mut hash = md5::Md5::default();
        md5::Digest::update(&mut hash, [chap_id]);
        md5::Digest::update(&mut hash, password.as_bytes());
        md5::Digest::update(&mut hash, challenge);
        let digest: [u8; 16] = md5::Digest::finalize(hash).into();
        let mut response = vec![chap_id];
        response.extend_from_slice(&digest);
        let mut packet = Packet::new(ACCESS_REQUEST, self.identifier(), authenticator);
        packet.push(attr::USER_NAME, username.as_bytes());
        packet.push(attr::CHAP_PASSWORD, response);
        packet.push(attr::CHAP_CHALLENGE, challenge);
        self.finish_access(packet)
    }

    fn finish_access(&self, mut packet: Packet) -> Vec<u8> {
        packet.push(attr::NAS_IDENTIFIER, b"fake-nas".to_vec());
        packet.push(attr::MESSAGE_AUTHENTICATOR, [0u8; 16]);
        let mut bytes = packet.encode().unwrap_or_default();
        rp::set_message_authenticator(&mut bytes, &self.secret);
        bytes
    }

    /// An Accounting-Request, signed (with a Message-Authenticator, as RouterOS 7 sends).
    pub fn accounting_bytes(&self, acct: &Acct<'_>) -> Vec<u8> {
        let mut packet = Packet::new(ACCOUNTING_REQUEST, self.identifier(), [0; 16]);
        packet.push_integer(attr::ACCT_STATUS_TYPE, acct.status);
        if !acct.session_id.is_empty() {
            packet.push(attr::ACCT_SESSION_ID, acct.session_id.as_bytes());
        }
        if !acct.username.is_empty() {
            packet.push(attr::USER_NAME, acct.username.as_bytes());
        }
        let split = |bytes: u64| ((bytes >> 32) as u32, (bytes & 0xFFFF_FFFF) as u32);
        let (in_giga, in_octets) = split(acct.input_bytes);
        let (out_giga, out_octets) = split(acct.output_bytes);
        packet.push_integer(attr::ACCT_INPUT_OCTETS, in_octets);
        packet.push_integer(attr::ACCT_OUTPUT_OCTETS, out_octets);
        if in_giga > 0 {
            packet.push_integer(attr::ACCT_INPUT_GIGAWORDS, in_giga);
        }
        if out_giga > 0 {
            packet.push_integer(attr::ACCT_OUTPUT_GIGAWORDS, out_giga);
        }
        packet.push_integer(attr::ACCT_SESSION_TIME, acct.session_time);
        if let Some(ip) = acct.framed_ip {
            packet.push(attr::FRAMED_IP_ADDRESS, ip);
        }
        if let Some(cause) = acct.cause {
            packet.push_integer(attr::ACCT_TERMINATE_CAUSE, cause);
        }
        packet.push(attr::MESSAGE_AUTHENTICATOR, [0u8; 16]);
        let mut bytes = packet.encode().unwrap_or_default();
        rp::set_message_authenticator(&mut bytes, &self.secret);
        rp::sign(&mut bytes, &self.secret);
        bytes
    }

    /// Sends `bytes` to `server` from the NAS's address and waits for the answer (`None` when
    /// none comes within the timeout).
    pub async fn send(&self, server: SocketAddr, bytes: &[u8]) -> std::io::Result<Option<Answer>> {
        let socket = UdpSocket::bind((self.ip, 0)).await?;
        socket.connect(server).await?;
        socket.send(bytes).await?;
        let mut buffer = vec![0u8; rp::MAX_PACKET];
        let Ok(received) = tokio::time::timeout(self.timeout, socket.recv(&mut buffer)).await
        else {
            return Ok(None);
        };
        let answer = &buffer[..received?];
        let Ok(packet) = Packet::decode(answer) else {
            return Ok(None);
        };
        let mut request_auth = [0u8; 16];
        request_auth.copy_from_slice(bytes.get(4..20).unwrap_or(&[0; 16]));
        let signed = Some(packet.identifier) == bytes.get(1).copied()
            && rp::reply_signed(answer, &self.secret, &request_auth)
            && rp::message_authenticator_valid(answer, &self.secret, Some(&request_auth));
        Ok(Some(Answer { packet, signed }))
    }

    pub async fn access_pap(
        &self,
        server: SocketAddr,
        username: &str,
        password: &str,
    ) -> std::io::Result<Option<Answer>> {
        self.send(server, &self.access_pap_bytes(username, password))
            .await
    }

    pub async fn accounting(
        &self,
        server: SocketAddr,
        acct: &Acct<'_>,
    ) -> std::io::Result<Option<Answer>> {
        self.send(server, &self.accounting_bytes(acct)).await
    }

    async fn answer_disconnects(&self, socket: UdpSocket) {
        let mut buffer = vec![0u8; rp::MAX_PACKET];
        loop {
            let Ok((len, peer)) = socket.recv_from(&mut buffer).await else {
                continue;
            };
            let request = &buffer[..len];
            let Ok(packet) = Packet::decode(request) else {
                continue;
            };
            // Only a request signed with our secret is acted on, as a NAS does.
            let signed = rp::request_signed(request, &self.secret)
                && (packet.get(attr::MESSAGE_AUTHENTICATOR).is_none()
                    || rp::message_authenticator_valid(request, &self.secret, Some(&[0; 16])));
            // Disconnect-Request (40) and CoA-Request (43) are answered alike: ACK or NAK.
            let (ack, nak) = match packet.code {
                DISCONNECT_REQUEST => (DISCONNECT_ACK, DISCONNECT_NAK),
                COA_REQUEST => (COA_ACK, COA_NAK),
                _ => continue,
            };
            if !signed {
                continue;
            }
            let mode = self.with(|s| {
                s.disconnects.push((
                    packet.text(attr::USER_NAME).unwrap_or_default(),
                    packet.text(attr::ACCT_SESSION_ID),
                ));
                s.mode
            });
            let mut answer = match mode {
                DmMode::Silent => continue,
                DmMode::Ack => Packet::new(ack, packet.identifier, packet.authenticator),
                DmMode::Nak(cause) => {
                    let mut answer = Packet::new(nak, packet.identifier, packet.authenticator);
                    answer.push_integer(attr::ERROR_CAUSE, cause);
                    answer
                }
            };
            answer.push(attr::MESSAGE_AUTHENTICATOR, [0u8; 16]);
            let Ok(mut bytes) = answer.encode() else {
                continue;
            };
            rp::set_message_authenticator(&mut bytes, &self.secret);
            rp::sign(&mut bytes, &self.secret);
            let _ = socket.send_to(&bytes, peer).await;
        }
    }
}

fn random16() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    // Only the simulator's request authenticators: predictable would still work.
    let _ = getrandom::fill(&mut bytes);
    bytes
}
