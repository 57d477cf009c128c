//! `/app/invoices` (status tabs, search, the invoice panel and its actions), the billing part
//! of the customer panel, Settings → Billing (VAT, KRA PIN, terms, "Run billing now") and the
//! money summary on `/app/reports`.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Form, hooks::use_query_map};
use uuid::Uuid;

use crate::{
    billing::{
        api::{
            CancelInvoice, CreditInvoice, MarkInvoicePaid, RunBillingNow, UpdateBillingSettings,
            WaiveInvoice, billing_run_status, get_billing_settings, get_billing_summary,
            get_customer_account, get_invoice, list_invoices,
        },
        model::{
            CustomerAccount, InvoiceDetail, InvoiceQuery, InvoiceRow, InvoiceStatus, RunStatus,
            StatusCounts, credit_note_number, invoice_number,
        },
    },
    customers::pages::{balance_label, encode},
    error::AppError,
    money::format_kes,
    settings::SettingsTabs,
};

fn error_text(err: &AppError) -> String {
    match err {
        AppError::Invalid { field, reason } => format!("{}: {reason}", field.replace('_', " ")),
        other => other.to_string(),
    }
}

/// A date as the ISP's staff read it: in its zone, whose offset the server sends with the data
/// (the browser does not know the ISP's zone).
fn day(at: DateTime<Utc>, utc_offset_seconds: i32) -> String {
    crate::customers::pages::day_month_year(
        crate::customers::pages::in_zone(at, utc_offset_seconds).date(),
    )
}

