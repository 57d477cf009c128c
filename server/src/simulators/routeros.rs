//! A MikroTik router for tests and demo mode, speaking the RouterOS binary API (v6, the
//! protocol of TCP 8728) on 127.0.0.1 through the same codec our client uses. It keeps PPP
//! secrets, PPP active sessions, hotspot users, hotspot active sessions and simple queues in
//! memory and answers `print`, `add`, `set` and `remove` on them as RouterOS does (`!re` per
//! item, `!done =ret=*ID` for an add, `!trap` with RouterOS's own messages), after `/login`.
//! The same menus answer the v7 REST API (`/rest/<menu>`, Basic auth, JSON strings, RouterOS's
//! `{error, message, detail}` refusals) on a second port. As a phone-home router it checks in
//! with the server the way the agent script does and runs the RouterOS script it is sent
//! (`routeros_script`, the subset our scripts use). Controls: go offline (API connections
//! dropped, no check-ins), slow down, fail the next command with a message, sign in as RouterOS
//! before 6.43 did.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
};

use app::network::routeros_api::{Limits, decode_sentence, encode_sentence};
use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State as Extract},
    http::{HeaderMap, Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::any,
};
use base64::Engine;
use serde_json::json;
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
    ("/ppp/profile", Some("name")),
    ("/ip/hotspot/user/profile", Some("name")),
    ("/system/resource", None),
];

#[path = "routeros_script.rs"]
mod script;

/// The message to refuse the next command with, if failures are set.
fn take_failure(s: &mut State) -> Option<String> {
    let (message, skip, left) = s.fail_next.take()?;
    if skip > 0 {
        s.fail_next = Some((message, skip - 1, left));
        return None;
    }
    if left > 1 {
        s.fail_next = Some((message.clone(), 0, left - 1));
    }
    Some(message)
}

/// RouterOS keeps flags as booleans whichever way they were written (`yes`, `no`, `true`).
fn normalise(key: &str, value: &str) -> String {
    match (key, value) {
        ("disabled", "yes" | "true") => "true".into(),
        ("disabled", "no" | "false") => "false".into(),
        _ => value.to_string(),
    }
}

fn normalise_item(item: Item) -> Item {
    item.into_iter()
        .map(|(k, v)| {
            let v = normalise(&k, &v);
            (k, v)
        })
        .collect()
}

/// One item of a menu: its `.id` (`*1`, `*2`, …) and attributes.
pub type Item = BTreeMap<String, String>;

#[derive(Default)]
struct State {
    menus: BTreeMap<String, Vec<Item>>,
    next_id: u64,
    offline: bool,
    /// Sign-in as before RouterOS 6.43: `/login` answers with a challenge.
    challenge: bool,
    /// Refuse commands: (message, commands to let through first, commands to refuse).
    fail_next: Option<(String, u32, u32)>,
    commands: Vec<String>,
    /// How long each answer waits (a slow link or a busy router).
    delay: std::time::Duration,
    /// The agent's script globals (`jasiyoNonce`, `jasiyoResults`, …).
    globals: BTreeMap<String, String>,
    /// The body of the agent's last check-in, for replay tests.
    last_check_in: Option<String>,
    /// Check-ins made and refused.
    check_ins: u64,
    refused_check_ins: u64,
}

/// The phone-home agent's settings, as the install script would set them.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    pub url: String,
    pub router_id: String,
    pub secret: String,
    pub interval: std::time::Duration,
}

#[derive(Clone)]
pub struct RouterSim {
    addr: SocketAddr,
    rest_addr: SocketAddr,
    user: String,
    password: String,
    state: Arc<Mutex<State>>,
}

impl RouterSim {
    /// Listens on 127.0.0.1 (port 0 picks a free one) until the process ends.
    pub async fn start(port: u16, user: &str, password: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let rest = TcpListener::bind(("127.0.0.1", 0)).await?;
        let sim = Self {
            addr: listener.local_addr()?,
            rest_addr: rest.local_addr()?,
            user: user.to_string(),
            password: password.to_string(),
            state: Arc::default(),
        };
        sim.with(|s| {
            let id = next_id(s);
            let mut item = Item::new();
            item.insert(".id".into(), id);
            item.insert("version".into(), "7.16.2 (stable)".into());
            item.insert("board-name".into(), "Jasiyo simulator".into());
            s.menus.insert("/system/resource".into(), vec![item]);
        });
        let routes = Router::new()
            .route("/rest/{*path}", any(rest_api))
            .with_state(sim.clone());
        let rest = OfflineAware {
            inner: rest,
            sim: sim.clone(),
        };
        tokio::spawn(async move {
            if let Err(err) = axum::serve(rest, routes).await {
                tracing::warn!(error = %err, "router simulator REST API stopped");
            }
        });
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

    /// The REST API's base URL, as `RestClient` takes it.
    pub fn rest_url(&self) -> String {
        format!("http://{}", self.rest_addr)
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let expected = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.user, self.password));
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            == Some(expected.as_str())
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn set_offline(&self, offline: bool) {
        self.with(|s| s.offline = offline);
    }

