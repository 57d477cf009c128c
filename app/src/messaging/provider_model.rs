//! Which gateway an ISP's text messages go through, as the settings form has it: Jasiyo's shared
//! sender, the ISP's own Africa's Talking account, or the ISP's bulk-SMS reseller (the JSON API
//! many Kenyan resellers share). Shared by the form and the server's checks.

use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The gateway an ISP chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Provider {
    /// Jasiyo's own account, shared by ISPs that have none.
    Platform,
    AfricasTalking,
    /// A reseller's `/api/services/sendsms/` JSON API.
    Generic,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Platform => "platform",
            Provider::AfricasTalking => "africastalking",
            Provider::Generic => "generic",
        }
    }

    pub fn parse(value: &str) -> Result<Self, AppError> {
        match value.trim() {
            "platform" | "" => Ok(Provider::Platform),
            "africastalking" => Ok(Provider::AfricasTalking),
            "generic" => Ok(Provider::Generic),
            _ => Err(AppError::invalid("provider", "choose a gateway")),
        }
    }
}

/// The form as submitted. A key left blank keeps the stored one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsProviderForm {
    pub provider: String,
    #[serde(default)]
    pub at_username: String,
    #[serde(default)]
    pub at_sender_id: String,
    #[serde(default)]
    pub generic_url: String,
    #[serde(default)]
    pub generic_partner_id: String,
    #[serde(default)]
    pub generic_shortcode: String,
    /// The Africa's Talking API key or the reseller's apikey.
    #[serde(default)]
    pub api_key: String,
}

/// The form, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckedProvider {
    Platform,
    AfricasTalking {
        username: String,
        sender_id: Option<String>,
        api_key: Option<String>,
    },
    Generic {
        url: String,
        partner_id: String,
        shortcode: String,
        api_key: Option<String>,
    },
}

fn text(field: &str, value: &str, max: usize, what: &str) -> Result<String, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AppError::invalid(field, format!("enter {what}")));
    }
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(AppError::invalid(
            field,
            format!("must be at most {max} plain characters"),
        ));
    }
    Ok(value.to_string())
}

/// A key as typed: blank keeps the stored one (`None`).
fn key(value: &str) -> Result<Option<String>, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    text("api_key", value, 200, "the API key").map(Some)
}

impl SmsProviderForm {
    pub fn check(&self) -> Result<CheckedProvider, AppError> {
        match Provider::parse(&self.provider)? {
            Provider::Platform => Ok(CheckedProvider::Platform),
            Provider::AfricasTalking => {
                let username = text(
                    "at_username",
                    &self.at_username,
                    100,
                    "the account's username",
                )?;
                let sender = self.at_sender_id.trim();
                let sender_id = if sender.is_empty() {
                    None
                } else {
                    Some(text("at_sender_id", sender, 11, "a sender id")?)
                };
                Ok(CheckedProvider::AfricasTalking {
                    username,
                    sender_id,
                    api_key: key(&self.api_key)?,
                })
            }
            Provider::Generic => {
                let url = text(
                    "generic_url",
                    &self.generic_url,
                    200,
                    "the gateway's address",
                )?;
                let lower = url.to_ascii_lowercase();
                if !(lower.starts_with("https://") || lower.starts_with("http://"))
                    || url.contains(char::is_whitespace)
                {
                    return Err(AppError::invalid(
                        "generic_url",
                        "must be an address starting with https://",
                    ));
                }
                Ok(CheckedProvider::Generic {
                    url: url.trim_end_matches('/').to_string(),
                    partner_id: text(
                        "generic_partner_id",
                        &self.generic_partner_id,
                        40,
                        "the partner id",
                    )?,
                    shortcode: text(
                        "generic_shortcode",
                        &self.generic_shortcode,
                        11,
                        "the sender id",
                    )?,
                    api_key: key(&self.api_key)?,
                })
            }
        }
    }
}

/// What the settings card shows: never a key, only its last four characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsProviderView {
    pub provider: Provider,
    pub at_username: String,
    pub at_sender_id: String,
    pub generic_url: String,
    pub generic_partner_id: String,
    pub generic_shortcode: String,
    pub key_last4: Option<String>,
    /// Where the ISP's own Africa's Talking account posts delivery reports and replies.
    pub delivery_url: String,
    pub inbound_url: String,
    /// Whether Jasiyo's shared sender is set up on this server.
    pub platform_available: bool,
    pub editable: bool,
}

/// What a test message got back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestSend {
    pub sent: bool,
    /// The gateway's answer in words.
    pub answer: String,
}

/// The ISP's own mail server, as the settings form has it. A password left blank keeps the
/// stored one; `own` unticked: the platform's mail server sends the ISP's customer mail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpForm {
    #[serde(default)]
    pub own: Option<String>,
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub port: String,
    #[serde(default)]
    pub security: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub from_address: String,
}

/// The mail server form, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckedSmtp {
    Platform,
    Own {
        host: String,
        port: u16,
        security: &'static str,
        username: Option<String>,
        password: Option<String>,
        from_address: String,
    },
}

