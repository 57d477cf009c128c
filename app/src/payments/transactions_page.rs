//! Payments → Transactions, Unmatched, Reconciliation and Provider events: the pages behind
//! `/app/payments`. The lists are read from the address (filters are plain GET forms), so a
//! filtered view can be bookmarked and works before the WebAssembly arrives.

use chrono::NaiveDate;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{A, Form},
    hooks::use_query_map,
};

use crate::{
    billing::model::Channel,
    customers::pages::local_time,
    error::AppError,
    money::format_kes,
    payments::{
        api::{list_transactions, payment_reconciliation, provider_events},
        model::{ReconciliationRow, TRANSACTION_PAGE_SIZE, TransactionQuery, TransactionRow},
    },
};

#[component]
pub fn PaymentsTabs() -> impl IntoView {
    view! {
        <nav class="tabs" aria-label="Payments">
            <A href="/app/payments" exact=true>"Transactions"</A>
            <A href="/app/payments/unmatched">"Unmatched"</A>
            <A href="/app/payments/reconciliation">"Daily reconciliation"</A>
            <A href="/app/payments/events">"Provider events"</A>
        </nav>
    }
}

fn date_param(value: Option<String>) -> Option<NaiveDate> {
    value.and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok())
}

/// `/app/payments`: every payment, newest first, with what it paid.
#[component]
pub fn TransactionsPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        params.with(|p| TransactionQuery {
            channel: p.get("channel").and_then(|c| Channel::parse(&c)),
            q: p.get("q").unwrap_or_default(),
            from: date_param(p.get("from")),
            to: date_param(p.get("to")),
            page: p.get("page").and_then(|n| n.parse().ok()).unwrap_or(0),
        })
    });
    let page = Resource::new(move || query.get(), list_transactions);
    let csv_href = move || {
        let q = TransactionQuery {
            page: 0,
            ..query.get()
        };
        format!("/app/payments/export.csv?{}", q.to_query_string())
    };
    view! {
        <Title text="Payments" />
        <header class="page-header"><h1>"Payments"</h1></header>
        <PaymentsTabs />
        <Form method="GET" action="" attr:class="toolbar" attr:role="search">
            <label class="visually-hidden" for="pay-channel">"Channel"</label>
            <select id="pay-channel" name="channel" data-testid="payments-channel">
                <option value="" selected=move || query.get().channel.is_none()>"All channels"</option>
                {Channel::ALL.into_iter().map(|c| view! {
                    <option value=c.as_str() selected=move || query.get().channel == Some(c)>{c.label()}</option>
                }).collect_view()}
            </select>
            <label class="visually-hidden" for="pay-q">"Search payments"</label>
            <input type="search" id="pay-q" name="q" placeholder="Receipt, customer or account" value=move || query.get().q data-testid="payments-search" />
            <label for="pay-from">"From"</label>
            <input type="date" id="pay-from" name="from" value=move || query.get().from.map(|d| d.to_string()).unwrap_or_default() />
            <label for="pay-to">"To"</label>
            <input type="date" id="pay-to" name="to" value=move || query.get().to.map(|d| d.to_string()).unwrap_or_default() />
            <button type="submit" class="button button-secondary">"Filter"</button>
            <a class="button button-secondary" href=csv_href rel="external" data-testid="payments-csv" download>"Download CSV"</a>
        </Form>
        <Suspense fallback=|| view! { <p class="muted" aria-busy="true">"Loading payments…"</p> }>
            {move || Suspend::new(async move {
                let q = query.get_untracked();
                match page.await {
                    Err(err) => view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any(),
                    Ok(p) if p.rows.is_empty() => view! {
                        <section class="card empty-state" data-testid="payments-empty">
                            <h2>{if q == TransactionQuery::default() { "No payments yet" } else { "No payments match" }}</h2>
                            <p>"M-Pesa, Paystack, cash and bank payments appear here as they are received or recorded."</p>
                        </section>
                    }.into_any(),
                    Ok(p) => {
                        let offset = p.utc_offset_seconds;
                        let pages = (p.total + i64::from(TRANSACTION_PAGE_SIZE) - 1) / i64::from(TRANSACTION_PAGE_SIZE);
                        let link = |page: u32| format!("/app/payments?{}", TransactionQuery { page, ..q.clone() }.to_query_string());
                        let prev = (p.page > 0).then(|| link(p.page - 1));
                        let next = (i64::from(p.page) + 1 < pages).then(|| link(p.page + 1));
                        view! {
                            <p class="muted" data-testid="payments-total">
                                {format!("{} payment{} · {}", p.total, if p.total == 1 { "" } else { "s" }, format_kes(p.total_minor))}
                            </p>
                            <div class="table-wrap">
                                <table data-testid="payments-table">
                                    <thead><tr>
                                        <th>"Received"</th><th>"Channel"</th><th>"Receipt"</th><th>"Customer"</th>
                                        <th class="num">"Amount"</th><th>"Paid"</th><th>"Status"</th>
                                    </tr></thead>
                                    <tbody>
                                        {p.rows.into_iter().map(|row| view! { <TransactionTableRow row offset /> }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <nav class="pager" aria-label="Pages">
                                {prev.map(|href| view! { <a href=href>"← Newer"</a> })}
                                {next.map(|href| view! { <a href=href>"Older →"</a> })}
                            </nav>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn TransactionTableRow(row: TransactionRow, offset: i32) -> impl IntoView {
    let badge = match row.status() {
        "Applied" => "badge badge-success",
        "Credit" => "badge badge-info",
        _ => "badge badge-warning",
    };
    let customer_href = format!("/app/customers?open={}", row.customer_id);
    view! {
        <tr data-testid="payment-row">
            <td class="nowrap">{local_time(row.received_at, offset)}</td>
            <td>{row.channel.label()}</td>
            <td><code data-testid="payment-reference">{row.reference.clone()}</code>
                {row.recorded_by.clone().map(|by| view! { <br /><span class="muted small">"by " {by}</span> })}
            </td>
            <td><a href=customer_href>{row.customer_name.clone()}</a><br /><span class="muted">{row.account_number.clone()}</span></td>
            <td class="num" data-testid="payment-amount">{format_kes(row.amount_minor)}</td>
            <td>{if row.invoices.is_empty() { "—".to_string() } else { row.invoices.join(", ") }}</td>
            <td><span class=badge data-testid="payment-status">{row.status()}</span></td>
        </tr>
    }
}

/// `/app/payments/reconciliation`: count and sum per channel per day, to hold against the
/// M-Pesa statement (dates in the ISP's zone).
#[component]
pub fn ReconciliationPage() -> impl IntoView {
    let params = use_query_map();
    let range =
        Memo::new(move |_| params.with(|p| (date_param(p.get("from")), date_param(p.get("to")))));
    let rows = Resource::new(
        move || range.get(),
        |(from, to)| payment_reconciliation(from, to),
    );
    view! {
        <Title text="Daily reconciliation" />
        <header class="page-header"><h1>"Payments"</h1></header>
        <PaymentsTabs />
        <Form method="GET" action="" attr:class="toolbar">
            <label for="rec-from">"From"</label>
            <input type="date" id="rec-from" name="from" value=move || range.get().0.map(|d| d.to_string()).unwrap_or_default() />
            <label for="rec-to">"To"</label>
            <input type="date" id="rec-to" name="to" value=move || range.get().1.map(|d| d.to_string()).unwrap_or_default() />
            <button type="submit" class="button button-secondary">"Show"</button>
        </Form>
        <Suspense fallback=|| view! { <p class="muted" aria-busy="true">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match rows.await {
                    Err(err) => view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any(),
                    Ok(rows) if rows.is_empty() => view! {
                        <section class="card empty-state" data-testid="reconciliation-empty"><p>"No payments in this period."</p></section>
                    }.into_any(),
                    Ok(rows) => view! { <ReconciliationTable rows /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ReconciliationTable(rows: Vec<ReconciliationRow>) -> impl IntoView {
    let count: i64 = rows.iter().map(|r| r.count).sum();
    let total: i64 = rows.iter().map(|r| r.total_minor).sum();
    view! {
        <div class="table-wrap">
            <table data-testid="reconciliation-table">
                <thead><tr><th>"Day"</th><th>"Channel"</th><th class="num">"Payments"</th><th class="num">"Total"</th></tr></thead>
                <tbody>
                    {rows.into_iter().map(|r| view! {
                        <tr data-testid="reconciliation-row">
                            <td class="nowrap">{r.day.format("%a %-d %b %Y").to_string()}</td>
                            <td>{r.channel.label()}</td>
                            <td class="num">{r.count}</td>
                            <td class="num">{format_kes(r.total_minor)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
                <tfoot><tr><th colspan="2">"All"</th><th class="num">{count}</th><th class="num" data-testid="reconciliation-total">{format_kes(total)}</th></tr></tfoot>
            </table>
        </div>
    }
}

/// `/app/payments/events`: what M-Pesa and Paystack actually sent, for troubleshooting a
/// payment (owner and admin: the bodies carry payers' names and numbers).
#[component]
pub fn ProviderEventsPage() -> impl IntoView {
    let params = use_query_map();
    let search = Memo::new(move |_| params.with(|p| p.get("q").unwrap_or_default()));
    let events = Resource::new(move || search.get(), provider_events);
    view! {
        <Title text="Provider events" />
        <header class="page-header"><h1>"Payments"</h1></header>
        <PaymentsTabs />
        <Form method="GET" action="" attr:class="toolbar" attr:role="search">
            <label class="visually-hidden" for="ev-q">"Search events"</label>
            <input type="search" id="ev-q" name="q" placeholder="Receipt, CheckoutRequestID or reference" value=move || search.get() />
            <button type="submit" class="button button-secondary">"Search"</button>
        </Form>
        <Suspense fallback=|| view! { <p class="muted" aria-busy="true">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match events.await {
                    Err(AppError::Forbidden) => view! {
                        <section class="card empty-state">
                            <h2>"Owners and admins see provider events"</h2>
                            <p>"They hold payers' names and phone numbers as M-Pesa and Paystack sent them."</p>
                        </section>
                    }.into_any(),
                    Err(err) => view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any(),
                    Ok(rows) if rows.is_empty() => view! {
                        <section class="card empty-state"><p>"Nothing received yet."</p></section>
                    }.into_any(),
                    Ok(rows) => view! {
                        <div class="table-wrap">
                            <table data-testid="events-table">
                                <thead><tr><th>"Received"</th><th>"Kind"</th><th>"Event"</th><th>"Outcome"</th><th class="num">"Repeats"</th></tr></thead>
                                <tbody>
                                    {rows.into_iter().map(|e| view! {
                                        <tr data-testid="event-row">
                                            <td class="nowrap">{e.received_at.format("%-d %b %Y %H:%M:%S UTC").to_string()}</td>
                                            <td>{e.kind.replace('_', " ")}</td>
                                            <td>
                                                <details>
                                                    <summary><code>{e.event_id.clone()}</code></summary>
                                                    <pre class="payload">{e.payload.clone()}</pre>
                                                </details>
                                            </td>
                                            <td>{e.outcome_label()}</td>
                                            <td class="num">{e.replays}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
