//! An SMTP sink: accepts every message over plain SMTP on 127.0.0.1 and keeps it in memory, so
//! demo mode can show the mail Jasiyo sent (`/dev/mail`) and tests can read it. Written here
//! rather than taken from a crate: the sinks on crates.io are unmaintained or pull in a full
//! mail server; this speaks just the commands lettre sends.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
};

use serde::Serialize;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    /// The body after the headers, with SMTP dot-stuffing undone.
    pub body: String,
}

#[derive(Debug, Clone)]
pub struct SmtpSink {
    addr: SocketAddr,
    mailbox: Arc<Mutex<Vec<ReceivedMail>>>,
}

impl SmtpSink {
    /// Listens on 127.0.0.1 (port 0 picks a free one) until the process ends.
    pub async fn start(port: u16) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let sink = Self {
            addr: listener.local_addr()?,
            mailbox: Arc::default(),
        };
        let mailbox = sink.mailbox.clone();
        tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        let mailbox = mailbox.clone();
                        tokio::spawn(async move {
                            if let Err(err) = session(stream, mailbox).await {
                                tracing::debug!(error = %err, "smtp sink session ended");
                            }
                        });
                    }
                    Err(err) => tracing::warn!(error = %err, "smtp sink accept failed"),
                }
            }
        });
        Ok(sink)
    }

    /// The URL for `Mailer::smtp`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.mailbox
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

async fn session(stream: TcpStream, mailbox: Arc<Mutex<Vec<ReceivedMail>>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 jasiyo-smtp-sink ready\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_string();
        let upper = command.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-jasiyo-smtp-sink\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("HELO")
            || upper.starts_with("RSET")
            || upper.starts_with("NOOP")
        {
            b"250 OK\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&command[10..]);
            to.clear();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(address(&command[8..]));
            b"250 OK\r\n"
        } else if upper == "DATA" {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let data = read_data(&mut lines).await?;
            let (subject, body) = split_message(&data);
            mailbox
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(ReceivedMail {
                    from: from.clone(),
                    to: std::mem::take(&mut to),
                    subject,
                    body,
                });
            b"250 OK: queued\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            b"502 command not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
}

fn address(arg: &str) -> String {
    arg.trim()
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap_or_default()
        .to_string()
}

async fn read_data<R: tokio::io::AsyncBufRead + Unpin>(lines: &mut R) -> std::io::Result<String> {
    let mut data = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(data);
        }
        let content = line.trim_end_matches(['\r', '\n']);
        if content == "." {
            return Ok(data);
        }
        // Undo dot-stuffing: a leading "." was doubled by the sender.
        data.push_str(
            content
                .strip_prefix('.')
                .filter(|_| content.starts_with(".."))
                .unwrap_or(content),
        );
        data.push('\n');
    }
}

fn split_message(data: &str) -> (String, String) {
    let (headers, body) = data.split_once("\n\n").unwrap_or((data, ""));
    let subject = headers
        .lines()
        .find_map(|l| l.strip_prefix("Subject: "))
        .unwrap_or_default()
        .to_string();
    let quoted_printable = headers
        .lines()
        .any(|l| l.eq_ignore_ascii_case("Content-Transfer-Encoding: quoted-printable"));
    let body = if quoted_printable {
        decode_quoted_printable(body)
    } else {
        body.to_string()
    };
    (subject, body)
}

/// Undoes quoted-printable (RFC 2045): `=` at a line end joins lines, `=XX` is a byte.
fn decode_quoted_printable(body: &str) -> String {
    let joined = body.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Some(byte) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    // Line breaks inside the text may arrive encoded (=0D=0A); mail is read with plain \n.
    String::from_utf8_lossy(&out).replace("\r\n", "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_sink_receives_what_the_real_mailer_sends() {
        let sink = SmtpSink::start(0).await.unwrap();
        let mailer = app::mail::mailer::Mailer::smtp(
            &sink.url(),
            "Jasiyo <no-reply@jasiyo.test>",
            "http://127.0.0.1:3000",
        )
        .unwrap();
        let token = "0123456789abcdef".repeat(4);
        let body = format!(
            "Hello,\n.leading dot\nA line long enough to be wrapped by the encoder: \
             http://127.0.0.1:3000/verify-email?token={token}\n"
        );
        let body = body.as_str();
        mailer
            .send("owner@isp.co.ke", "Confirm", body)
            .await
            .unwrap();
        let got = sink.messages();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].to, ["owner@isp.co.ke"]);
        assert_eq!(got[0].from, "no-reply@jasiyo.test");
        assert_eq!(got[0].subject, "Confirm");
        assert!(
            got[0]
                .body
                .contains(&format!("/verify-email?token={token}\n")),
            "{}",
            got[0].body
        );
        assert!(got[0].body.contains("\n.leading dot"), "{}", got[0].body);
    }
}