impl InvoiceQuery {
    pub fn to_query_string(&self, open: Option<Uuid>) -> String {
        let status = self.status.map(|s| s.as_str()).unwrap_or_default();
        let page = if self.page > 1 {
            self.page.to_string()
        } else {
            String::new()
        };
        let open = open.map(|id| id.to_string()).unwrap_or_default();
        [
            ("status", status),
            ("q", self.q.as_str()),
            ("page", page.as_str()),
            ("open", open.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
    }
}

fn status_badge(status: InvoiceStatus) -> impl IntoView {
    view! { <span class=status.badge() data-testid="invoice-status">{status.label()}</span> }
}

#[component]
pub fn InvoicesPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        params.with(|p| InvoiceQuery {
            status: p.get("status").and_then(|s| InvoiceStatus::parse(&s)),
            q: p.get("q").unwrap_or_default(),
            page: p.get("page").and_then(|n| n.parse().ok()).unwrap_or(1),
        })
    });
    let open =
        Memo::new(move |_| params.with(|p| p.get("open").and_then(|id| Uuid::parse_str(&id).ok())));
    let refresh = RwSignal::new(0u32);
    let invoices = Resource::new(
        move || (query.get(), refresh.get()),
        |(q, _)| list_invoices(q),
    );
    let tabs: Tabs = [
        (None, "All"),
        (Some(InvoiceStatus::Pending), "Pending"),
        (Some(InvoiceStatus::Overdue), "Overdue"),
        (Some(InvoiceStatus::Paid), "Paid"),
        (Some(InvoiceStatus::Waived), "Waived"),
        (Some(InvoiceStatus::Cancelled), "Cancelled"),
    ];

    view! {
        <Title text="Invoices" />
        <header class="page-header">
            <h1>"Invoices"</h1>
        </header>
        // The tabs show their counts once the page's data is here; until then (and while a new
        // page loads) they show what they had.
        <Transition fallback=move || status_tabs(tabs, query, None)>
            {move || Suspend::new(async move {
                let counts = invoices.await.ok().map(|page| page.counts);
                status_tabs(tabs, query, counts)
            })}
        </Transition>
        <Form method="GET" action="" attr:class="toolbar" attr:role="search">
            {move || query.get().status.map(|s| view! { <input type="hidden" name="status" value=s.as_str() /> })}
            <label class="visually-hidden" for="invoice-q">"Search invoices"</label>
            <input type="search" id="invoice-q" name="q" placeholder="Customer, invoice no. or amount" value=move || query.get().q data-testid="invoice-search" />
            <button type="submit" class="button button-secondary">"Search"</button>
        </Form>
        <Suspense fallback=|| view! { <p class="muted" aria-busy="true">"Loading invoices…"</p> }>
            {move || Suspend::new(async move {
                let q = query.get_untracked();
                match invoices.await {
                    Err(err) => view! { <p class="alert alert-danger" role="alert">{error_text(&err)}</p> }.into_any(),
                    Ok(page) if page.rows.is_empty() && page.page == 1 => view! {
                        <section class="card empty-state" data-testid="invoices-empty">
                            <h2>{if q == InvoiceQuery::default() { "No invoices yet" } else { "No invoices match" }}</h2>
                            <p>"Invoices are raised when a service starts, when a prepaid period is renewed and on postpaid billing days."</p>
                        </section>
                    }.into_any(),
                    Ok(page) => {
                        let prev = (page.page > 1).then(|| InvoiceQuery { page: page.page - 1, ..q.clone() });
                        let next = page.has_next.then(|| InvoiceQuery { page: page.page + 1, ..q.clone() });
                        view! {
                            <div class="table-wrap">
                                <table data-testid="invoices-table">
                                    <thead><tr>
                                        <th>"Invoice"</th><th>"Customer"</th><th>"For"</th><th>"Issued"</th>
                                        <th>"Due"</th><th class="num">"Total"</th><th class="num">"Owed"</th><th>"Status"</th>
                                    </tr></thead>
                                    <tbody>
                                        {page.rows.into_iter().map(|row| view! { <InvoiceTableRow row query=q.clone() offset=page.utc_offset_seconds /> }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <nav class="pagination" aria-label="Pages">
                                {prev.map(|p| view! { <a class="button button-secondary button-small" rel="prev" href=format!("/app/invoices?{}", p.to_query_string(None))>"← Previous"</a> })}
                                <span class="muted">{format!("Page {}", page.page)}</span>
                                {next.map(|p| view! { <a class="button button-secondary button-small" rel="next" href=format!("/app/invoices?{}", p.to_query_string(None))>"Next →"</a> })}
                            </nav>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
        {move || open.get().map(|id| view! { <InvoicePanel id query refresh /> })}
    }
}

type Tabs = [(Option<InvoiceStatus>, &'static str); 6];

fn status_tabs(
    tabs: Tabs,
    query: Memo<InvoiceQuery>,
    counts: Option<StatusCounts>,
) -> impl IntoView {
    view! {
        <nav class="tabs" aria-label="Invoice status">
            {tabs.map(|(status, label)| {
                let href = InvoiceQuery { status, q: String::new(), page: 1 }.to_query_string(None);
                let current = move || query.get().status == status;
                let count = counts.as_ref().map(|c| c.of(status));
                view! {
                    <a href=format!("/app/invoices?{href}") aria-current=move || current().then_some("page") data-testid=format!("tab-{}", status.map(|s| s.as_str()).unwrap_or("all"))>
                        {label}
                        {count.map(|n| view! { " " <span class="tab-count" data-testid="tab-count">{n}</span> })}
                    </a>
                }
            }).collect_view()}
        </nav>
    }
}

#[component]
fn InvoiceTableRow(row: InvoiceRow, query: InvoiceQuery, offset: i32) -> impl IntoView {
    let href = format!("/app/invoices?{}", query.to_query_string(Some(row.id)));
    view! {
        <tr data-testid="invoice-row">
            <td><a href=href data-testid="invoice-link"><code>{row.number_label()}</code></a></td>
            <td>{row.customer_name.clone()}<br /><span class="muted">{row.account_number.clone()}</span></td>
            <td>{row.description.clone()}</td>
            <td class="nowrap">{day(row.issued_at, offset)}</td>
            <td class="nowrap">{day(row.due_at, offset)}</td>
            <td class="num">{format_kes(row.total_minor)}</td>
            <td class="num" data-testid="invoice-owed">{format_kes(row.balance_minor.max(0))}</td>
            <td>{status_badge(row.status)}</td>
        </tr>
    }
}

/// The side panel for one invoice: lines, credit notes and the actions staff may take.
#[component]
fn InvoicePanel(id: Uuid, query: Memo<InvoiceQuery>, refresh: RwSignal<u32>) -> impl IntoView {
    let actions = InvoiceActions::new();
    let versions = move || actions.versions();
    Effect::new(move |previous: Option<()>| {
        versions();
        if previous.is_some() {
            refresh.update(|n| *n += 1);
        }
    });
    let invoice = Resource::new(move || (id, versions()), |(id, _)| get_invoice(id));
    let close_href = move || format!("/app/invoices?{}", query.get().to_query_string(None));
    view! {
        <aside class="panel" aria-labelledby="panel-title" data-testid="invoice-panel">
            <div class="panel-head">
                <h2 id="panel-title">"Invoice"</h2>
                <a class="button-link" href=close_href aria-label="Close the panel">"Close ✕"</a>
            </div>
            {move || actions.last_error().map(|e| view! { <p class="alert alert-danger" role="alert" data-testid="panel-error">{e}</p> })}
            <Suspense fallback=|| view! { <p class="muted" aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match invoice.await {
                        Err(err) => view! { <p class="alert alert-danger" role="alert">{error_text(&err)}</p> }.into_any(),
                        Ok(d) => view! { <InvoiceFacts detail=d actions /> }.into_any(),
                    }
                })}
            </Suspense>
        </aside>
    }
}

/// The four invoice actions, shared by the invoice panel and the customer panel.
#[derive(Clone, Copy)]
pub struct InvoiceActions {
    pub mark_paid: ServerAction<MarkInvoicePaid>,
    pub waive: ServerAction<WaiveInvoice>,
    pub cancel: ServerAction<CancelInvoice>,
    pub credit: ServerAction<CreditInvoice>,
}

impl InvoiceActions {
    pub fn new() -> Self {
        Self {
            mark_paid: ServerAction::new(),
            waive: ServerAction::new(),
            cancel: ServerAction::new(),
            credit: ServerAction::new(),
        }
    }

    pub fn versions(&self) -> (usize, usize, usize, usize) {
        (
            self.mark_paid.version().get(),
            self.waive.version().get(),
            self.cancel.version().get(),
            self.credit.version().get(),
        )
    }

    pub fn last_error(&self) -> Option<String> {
        [
            self.mark_paid.value().get().and_then(Result::err),
            self.waive.value().get().and_then(Result::err),
            self.cancel.value().get().and_then(Result::err),
            self.credit.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| error_text(&e))
    }
}

impl Default for InvoiceActions {
    fn default() -> Self {
        Self::new()
    }
}

#[component]
fn InvoiceFacts(detail: InvoiceDetail, actions: InvoiceActions) -> impl IntoView {
    let row = detail.row.clone();
    let id = row.id;
    let open = row.status.is_open();
    let can_credit = detail.creditable_minor > 0;
    let can_cancel = !matches!(row.status, InvoiceStatus::Cancelled | InvoiceStatus::Waived);
    let (confirm, set_confirm) = signal(None::<&'static str>);
    let offset = detail.utc_offset_seconds;
    view! {
        <h3 data-testid="panel-number">{invoice_number(row.number)} " " {status_badge(row.status)}</h3>
        <dl class="facts">
            <div><dt>"Customer"</dt><dd><a href=format!("/app/customers?open={}", row.customer_id)>{row.customer_name.clone()}</a></dd></div>
            <div><dt>"Account"</dt><dd><code>{row.account_number.clone()}</code></dd></div>
            <div><dt>"Issued"</dt><dd>{day(row.issued_at, offset)}</dd></div>
            <div><dt>"Due"</dt><dd>{day(row.due_at, offset)}</dd></div>
            <div><dt>"Period"</dt><dd>{format!("{} to {}", day(detail.period_start, offset), day(detail.period_end, offset))}</dd></div>
            <div><dt>"Owed"</dt><dd data-testid="panel-owed">{format_kes(row.balance_minor.max(0))}</dd></div>
        </dl>
        {detail.closed_reason.clone().map(|r| view! { <p class="notes">{format!("{}: {r}", row.status.label())}</p> })}
        <div class="table-wrap">
            <table>
                <thead><tr><th>"Line"</th><th class="num">"Net"</th><th class="num">"VAT"</th><th class="num">"Amount"</th></tr></thead>
                <tbody>
                    {detail.lines.iter().map(|l| view! {
                        <tr>
                            <td>{l.description.clone()}</td>
                            <td class="num">{format_kes(l.net_minor)}</td>
                            <td class="num">{format_kes(l.vat_minor)}</td>
                            <td class="num">{format_kes(l.total_minor)}</td>
                        </tr>
                    }).collect_view()}
                    <tr><th>"Total"</th><td class="num">{format_kes(detail.subtotal_minor)}</td><td class="num">{format_kes(detail.vat_minor)}</td><th class="num">{format_kes(row.total_minor)}</th></tr>
                    {detail.credit_notes.iter().map(|c| view! {
                        <tr><td>{format!("Credit note {}: {}", credit_note_number(c.number), c.reason)}</td><td></td><td></td><td class="num">{format!("-{}", format_kes(c.amount_minor))}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <p><a class="button button-secondary button-small" href=format!("/app/invoices/{id}/pdf") download=format!("{}.pdf", invoice_number(row.number)) data-testid="invoice-pdf">"Download PDF"</a></p>

        <Show when=move || open>
            <details class="panel-section" open=true>
                <summary>"Mark as paid"</summary>
                <ActionForm action=actions.mark_paid>
                    <input type="hidden" name="id" value=id.to_string() />
                    <div class="form-grid">
                        <div class="field">
                            <label for="pay-channel">"Paid by"</label>
                            <select id="pay-channel" name="channel">
                                <option value="cash">"Cash"</option>
                                <option value="bank">"Bank transfer / cheque"</option>
                            </select>
                        </div>
                        <div class="field">
                            <label for="pay-amount">"Amount (blank: all that is owed)"</label>
                            <input id="pay-amount" name="amount" inputmode="decimal" placeholder=format_kes(row.balance_minor) />
                        </div>
                        <div class="field">
                            <label for="pay-reference">"Receipt or slip number"</label>
                            <input id="pay-reference" name="reference" required maxlength="100" autocomplete="off" data-testid="pay-reference" />
                        </div>
                    </div>
                    <button type="submit" class="button button-small" data-testid="mark-paid">"Record payment"</button>
                </ActionForm>
            </details>
        </Show>
        <Show when=move || can_credit>
            <details class="panel-section">
                <summary>"Issue a credit note"</summary>
                <ActionForm action=actions.credit>
                    <input type="hidden" name="id" value=id.to_string() />
                    <div class="form-grid">
                        <div class="field">
                            <label for="credit-amount">{format!("Amount (up to {})", format_kes(detail.creditable_minor))}</label>
                            <input id="credit-amount" name="amount" required inputmode="decimal" />
                        </div>
                        <div class="field">
                            <label for="credit-reason">"Reason"</label>
                            <input id="credit-reason" name="reason" required maxlength="500" />
                        </div>
                    </div>
                    <button type="submit" class="button button-small">"Issue credit note"</button>
                </ActionForm>
            </details>
        </Show>
        <Show when=move || open || can_cancel>
            <div class="danger-zone">
                <Show when=move || confirm.get().is_some() fallback=move || view! {
                    {open.then(|| view! { <button type="button" class="button-link danger" data-testid="waive" on:click=move |_| set_confirm.set(Some("waive"))>"Waive…"</button> })}
                    " "
                    {can_cancel.then(|| view! { <button type="button" class="button-link danger" data-testid="cancel-invoice" on:click=move |_| set_confirm.set(Some("cancel"))>"Cancel invoice…"</button> })}
                }>
                    {move || match confirm.get() {
                        Some("waive") => view! {
                            <ActionForm action=actions.waive>
                                <input type="hidden" name="id" value=id.to_string() />
                                <p>{format!("Write off the {} still owed? The invoice stays on record as waived.", format_kes(row.balance_minor))}</p>
                                <div class="field">
                                    <label for="waive-reason">"Reason"</label>
                                    <input id="waive-reason" name="reason" required maxlength="500" data-testid="waive-reason" />
                                </div>
                                <button type="submit" class="button button-danger button-small" data-testid="confirm-waive">"Yes, waive"</button>
                                " "
                                <button type="button" class="button-link" on:click=move |_| set_confirm.set(None)>"Keep it"</button>
                            </ActionForm>
                        }.into_any(),
                        _ => view! {
                            <ActionForm action=actions.cancel>
                                <input type="hidden" name="id" value=id.to_string() />
                                <p>"Cancel this invoice as raised in error? Its charge is reversed; anything paid on it becomes credit."</p>
                                <div class="field">
                                    <label for="cancel-reason">"Reason"</label>
                                    <input id="cancel-reason" name="reason" required maxlength="500" data-testid="cancel-reason" />
                                </div>
                                <button type="submit" class="button button-danger button-small" data-testid="confirm-cancel">"Yes, cancel it"</button>
                                " "
                                <button type="button" class="button-link" on:click=move |_| set_confirm.set(None)>"Keep it"</button>
                            </ActionForm>
                        }.into_any(),
                    }}
                </Show>
            </div>
        </Show>
    }
}

/// The billing part of the customer panel: balance, invoices, history and the statement.
#[component]
pub fn CustomerBilling(customer: Uuid, refresh: RwSignal<u32>) -> impl IntoView {
    let account = Resource::new(
        move || (customer, refresh.get()),
        |(id, _)| get_customer_account(id),
    );
    view! {
        <h3>"Billing"</h3>
        <Suspense fallback=|| view! { <p class="muted" aria-busy="true">"Loading billing…"</p> }>
            {move || Suspend::new(async move {
                match account.await {
                    Err(err) => view! { <p class="alert alert-danger" role="alert">{error_text(&err)}</p> }.into_any(),
                    Ok(a) => view! { <AccountView account=a customer /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AccountView(account: CustomerAccount, customer: Uuid) -> impl IntoView {
    let balance = account.balance_minor;
    let offset = account.utc_offset_seconds;
    let owing_class = if balance > 0 { "text-danger" } else { "" };
    let label = match balance {
        0 => "Nothing owed".to_string(),
        b if b > 0 => format!("Owes {}", format_kes(b)),
        b => format!("{} in credit", format_kes(-b)),
    };
    view! {
        <p data-testid="customer-balance-panel" class=owing_class>
            <strong>{label}</strong>
        </p>
        {account.invoices.is_empty().then(|| view! { <p class="muted">"No invoices yet."</p> })}
        <ul class="attention-list" data-testid="customer-invoices">
            {account.invoices.into_iter().map(|i| view! {
                <li data-testid="customer-invoice">
                    <a href=format!("/app/invoices?open={}", i.id)><code>{invoice_number(i.number)}</code></a>
                    " " {format_kes(i.total_minor)} " " {status_badge(i.status)}
                </li>
            }).collect_view()}
        </ul>
        <details class="panel-section">
            <summary>"Account history"</summary>
            {account.history.is_empty().then(|| view! { <p class="muted">"Nothing posted yet."</p> })}
            <div class="table-wrap">
                <table>
                    <thead><tr><th>"Date"</th><th>"What"</th><th class="num">"Amount"</th><th class="num">"Balance"</th></tr></thead>
                    <tbody>
                        {account.history.into_iter().map(|l| view! {
                            <tr>
                                <td class="nowrap">{day(l.posted_at, offset)}</td>
                                <td>{l.memo}</td>
                                <td class="num">{balance_label(l.amount_minor)}</td>
                                <td class="num">{balance_label(l.balance_minor)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </details>
        <details class="panel-section">
            <summary>"Statement (PDF)"</summary>
            // A plain GET form: the browser downloads the file.
            <form method="get" action=format!("/app/customers/{customer}/statement.pdf") class="form-grid">
                <div class="field"><label for="st-from">"From"</label><input id="st-from" name="from" type="date" /></div>
                <div class="field"><label for="st-to">"To"</label><input id="st-to" name="to" type="date" /></div>
                <button type="submit" class="button button-secondary button-small">"Download statement"</button>
            </form>
        </details>
    }
}

/// Settings → Billing: VAT, KRA PIN, terms, and "Run billing now" with its progress.
#[component]
pub fn BillingSettingsPage() -> impl IntoView {
    let save = ServerAction::<UpdateBillingSettings>::new();
    let settings = Resource::new(move || save.version().get(), |_| get_billing_settings());
    let saved = save.value();
    let run = ServerAction::<RunBillingNow>::new();
    let tick = RwSignal::new(0u32);
    let run_id = move || run.value().get().and_then(Result::ok);
    let status = Resource::new(
        move || (run_id(), tick.get()),
        |(id, _)| billing_run_status(id),
    );
    // Polls once a second while a run is going (in the browser only).
    Effect::new(move |_| {
        let running = status
            .get()
            .and_then(Result::ok)
            .flatten()
            .is_some_and(|r| r.status == RunStatus::Running);
        if running {
            set_timeout(
                move || tick.update(|n| *n += 1),
                std::time::Duration::from_secs(1),
            );
        }
    });
    let field_error = move |field: &'static str| {
        move || match saved.get() {
            Some(Err(AppError::Invalid { field: f, reason })) if f == field => Some(reason),
            _ => None,
        }
    };
    view! {
        <Title text="Billing settings" />
        <header class="page-header"><h1>"Settings"</h1></header>
        <SettingsTabs />
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match settings.await {
                    Err(err) => view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any(),
                    Ok(s) => {
                        let locked = !s.editable;
                        view! {
                            <section class="card">
                                <h2>"Invoices and VAT"</h2>
                                {locked.then(|| view! { <p class="alert alert-info">"Only the owner and admins can change these."</p> })}
                                {move || match saved.get() {
                                    Some(Ok(_)) => Some(view! { <p class="alert alert-info" role="status" data-testid="billing-saved">"Saved."</p> }.into_any()),
                                    Some(Err(AppError::Invalid { .. })) | None => None,
                                    Some(Err(err)) => Some(view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any()),
                                }}
                                <ActionForm action=save>
                                    <fieldset class="form" disabled=locked>
                                        <label class="checkbox">
                                            <input type="checkbox" name="vat_enabled" value="on" checked=s.vat_enabled data-testid="vat-enabled" />
                                            " Charge VAT (16%)"
                                        </label>
                                        <div class="field">
                                            <label for="vat_inclusive">"Plan prices are"</label>
                                            <select id="vat_inclusive" name="vat_inclusive">
                                                <option value="inclusive" selected=s.vat_inclusive>"VAT-inclusive (VAT is part of the price)"</option>
                                                <option value="exclusive" selected=!s.vat_inclusive>"VAT-exclusive (VAT is added on top)"</option>
                                            </select>
                                        </div>
                                        <div class="field">
                                            <label for="kra_pin">"KRA PIN (printed on invoices)"</label>
                                            <input id="kra_pin" name="kra_pin" value=s.kra_pin.clone().unwrap_or_default() placeholder="P051234567X" autocomplete="off" />
                                            <span class="error" role="alert">{field_error("kra_pin")}</span>
                                        </div>
                                        <div class="field">
                                            <label for="invoice_due_days">"Postpaid invoices are due after (days)"</label>
                                            <input id="invoice_due_days" name="invoice_due_days" inputmode="numeric" value=s.invoice_due_days.to_string() />
                                            <span class="error" role="alert">{field_error("invoice_due_days")}</span>
                                        </div>
                                        <div class="field">
                                            <label for="renewal_notice_days">"Invoice prepaid renewals this many days before expiry"</label>
                                            <input id="renewal_notice_days" name="renewal_notice_days" inputmode="numeric" value=s.renewal_notice_days.to_string() />
                                            <span class="error" role="alert">{field_error("renewal_notice_days")}</span>
                                        </div>
                                        <div class="form-actions"><button type="submit" class="button">"Save"</button></div>
                                    </fieldset>
                                </ActionForm>
                            </section>
                            <section class="card">
                                <h2>"Billing run"</h2>
                                <p class="muted">"Billing runs every minute on its own: it renews prepaid services, bills postpaid ones on their day, marks unpaid invoices overdue and cuts off services past their grace period. Run it now to see the result at once."</p>
                                <ActionForm action=run>
                                    <button type="submit" class="button button-secondary" disabled=locked data-testid="run-billing">"Run billing now"</button>
                                </ActionForm>
                            </section>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
        {move || run.value().get().and_then(Result::err).map(|e| view! { <p class="alert alert-danger" role="alert">{error_text(&e)}</p> })}
        <Transition>
            {move || Suspend::new(async move {
                status.await.ok().flatten().map(|r| {
                    let label = match r.status {
                        RunStatus::Running => format!("Running: {} of {} services", r.processed, r.due),
                        RunStatus::Done => format!("Done: {} services, {} invoices", r.processed, r.invoices),
                        RunStatus::Failed => format!("Failed: {}", r.error.clone().unwrap_or_default()),
                    };
                    view! {
                        <section class="card" data-testid="billing-run">
                            <progress class="import-progress" max="100" value=r.percent().to_string()>{format!("{}%", r.percent())}</progress>
                            <p role="status" data-testid="billing-run-status">{label}</p>
                        </section>
                    }
                })
            })}
        </Transition>
    }
}

/// `/app/reports`: invoiced, collected, waived, credited and outstanding for a date range.
#[component]
pub fn ReportsPage() -> impl IntoView {
    let params = use_query_map();
    let range = Memo::new(move |_| {
        params.with(|p| {
            (
                p.get("from").unwrap_or_default(),
                p.get("to").unwrap_or_default(),
            )
        })
    });
    let summary = Resource::new(
        move || range.get(),
        |(from, to)| get_billing_summary(from, to),
    );
    view! {
        <Title text="Reports" />
        <header class="page-header"><h1>"Reports"</h1></header>
        <Form method="GET" action="" attr:class="toolbar">
            <label for="from">"From"</label>
            <input id="from" name="from" type="date" value=move || range.get().0 />
            <label for="to">"To"</label>
            <input id="to" name="to" type="date" value=move || range.get().1 />
            <button type="submit" class="button button-secondary">"Show"</button>
        </Form>
        <Suspense fallback=|| view! { <p class="muted" aria-busy="true">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match summary.await {
                    Err(err) => view! { <p class="alert alert-danger" role="alert">{error_text(&err)}</p> }.into_any(),
                    Ok(s) => view! {
                        <section class="stats" data-testid="billing-summary">
                            <Stat label="Invoiced" value=s.invoiced_minor id="invoiced" />
                            <Stat label="Collected" value=s.collected_minor id="collected" />
                            <Stat label="Waived" value=s.waived_minor id="waived" />
                            <Stat label="Credited" value=s.credited_minor id="credited" />
                            <Stat label="Cancelled" value=s.cancelled_minor id="cancelled" />
                            <Stat label="Hotspot sales" value=s.sold_minor id="sold" />
                            <Stat label="Outstanding" value=s.outstanding_minor id="outstanding" />
                            <Stat label="Customer credit" value=s.customer_credit_minor id="credit" />
                            <Stat label="VAT invoiced" value=s.vat_minor id="vat" />
                        </section>
                        <section class="card">
                            <h2>"Collected by channel"</h2>
                            {s.collected_by_channel.is_empty().then(|| view! { <p class="muted">"No payments in this period."</p> })}
                            <ul>
                                {s.collected_by_channel.into_iter().map(|(c, amount)| view! { <li>{format!("{}: {}", c.label(), format_kes(amount))}</li> }).collect_view()}
                            </ul>
                        </section>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Stat(label: &'static str, value: i64, id: &'static str) -> impl IntoView {
    view! {
        <div class="stat" data-testid=format!("stat-{id}")>
            <span class="stat-label">{label}</span>
            <span class="stat-value">{format_kes(value)}</span>
        </div>
    }
}
