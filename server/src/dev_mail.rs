//! `/dev/mail` and `/dev/sms`: in demo mode, the mail and text messages Jasiyo sent, caught by
//! the SMTP sink and the SMS simulator, so a person can click the verification and reset links
//! and read sign-in codes without a real mailbox or phone. Never mounted otherwise.

use axum::{
    Json, Router,
    extract::State,
    http::header,
    response::{Html, IntoResponse},
    routing::get,
};

use crate::simulators::smtp::{ReceivedMail, SmtpSink};

pub fn routes<S>(sink: SmtpSink) -> Router<S> {
    Router::new()
        .route("/dev/mail", get(page))
        .route("/dev/mail.json", get(json))
        .with_state(sink)
}

async fn json(State(sink): State<SmtpSink>) -> Json<Vec<ReceivedMail>> {
    Json(sink.messages())
}

/// A demo page around `items`: no script, its own strict CSP.
fn demo_page(title: &str, intro: &str, items: &str) -> axum::response::Response {
    let csp = [(
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; frame-ancestors 'none'",
    )];
    (
        csp,
        Html(format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Jasiyo</title><link rel=\"stylesheet\" href=\"/pkg/jasiyo.css\"></head>\
         <body><main class=\"standalone\"><h1>{title}</h1>\
         <p class=\"muted\">{intro}</p>\
         <div class=\"card-grid\">{items}</div></main></body></html>"
        )),
    )
        .into_response()
}

async fn page(State(sink): State<SmtpSink>) -> impl IntoResponse {
    let mut messages = sink.messages();
    messages.reverse();
    let items: String = if messages.is_empty() {
        "<p class=\"muted\">No mail yet. Sign up or ask for a password reset, then reload.</p>"
            .into()
    } else {
        messages
            .iter()
            .map(|m| {
                format!(
                    "<article class=\"card\"><h2>{}</h2><p class=\"muted\">To {}</p><pre>{}</pre></article>",
                    escape(&m.subject),
                    escape(&m.to.join(", ")),
                    linkify(&escape(&m.body))
                )
            })
            .collect()
    };
    demo_page(
        "Demo mailbox",
        "Mail sent by this demo server. Nothing here left the machine.",
        &items,
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Turns the http(s) URLs of an (already escaped) body into links.
fn linkify(escaped: &str) -> String {
    escaped
        .split_inclusive(char::is_whitespace)
        .map(|word| {
            let trimmed = word.trim_end();
            if trimmed.starts_with("http://") || trimmed.starts_with("https://") {
                format!(
                    "<a href=\"{trimmed}\">{trimmed}</a>{}",
                    &word[trimmed.len()..]
                )
            } else {
                word.to_string()
            }
        })
        .collect()
}

pub fn sms_routes<S>(sim: crate::simulators::sms::SmsSim) -> Router<S> {
    Router::new()
        .route("/dev/sms", get(sms_page))
        .route("/dev/sms.json", get(sms_json))
        .with_state(sim)
}

async fn sms_json(
    State(sim): State<crate::simulators::sms::SmsSim>,
) -> Json<Vec<crate::simulators::sms::SentSms>> {
    Json(sim.messages())
}

async fn sms_page(State(sim): State<crate::simulators::sms::SmsSim>) -> impl IntoResponse {
    let mut messages = sim.messages();
    messages.reverse();
    let items: String = if messages.is_empty() {
        "<p class=\"muted\">No text messages yet. Ask for a portal sign-in code, then reload.</p>"
            .into()
    } else {
        messages
            .iter()
            .map(|m| {
                format!(
                    "<article class=\"card\" data-testid=\"dev-sms\"><p class=\"muted\">To {}</p><p>{}</p></article>",
                    escape(&m.to),
                    escape(&m.message)
                )
            })
            .collect()
    };
    demo_page(
        "Demo phone",
        "Text messages sent by this demo server. Nothing here left the machine.",
        &items,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_in_mail_become_clickable_and_markup_is_escaped() {
        let html = linkify(&escape("Go <b>now</b>: http://x.test/a?token=1&b=2\nbye"));
        assert!(html.contains("&lt;b&gt;"), "{html}");
        assert!(
            html.contains("<a href=\"http://x.test/a?token=1&amp;b=2\">"),
            "{html}"
        );
    }
}