    /// Forgets every user, profile and session, as a router reset to its defaults would.
    pub fn reset(&self) {
        self.with(|s| s.menus.retain(|menu, _| menu == "/system/resource"));
    }

    pub fn is_offline(&self) -> bool {
        self.with(|s| s.offline)
    }

    /// Every answer (API, REST, agent) waits this long first.
    pub fn set_delay(&self, delay: std::time::Duration) {
        self.with(|s| s.delay = delay);
    }

    /// The version `/system/resource` reports.
    pub fn set_version(&self, version: &str) {
        self.with(|s| {
            if let Some(item) = s
                .menus
                .get_mut("/system/resource")
                .and_then(|items| items.first_mut())
            {
                item.insert("version".into(), version.to_string());
            }
        });
    }

    fn delay(&self) -> std::time::Duration {
        self.with(|s| s.delay)
    }

    /// Checks in as the agent script does, runs what the server sends, and checks in again at
    /// once while the answer asks for it (`jasiyoMore`), up to the script's round limit.
    /// Returns the HTTP status of the last check-in. Offline: no check-in, `None`.
    pub async fn check_in(&self, agent: &AgentConfig) -> Option<u16> {
        // The app's client: rustls with the provider the rest of the tree uses.
        let Ok(http) = app::payments::daraja::http() else {
            return None;
        };
        let mut status = None;
        for _ in 0..app::network::agent::AGENT_ROUNDS {
            if self.is_offline() {
                return status;
            }
            tokio::time::sleep(self.delay()).await;
            let body = self.with(|s| {
                let global = |name: &str| s.globals.get(name).cloned().unwrap_or_default();
                let version = s
                    .menus
                    .get("/system/resource")
                    .and_then(|i| i.first())
                    .and_then(|i| i.get("version").cloned())
                    .unwrap_or_default();
                // The script concatenates raw values into the form body, as RouterOS does.
                let body = format!(
                    "router={}&secret={}&version={}&nonce={}&results={}",
                    agent.router_id,
                    agent.secret,
                    version,
                    global("jasiyoNonce"),
                    global("jasiyoResults")
                );
                s.globals.insert("jasiyoMore".into(), "false".into());
                body
            });
            self.with(|s| s.last_check_in = Some(body.clone()));
            let sent = http
                .post(&agent.url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(err) => {
                    tracing::debug!(error = %err, "simulated agent could not check in");
                    self.with(|s| {
                        s.globals.insert("jasiyoNonce".into(), String::new());
                    });
                    return status;
                }
            };
            status = Some(response.status().as_u16());
            if !response.status().is_success() {
                self.with(|s| {
                    s.refused_check_ins += 1;
                    s.globals.insert("jasiyoNonce".into(), String::new());
                });
                return status;
            }
            let Ok(text) = response.text().await else {
                return status;
            };
            // RouterOS 6 keeps at most 4 KB of `output=user`: a longer script would be cut.
            if text.len() > 4096 {
                tracing::warn!(bytes = text.len(), "simulated agent: answer over 4 KB");
                self.with(|s| {
                    s.globals.insert("jasiyoNonce".into(), String::new());
                });
                return status;
            }
            let more = self.with(|s| {
                s.check_ins += 1;
                s.globals.insert("jasiyoResults".into(), String::new());
                let mut globals = std::mem::take(&mut s.globals);
                let ran = script::run(&text, s, &mut globals);
                s.globals = globals;
                if let Err(err) = ran {
                    tracing::warn!(error = %err, script = %text, "simulated agent: script error");
                    s.globals.insert("jasiyoNonce".into(), String::new());
                }
                s.globals.get("jasiyoMore").map(String::as_str) == Some("true")
            });
            if !more {
                break;
            }
        }
        status
    }

