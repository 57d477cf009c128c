//! `/portal/{isp}`: the subscriber's portal. Server-rendered, readable and usable without
//! JavaScript (every form is a plain form post); hydrated, the forms answer in place and paying
//! follows the M-Pesa prompt live.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    customers::{model::ServiceStatus, pages::local_time},
    error::AppError,
    money::format_kes,
    payments::pay_page::PayCard,
    portal::{
        api::{
            PortalChangePlan, PortalRequestCode, PortalSetPassword, PortalSignIn, PortalSignOut,
            PortalVerifyCode, portal_page,
        },
        model::{
            PortalHome, PortalService, PortalStart, PortalView, bytes_label, countdown,
            plan_change_preview,
        },
    },
};

#[component]
pub fn PortalPage() -> impl IntoView {
    // Every form comes back to this page with another query (signed in, signed out, plan
    // changed, ticket sent), which loads it again (`surface`).
    let slug = crate::surface::page_url().key();
    let page = Resource::new(move || slug.clone(), portal_page);
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));
    view! {
        <Title text="My account" />
        <main class="portal-page" data-hydrated=move || hydrated.get().to_string()>
            <Suspense fallback=|| view! { <p class="muted" aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(PortalView::Home(home)) => view! { <Home home /> }.into_any(),
                        Ok(PortalView::SignIn(start)) => view! { <SignIn start /> }.into_any(),
                        Err(err) => crate::layout::public::problem_card(
                            err,
                            "portal-not-found",
                            "Portal not found",
                            "Check the address your internet provider gave you.",
                        ),
                    }
                })}
            </Suspense>
        </main>
    }
}

/// What went wrong with a form, in words for the subscriber.
fn problem(result: Option<Result<(), AppError>>) -> Option<String> {
    match result? {
        Ok(()) => None,
        Err(AppError::Invalid { field, reason }) => Some(match field.as_str() {
            "phone" => format!("Phone number {reason}."),
            "code" => format!("The code {reason}."),
            "plan" => format!("That plan {reason}."),
            "password" => {
                let mut text = reason;
                if let Some(first) = text.get(..1) {
                    text = first.to_uppercase() + &text[1..];
                }
                format!("{text}.")
            }
            _ => format!("{field}: {reason}."),
        }),
        Err(other) => Some(other.to_string()),
    }
}

#[component]
fn SignIn(start: PortalStart) -> impl IntoView {
    let url = crate::surface::page_url();
    let request = ServerAction::<PortalRequestCode>::new();
    let verify = ServerAction::<PortalVerifyCode>::new();
    let password = ServerAction::<PortalSignIn>::new();
    // The number a code went to (the request redirects here with it).
    let sent_to = url.query("phone").filter(|p| !p.is_empty());
    let slug = start.slug.clone();
    let (slug2, slug3) = (slug.clone(), slug.clone());
    view! {
        <section class="card auth-card portal-card">
            {start.has_logo.then(|| view! { <img class="portal-logo" src=format!("/portal/{}/logo", start.slug) alt="" height="48" /> })}
            <p class="pay-business" data-testid="portal-business">{start.business.clone()}</p>
            <h1>"Sign in to your account"</h1>
            {url.query("signed_out").map(|_| view! { <p class="alert alert-info" role="status" data-testid="portal-signed-out">"You are signed out."</p> })}
            {
                match sent_to {
                None => view! {
                    <ActionForm action=request>
                        <div class="form">
                            <input type="hidden" name="slug" value=slug.clone() />
                            <div class="field">
                                <label for="portal-phone">"Phone number"</label>
                                <input id="portal-phone" name="phone" type="tel" inputmode="tel" autocomplete="tel" required placeholder="0712 345 678" data-testid="portal-phone" />
                            </div>
                            {move || problem(request.value().get()).map(|e| view! { <p class="alert alert-danger" role="alert" data-testid="portal-error">{e}</p> })}
                            <button type="submit" class="button" data-testid="portal-send-code" disabled=move || request.pending().get()>
                                {move || if request.pending().get() { "Sending…" } else { "Send me a code" }}
                            </button>
                            <p class="muted small">"We send a 6-digit code by SMS to the number your provider has for you."</p>
                        </div>
                    </ActionForm>
                }.into_any(),
                Some(phone) => view! {
                    <ActionForm action=verify>
                        <div class="form">
                            <input type="hidden" name="slug" value=slug2.clone() />
                            <input type="hidden" name="phone" value=phone.clone() />
                            <p role="status" data-testid="portal-code-sent">
                                "If " <strong>{crate::phone::display_phone(&phone)}</strong>
                                " is on an account here, a code is on its way. It works for 5 minutes."
                            </p>
                            <div class="field">
                                <label for="portal-code">"Code from the SMS"</label>
                                <input id="portal-code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required data-testid="portal-code" />
                            </div>
                            {move || problem(verify.value().get()).map(|e| view! { <p class="alert alert-danger" role="alert" data-testid="portal-error">{e}</p> })}
                            <button type="submit" class="button" data-testid="portal-verify" disabled=move || verify.pending().get()>
                                {move || if verify.pending().get() { "Checking…" } else { "Sign in" }}
                            </button>
                            <a href=format!("/portal/{}", slug2) class="small">"Use another number, or send a new code"</a>
                        </div>
                    </ActionForm>
                }.into_any(),
                }
            }
            <details class="pay-card-option">
                <summary>"Sign in with your account number and password"</summary>
                <ActionForm action=password>
                    <div class="form">
                        <input type="hidden" name="slug" value=slug3 />
                        <div class="field">
                            <label for="portal-account">"Account number"</label>
                            <input id="portal-account" name="account" type="text" autocomplete="username" required data-testid="portal-account" />
                        </div>
                        <div class="field">
                            <label for="portal-password">"Password"</label>
                            <input id="portal-password" name="password" type="password" autocomplete="current-password" required data-testid="portal-password" />
                        </div>
                        {move || problem(password.value().get()).map(|e| view! { <p class="alert alert-danger" role="alert">{e}</p> })}
                        <button type="submit" class="button button-secondary" disabled=move || password.pending().get()>"Sign in"</button>
                        <p class="muted small">"No password yet? Sign in with a code, then set one."</p>
                    </div>
                </ActionForm>
            </details>
        </section>
    }
}

