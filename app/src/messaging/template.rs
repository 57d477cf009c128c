//! Message templates: the events that send a subscriber a message, the words each sends by
//! default in English and Swahili, and the placeholders filled in. Shared by the server (the text
//! that is sent) and the browser (the live preview), like the segment count beside it.

use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Something that happened that the subscriber is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    InvoiceIssued,
    PaymentReceived,
    /// Days before the service expires (3 and 1 by default).
    ExpiringSoon,
    /// Expired or suspended: cut off until paid.
    Expired,
    Reactivated,
    PortalOtp,
    TicketReply,
    VoucherSold,
}

impl Event {
    pub const ALL: [Event; 8] = [
        Event::InvoiceIssued,
        Event::PaymentReceived,
        Event::ExpiringSoon,
        Event::Expired,
        Event::Reactivated,
        Event::PortalOtp,
        Event::TicketReply,
        Event::VoucherSold,
    ];

    /// As stored (`message_templates.event`, `sms_outbox.kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            Event::InvoiceIssued => "invoice_issued",
            Event::PaymentReceived => "payment_received",
            Event::ExpiringSoon => "expiring_soon",
            Event::Expired => "expired",
            Event::Reactivated => "reactivated",
            Event::PortalOtp => "portal_otp",
            Event::TicketReply => "ticket_reply",
            Event::VoucherSold => "voucher_sold",
        }
    }

    pub fn parse(field: &str, value: &str) -> Result<Self, AppError> {
        Self::ALL
            .into_iter()
            .find(|e| e.as_str() == value)
            .ok_or_else(|| AppError::invalid(field, "is not a message event"))
    }

    /// What the operator sees.
    pub fn label(self) -> &'static str {
        match self {
            Event::InvoiceIssued => "Invoice issued",
            Event::PaymentReceived => "Payment received",
            Event::ExpiringSoon => "Expiring soon",
            Event::Expired => "Expired or suspended",
            Event::Reactivated => "Reconnected",
            Event::PortalOtp => "Portal sign-in code",
            Event::TicketReply => "Reply to a ticket",
            Event::VoucherSold => "Hotspot voucher sold",
        }
    }

    /// Sent ahead of anything else waiting (the subscriber is looking at a screen for it).
    pub fn urgent(self) -> bool {
        matches!(
            self,
            Event::PortalOtp | Event::PaymentReceived | Event::VoucherSold
        )
    }

    /// The placeholders this event can fill.
    pub fn placeholders(self) -> &'static [Placeholder] {
        use Placeholder::*;
        match self {
            // About money due: the amount and where to pay it.
            Event::InvoiceIssued | Event::ExpiringSoon | Event::Expired => &[
                Name,
                Account,
                Plan,
                Amount,
                Balance,
                Expiry,
                Paybill,
                PaymentLink,
                Business,
            ],
            Event::PaymentReceived => &[
                Name, Account, Plan, Amount, Balance, Expiry, Receipt, Paybill, Business,
            ],
            Event::Reactivated => &[Name, Account, Plan, Expiry, Balance, Business],
            Event::PortalOtp => &[Code, Business],
            Event::TicketReply => &[Name, Account, Ticket, Link, Business],
            Event::VoucherSold => &[Code, Plan, Amount, Receipt, Business],
        }
    }

    /// The words sent when the ISP has not written its own.
    pub fn default_text(self, language: Language) -> &'static str {
        match (self, language) {
            (Event::InvoiceIssued, Language::En) => {
                "Hi {name}, your {business} invoice for {plan} is {amount}. Pay by M-Pesa paybill {paybill}, account {account}, or at {payment_link}"
            }
            (Event::InvoiceIssued, Language::Sw) => {
                "Habari {name}, ankara yako ya {plan} kutoka {business} ni {amount}. Lipa kwa M-Pesa paybill {paybill}, akaunti {account}, au kupitia {payment_link}"
            }
            (Event::PaymentReceived, Language::En) => {
                "{business}: we received {amount}, receipt {receipt}. Thank you, {name}. Your {plan} is paid until {expiry}. Balance {balance}."
            }
            (Event::PaymentReceived, Language::Sw) => {
                "{business}: tumepokea {amount}, risiti {receipt}. Asante {name}. {plan} yako imelipiwa hadi {expiry}. Salio {balance}."
            }
            (Event::ExpiringSoon, Language::En) => {
                "Hi {name}, your {plan} internet expires on {expiry}. Pay {amount} by M-Pesa paybill {paybill}, account {account}, to stay connected: {payment_link}"
            }
            (Event::ExpiringSoon, Language::Sw) => {
                "Habari {name}, intaneti yako ya {plan} itaisha {expiry}. Lipa {amount} kwa M-Pesa paybill {paybill}, akaunti {account}, ili usikatiwe: {payment_link}"
            }
            (Event::Expired, Language::En) => {
                "Hi {name}, your {plan} internet has expired. Pay {amount} by M-Pesa paybill {paybill}, account {account}, and you are back online at once: {payment_link}"
            }
            (Event::Expired, Language::Sw) => {
                "Habari {name}, intaneti yako ya {plan} imeisha. Lipa {amount} kwa M-Pesa paybill {paybill}, akaunti {account}, na utarudi mtandaoni mara moja: {payment_link}"
            }
            (Event::Reactivated, Language::En) => {
                "{business}: welcome back, {name}. Your {plan} internet is on until {expiry}."
            }
            (Event::Reactivated, Language::Sw) => {
                "{business}: karibu tena {name}. Intaneti yako ya {plan} iko hewani hadi {expiry}."
            }
            (Event::PortalOtp, Language::En) => {
                "{code} is your {business} sign-in code. It expires in 5 minutes. Do not share it."
            }
            (Event::PortalOtp, Language::Sw) => {
                "{code} ni nambari yako ya kuingia {business}. Itaisha baada ya dakika 5. Usimpe mtu yeyote."
            }
            (Event::TicketReply, Language::En) => {
                "{business}: we replied to your ticket {ticket}. Read it at {link}"
            }
            (Event::TicketReply, Language::Sw) => {
                "{business}: tumejibu tiketi yako {ticket}. Soma jibu hapa {link}"
            }
            (Event::VoucherSold, Language::En) => {
                "Your {business} WiFi code is {code} ({plan}). Enter it on the WiFi page to connect. M-Pesa receipt {receipt}."
            }
            (Event::VoucherSold, Language::Sw) => {
                "Nambari yako ya WiFi ya {business} ni {code} ({plan}). Iandike kwenye ukurasa wa WiFi ili kuunganishwa. Risiti ya M-Pesa {receipt}."
            }
        }
    }
}

