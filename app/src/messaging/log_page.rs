//! `/app/messages`: every text message sent to subscribers, newest first, by status and number,
//! with the gateway's answer; a failed one can be sent again.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    customers::pages::local_time,
    error::AppError,
    messaging::{
        api::{ResendMessage, list_messages},
        model::{MessageRow, STATUSES, status_badge, status_label},
    },
    phone::display_phone,
};

#[component]
pub fn MessagesPage() -> impl IntoView {
    let query = use_query_map();
    let status = move || query.read().get("status").unwrap_or_else(|| "all".into());
    // Digits only: it goes back into links and the search box as it is.
    let number = move || {
        query
            .read()
            .get("number")
            .unwrap_or_default()
            .chars()
            .filter(char::is_ascii_digit)
            .collect::<String>()
    };
    let resend = ServerAction::<ResendMessage>::new();
    let log = Resource::new(
        move || (status(), number(), resend.version().get()),
        |(status, number, _)| list_messages(status, number),
    );
    view! {
        <Title text="Messages" />
        <header class="page-header">
            <h1>"Messages"</h1>
            <a href="/app/settings/messages" class="button button-secondary">"Templates"</a>
        </header>
        <form method="get" action="/app/messages" class="form-inline" role="search">
            <input type="hidden" name="status" value=status />
            <div class="field">
                <label for="message-number">"Phone number"</label>
                <input id="message-number" name="number" type="search" inputmode="tel" value=number data-testid="message-number" />
            </div>
            <button type="submit" class="button button-secondary">"Find"</button>
        </form>
        {move || match resend.value().get() {
            Some(Ok(())) => Some(view! { <p class="alert alert-success" role="status" data-testid="message-resent">"Queued to be sent again."</p> }.into_any()),
            Some(Err(AppError::Invalid { reason, .. })) => Some(view! { <p class="alert alert-danger" role="alert" data-testid="message-error">{format!("Not sent again: {reason}.")}</p> }.into_any()),
            Some(Err(err)) => Some(view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any()),
            None => None,
        }}
        <Suspense fallback=|| view! { <p class="muted" aria-busy="true">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let log = match log.await {
                    Ok(log) => log,
                    Err(err) => return view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any(),
                };
                let (current, number) = (status(), number());
                let total: i64 = log.counts.iter().map(|(_, n)| n).sum();
                let tab = |key: &str, label: String| {
                    let selected = current == key;
                    view! {
                        <a href=format!("/app/messages?status={key}&number={number}") class=if selected { "tab tab-active" } else { "tab" }
                           aria-current=selected.then_some("page")>{label}</a>
                    }
                };
                let offset = log.utc_offset_seconds;
                view! {
                    {log.can_send_bulk.then(|| view! {
                        <p><a href="/app/messages/bulk" class="button" data-testid="bulk-link">"Send a bulk SMS"</a></p>
                    })}
                    <nav class="tabs" aria-label="Message status">
                        {tab("all", format!("All ({total})"))}
                        {STATUSES.iter().map(|(key, label)| {
                            let count = log.counts.iter().find(|(s, _)| s == key).map_or(0, |(_, n)| *n);
                            tab(key, format!("{label} ({count})"))
                        }).collect_view()}
                    </nav>
                    {if log.rows.is_empty() {
                        view! {
                            <section class="card empty-state">
                                <h2>"No messages here"</h2>
                                <p class="muted">"Sign-in codes, receipts, reminders and replies to tickets show here once they are sent."</p>
                            </section>
                        }.into_any()
                    } else {
                        view! {
                            <div class="table-wrap">
                                <table data-testid="messages-table">
                                    <thead><tr><th>"When"</th><th>"To"</th><th>"Message"</th><th>"Status"</th><th>"Gateway's answer"</th><th></th></tr></thead>
                                    <tbody>
                                        {log.rows.into_iter().map(|m| view! { <Row m offset resend /> }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any()
                    }}
                }.into_any()
            })}
        </Suspense>
    }
}

#[component]
fn Row(m: MessageRow, offset: i32, resend: ServerAction<ResendMessage>) -> impl IntoView {
    let answer = [m.delivery_status.clone(), m.error.clone(), m.cost.clone()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
    let id = m.id.to_string();
    let action = match m.status.as_str() {
        _ if m.kind == "portal_code" => None,
        "failed" => Some(view! {
            <ActionForm action=resend>
                <input type="hidden" name="id" value=id.clone() />
                <button type="submit" class="button button-secondary button-small" data-testid="message-resend">"Send again"</button>
            </ActionForm>
        }.into_any()),
        "unknown" => Some(view! {
            <ActionForm action=resend>
                <input type="hidden" name="id" value=id.clone() />
                <label class="checkbox small">
                    <input type="checkbox" name="confirm" value="yes" required data-testid="message-confirm" />
                    " It may have arrived: sending again may deliver and bill it twice"
                </label>
                <button type="submit" class="button button-secondary button-small" data-testid="message-resend">"Send again anyway"</button>
            </ActionForm>
        }.into_any()),
        _ => None,
    };
    view! {
        <tr data-testid="message-row" data-status=m.status.clone()>
            <td class="nowrap">{local_time(m.created_at, offset)}</td>
            <td class="nowrap">
                {display_phone(&m.recipient)}
                {m.customer.clone().map(|c| view! { <br /><span class="muted small">{c}</span> })}
            </td>
            <td class="message-body" data-testid="message-body">{m.body.clone()}</td>
            <td>
                <span class=status_badge(&m.status) data-testid="message-status">{status_label(&m.status)}</span>
                {(m.attempts > 1).then(|| view! { <br /><span class="muted small">{format!("{} tries", m.attempts)}</span> })}
            </td>
            <td class="small">{answer}</td>
            <td>{action}</td>
        </tr>
    }
}
