//! A MikroTik router for tests and demo mode, speaking the RouterOS binary API (v6, the
//! protocol of TCP 8728) on 127.0.0.1 through the same codec our client uses. It keeps PPP
//! secrets, PPP active sessions, hotspot users, hotspot active sessions and simple queues in
//! memory and answers `print`, `add`, `set` and `remove` on them as RouterOS does (`!re` per
//! item, `!done =ret=*ID` for an add, `!trap` with RouterOS's own messages), after `/login`.
//! Controls: go offline (connections refused), fail the next command with a message, sign in
//! as RouterOS before 6.43 did.
//! (The REST v7 and phone-home agent sides come with the command queue.)

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
};

use app::network::routeros_api::{Limits, decode_sentence, encode_sentence};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// The menus the simulator keeps, and the attribute each is unique by.
const MENUS: &[(&str, Option<&str>)] = &[
    ("/ppp/secret", Some("name")),
    ("/ppp/active", None),
    ("/ip/hotspot/user", Some("name")),
    ("/ip/hotspot/active", None),
    ("/queue/simple", Some("name")),
];

/// One item of a menu: its `.id` (`*1`, `*2`, …) and attributes.
pub type Item = BTreeMap<String, String>;

#[derive(Default)]
struct State {
    menus: BTreeMap<String, Vec<Item>>,
    next_id: u64,
    offline: bool,
    /// Sign-in as before RouterOS 6.43: `/login` answers with a challenge.
    challenge: bool,
    fail_next: Option<String>,
    commands: Vec<String>,
}

#[derive(Clone)]
pub struct RouterSim {
    addr: SocketAddr,
    user: String,
    password: String,
    state: Arc<Mutex<State>>,
}