    /// Runs the agent every `interval` (skipping while offline) until the process ends.
    pub fn start_agent(&self, agent: AgentConfig) {
        let sim = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(agent.interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                sim.check_in(&agent).await;
            }
        });
    }

    /// The agent's last check-in body, as sent.
    pub fn last_check_in(&self) -> Option<String> {
        self.with(|s| s.last_check_in.clone())
    }

    /// Check-ins answered with a script, and refused.
    pub fn check_in_counts(&self) -> (u64, u64) {
        self.with(|s| (s.check_ins, s.refused_check_ins))
    }

    /// The agent's script globals.
    pub fn global(&self, name: &str) -> Option<String> {
        self.with(|s| s.globals.get(name).cloned())
    }

    /// Runs a RouterOS script (the subset the agent is sent) as the router would.
    pub fn run_script(&self, src: &str) -> Result<(), String> {
        self.with(|s| {
            let mut globals = std::mem::take(&mut s.globals);
            let ran = script::run(src, s, &mut globals);
            s.globals = globals;
            ran
        })
    }

    pub fn set_global(&self, name: &str, value: &str) {
        self.with(|s| s.globals.insert(name.to_string(), value.to_string()));
    }

    /// Answer `/login` as RouterOS before 6.43 did, with an MD5 challenge.
    pub fn set_old_login(&self, old: bool) {
        self.with(|s| s.challenge = old);
    }

    /// The next command (after sign-in) is refused with `message`.
    pub fn fail_next(&self, message: &str) {
        self.fail_times(message, 1);
    }

    /// The next `times` commands are refused with `message`.
    pub fn fail_times(&self, message: &str, times: u32) {
        self.with(|s| s.fail_next = (times > 0).then(|| (message.to_string(), 0, times)));
    }

    /// Lets `after` commands through, then refuses one with `message`.
    pub fn fail_after(&self, message: &str, after: u32) {
        self.with(|s| s.fail_next = Some((message.to_string(), after, 1)));
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
            let delay = self.delay();
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
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
        if let Some(message) = self.with(take_failure) {
            return trap(words, &message);
        }
        let Some((menu, verb)) = words[0].rsplit_once('/') else {
            return trap(words, "no such command");
        };
        let attrs = attributes(words);
        let target = || attrs.get(".id").or(attrs.get("numbers")).cloned();
        let changes = || -> Item {
            attrs
                .iter()
                .filter(|(k, _)| *k != ".id" && *k != "numbers")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        let outcome = self.with(|s| match verb {
            "print" => {
                let filter: Vec<(String, String)> = words
                    .iter()
                    .filter_map(|w| w.strip_prefix('?'))
                    .filter_map(|q| q.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                print(s, menu, &filter).map(|items| {
                    let mut out: Vec<Vec<String>> = items
                        .iter()
                        .map(|item| {
                            let mut sentence = vec!["!re".to_string()];
                            sentence.extend(item.iter().map(|(k, v)| format!("={k}={v}")));
                            sentence.extend(tag(words));
                            sentence
                        })
                        .collect();
                    out.push(done(words, None));
                    out
                })
            }
            "add" => add(s, menu, attrs.clone()).map(|id| vec![done(words, Some(&id))]),
            "set" => change(s, menu, target().as_deref(), Some(changes()))
                .map(|_| vec![done(words, None)]),
            "remove" => change(s, menu, target().as_deref(), None).map(|_| vec![done(words, None)]),
            _ => Err(Refusal::BadRequest("no such command".into())),
        });
        outcome.unwrap_or_else(|refusal| trap(words, refusal.message()))
    }
}

/// Why the router refused: a bad request (RouterOS's message) or an item that is not there.
enum Refusal {
    BadRequest(String),
    NotFound,
}

impl Refusal {
    fn message(&self) -> &str {
        match self {
            Refusal::BadRequest(message) => message,
            Refusal::NotFound => "no such item",
        }
    }
}

/// The attribute `menu`'s items are unique by, if any; `Err` for a menu the simulator lacks.
fn unique_key(menu: &str) -> Result<Option<&'static str>, Refusal> {
    MENUS
        .iter()
        .find(|(m, _)| *m == menu)
        .map(|(_, unique)| *unique)
        .ok_or_else(|| Refusal::BadRequest("no such command prefix".into()))
}

