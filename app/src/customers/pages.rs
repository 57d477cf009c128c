//! `/app/customers`: the table an ISP works from all day, its search and filters (all in the
//! address, so a view can be bookmarked and works before the WebAssembly loads), the add form,
//! and the detail panel with the actions on each service.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Form, hooks::use_query_map};
use uuid::Uuid;

use crate::{
    auth::model::{Permission, Role},
    billing::model::{VatMode, line_amounts, prorate},
    customers::{
        api::{
            AddService, ChangeServicePassword, ChangeServicePlan, CreateCustomer, DeleteCustomer,
            ExtendService, MoveServiceRouter, ReactivateService, RevealServicePassword,
            SuspendService, UpdateCustomer, get_customer, list_customers,
        },
        model::{
            CustomerDetail, CustomerQuery, CustomerRow, Removal, ServiceStatus, ServiceView,
            add_validity,
        },
    },
    error::AppError,
    layout::WorkspaceResource,
    messaging::template::Language,
    money::format_kes,
    phone::{display_phone, normalise_phone},
    plans::model::{Plan, ValidityUnit, validity_label},
};

/// Percent-encodes a query value (RFC 3986 unreserved characters pass through).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char);
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl CustomerQuery {
    /// The query as an address query string (without `?`), leaving out empty values.
    pub fn to_query_string(&self, open: Option<Uuid>) -> String {
        let open = open.map(|id| id.to_string()).unwrap_or_default();
        [
            ("q", self.q.as_str()),
            ("status", self.status.as_str()),
            ("plan", self.plan.as_str()),
            ("router", self.router.as_str()),
            ("sort", self.sort.as_str()),
            ("page", self.page.as_str()),
            ("open", open.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
    }
}

/// Dates as the ISP reads them, in its own zone (the offset the server sent, so the server's
/// render and the browser's agree): "29 Nov 2026 14:05".
pub fn local_time(at: DateTime<Utc>, offset_seconds: i32) -> String {
    use chrono::Timelike;
    let local = in_zone(at, offset_seconds);
    format!(
        "{} {:02}:{:02}",
        day_month_year(local.date()),
        local.hour(),
        local.minute()
    )
}

/// `at` on the ISP's wall clock.
pub fn in_zone(at: DateTime<Utc>, offset_seconds: i32) -> chrono::NaiveDateTime {
    let offset = FixedOffset::east_opt(offset_seconds).unwrap_or(Utc.fix());
    at.with_timezone(&offset).naive_local()
}

/// "29 Nov 2026". Written out rather than with chrono's `format("%-d %b %Y")`, whose format-string
/// interpreter would otherwise be shipped in the subscriber pages' small bundles.
pub fn day_month_year(date: NaiveDate) -> String {
    use chrono::Datelike;
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.get(date.month0() as usize).copied().unwrap_or("");
    format!("{} {month} {}", date.day(), date.year())
}

use chrono::Offset;

fn status_badge(status: Option<ServiceStatus>) -> impl IntoView {
    match status {
        Some(s) => {
            view! { <span class=s.badge() data-testid="status-badge">{s.label()}</span> }.into_any()
        }
        None => view! { <span class="badge badge-neutral">"No service"</span> }.into_any(),
    }
}

/// A balance as staff read it: what is owed, or the credit held.
pub fn balance_label(balance_minor: i64) -> String {
    match balance_minor {
        0 => "—".to_string(),
        owed if owed > 0 => format_kes(owed),
        credit => format!("{} credit", format_kes(-credit)),
    }
}

fn error_text(err: &AppError) -> String {
    match err {
        AppError::Invalid { field, reason } => format!("{}: {reason}", field.replace('_', " ")),
        other => other.to_string(),
    }
}

#[component]
pub fn CustomersPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        params.with(|p| CustomerQuery {
            q: p.get("q").unwrap_or_default(),
            status: p.get("status").unwrap_or_default(),
            plan: p.get("plan").unwrap_or_default(),
            router: p.get("router").unwrap_or_default(),
            sort: p.get("sort").unwrap_or_default(),
            page: p.get("page").unwrap_or_default(),
        })
    });
    let open =
        Memo::new(move |_| params.with(|p| p.get("open").and_then(|id| Uuid::parse_str(&id).ok())));
    // Bumped by every change in the panel, so the table shows it.
    let refresh = RwSignal::new(0u32);
    let create = ServerAction::<CreateCustomer>::new();
    let customers = Resource::new(
        move || (query.get(), refresh.get(), create.version().get()),
        |(q, _, _)| list_customers(q),
    );
    // The plans come with the page (one request, not two): filters and forms read them here.
    let plans = Signal::derive(move || {
        customers
            .get()
            .and_then(Result::ok)
            .map(|p| p.plans)
            .unwrap_or_default()
    });
    let routers = Signal::derive(move || {
        customers
            .get()
            .and_then(Result::ok)
            .map(|p| p.routers)
            .unwrap_or_default()
    });
    let (adding, set_adding) = signal(false);

    view! {
        <Title text="Customers" />
        <header class="page-header">
            <h1>"Customers"</h1>
            <div class="header-actions">
                <a class="button button-secondary" href=move || format!("/app/customers/export.csv?{}", query.get().to_query_string(None)) download="customers.csv" data-testid="export-csv">"Export CSV"</a>
                <a class="button button-secondary" href="/app/customers/import">"Import CSV"</a>
                <button type="button" class="button" data-testid="add-customer" on:click=move |_| set_adding.update(|a| *a = !*a)>
                    {move || if adding.get() { "Close form" } else { "Add customer" }}
                </button>
            </div>
        </header>

        <Show when=move || adding.get()>
            <AddCustomerForm create plans routers />
        </Show>

        <Form method="GET" action="" attr:class="toolbar" attr:role="search">
            <label class="visually-hidden" for="q">"Search customers"</label>
            <input type="search" id="q" name="q" placeholder="Name, phone, account no. or user name" value=move || query.get().q data-testid="customer-search" />
            <label class="visually-hidden" for="status">"Status"</label>
            <select id="status" name="status">
                <option value="">"Any status"</option>
                {ServiceStatus::ALL.map(|s| view! { <option value=s.as_str() selected=move || query.get().status == s.as_str()>{s.label()}</option> }).collect_view()}
            </select>
            <label class="visually-hidden" for="plan-filter">"Plan"</label>
            <select id="plan-filter" name="plan">
                <option value="">"Any plan"</option>
                <Suspense>
                    {move || Suspend::new(async move {
                        customers.await.map(|p| p.plans).unwrap_or_default().into_iter().map(|p| {
                            let id = p.id.to_string();
                            let selected = query.get_untracked().plan == id;
                            view! { <option value=id selected=selected>{p.name}</option> }
                        }).collect_view()
                    })}
                </Suspense>
            </select>
            <label class="visually-hidden" for="sort">"Sort"</label>
            <select id="sort" name="sort">
                <option value="name" selected=move || query.get().sort.is_empty() || query.get().sort == "name">"Name A–Z"</option>
                <option value="expiry" selected=move || query.get().sort == "expiry">"Expiry, soonest first"</option>
                <option value="newest" selected=move || query.get().sort == "newest">"Newest first"</option>
            </select>
            <button type="submit" class="button button-secondary">"Search"</button>
        </Form>

        <Suspense fallback=|| view! { <p class="muted" aria-busy="true">"Loading customers…"</p> }>
            {move || Suspend::new(async move {
                let q = query.get_untracked();
                match customers.await {
                    Err(err) => view! { <p class="alert alert-danger" role="alert">{error_text(&err)}</p> }.into_any(),
                    Ok(page) if page.rows.is_empty() && page.page == 1 => {
                        let filtered = q != CustomerQuery::default();
                        view! {
                            <section class="card empty-state" data-testid="customers-empty">
                                <h2>{if filtered { "No customers match" } else { "No customers yet" }}</h2>
                                <p>{if filtered {
                                    "Try another search or clear the filters."
                                } else {
                                    "Add your first customer with the button above, or import them from a CSV file."
                                }}</p>
                                {filtered.then(|| view! { <a class="button button-secondary" href="/app/customers">"Clear filters"</a> })}
                            </section>
                        }.into_any()
                    }
                    Ok(page) => {
                        let offset = page.utc_offset_seconds;
                        let prev = (page.page > 1).then(|| CustomerQuery { page: (page.page - 1).to_string(), ..q.clone() });
                        let next = page.has_next.then(|| CustomerQuery { page: (page.page + 1).to_string(), ..q.clone() });
                        view! {
                            <div class="table-wrap">
                                <table data-testid="customers-table">
                                    <thead><tr>
                                        <th>"Customer"</th><th>"Phone"</th><th>"Account"</th><th>"Plan"</th>
                                        <th>"Status"</th><th>"Expiry"</th><th class="num">"Balance"</th>
                                    </tr></thead>
                                    <tbody>
                                        {page.rows.into_iter().map(|row| view! { <CustomerTableRow row query=q.clone() offset /> }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <nav class="pagination" aria-label="Pages">
                                {prev.map(|p| view! { <a class="button button-secondary button-small" rel="prev" href=format!("/app/customers?{}", p.to_query_string(None))>"← Previous"</a> })}
                                <span class="muted">{format!("Page {}", page.page)}</span>
                                {next.map(|p| view! { <a class="button button-secondary button-small" rel="next" href=format!("/app/customers?{}", p.to_query_string(None))>"Next →"</a> })}
                            </nav>
                        }.into_any()
                    }
                }
            })}
        </Suspense>

        {move || open.get().map(|id| view! { <CustomerPanel id query refresh plans routers /> })}
    }
}

#[component]
fn CustomerTableRow(row: CustomerRow, query: CustomerQuery, offset: i32) -> impl IntoView {
    let href = format!("/app/customers?{}", query.to_query_string(Some(row.id)));
    let more = (row.services > 1).then(|| format!(" +{}", row.services - 1));
    view! {
        <tr data-testid="customer-row">
            <td><a href=href data-testid="customer-link">{row.name}</a></td>
            <td class="nowrap">{display_phone(&row.phone)}</td>
            <td><code>{row.account_number}</code></td>
            <td>{row.plan_name.unwrap_or_else(|| "—".into())}<span class="muted">{more}</span></td>
            <td>{status_badge(row.status)}</td>
            <td>{row.expires_at.map(|at| local_time(at, offset)).unwrap_or_else(|| "—".into())}</td>
            <td class="num" data-testid="customer-balance">{balance_label(row.balance_minor)}</td>
        </tr>
    }
}

#[component]
fn AddCustomerForm(
    create: ServerAction<CreateCustomer>,
    plans: Signal<Vec<Plan>>,
    routers: Signal<Vec<(Uuid, String)>>,
) -> impl IntoView {
    let value = create.value();
    let field_error = move |field: &'static str| {
        move || match value.get() {
            Some(Err(AppError::Invalid { field: f, reason })) if f == field => Some(reason),
            _ => None,
        }
    };
    // The same phone rule the server applies, run as the operator types.
    let (phone, set_phone) = signal(String::new());
    let phone_hint = move || {
        let typed = phone.get();
        if typed.trim().is_empty() {
            return None;
        }
        Some(match normalise_phone("phone", &typed) {
            Ok(n) => format!("Saved as {n}"),
            Err(AppError::Invalid { reason, .. }) => reason,
            Err(e) => e.to_string(),
        })
    };
    view! {
        <section class="card" aria-labelledby="new-customer-title" data-testid="customer-form">
            <h2 id="new-customer-title">"New customer"</h2>
            {move || match value.get() {
                Some(Ok(c)) => Some(view! {
                    <p class="alert alert-info" role="status" data-testid="customer-created">
                        {format!("{} added with account number {}.", c.name, c.account_number)}
                    </p>
                }.into_any()),
                Some(Err(AppError::Invalid { .. })) | None => None,
                Some(Err(e)) => Some(view! { <p class="alert alert-danger" role="alert">{e.to_string()}</p> }.into_any()),
            }}
            <ActionForm action=create>
                <div class="form-grid">
                    <Field name="customer-name" label="Full name" error=field_error("name")>
                        <input id="customer-name" name="customer[name]" required autocomplete="off" />
                    </Field>
                    <Field name="customer-phone" label="Phone" error=field_error("phone")>
                        <input id="customer-phone" name="customer[phone]" inputmode="tel" required placeholder="0712 345 678"
                            on:input=move |ev| set_phone.set(event_target_value(&ev)) />
                        <span class="hint" data-testid="phone-hint">{phone_hint}</span>
                    </Field>
                    <Field name="customer-email" label="Email (optional)" error=field_error("email")>
                        <input id="customer-email" name="customer[email]" type="email" />
                    </Field>
                    <Field name="customer-account" label="Account number (blank: next free)" error=field_error("account_number")>
                        <input id="customer-account" name="customer[account_number]" autocomplete="off" />
                    </Field>
                    <Field name="customer-location" label="Location (optional)" error=field_error("location")>
                        <input id="customer-location" name="customer[location]" placeholder="Estate, building, house" />
                    </Field>
                    <Field name="customer-notes" label="Notes (optional)" error=field_error("notes")>
                        <input id="customer-notes" name="customer[notes]" />
                    </Field>
                    <Field name="customer-language" label="Messages in" error=field_error("language")>
                        <LanguageSelect id="customer-language" selected=Language::En />
                    </Field>
                    <Field name="service-plan" label="Plan" error=field_error("plan_id")>
                        <select id="service-plan" name="service[plan_id]" data-testid="new-customer-plan">
                            <option value="">"No service yet"</option>
                            <Suspense>
                                {move || Suspend::new(async move {
                                    plans.get().into_iter().filter(|p| !p.archived).map(|p| {
                                        let label = format!("{} · {} · {}", p.name, format_kes(p.price_minor), p.validity_label());
                                        view! { <option value=p.id.to_string()>{label}</option> }
                                    }).collect_view()
                                })}
                            </Suspense>
                        </select>
                    </Field>
                    <Field name="service-router" label="Router" error=field_error("router_id")>
                        <select id="service-router" name="service[router_id]" data-testid="new-customer-router">
                            <RouterOptions routers selected=None />
                        </select>
                    </Field>
                    <Field name="service-username" label="User name (blank: account number)" error=field_error("username")>
                        <input id="service-username" name="service[username]" autocomplete="off" />
                    </Field>
                    <Field name="service-password" label="Password (blank: generated)" error=field_error("password")>
                        <input id="service-password" name="service[password]" autocomplete="new-password" />
                    </Field>
                    <Field name="service-billing" label="Billing" error=field_error("billing_mode")>
                        <select id="service-billing" name="service[billing_mode]">
                            <option value="prepaid">"Prepaid (pays before use)"</option>
                            <option value="postpaid">"Postpaid (billed monthly)"</option>
                        </select>
                    </Field>
                    <Field name="service-day" label="Billing day (postpaid)" error=field_error("billing_day")>
                        <input id="service-day" name="service[billing_day]" inputmode="numeric" placeholder="1" />
                    </Field>
                </div>
                <label class="checkbox">
                    <input type="checkbox" name="customer[sms_consent]" value="on" />
                    " The customer agrees to offers and announcements by SMS (receipts, codes and reminders are sent anyway)"
                </label>
                <p><button type="submit" class="button" disabled=create.pending() data-testid="save-customer">"Save customer"</button></p>
            </ActionForm>
        </section>
    }
}