fn badge(status: &str) -> &'static str {
    ServiceStatus::parse("status", status).map_or("badge badge-neutral", ServiceStatus::badge)
}

#[component]
fn Home(home: PortalHome) -> impl IntoView {
    let offset = home.pay.utc_offset_seconds;
    let sign_out = ServerAction::<PortalSignOut>::new();
    let set_password = ServerAction::<PortalSetPassword>::new();
    let now = home.now;
    let slug = home.slug.clone();
    let slug_out = slug.clone();
    let slug_pdf = slug.clone();
    let changed = crate::surface::page_url().query("changed").is_some();
    let pay = home.pay.clone();
    let invoices = home.invoices.clone();
    view! {
        <header class="portal-header">
            <span class="portal-brand">
                {home.has_logo.then(|| view! { <img class="portal-logo" src=format!("/portal/{}/logo", home.slug) alt="" height="40" /> })}
                <span class="pay-business" data-testid="portal-business">{pay.business.clone()}</span>
            </span>
            <ActionForm action=sign_out>
                <input type="hidden" name="slug" value=slug_out />
                <button type="submit" class="button button-secondary button-small" data-testid="portal-sign-out">"Sign out"</button>
            </ActionForm>
        </header>
        <section class="card portal-card" aria-labelledby="portal-hello">
            <h1 id="portal-hello" data-testid="portal-customer">{pay.customer_name.clone()}</h1>
            <p class="muted">"Account " <code data-testid="portal-account-number">{pay.account_number.clone()}</code></p>
            {changed.then(|| view! {
                <p class="alert alert-success" role="status" data-testid="portal-plan-changed">"Your plan was changed. Anything due for it is under Pay below."</p>
            })}
            {if home.services.is_empty() {
                view! { <p class="muted">"No internet service on this account yet."</p> }.into_any()
            } else {
                home.services.iter().map(|s| {
                    let left = countdown(s.expires_at, now);
                    view! {
                        <article class="portal-service" data-testid="portal-service">
                            <div class="portal-service-head">
                                <strong>{s.plan.clone()}</strong>
                                <span class=badge(&s.status) data-testid="portal-service-status">{s.status.clone()}</span>
                            </div>
                            <dl class="facts">
                                <div><dt>"Speed"</dt><dd>{s.speed.clone()}</dd></div>
                                <div><dt>"User name"</dt><dd><code>{s.username.clone()}</code></dd></div>
                                {s.data_used_bytes.map(|b| view! { <div><dt>"Data this period"</dt><dd data-testid="portal-data-used">{bytes_label(b)}</dd></div> })}
                                <div>
                                    <dt>{if s.expires_at > now { "Paid until" } else { "Expired" }}</dt>
                                    <dd>
                                        <span data-testid="portal-service-expiry">{local_time(s.expires_at, offset)}</span>
                                        {(s.expires_at > now).then(|| view! { <span class="muted">" (" {left} " left)"</span> })}
                                    </dd>
                                </div>
                            </dl>
                            {(!s.choices.is_empty()).then(|| view! { <ChangePlan slug=slug.clone() service=s.clone() vat=home.vat now /> })}
                        </article>
                    }
                }).collect_view().into_any()
            }}
        </section>
        <PayCard code=home.pay_code.clone() page=pay back=None />
        <section class="card portal-card" aria-labelledby="portal-invoices">
            <h2 id="portal-invoices">"Invoices"</h2>
            {if invoices.is_empty() {
                view! { <p class="muted" data-testid="portal-no-invoices">"No invoices yet."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table class="table">
                            <thead><tr><th>"Invoice"</th><th>"Issued"</th><th class="num">"Amount"</th><th>"Status"</th></tr></thead>
                            <tbody>
                                {invoices.into_iter().map(|i| view! {
                                    <tr data-testid="portal-invoice">
                                        <td>
                                            <a href=format!("/portal/{}/invoices/{}/pdf", slug_pdf, i.id) download data-testid="portal-invoice-pdf">
                                                <code>{i.number.clone()}</code>
                                            </a>
                                        </td>
                                        <td class="nowrap">{local_time(i.issued_at, offset)}</td>
                                        <td class="num">{format_kes(i.total_minor)}</td>
                                        <td>
                                            {i.status.clone()}
                                            {(i.balance_minor > 0 && i.status != "paid").then(|| view! { <span class="muted small">" · " {format_kes(i.balance_minor)} " to pay"</span> })}
                                        </td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
        <crate::tickets::pages::PortalTickets slug=home.slug.clone() tickets=home.tickets.clone() offset />
        <section class="card portal-card">
            <details>
                <summary>{if home.has_password { "Change your password" } else { "Set a password (to sign in with your account number)" }}</summary>
                <ActionForm action=set_password>
                    <div class="form">
                        <input type="hidden" name="slug" value=slug />
                        <div class="field">
                            <label for="portal-new-password">"New password"</label>
                            <input id="portal-new-password" name="password" type="password" autocomplete="new-password" minlength="8" required />
                        </div>
                        {move || match set_password.value().get() {
                            Some(Ok(())) => Some(view! { <p class="alert alert-success" role="status">"Password saved."</p> }.into_any()),
                            other => problem(other).map(|e| view! { <p class="alert alert-danger" role="alert">{e}</p> }.into_any()),
                        }}
                        <button type="submit" class="button button-secondary" disabled=move || set_password.pending().get()>"Save password"</button>
                    </div>
                </ActionForm>
            </details>
        </section>
    }
}

/// "Change plan" on a service: the plans it may move to, with what the change bills now,
/// worked out in the browser by the same code the server bills with.
#[component]
fn ChangePlan(
    slug: String,
    service: PortalService,
    vat: crate::billing::model::VatMode,
    now: chrono::DateTime<chrono::Utc>,
) -> impl IntoView {
    let change = ServerAction::<PortalChangePlan>::new();
    let (chosen, set_chosen) = signal(String::new());
    let choices = service.choices.clone();
    let id = service.id;
    let preview = move || {
        let chosen = chosen.get();
        service
            .choices
            .iter()
            .find(|c| c.id.to_string() == chosen)
            .map(|c| plan_change_preview(&service, c, vat, now))
    };
    view! {
        <details class="portal-change-plan">
            <summary data-testid="portal-change-plan">"Change plan"</summary>
            <ActionForm action=change>
                <div class="form">
                    <input type="hidden" name="slug" value=slug />
                    <input type="hidden" name="service" value=id.to_string() />
                    <div class="field">
                        <label for=format!("plan-{id}")>"New plan"</label>
                        <select id=format!("plan-{id}") name="plan" required data-testid="portal-plan-select"
                            on:change=move |ev| set_chosen.set(event_target_value(&ev))>
                            <option value="">"Choose a plan"</option>
                            {choices.into_iter().map(|c| view! {
                                <option value=c.id.to_string()>{format!("{} · {} for {} · {}", c.name, format_kes(c.price_minor), c.validity, c.speed)}</option>
                            }).collect_view()}
                        </select>
                    </div>
                    {move || preview().map(|text| view! { <p class="muted small" role="status" data-testid="portal-plan-preview">{text}</p> })}
                    {move || problem(change.value().get()).map(|e| view! { <p class="alert alert-danger" role="alert">{e}</p> })}
                    <button type="submit" class="button button-secondary" data-testid="portal-plan-confirm" disabled=move || change.pending().get()>"Change plan"</button>
                </div>
            </ActionForm>
        </details>
    }
}
