//! The SMTP sender (lettre, async on tokio, rustls). Configured from a URL:
//! `smtp://host:port` (plain, for the local sink), `smtp://user:pass@host:587?tls=required`
//! (STARTTLS) or `smtps://user:pass@host:465`.

use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor, message::Mailbox};

#[derive(Clone)]
pub struct Mailer {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: String,
    /// Where links in emails point, e.g. `https://app.jasiyo.co.ke` (no trailing slash).
    pub public_url: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("smtp", &self.transport.is_some())
            .field("from", &self.from)
            .field("public_url", &self.public_url)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailerError {
    #[error("the SMTP URL is not valid: {0}")]
    Url(String),
    #[error("the sender address {0:?} is not valid")]
    From(String),
}

impl Mailer {
    /// No SMTP server: mail is written to the outbox and stays queued.
    pub fn disabled(public_url: &str) -> Self {
        Self {
            transport: None,
            from: DEFAULT_FROM.to_string(),
            public_url: public_url.trim_end_matches('/').to_string(),
        }
    }

    pub fn smtp(url: &str, from: &str, public_url: &str) -> Result<Self, MailerError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailerError::Url(e.to_string()))?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        from.parse::<Mailbox>()
            .map_err(|_| MailerError::From(from.to_string()))?;
        Ok(Self {
            transport: Some(transport),
            from: from.to_string(),
            public_url: public_url.trim_end_matches('/').to_string(),
        })
    }

    /// An ISP's own SMTP server: `security` is `starttls` (usually port 587), `tls` (465) or
    /// `none` (a relay on the ISP's own network, or the test sink).
    pub fn server(server: &SmtpServer<'_>, public_url: &str) -> Result<Self, MailerError> {
        use lettre::transport::smtp::authentication::Credentials;
        let builder = match server.security {
            "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(server.host)
                .map_err(|e| MailerError::Url(e.to_string()))?,
            "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(server.host)
                .map_err(|e| MailerError::Url(e.to_string()))?,
            _ => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server.host),
        };
        let mut builder = builder
            .port(server.port)
            .timeout(Some(std::time::Duration::from_secs(20)));
        if let Some((user, password)) = server.credentials {
            builder = builder.credentials(Credentials::new(user.to_string(), password.to_string()));
        }
        server
            .from
            .parse::<Mailbox>()
            .map_err(|_| MailerError::From(server.from.to_string()))?;
        Ok(Self {
            transport: Some(builder.build()),
            from: server.from.to_string(),
            public_url: public_url.trim_end_matches('/').to_string(),
        })
    }

    /// Whether mail can go out at all.
    pub fn configured(&self) -> bool {
        self.transport.is_some()
    }

    /// Sends one plain-text message. Errors are returned as text for the outbox row.
    pub async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String> {
        let Some(transport) = &self.transport else {
            return Err("no SMTP server is configured".into());
        };
        let to: Mailbox = to.parse().map_err(|e| format!("bad recipient: {e}"))?;
        let from: Mailbox = self.from.parse().map_err(|e| format!("bad sender: {e}"))?;
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(subject)
            .body(body.to_string())
            .map_err(|e| e.to_string())?;
        transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// An absolute link into the app.
    pub fn link(&self, path_and_query: &str) -> String {
        format!("{}{}", self.public_url, path_and_query)
    }
}

pub const DEFAULT_FROM: &str = "Jasiyo <no-reply@jasiyo.test>";

/// Where an ISP's own mail server is.
#[derive(Debug, Clone, Copy)]
pub struct SmtpServer<'a> {
    pub host: &'a str,
    pub port: u16,
    /// `starttls`, `tls` or `none`.
    pub security: &'a str,
    pub credentials: Option<(&'a str, &'a str)>,
    pub from: &'a str,
}
