//! `/app/tickets` and `/app/tickets/{id}` for staff, and the portal's Support section.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use uuid::Uuid;

use crate::{
    customers::pages::local_time,
    error::AppError,
    tickets::{
        api::{
            AssignTicket, CloseTicket, PortalOpenTicket, PortalReplyTicket, ReplyTicket,
            get_ticket, list_tickets,
        },
        model::{
            CATEGORIES, Ticket, category_label, status_badge, status_label,
            status_label_for_subscriber,
        },
    },
};

fn error_text(result: Option<Result<(), AppError>>) -> Option<String> {
    match result? {
        Ok(()) => None,
        Err(AppError::Invalid { field, reason }) => Some(format!("The {field} {reason}.")),
        Err(other) => Some(other.to_string()),
    }
}

/// The conversation, oldest first.
#[component]
fn Conversation(ticket: Ticket, offset: i32, subscriber_side: bool) -> impl IntoView {
    view! {
        <ol class="ticket-messages">
            {ticket.messages.into_iter().map(|m| {
                let who = match (&m.staff_name, subscriber_side) {
                    (None, true) => "You".to_string(),
                    (None, false) => ticket.customer_name.clone(),
                    (Some(_), true) => "Your provider".to_string(),
                    (Some(name), false) => name.clone(),
                };
                let class = if m.staff_name.is_some() { "ticket-message from-staff" } else { "ticket-message" };
                view! {
                    <li class=class data-testid="ticket-message">
                        <p class="muted small">{who} " · " {local_time(m.created_at, offset)}</p>
                        <p class="ticket-body">{m.body}</p>
                    </li>
                }
            }).collect_view()}
        </ol>
    }
}