fn print(s: &mut State, menu: &str, filter: &[(String, String)]) -> Result<Vec<Item>, Refusal> {
    unique_key(menu)?;
    Ok(s.menus
        .get(menu)
        .map(|items| {
            items
                .iter()
                .filter(|item| {
                    filter.iter().all(|(k, v)| {
                        item.get(k).map(String::as_str) == Some(normalise(k, v).as_str())
                    })
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default())
}

/// Adds an item; returns its `.id`.
fn add(s: &mut State, menu: &str, item: Item) -> Result<String, Refusal> {
    let mut item = normalise_item(item);
    if let Some(key) = unique_key(menu)? {
        let Some(value) = item.get(key) else {
            return Err(Refusal::BadRequest(format!("failure: {key} not set")));
        };
        if s.menus
            .get(menu)
            .is_some_and(|items| items.iter().any(|i| i.get(key) == Some(value)))
        {
            let what = if menu == "/ppp/secret" {
                "secret"
            } else {
                "item"
            };
            return Err(Refusal::BadRequest(format!(
                "failure: {what} with the same {key} already exists"
            )));
        }
    }
    let id = next_id(s);
    item.insert(".id".into(), id.clone());
    s.menus.entry(menu.to_string()).or_default().push(item);
    Ok(id)
}

/// Sets attributes of the item named by `.id` (or name), or removes it when `changes` is
/// `None`; returns the item as it now is (or was).
fn change(
    s: &mut State,
    menu: &str,
    target: Option<&str>,
    changes: Option<Item>,
) -> Result<Item, Refusal> {
    unique_key(menu)?;
    let items = s.menus.entry(menu.to_string()).or_default();
    let at = target
        .and_then(|t| {
            items.iter().position(|i| {
                i.get(".id").map(String::as_str) == Some(t)
                    || i.get("name").map(String::as_str) == Some(t)
            })
        })
        .ok_or(Refusal::NotFound)?;
    match changes {
        None => Ok(items.remove(at)),
        Some(changes) => {
            items[at].extend(normalise_item(changes));
            Ok(items[at].clone())
        }
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

/// RouterOS's refusal body.
fn rest_refusal(status: StatusCode, detail: Option<&str>) -> Response {
    let mut body = json!({
        "error": status.as_u16(),
        "message": status.canonical_reason().unwrap_or("Error"),
    });
    if let Some(detail) = detail {
        body["detail"] = json!(detail);
    }
    (status, Json(body)).into_response()
}

/// `/rest/<menu>`: GET prints (query parameters filter), PUT adds; `/rest/<menu>/<.id>`: PATCH
/// sets, DELETE removes.
async fn rest_api(
    Extract(sim): Extract<RouterSim>,
    method: Method,
    Path(path): Path<String>,
    Query(filter): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let delay = sim.delay();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if !sim.authorized(&headers) {
        return rest_refusal(StatusCode::UNAUTHORIZED, None);
    }
    sim.with(|s| s.commands.push(format!("{method} /rest/{path}")));
    if let Some(message) = sim.with(take_failure) {
        return rest_refusal(StatusCode::BAD_REQUEST, Some(&message));
    }
    let path = format!("/{}", path.trim_matches('/'));
    let item =
        || serde_json::from_slice::<Item>(&body).map_err(|e| Refusal::BadRequest(e.to_string()));
    let with_id = || {
        path.rsplit_once('/')
            .map(|(menu, id)| (menu.to_string(), id.to_string()))
            .ok_or(Refusal::NotFound)
    };
    let outcome: Result<Option<serde_json::Value>, Refusal> = sim.with(|s| match method {
        Method::GET => {
            let filter: Vec<(String, String)> = filter.into_iter().collect();
            print(s, &path, &filter).map(|items| Some(json!(items)))
        }
        Method::PUT => {
            let id = add(s, &path, item()?)?;
            let created = s
                .menus
                .get(&path)
                .and_then(|items| items.iter().find(|i| i.get(".id") == Some(&id)).cloned());
            Ok(Some(json!(created)))
        }
        Method::PATCH => {
            let (menu, id) = with_id()?;
            change(s, &menu, Some(&id), Some(item()?)).map(|i| Some(json!(i)))
        }
        Method::DELETE => {
            let (menu, id) = with_id()?;
            change(s, &menu, Some(&id), None).map(|_| None)
        }
        _ => Err(Refusal::BadRequest("no such command".into())),
    });
    match outcome {
        Ok(Some(body)) => Json(body).into_response(),
        Ok(None) => StatusCode::NO_CONTENT.into_response(),
        Err(Refusal::NotFound) => rest_refusal(StatusCode::NOT_FOUND, None),
        Err(Refusal::BadRequest(message)) => rest_refusal(StatusCode::BAD_REQUEST, Some(&message)),
    }
}

/// The REST listener: while the router is offline, connections are dropped as they arrive,
/// as by a dead link (the client sees a connection error, not an HTTP refusal).
struct OfflineAware {
    inner: TcpListener,
    sim: RouterSim,
}

impl axum::serve::Listener for OfflineAware {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) if !self.sim.is_offline() => return (stream, addr),
                Ok((stream, _)) => drop(stream),
                Err(err) => {
                    tracing::warn!(error = %err, "router simulator REST accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}