impl RouterSim {
    /// Listens on 127.0.0.1 (port 0 picks a free one) until the process ends.
    pub async fn start(port: u16, user: &str, password: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let sim = Self {
            addr: listener.local_addr()?,
            user: user.to_string(),
            password: password.to_string(),
            state: Arc::default(),
        };
        let serving = sim.clone();
        tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        if serving.with(|s| s.offline) {
                            // Offline: the connection is dropped at once, as by a dead link.
                            drop(stream);
                            continue;
                        }
                        let session = serving.clone();
                        tokio::spawn(async move {
                            if let Err(err) = session.session(stream).await {
                                tracing::debug!(error = %err, "router simulator session ended");
                            }
                        });
                    }
                    Err(err) => tracing::warn!(error = %err, "router simulator accept failed"),
                }
            }
        });
        Ok(sim)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn set_offline(&self, offline: bool) {
        self.with(|s| s.offline = offline);
    }

    /// Answer `/login` as RouterOS before 6.43 did, with an MD5 challenge.
    pub fn set_old_login(&self, old: bool) {
        self.with(|s| s.challenge = old);
    }

    /// The next command (after sign-in) is refused with `message`.
    pub fn fail_next(&self, message: &str) {
        self.with(|s| s.fail_next = Some(message.to_string()));
    }

    /// The items of a menu, e.g. `/ppp/secret`.
    pub fn items(&self, menu: &str) -> Vec<Item> {
        self.with(|s| s.menus.get(menu).cloned().unwrap_or_default())
    }

    /// Adds an item as if made on the router (an active session, say); returns its `.id`.
    pub fn insert(&self, menu: &str, attributes: &[(&str, &str)]) -> String {
        self.with(|s| {
            let id = next_id(s);
            let mut item: Item = attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            item.insert(".id".into(), id.clone());
            s.menus.entry(menu.to_string()).or_default().push(item);
            id
        })
    }

    /// Every command received after sign-in, as its words joined by spaces.
    pub fn commands(&self) -> Vec<String> {
        self.with(|s| s.commands.clone())
    }

    async fn session(&self, mut stream: TcpStream) -> std::io::Result<()> {
        let mut buffer = Vec::new();
        let mut signed_in = false;
        loop {
            let words = loop {
                match decode_sentence(&buffer, Limits::default()) {
                    Ok(Some((words, used))) => {
                        buffer.drain(..used);
                        if !words.is_empty() {
                            break words;
                        }
                    }
                    Ok(None) => {
                        let mut chunk = [0_u8; 4096];
                        let read = stream.read(&mut chunk).await?;
                        if read == 0 {
                            return Ok(());
                        }
                        buffer.extend_from_slice(&chunk[..read]);
                    }
                    Err(err) => {
                        let fatal = reply(&[vec!["!fatal".to_string(), err.to_string()]]);
                        stream.write_all(&fatal).await?;
                        return Ok(());
                    }
                }
            };
            let answer = if signed_in {
                self.with(|s| s.commands.push(words.join(" ")));
                self.answer(&words)
            } else if words[0] == "/login" && self.with(|s| s.challenge) {
                vec![done(&words, Some("ebddd18303a54111e2dea05a92ab46b4"))]
            } else if words[0] == "/login" {
                let attrs = attributes(&words);
                if attrs.get("name") == Some(&self.user)
                    && attrs.get("password") == Some(&self.password)
                {
                    signed_in = true;
                    vec![done(&words, None)]
                } else {
                    trap(&words, "invalid user name or password (6)")
                }
            } else {
                vec![vec!["!fatal".to_string(), "not logged in".to_string()]]
            };
            let fatal = answer.iter().any(|s| s[0] == "!fatal");
            stream.write_all(&reply(&answer)).await?;
            if fatal {
                return Ok(());
            }
        }
    }

    fn answer(&self, words: &[String]) -> Vec<Vec<String>> {
        if let Some(message) = self.with(|s| s.fail_next.take()) {
            return trap(words, &message);
        }
        let Some((menu, verb)) = words[0].rsplit_once('/') else {
            return trap(words, "no such command");
        };
        let Some((_, unique)) = MENUS.iter().find(|(m, _)| *m == menu) else {
            return trap(words, "no such command prefix");
        };
        let attrs = attributes(words);
        self.with(|s| {
            let menu_items = s.menus.entry(menu.to_string()).or_default();
            match verb {
                "print" => {
                    let queries: Vec<(&str, &str)> = words
                        .iter()
                        .filter_map(|w| w.strip_prefix('?'))
                        .filter_map(|q| q.split_once('='))
                        .collect();
                    let mut out: Vec<Vec<String>> = menu_items
                        .iter()
                        .filter(|item| {
                            queries
                                .iter()
                                .all(|(k, v)| item.get(*k).map(String::as_str) == Some(*v))
                        })
                        .map(|item| {
                            let mut sentence = vec!["!re".to_string()];
                            sentence.extend(item.iter().map(|(k, v)| format!("={k}={v}")));
                            sentence.extend(tag(words));
                            sentence
                        })
                        .collect();
                    out.push(done(words, None));
                    out
                }
                "add" => {
                    if let Some(key) = unique {
                        let Some(value) = attrs.get(*key) else {
                            return trap(words, &format!("failure: {key} not set"));
                        };
                        if menu_items.iter().any(|i| i.get(*key) == Some(value)) {
                            let what = if menu == "/ppp/secret" {
                                "secret"
                            } else {
                                "item"
                            };
                            return trap(
                                words,
                                &format!("failure: {what} with the same {key} already exists"),
                            );
                        }
                    }
                    let id = next_id_from(&mut s.next_id);
                    let mut item = attrs.clone();
                    item.insert(".id".into(), id.clone());
                    s.menus.entry(menu.to_string()).or_default().push(item);
                    vec![done(words, Some(&id))]
                }
                "set" | "remove" => {
                    let Some(target) = attrs.get(".id").or(attrs.get("numbers")) else {
                        return trap(words, "no such item");
                    };
                    let Some(at) = menu_items.iter().position(|i| {
                        i.get(".id") == Some(target) || i.get("name") == Some(target)
                    }) else {
                        return trap(words, "no such item");
                    };
                    if verb == "remove" {
                        menu_items.remove(at);
                    } else {
                        for (k, v) in attrs.iter().filter(|(k, _)| *k != ".id" && *k != "numbers") {
                            menu_items[at].insert(k.clone(), v.clone());
                        }
                    }
                    vec![done(words, None)]
                }
                _ => trap(words, "no such command"),
            }
        })
    }
}

fn next_id(s: &mut State) -> String {
    next_id_from(&mut s.next_id)
}

fn next_id_from(counter: &mut u64) -> String {
    *counter += 1;
    format!("*{:X}", *counter)
}

/// The `=name=value` words of a command.
fn attributes(words: &[String]) -> Item {
    words
        .iter()
        .filter_map(|w| w.strip_prefix('='))
        .filter_map(|a| a.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The command's `.tag`, to be echoed on each reply.
fn tag(words: &[String]) -> Option<String> {
    words.iter().find(|w| w.starts_with(".tag=")).cloned()
}

fn done(words: &[String], ret: Option<&str>) -> Vec<String> {
    let mut sentence = vec!["!done".to_string()];
    sentence.extend(ret.map(|id| format!("=ret={id}")));
    sentence.extend(tag(words));
    sentence
}

/// A refusal: `!trap` with the message, then `!done`, as RouterOS sends it.
fn trap(words: &[String], message: &str) -> Vec<Vec<String>> {
    let mut sentence = vec!["!trap".to_string(), format!("=message={message}")];
    sentence.extend(tag(words));
    vec![sentence, done(words, None)]
}

fn reply(sentences: &[Vec<String>]) -> Vec<u8> {
    let mut out = Vec::new();
    for sentence in sentences {
        // Our own words are short; a failure here would be a bug in the simulator.
        if let Err(err) = encode_sentence(sentence, &mut out) {
            tracing::error!(error = %err, "router simulator could not encode a reply");
        }
    }
    out
}