#[component]
fn Field<E>(name: &'static str, label: &'static str, error: E, children: Children) -> impl IntoView
where
    E: Fn() -> Option<String> + Send + Sync + Copy + 'static,
{
    view! {
        <div class="field">
            <label for=name>{label}</label>
            {children()}
            <span class="error" role="alert">{error}</span>
        </div>
    }
}

/// The side panel for one customer: details, each service with its actions, and delete.
#[component]
fn CustomerPanel(
    id: Uuid,
    query: Memo<CustomerQuery>,
    refresh: RwSignal<u32>,
    plans: Signal<Vec<Plan>>,
    routers: Signal<Vec<(Uuid, String)>>,
) -> impl IntoView {
    let suspend = ServerAction::<SuspendService>::new();
    let move_router = ServerAction::<MoveServiceRouter>::new();
    let reactivate = ServerAction::<ReactivateService>::new();
    let extend = ServerAction::<ExtendService>::new();
    let change_plan = ServerAction::<ChangeServicePlan>::new();
    let change_password = ServerAction::<ChangeServicePassword>::new();
    let add = ServerAction::<AddService>::new();
    let delete = ServerAction::<DeleteCustomer>::new();
    let update = ServerAction::<UpdateCustomer>::new();
    let versions = move || {
        (
            update.version().get(),
            suspend.version().get(),
            reactivate.version().get(),
            extend.version().get(),
            change_plan.version().get(),
            change_password.version().get(),
            add.version().get(),
            move_router.version().get(),
        )
    };
    // Every change refreshes the table too.
    Effect::new(move |previous: Option<()>| {
        versions();
        if previous.is_some() {
            refresh.update(|n| *n += 1);
        }
    });
    let customer = Resource::new(move || (id, versions()), |(id, _)| get_customer(id));
    let role = use_context::<WorkspaceResource>().map(|w| w.0);
    let close_href = move || format!("/app/customers?{}", query.get().to_query_string(None));
    let last_error = move || {
        [
            suspend.value().get().and_then(Result::err),
            reactivate.value().get().and_then(Result::err),
            extend.value().get().and_then(Result::err),
            change_plan.value().get().and_then(Result::err),
            change_password.value().get().and_then(Result::err),
            move_router.value().get().and_then(Result::err),
            add.value().get().and_then(Result::err),
            delete.value().get().and_then(Result::err),
            update.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| error_text(&e))
    };
    let deleted = move || delete.value().get().and_then(Result::ok);
    Effect::new(move |_| {
        if deleted().is_some() {
            refresh.update(|n| *n += 1);
        }
    });
    let actions = PanelActions {
        update,
        suspend,
        reactivate,
        extend,
        change_plan,
        change_password,
        move_router,
    };

    view! {
        <aside class="panel" aria-labelledby="panel-title" data-testid="customer-panel">
            <div class="panel-head">
                <h2 id="panel-title">"Customer"</h2>
                <a class="button-link" href=close_href aria-label="Close the panel">"Close ✕"</a>
            </div>
            {move || last_error().map(|e| view! { <p class="alert alert-danger" role="alert" data-testid="panel-error">{e}</p> })}
            {move || deleted().map(|r| view! {
                <p class="alert alert-info" role="status" data-testid="customer-removed">
                    {match r { Removal::Deleted => "Customer deleted.", Removal::Archived => "Customer archived: their money history is kept." }}
                </p>
            })}
            <Show when=move || deleted().is_none()>
                <Suspense fallback=|| view! { <p class="muted" aria-busy="true">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        let role: Option<Role> = match role {
                            Some(r) => r.await.ok().map(|w| w.role),
                            None => None,
                        };
                        match customer.await {
                            Err(err) => view! { <p class="alert alert-danger" role="alert">{error_text(&err)}</p> }.into_any(),
                            Ok(c) => view! { <CustomerFacts customer=c role actions add delete plans routers /> }.into_any(),
                        }
                    })}
                </Suspense>
                <crate::billing::pages::CustomerBilling customer=id refresh />
            </Show>
        </aside>
    }
}