/// How the connection to a mail server is protected.
pub const SECURITIES: [(&str, &str); 3] = [
    ("starttls", "STARTTLS (usually port 587)"),
    ("tls", "TLS from the start (usually port 465)"),
    ("none", "None (a relay on your own network only)"),
];

impl SmtpForm {
    pub fn check(&self) -> Result<CheckedSmtp, AppError> {
        if self.own.is_none() {
            return Ok(CheckedSmtp::Platform);
        }
        let host = text("host", &self.host, 200, "the mail server's name")?;
        if !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        {
            return Err(AppError::invalid(
                "host",
                "must be a host name like mail.example.co.ke",
            ));
        }
        let port: u16 = self
            .port
            .trim()
            .parse()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| AppError::invalid("port", "must be a port number, like 587"))?;
        let security = SECURITIES
            .iter()
            .map(|(key, _)| *key)
            .find(|key| *key == self.security.trim())
            .ok_or_else(|| {
                AppError::invalid("security", "choose how the connection is protected")
            })?;
        let from_address = text(
            "from_address",
            &self.from_address,
            200,
            "the address mail comes from",
        )?;
        let address = from_address
            .rsplit_once('<')
            .map_or(from_address.as_str(), |(_, rest)| {
                rest.trim_end_matches('>')
            });
        match address.split_once('@') {
            Some((local, domain)) if !local.is_empty() && domain.contains('.') => {}
            _ => {
                return Err(AppError::invalid(
                    "from_address",
                    "must be an email address, like billing@example.co.ke",
                ));
            }
        }
        let username = self.username.trim();
        let password = self.password.trim();
        Ok(CheckedSmtp::Own {
            host,
            port,
            security,
            username: (!username.is_empty())
                .then(|| text("username", username, 200, "the user name"))
                .transpose()?,
            password: (!password.is_empty()).then(|| password.to_string()),
            from_address,
        })
    }
}

/// What the mail server card shows: never the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpView {
    pub own: bool,
    pub host: String,
    pub port: String,
    pub security: String,
    pub username: String,
    pub from_address: String,
    pub password_last4: Option<String>,
    pub editable: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(form: &SmsProviderForm) -> String {
        match form.check() {
            Err(AppError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_gateway_needs_its_own_fields_and_a_blank_key_keeps_the_old_one() {
        let at = SmsProviderForm {
            provider: "africastalking".into(),
            at_username: " kasarani ".into(),
            ..SmsProviderForm::default()
        };
        assert_eq!(
            at.check().unwrap(),
            CheckedProvider::AfricasTalking {
                username: "kasarani".into(),
                sender_id: None,
                api_key: None
            }
        );
        assert_eq!(
            field(&SmsProviderForm {
                at_username: String::new(),
                ..at.clone()
            }),
            "at_username"
        );
        assert_eq!(
            field(&SmsProviderForm {
                at_sender_id: "KASARANI-NET-1".into(),
                ..at.clone()
            }),
            "at_sender_id"
        );
        let generic = SmsProviderForm {
            provider: "generic".into(),
            generic_url: "https://sms.example.co.ke/".into(),
            generic_partner_id: "1234".into(),
            generic_shortcode: "KASARANI".into(),
            api_key: "k-1".into(),
            ..SmsProviderForm::default()
        };
        assert!(matches!(
            generic.check().unwrap(),
            CheckedProvider::Generic { url, api_key: Some(k), .. } if url == "https://sms.example.co.ke" && k == "k-1"
        ));
        assert_eq!(
            field(&SmsProviderForm {
                generic_url: "javascript:alert(1)".into(),
                ..generic.clone()
            }),
            "generic_url"
        );
        assert_eq!(
            field(&SmsProviderForm {
                generic_partner_id: " ".into(),
                ..generic
            }),
            "generic_partner_id"
        );
        assert_eq!(
            field(&SmsProviderForm {
                provider: "twilio".into(),
                ..SmsProviderForm::default()
            }),
            "provider"
        );
        assert_eq!(
            SmsProviderForm::default().check().unwrap(),
            CheckedProvider::Platform
        );
    }

    #[test]
    fn the_mail_server_form_names_what_is_wrong() {
        let good = SmtpForm {
            own: Some("on".into()),
            host: "mail.kasarani.co.ke".into(),
            port: "587".into(),
            security: "starttls".into(),
            from_address: "billing@kasarani.co.ke".into(),
            ..SmtpForm::default()
        };
        assert!(good.check().is_ok());
        for (form, field) in [
            (
                SmtpForm {
                    host: "mail server".into(),
                    ..good.clone()
                },
                "host",
            ),
            (
                SmtpForm {
                    port: "0".into(),
                    ..good.clone()
                },
                "port",
            ),
            (
                SmtpForm {
                    port: "smtp".into(),
                    ..good.clone()
                },
                "port",
            ),
            (
                SmtpForm {
                    security: "ssl3".into(),
                    ..good.clone()
                },
                "security",
            ),
            (
                SmtpForm {
                    from_address: "billing".into(),
                    ..good.clone()
                },
                "from_address",
            ),
        ] {
            match form.check() {
                Err(AppError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }
}