/// The subscriber's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    #[default]
    En,
    Sw,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::En, Language::Sw];

    pub fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Sw => "sw",
        }
    }

    pub fn parse(field: &str, value: &str) -> Result<Self, AppError> {
        match value.trim() {
            "en" | "" => Ok(Language::En),
            "sw" => Ok(Language::Sw),
            _ => Err(AppError::invalid(
                field,
                "must be English (en) or Swahili (sw)",
            )),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Language::En => "English",
            Language::Sw => "Kiswahili",
        }
    }
}

/// A `{name}` in a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Placeholder {
    Name,
    Account,
    Plan,
    Amount,
    Balance,
    Expiry,
    Paybill,
    PaymentLink,
    Business,
    Code,
    Receipt,
    Ticket,
    Link,
}

impl Placeholder {
    pub const ALL: [Placeholder; 13] = [
        Placeholder::Name,
        Placeholder::Account,
        Placeholder::Plan,
        Placeholder::Amount,
        Placeholder::Balance,
        Placeholder::Expiry,
        Placeholder::Paybill,
        Placeholder::PaymentLink,
        Placeholder::Business,
        Placeholder::Code,
        Placeholder::Receipt,
        Placeholder::Ticket,
        Placeholder::Link,
    ];

    /// As written between braces.
    pub fn key(self) -> &'static str {
        match self {
            Placeholder::Name => "name",
            Placeholder::Account => "account",
            Placeholder::Plan => "plan",
            Placeholder::Amount => "amount",
            Placeholder::Balance => "balance",
            Placeholder::Expiry => "expiry",
            Placeholder::Paybill => "paybill",
            Placeholder::PaymentLink => "payment_link",
            Placeholder::Business => "business",
            Placeholder::Code => "code",
            Placeholder::Receipt => "receipt",
            Placeholder::Ticket => "ticket",
            Placeholder::Link => "link",
        }
    }

    fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.key() == key)
    }

    /// What the preview shows for it.
    pub fn example(self) -> &'static str {
        match self {
            Placeholder::Name => "Wanjiru",
            Placeholder::Account => "ACC1042",
            Placeholder::Plan => "Home 10 Mbps",
            Placeholder::Amount => "KES 2,500",
            Placeholder::Balance => "KES 0.00",
            Placeholder::Expiry => "12 Dec 2026 18:00",
            Placeholder::Paybill => "522533",
            Placeholder::PaymentLink => "https://isp.example/pay/7GQ2KX",
            Placeholder::Business => "Kasarani Net",
            Placeholder::Code => "482913",
            Placeholder::Receipt => "QK7Y2M9TX1",
            Placeholder::Ticket => "#14",
            Placeholder::Link => "https://isp.example/portal/kasarani",
        }
    }
}