#[derive(Clone, Copy)]
struct PanelActions {
    update: ServerAction<UpdateCustomer>,
    suspend: ServerAction<SuspendService>,
    reactivate: ServerAction<ReactivateService>,
    extend: ServerAction<ExtendService>,
    change_plan: ServerAction<ChangeServicePlan>,
    change_password: ServerAction<ChangeServicePassword>,
    move_router: ServerAction<MoveServiceRouter>,
}

#[component]
fn CustomerFacts(
    customer: CustomerDetail,
    role: Option<Role>,
    actions: PanelActions,
    add: ServerAction<AddService>,
    delete: ServerAction<DeleteCustomer>,
    plans: Signal<Vec<Plan>>,
    routers: Signal<Vec<(Uuid, String)>>,
) -> impl IntoView {
    let can = move |p: Permission| role.is_some_and(|r| r.can(p));
    let id = customer.id;
    let offset = customer.utc_offset_seconds;
    let now = customer.now;
    let (confirm_delete, set_confirm_delete) = signal(false);
    let consent = match (customer.sms_consent, customer.sms_consent_at) {
        (true, Some(at)) => format!("Yes, since {}", local_time(at, offset)),
        (true, None) => "Yes".to_string(),
        (false, Some(at)) => format!("No, withdrawn {}", local_time(at, offset)),
        (false, None) => "Not given".to_string(),
    };
    let services = customer.services.clone();
    view! {
        <h3 data-testid="panel-name">{customer.name.clone()}</h3>
        <dl class="facts">
            <div><dt>"Account"</dt><dd><code data-testid="panel-account">{customer.account_number.clone()}</code></dd></div>
            <div><dt>"Phone"</dt><dd>{display_phone(&customer.phone)}</dd></div>
            <div><dt>"Email"</dt><dd>{customer.email.clone().unwrap_or_else(|| "—".into())}</dd></div>
            <div><dt>"Location"</dt><dd>{customer.location.clone().unwrap_or_else(|| "—".into())}</dd></div>
            <div><dt>"SMS consent"</dt><dd>{consent}</dd></div>
            <div><dt>"Messages in"</dt><dd data-testid="panel-language">{customer.language.label()}</dd></div>
            <div><dt>"Customer since"</dt><dd>{local_time(customer.created_at, offset)}</dd></div>
        </dl>
        {customer.notes.clone().map(|n| view! { <p class="notes">{n}</p> })}
        {can(Permission::ManageCustomers).then(|| view! {
            <crate::payments::pages::CustomerPayments customer=id phone=display_phone(&customer.phone) offset />
            <crate::tickets::pages::CustomerTickets customer=id offset />
        })}

        <details class="panel-section">
            <summary>"Edit details"</summary>
            <ActionForm action=actions.update>
                <input type="hidden" name="id" value=id.to_string() />
                <div class="form-grid">
                    <PanelInput label="Full name" name="customer[name]" value=customer.name.clone() />
                    <PanelInput label="Phone" name="customer[phone]" value=customer.phone.clone() />
                    <PanelInput label="Email" name="customer[email]" value=customer.email.clone().unwrap_or_default() />
                    <PanelInput label="Account number" name="customer[account_number]" value=customer.account_number.clone() />
                    <PanelInput label="Location" name="customer[location]" value=customer.location.clone().unwrap_or_default() />
                    <PanelInput label="Notes" name="customer[notes]" value=customer.notes.clone().unwrap_or_default() />
                    <div class="field">
                        <label>"Messages in"<LanguageSelect id="panel-language-select" selected=customer.language /></label>
                    </div>
                </div>
                <label class="checkbox">
                    <input type="checkbox" name="customer[sms_consent]" value="on" checked=customer.sms_consent />
                    " Agrees to offers and announcements by SMS"
                </label>
                <button type="submit" class="button button-small" data-testid="save-details">"Save details"</button>
            </ActionForm>
        </details>

        <h3>"Services"</h3>
        {services.is_empty().then(|| view! { <p class="muted">"No service yet. Add one below."</p> })}
        {services.into_iter().map(|s| view! {
            <ServiceCard service=s offset now actions can_reveal=can(Permission::RevealServicePasswords) plans routers vat=customer.vat />
        }).collect_view()}

        <details class="panel-section">
            <summary>"Add a service"</summary>
            <ActionForm action=add>
                <input type="hidden" name="customer_id" value=id.to_string() />
                <div class="form-grid">
                    <div class="field">
                        <label for="add-plan">"Plan"</label>
                        <select id="add-plan" name="service[plan_id]" required>
                            <Suspense>
                                {move || Suspend::new(async move {
                                    plans.get().into_iter().filter(|p| !p.archived)
                                        .map(|p| view! { <option value=p.id.to_string()>{p.name}</option> }).collect_view()
                                })}
                            </Suspense>
                        </select>
                    </div>
                    <div class="field">
                        <label for="add-router">"Router"</label>
                        <select id="add-router" name="service[router_id]">
                            <RouterOptions routers selected=None />
                        </select>
                    </div>
                    <div class="field">
                        <label for="add-username">"User name"</label>
                        <input id="add-username" name="service[username]" required autocomplete="off" />
                    </div>
                    <div class="field">
                        <label for="add-password">"Password (blank: generated)"</label>
                        <input id="add-password" name="service[password]" autocomplete="new-password" />
                    </div>
                </div>
                <button type="submit" class="button button-small">"Add service"</button>
            </ActionForm>
        </details>

        <Show when=move || can(Permission::DeleteCustomers)>
            <div class="danger-zone">
                <Show when=move || confirm_delete.get() fallback=move || view! {
                    <button type="button" class="button-link danger" data-testid="delete-customer" on:click=move |_| set_confirm_delete.set(true)>"Delete customer"</button>
                }>
                    <ActionForm action=delete>
                        <input type="hidden" name="id" value=id.to_string() />
                        <p>"Delete this customer and their services? A customer with payments is archived instead."</p>
                        <button type="submit" class="button button-danger button-small" data-testid="confirm-delete">"Yes, delete"</button>
                        " "
                        <button type="button" class="button-link" on:click=move |_| set_confirm_delete.set(false)>"Cancel"</button>
                    </ActionForm>
                </Show>
            </div>
        </Show>
    }
}