/// `/app/tickets`: tickets by status, newest activity first.
#[component]
pub fn TicketsPage() -> impl IntoView {
    let query = use_query_map();
    let status = move || query.read().get("status").unwrap_or_else(|| "open".into());
    let page = Resource::new(status, list_tickets);
    view! {
        <Title text="Tickets" />
        <header class="page-header"><h1>"Tickets"</h1></header>
        <Suspense fallback=|| view! { <p class="muted" aria-busy="true">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let list = match page.await {
                    Ok(list) => list,
                    Err(err) => return view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any(),
                };
                let offset = list.utc_offset_seconds;
                let current = status();
                let tab = |key: &'static str, label: String| {
                    let selected = current == key;
                    view! {
                        <a href=format!("/app/tickets?status={key}") class=if selected { "tab tab-active" } else { "tab" }
                           aria-current=selected.then_some("page")>{label}</a>
                    }
                };
                view! {
                    <nav class="tabs" aria-label="Ticket status">
                        {tab("open", format!("Waiting for us ({})", list.open))}
                        {tab("answered", format!("Answered ({})", list.answered))}
                        {tab("closed", format!("Closed ({})", list.closed))}
                        {tab("all", "All".to_string())}
                    </nav>
                    {if list.tickets.is_empty() {
                        view! {
                            <section class="card empty-state">
                                <h2>"No tickets here"</h2>
                                <p class="muted">"Subscribers open tickets from their portal; they show here."</p>
                            </section>
                        }.into_any()
                    } else {
                        view! {
                            <div class="table-wrap">
                                <table data-testid="tickets-table">
                                    <thead><tr><th>"#"</th><th>"Subject"</th><th>"Customer"</th><th>"About"</th><th>"Status"</th><th>"Assigned"</th><th>"Last message"</th></tr></thead>
                                    <tbody>
                                        {list.tickets.into_iter().map(|t| view! {
                                            <tr data-testid="ticket-row">
                                                <td>{t.number}</td>
                                                <td><a href=format!("/app/tickets/{}", t.id) data-testid="ticket-link">{t.subject.clone()}</a></td>
                                                <td>{t.customer_name.clone()} <span class="muted">" " {t.account_number.clone()}</span></td>
                                                <td>{category_label(&t.category)}</td>
                                                <td><span class=status_badge(&t.status)>{status_label(&t.status)}</span></td>
                                                <td>{t.assigned_name.clone().unwrap_or_else(|| "—".into())}</td>
                                                <td class="nowrap">{local_time(t.last_message_at, offset)}</td>
                                            </tr>
                                        }).collect_view()}
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

/// `/app/tickets/{id}`: the conversation, a reply, assignment and closing.
#[component]
pub fn TicketPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| Uuid::parse_str(&id).ok())
    };
    let reply = ServerAction::<ReplyTicket>::new();
    let assign = ServerAction::<AssignTicket>::new();
    let close = ServerAction::<CloseTicket>::new();
    let page = Resource::new(
        move || {
            (
                id(),
                reply.version().get(),
                assign.version().get(),
                close.version().get(),
            )
        },
        |(id, _, _, _)| async move {
            match id {
                Some(id) => get_ticket(id).await,
                None => Err(AppError::NotFound {
                    what: "That ticket".into(),
                }),
            }
        },
    );
    view! {
        <Title text="Ticket" />
        <Suspense fallback=|| view! { <p class="muted" aria-busy="true">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let p = match page.await {
                    Ok(p) => p,
                    Err(err) => return view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any(),
                };
                let t = p.ticket.clone();
                let offset = p.utc_offset_seconds;
                let id = t.id.to_string();
                let (id2, id3) = (id.clone(), id.clone());
                let assigned = t.assigned_to;
                view! {
                    <header class="page-header">
                        <h1>{format!("#{} {}", t.number, t.subject)}</h1>
                        <span class=status_badge(&t.status) data-testid="ticket-status">{status_label(&t.status)}</span>
                    </header>
                    <p class="muted">
                        <a href=format!("/app/customers?q={}", t.account_number)>{t.customer_name.clone()} " (" {t.account_number.clone()} ")"</a>
                        " · " {category_label(&t.category)} " · opened " {local_time(t.created_at, offset)}
                    </p>
                    <section class="card">
                        <Conversation ticket=t.clone() offset subscriber_side=false />
                        <ActionForm action=reply>
                            <div class="form">
                                <input type="hidden" name="id" value=id />
                                <div class="field">
                                    <label for="ticket-reply">"Reply"</label>
                                    <textarea id="ticket-reply" name="message" rows="4" required data-testid="ticket-reply"></textarea>
                                    <span class="hint">"The subscriber gets a text message saying you replied."</span>
                                </div>
                                {move || error_text(reply.value().get()).map(|e| view! { <p class="alert alert-danger" role="alert">{e}</p> })}
                                <button type="submit" class="button" data-testid="ticket-send" disabled=move || reply.pending().get()>"Send reply"</button>
                            </div>
                        </ActionForm>
                    </section>
                    <section class="card">
                        <ActionForm action=assign>
                            <div class="form-inline">
                                <input type="hidden" name="id" value=id2 />
                                <label for="ticket-assign">"Assigned to"</label>
                                <select id="ticket-assign" name="to" data-testid="ticket-assign">
                                    <option value="" selected=assigned.is_none()>"Nobody"</option>
                                    {p.staff.iter().map(|(uid, name)| view! {
                                        <option value=uid.to_string() selected=assigned == Some(*uid)>{name.clone()}</option>
                                    }).collect_view()}
                                </select>
                                <button type="submit" class="button button-secondary">"Assign"</button>
                            </div>
                        </ActionForm>
                        {move || error_text(assign.value().get()).map(|e| view! { <p class="alert alert-danger" role="alert">{e}</p> })}
                        {(t.status != "closed").then(|| view! {
                            <ActionForm action=close>
                                <input type="hidden" name="id" value=id3.clone() />
                                <button type="submit" class="button button-secondary" data-testid="ticket-close">"Close ticket"</button>
                            </ActionForm>
                        })}
                    </section>
                }.into_any()
            })}
        </Suspense>
    }
}

/// The portal's Support section: the subscriber's tickets, replies, and a new ticket.
#[component]
pub fn PortalTickets(slug: String, tickets: Vec<Ticket>, offset: i32) -> impl IntoView {
    let open = ServerAction::<PortalOpenTicket>::new();
    let reply = ServerAction::<PortalReplyTicket>::new();
    let focused = crate::surface::page_url().query("ticket");
    let slug2 = slug.clone();
    view! {
        <section class="card portal-card" id="tickets" aria-labelledby="portal-tickets">
            <h2 id="portal-tickets">"Support"</h2>
            {tickets.is_empty().then(|| view! { <p class="muted">"No tickets. If something is wrong, tell your provider below."</p> })}
            {tickets.into_iter().map(|t| {
                let id = t.id.to_string();
                let is_open = focused.as_deref() == Some(id.as_str());
                let slug = slug.clone();
                view! {
                    <details class="portal-ticket" open=is_open data-testid="portal-ticket">
                        <summary>
                            {format!("#{} {}", t.number, t.subject)} " "
                            <span class=status_badge(&t.status) data-testid="portal-ticket-status">{status_label_for_subscriber(&t.status)}</span>
                        </summary>
                        <Conversation ticket=t.clone() offset subscriber_side=true />
                        <ActionForm action=reply>
                            <div class="form">
                                <input type="hidden" name="slug" value=slug />
                                <input type="hidden" name="id" value=id.clone() />
                                <div class="field">
                                    <label for=format!("reply-{id}")>"Add a message"</label>
                                    <textarea id=format!("reply-{id}") name="message" rows="3" required></textarea>
                                </div>
                                <button type="submit" class="button button-secondary">"Send"</button>
                            </div>
                        </ActionForm>
                    </details>
                }
            }).collect_view()}
            {move || error_text(reply.value().get()).map(|e| view! { <p class="alert alert-danger" role="alert">{e}</p> })}
            <details class="pay-card-option">
                <summary data-testid="portal-new-ticket">"Report a problem"</summary>
                <ActionForm action=open>
                    <div class="form">
                        <input type="hidden" name="slug" value=slug2 />
                        <div class="field">
                            <label for="ticket-category">"What is it about?"</label>
                            <select id="ticket-category" name="form[category]" required data-testid="portal-ticket-category">
                                {CATEGORIES.iter().map(|(key, label)| view! { <option value=*key>{*label}</option> }).collect_view()}
                            </select>
                        </div>
                        <div class="field">
                            <label for="ticket-subject">"Subject"</label>
                            <input id="ticket-subject" name="form[subject]" maxlength="120" required data-testid="portal-ticket-subject" />
                        </div>
                        <div class="field">
                            <label for="ticket-message">"What is happening?"</label>
                            <textarea id="ticket-message" name="form[message]" rows="4" required data-testid="portal-ticket-message"></textarea>
                        </div>
                        {move || error_text(open.value().get()).map(|e| view! { <p class="alert alert-danger" role="alert">{e}</p> })}
                        <button type="submit" class="button" data-testid="portal-ticket-send" disabled=move || open.pending().get()>"Send to my provider"</button>
                    </div>
                </ActionForm>
            </details>
        </section>
    }
}

/// A customer's tickets on their panel.
#[component]
pub fn CustomerTickets(customer: Uuid, offset: i32) -> impl IntoView {
    let tickets = Resource::new(move || customer, crate::tickets::api::customer_tickets);
    view! {
        <details class="panel-section" data-testid="customer-tickets">
            <summary>"Tickets"</summary>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match tickets.await {
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No tickets from this customer."</p> }.into_any(),
                        Ok(list) => view! {
                            <ul class="plain-list">
                                {list.into_iter().map(|t| view! {
                                    <li data-testid="customer-ticket">
                                        <a href=format!("/app/tickets/{}", t.id)>{format!("#{} {}", t.number, t.subject)}</a>
                                        " " <span class=status_badge(&t.status)>{status_label(&t.status)}</span>
                                        <span class="muted small">" " {local_time(t.last_message_at, offset)}</span>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(err) => view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </details>
    }
}