/// One piece of a template: words, or a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Slot(Placeholder),
}

/// Splits a template. `{` … `}` around a known placeholder's name is a slot; any other brace is
/// text (so "{name" or "{}" stays as written); an unknown name is an error naming it.
fn pieces(template: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after.find('}');
        let name = close.map(|c| &after[..c]);
        match name {
            Some(name)
                if !name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') =>
            {
                let slot = Placeholder::from_key(name).ok_or_else(|| format!("{{{name}}}"))?;
                out.push(Piece::Text(&rest[..open]));
                out.push(Piece::Slot(slot));
                rest = &after[name.len() + 1..];
            }
            _ => {
                out.push(Piece::Text(&rest[..=open]));
                rest = after;
            }
        }
    }
    out.push(Piece::Text(rest));
    out.retain(|p| *p != Piece::Text(""));
    Ok(out)
}

/// Longest template an ISP may save: six SMS parts of plain text.
pub const MAX_TEMPLATE_CHARS: usize = 918;

/// Checks a template an operator wrote for `event`: not empty, not too long, and every
/// placeholder one the event fills.
pub fn check(event: Event, template: &str) -> Result<(), AppError> {
    let what = format!("\"{}\"", event.label());
    check_placeholders(event.placeholders(), &what, template)
}

/// Checks a message an operator wrote: not empty, not too long, and every placeholder one of
/// `allowed` (`what` names the message in the error: "Payment received", "a bulk message").
pub fn check_placeholders(
    allowed: &[Placeholder],
    what: &str,
    template: &str,
) -> Result<(), AppError> {
    let field = "text";
    if template.trim().is_empty() {
        return Err(AppError::invalid(field, "is empty"));
    }
    if template.chars().count() > MAX_TEMPLATE_CHARS {
        return Err(AppError::invalid(
            field,
            format!("is longer than {MAX_TEMPLATE_CHARS} characters"),
        ));
    }
    let parts = pieces(template).map_err(|name| {
        AppError::invalid(field, format!("uses {name}, which is not a placeholder"))
    })?;
    for part in parts {
        if let Piece::Slot(slot) = part
            && !allowed.contains(&slot)
        {
            return Err(AppError::invalid(
                field,
                format!("uses {{{}}}, which {what} does not have", slot.key()),
            ));
        }
    }
    Ok(())
}

/// The values a message is written with; a placeholder without one is left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values(Vec<(Placeholder, String)>);

impl Values {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(mut self, slot: Placeholder, value: impl Into<String>) -> Self {
        self.0.retain(|(s, _)| *s != slot);
        self.0.push((slot, value.into()));
        self
    }

    fn get(&self, slot: Placeholder) -> Option<&str> {
        self.0
            .iter()
            .find(|(s, _)| *s == slot)
            .map(|(_, v)| v.as_str())
    }

    /// Every placeholder with its example (the preview).
    pub fn examples() -> Self {
        Self(
            Placeholder::ALL
                .into_iter()
                .map(|p| (p, p.example().to_string()))
                .collect(),
        )
    }
}