#[component]
fn ServiceCard(
    service: ServiceView,
    offset: i32,
    now: DateTime<Utc>,
    actions: PanelActions,
    can_reveal: bool,
    plans: Signal<Vec<Plan>>,
    routers: Signal<Vec<(Uuid, String)>>,
    vat: VatMode,
) -> impl IntoView {
    let id = service.id;
    let current_router = service.router_id;
    let suspended = service.status == ServiceStatus::Suspended;
    let expires_at = service.expires_at;
    let current_price = service.plan_price_minor;
    let current_plan = service.plan_id;
    // Live previews, computed by the same code the server runs.
    let (days, set_days) = signal(String::new());
    let fixed = FixedOffset::east_opt(offset).unwrap_or(Utc.fix());
    let extend_preview = move || {
        let n: u32 = days
            .get()
            .trim()
            .parse()
            .ok()
            .filter(|n| (1..=366).contains(n))?;
        let at = add_validity(expires_at.max(now), ValidityUnit::Days, n, &fixed)?;
        Some(format!("New expiry: {}", local_time(at, offset)))
    };
    let (new_plan, set_new_plan) = signal(String::new());
    let invoiced_period = service.invoiced_period;
    let plan_preview = move || {
        let chosen = Uuid::parse_str(&new_plan.get()).ok()?;
        let list = plans.get();
        let plan = list.into_iter().find(|p| p.id == chosen)?;
        // What the change bills now: the same proration the server posts.
        let billing = match invoiced_period {
            Some((start, end, charged)) => {
                let share = prorate(charged, plan.price_minor, start, end, now);
                let charge = line_amounts(share.charge, 1, vat).total;
                format!(
                    "Now: credit {} for the unused part, charge {} for the rest of the period. ",
                    format_kes(share.credit),
                    format_kes(charge)
                )
            }
            None => "This period was not invoiced: the new price applies from the next renewal. "
                .to_string(),
        };
        let diff = plan.price_minor - current_price;
        Some(
            billing
                + &if diff > 0 {
                    format!(
                        "{} more per period ({} for {})",
                        format_kes(diff),
                        format_kes(plan.price_minor),
                        plan.validity_label()
                    )
                } else if diff < 0 {
                    format!(
                        "{} less per period ({} for {})",
                        format_kes(-diff),
                        format_kes(plan.price_minor),
                        plan.validity_label()
                    )
                } else {
                    format!(
                        "Same price ({} for {})",
                        format_kes(plan.price_minor),
                        plan.validity_label()
                    )
                },
        )
    };
    let reveal = ServerAction::<RevealServicePassword>::new();
    view! {
        <section class="service-card" data-testid="service-card">
            <div class="service-head">
                <strong>{service.plan_name.clone()}</strong>
                {status_badge(Some(service.status))}
            </div>
            <dl class="facts">
                <div><dt>"User name"</dt><dd><code>{service.username.clone()}</code></dd></div>
                <div><dt>"Router"</dt><dd data-testid="service-router">{service.router_name.clone().unwrap_or_else(|| "None yet".into())}</dd></div>
                <div><dt>"Expires"</dt><dd data-testid="service-expiry">{local_time(service.expires_at, offset)}</dd></div>
                <div><dt>"Billing"</dt><dd>{match service.billing_day {
                    Some(d) => format!("Postpaid, day {d}"),
                    None => "Prepaid".to_string(),
                }}</dd></div>
                <div><dt>"Price"</dt><dd>{format!("{} / {}", format_kes(service.plan_price_minor), validity_label(service.validity_count, service.validity_unit))}</dd></div>
            </dl>
            <div class="service-actions">
                {if suspended {
                    view! {
                        <ActionForm action=actions.reactivate>
                            <input type="hidden" name="id" value=id.to_string() />
                            <button type="submit" class="button button-small" data-testid="reactivate">"Reactivate"</button>
                        </ActionForm>
                    }.into_any()
                } else {
                    view! {
                        <ActionForm action=actions.suspend>
                            <input type="hidden" name="id" value=id.to_string() />
                            <button type="submit" class="button button-secondary button-small" data-testid="suspend">"Suspend"</button>
                        </ActionForm>
                    }.into_any()
                }}
                {can_reveal.then(|| view! {
                    <ActionForm action=reveal>
                        <input type="hidden" name="id" value=id.to_string() />
                        <button type="submit" class="button-link" data-testid="reveal-password">"Reveal password"</button>
                        {move || reveal.value().get().map(|r| match r {
                            Ok(p) => view! { <code class="revealed" data-testid="revealed-password">{p}</code> }.into_any(),
                            Err(e) => view! { <span class="error">{error_text(&e)}</span> }.into_any(),
                        })}
                    </ActionForm>
                })}
            </div>
            <details class="panel-section">
                <summary>"Extend expiry"</summary>
                <ActionForm action=actions.extend>
                    <input type="hidden" name="id" value=id.to_string() />
                    <div class="form-grid">
                        <div class="field">
                            <label for=format!("days-{id}")>"Add days"</label>
                            <input id=format!("days-{id}") name="days" inputmode="numeric" placeholder="3" on:input=move |ev| set_days.set(event_target_value(&ev)) />
                        </div>
                        <div class="field">
                            <label for=format!("until-{id}")>"Or until (date)"</label>
                            <input id=format!("until-{id}") name="until" type="date" min=local_date(now, offset) />
                        </div>
                    </div>
                    <p class="muted" data-testid="extend-preview">{extend_preview}</p>
                    <button type="submit" class="button button-small">"Extend"</button>
                </ActionForm>
            </details>
            <details class="panel-section">
                <summary>"Change plan"</summary>
                <ActionForm action=actions.change_plan>
                    <input type="hidden" name="id" value=id.to_string() />
                    <div class="field">
                        <label for=format!("plan-{id}")>"New plan"</label>
                        <select id=format!("plan-{id}") name="plan_id" on:change=move |ev| set_new_plan.set(event_target_value(&ev))>
                            <option value="">"Choose…"</option>
                            <Suspense>
                                {move || Suspend::new(async move {
                                    plans.get().into_iter()
                                        .filter(|p| !p.archived && p.id != current_plan)
                                        .map(|p| view! { <option value=p.id.to_string()>{p.name}</option> }).collect_view()
                                })}
                            </Suspense>
                        </select>
                    </div>
                    <p class="muted" data-testid="plan-preview">{plan_preview}</p>
                    <button type="submit" class="button button-small">"Change plan"</button>
                </ActionForm>
            </details>
            <details class="panel-section">
                <summary>"Move to another router"</summary>
                <ActionForm action=actions.move_router>
                    <input type="hidden" name="id" value=id.to_string() />
                    <div class="field">
                        <label for=format!("router-{id}")>"Router"</label>
                        <select id=format!("router-{id}") name="router_id" data-testid="move-router">
                            <RouterOptions routers selected=current_router />
                        </select>
                    </div>
                    <p class="muted">"The old router is told to remove the user; the new one gets it as it should be now."</p>
                    <button type="submit" class="button button-small">"Move"</button>
                </ActionForm>
            </details>
            <details class="panel-section">
                <summary>"Change password"</summary>
                <ActionForm action=actions.change_password>
                    <input type="hidden" name="id" value=id.to_string() />
                    <div class="field">
                        <label for=format!("password-{id}")>"New password"</label>
                        <input id=format!("password-{id}") name="password" required minlength="4" autocomplete="new-password" />
                    </div>
                    <button type="submit" class="button button-small">"Save password"</button>
                </ActionForm>
            </details>
        </section>
    }
}

