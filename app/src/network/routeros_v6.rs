//! A client for the RouterOS binary API (v6, TCP 8728; v7 serves it too), over our codec
//! (`routeros_api`). One command at a time on one connection: send the sentence, read replies
//! until `!done`. Used by the command queue's push worker, never inside a web request.
//!
//! Signs in the way RouterOS 6.43 and later expect (`/login` with the name and password in
//! plain text); older routers answer with a challenge, which is reported as too old rather than
//! answered with the deprecated MD5 scheme. API-SSL (8729) is not spoken yet: use the
//! phone-home agent or the v7 REST API where the path to the router is not private.

use std::{net::SocketAddr, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

pub use crate::network::router_error::RouterError;
use crate::network::routeros_api::{Command, Limits, Reply, ReplyKind, decode_sentence};

/// A signed-in API session.
pub struct V6Client {
    stream: TcpStream,
    buffer: Vec<u8>,
    limits: Limits,
    timeout: Duration,
}

impl V6Client {
    /// Connects and signs in, each step within `timeout`.
    pub async fn connect(
        addr: SocketAddr,
        user: &str,
        password: &str,
        timeout: Duration,
    ) -> Result<Self, RouterError> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| RouterError::Timeout(timeout))??;
        stream.set_nodelay(true)?;
        let mut client = Self {
            stream,
            buffer: Vec::with_capacity(4096),
            limits: Limits::default(),
            timeout,
        };
        let login = Command::new("/login")
            .attr("name", user)
            .attr("password", password);
        let replies = client.run(&login).await?;
        // Before 6.43 the answer is a challenge to hash, not a session.
        if replies.last().is_some_and(|done| done.get("ret").is_some()) {
            return Err(RouterError::TooOld);
        }
        Ok(client)
    }

    /// Sends `command` and returns its `!re` replies and the final `!done` (or `!empty`).
    pub async fn run(&mut self, command: &Command) -> Result<Vec<Reply>, RouterError> {
        let timeout = self.timeout;
        tokio::time::timeout(timeout, self.exchange(command))
            .await
            .map_err(|_| RouterError::Timeout(timeout))?
    }

    async fn exchange(&mut self, command: &Command) -> Result<Vec<Reply>, RouterError> {
        tracing::debug!(%command, "RouterOS API command");
        self.stream.write_all(&command.encode()?).await?;
        let mut replies = Vec::new();
        let mut refused = None;
        loop {
            let reply = Reply::parse(&self.sentence().await?)?;
            match reply.kind {
                ReplyKind::Re => replies.push(reply),
                // A trap is followed by `!done`; keep its message until then.
                ReplyKind::Trap => {
                    refused = Some(reply.message().unwrap_or("no reason given").to_string());
                }
                ReplyKind::Fatal => {
                    return Err(RouterError::Fatal(
                        reply.message().unwrap_or("no reason given").to_string(),
                    ));
                }
                ReplyKind::Done | ReplyKind::Empty => {
                    if let Some(message) = refused {
                        return Err(RouterError::Refused(message));
                    }
                    replies.push(reply);
                    return Ok(replies);
                }
            }
        }
    }

    /// The next whole sentence, reading from the socket as needed.
    async fn sentence(&mut self) -> Result<Vec<String>, RouterError> {
        loop {
            if let Some((words, used)) = decode_sentence(&self.buffer, self.limits)? {
                self.buffer.drain(..used);
                // RouterOS may send an empty sentence between replies; skip it.
                if !words.is_empty() {
                    return Ok(words);
                }
                continue;
            }
            let mut chunk = [0_u8; 4096];
            let read = self.stream.read(&mut chunk).await?;
            if read == 0 {
                return Err(RouterError::Closed);
            }
            self.buffer.extend_from_slice(&chunk[..read]);
        }
    }
}