/// A written message cut to what may be sent (six SMS parts of plain text): an ISP's longest
/// template with long values filled in must still go, not fail.
pub fn fit(mut text: String) -> String {
    if let Some((cut, _)) = text.char_indices().nth(MAX_TEMPLATE_CHARS) {
        text.truncate(cut);
    }
    text
}

/// Writes the message. A template that no longer parses (it was checked when saved) is written
/// as it stands rather than not at all.
pub fn render(template: &str, values: &Values) -> String {
    let Ok(parts) = pieces(template) else {
        return template.to_string();
    };
    let mut out = String::with_capacity(template.len() + 32);
    for part in parts {
        match part {
            Piece::Text(text) => out.push_str(text),
            Piece::Slot(slot) => out.push_str(values.get(slot).unwrap_or_default()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messaging::segments::{Encoding, count};

    #[test]
    fn placeholders_are_filled_and_stray_braces_stay() {
        let values = Values::new()
            .set(Placeholder::Name, "Achieng")
            .set(Placeholder::Amount, "KES 1,500.00");
        assert_eq!(
            render("Hi {name}, pay {amount} {} {name", &values),
            "Hi Achieng, pay KES 1,500.00 {} {name"
        );
        // No value: left out, never printed as "{balance}".
        assert_eq!(render("Balance {balance}.", &values), "Balance .");
        assert_eq!(render("{name}{name}", &values), "AchiengAchieng");
    }

    #[test]
    fn every_default_checks_for_its_event_and_fits_in_two_sms() {
        for event in Event::ALL {
            for language in Language::ALL {
                let text = event.default_text(language);
                check(event, text).unwrap_or_else(|e| panic!("{event:?} {language:?}: {e}"));
                let written = render(text, &Values::examples());
                assert!(!written.contains('{'), "{event:?} {language:?}: {written}");
                let counted = count(&written);
                assert_eq!(
                    counted.encoding,
                    Encoding::Gsm7,
                    "{event:?} {language:?}: {written}"
                );
                assert!(counted.segments <= 2, "{event:?} {language:?}: {counted:?}");
            }
        }
    }

    #[test]
    fn swahili_differs_from_english_for_every_event() {
        for event in Event::ALL {
            assert_ne!(
                event.default_text(Language::En),
                event.default_text(Language::Sw)
            );
        }
        let written = render(
            Event::PaymentReceived.default_text(Language::Sw),
            &Values::examples(),
        );
        assert!(written.starts_with("Kasarani Net: tumepokea KES 2,500, risiti QK7Y2M9TX1."));
        assert_eq!(Language::parse("language", "sw").unwrap(), Language::Sw);
        assert!(Language::parse("language", "fr").is_err());
    }

    #[test]
    fn check_names_an_unknown_or_unavailable_placeholder() {
        let unknown = check(Event::Reactivated, "Hi {nmae}").unwrap_err();
        assert_eq!(
            unknown,
            AppError::invalid("text", "uses {nmae}, which is not a placeholder")
        );
        let unavailable = check(Event::PortalOtp, "{code} for {name}").unwrap_err();
        assert_eq!(
            unavailable,
            AppError::invalid(
                "text",
                "uses {name}, which \"Portal sign-in code\" does not have"
            )
        );
        assert!(check(Event::PortalOtp, "   ").is_err());
        assert!(check(Event::PortalOtp, &"a".repeat(MAX_TEMPLATE_CHARS + 1)).is_err());
        assert!(check(Event::PortalOtp, "Code: {code} {}").is_ok());
    }

    #[test]
    fn a_long_message_is_cut_to_what_may_be_sent() {
        let long = render(
            &"{business} ".repeat(80),
            &Values::new().set(Placeholder::Business, "Ukweli Broadband"),
        );
        assert!(long.chars().count() > MAX_TEMPLATE_CHARS);
        assert_eq!(fit(long).chars().count(), MAX_TEMPLATE_CHARS);
        assert_eq!(fit("Asante ’".to_string()), "Asante ’");
    }

    #[test]
    fn events_round_trip_their_stored_names() {
        for event in Event::ALL {
            assert_eq!(Event::parse("event", event.as_str()).unwrap(), event);
        }
        assert!(Event::parse("event", "birthday").is_err());
    }
}