/// A labelled input of the panel's edit form.
#[component]
fn PanelInput(label: &'static str, name: &'static str, value: String) -> impl IntoView {
    view! {
        <div class="field">
            <label>{label}<input name=name value=value autocomplete="off" /></label>
        </div>
    }
}

fn local_date(at: DateTime<Utc>, offset: i32) -> String {
    let fixed = FixedOffset::east_opt(offset).unwrap_or(Utc.fix());
    let date: NaiveDate = at.with_timezone(&fixed).date_naive();
    date.format("%Y-%m-%d").to_string()
}

/// The options of a router select: "no router" and each of the ISP's routers.
#[component]
fn RouterOptions(routers: Signal<Vec<(Uuid, String)>>, selected: Option<Uuid>) -> impl IntoView {
    view! {
        <option value="" selected=selected.is_none()>"No router yet"</option>
        <Suspense>
            {move || Suspend::new(async move {
                routers.get().into_iter().map(|(id, name)| {
                    view! { <option value=id.to_string() selected=Some(id) == selected>{name}</option> }
                }).collect_view()
            })}
        </Suspense>
    }
}

#[cfg(test)]
mod date_tests {
    use super::*;

    #[test]
    fn dates_read_as_chrono_would_write_them() {
        for (at, offset) in [
            ("2026-11-29T11:05:00Z", 3 * 3600),
            ("2026-12-31T21:30:00Z", 3 * 3600),
            ("2027-01-01T00:00:00Z", 0),
            ("2026-02-28T23:59:59Z", -5 * 3600),
        ] {
            let at: DateTime<Utc> = at.parse().unwrap();
            let zone = FixedOffset::east_opt(offset).unwrap();
            let local = at.with_timezone(&zone);
            assert_eq!(
                local_time(at, offset),
                local.format("%-d %b %Y %H:%M").to_string()
            );
            assert_eq!(
                day_month_year(local.date_naive()),
                local.format("%-d %b %Y").to_string()
            );
        }
    }
}

/// The language a customer's messages go in.
#[component]
fn LanguageSelect(id: &'static str, selected: Language) -> impl IntoView {
    view! {
        <select id=id name="customer[language]" data-testid="customer-language">
            {Language::ALL.into_iter().map(|l| view! {
                <option value=l.as_str() selected=l == selected>{l.label()}</option>
            }).collect_view()}
        </select>
    }
}
