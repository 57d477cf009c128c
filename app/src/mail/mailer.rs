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
