//! `/app/messages/bulk`: write one message to a segment of subscribers, see who it reaches and
//! what it costs, send it; `/app/messages/bulk/{id}`: its progress and each recipient's result.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use crate::{
    customers::pages::{day_month_year, local_time},
    error::AppError,
    messaging::{
        bulk_api::{PreviewBulkSms, SendBulkSms, bulk_sms_options, bulk_sms_progress},
        bulk_model::{ComposeOptions, MAX_EXPIRING_DAYS, PLACEHOLDERS, Preview, Progress},
        model::{STATUSES, status_badge, status_label},
        pages::sms_meter,
    },
    money::format_kes,
    phone::display_phone,
};

/// An action's failure in words: a field's reason as a sentence.
fn failure(err: AppError) -> String {
    match err {
        AppError::Invalid { field, reason } => {
            let what = match field.as_str() {
                "text" => "The message",
                "days" => "The number of days",
                "plan" => "The plan",
                "router" => "The router",
                "segment" => "Who it goes to",
                "expected" => "Not sent:",
                _ => "This",
            };
            format!("{what} {reason}.")
        }
        other => other.to_string(),
    }
}

#[component]
pub fn BulkSmsPage() -> impl IntoView {
    let options = Resource::new(|| (), |_| bulk_sms_options());
    view! {
        <Title text="Bulk SMS" />
        <header class="page-header">
            <h1>"Bulk SMS"</h1>
            <a href="/app/messages" class="button button-secondary">"All messages"</a>
        </header>
        <p class="muted">
            "A bulk message goes only to subscribers whose SMS consent is on; the others in the group are counted "
            "and left out. Anyone who replies STOP is taken off. "
            <a href="/app/settings/messages">"Which messages need consent"</a>
        </p>
        <Suspense fallback=|| view! { <p class="muted" aria-busy="true">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match options.await {
                    Ok(options) => view! { <Compose options /> }.into_any(),
                    Err(AppError::Forbidden) => view! {
                        <section class="card empty-state">
                            <h2>"Owners and admins send bulk messages"</h2>
                            <p>"Ask one of them to send it, or answer a subscriber from their page."</p>
                        </section>
                    }.into_any(),
                    Err(err) => view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Compose(options: ComposeOptions) -> impl IntoView {
    let preview = ServerAction::<PreviewBulkSms>::new();
    let segment = RwSignal::new("active".to_string());
    let text = RwSignal::new(String::new());
    let price = options.part_price_minor;
    let recent = options.recent.clone();
    view! {
        <section class="card" aria-labelledby="compose-title">
            <h2 id="compose-title">"Write the message"</h2>
            <ActionForm action=preview>
                <div class="form">
                    <div class="field">
                        <label for="bulk-segment">"Send to"</label>
                        <select id="bulk-segment" name="segment" data-testid="bulk-segment"
                            on:change=move |ev| segment.set(event_target_value(&ev))>
                            <option value="active">"Everyone with an active service"</option>
                            <option value="expiring">"Active, expiring within some days"</option>
                            <option value="expired">"Expired or suspended"</option>
                            <option value="plan" disabled=options.plans.is_empty()>"Everyone on a plan"</option>
                            <option value="router" disabled=options.routers.is_empty()>"Everyone on a router"</option>
                        </select>
                    </div>
                    <div class="field" hidden=move || segment.get() != "expiring">
                        <label for="bulk-days">"Expiring within (days)"</label>
                        <input id="bulk-days" name="days" type="number" min="1" max=MAX_EXPIRING_DAYS.to_string() value="3" inputmode="numeric" data-testid="bulk-days" />
                    </div>
                    <div class="field" hidden=move || segment.get() != "plan">
                        <label for="bulk-plan">"Plan"</label>
                        <select id="bulk-plan" name="plan" data-testid="bulk-plan">
                            {options.plans.iter().map(|(id, name)| view! { <option value=id.to_string()>{name.clone()}</option> }).collect_view()}
                        </select>
                    </div>
                    <div class="field" hidden=move || segment.get() != "router">
                        <label for="bulk-router">"Router"</label>
                        <select id="bulk-router" name="router" data-testid="bulk-router">
                            {options.routers.iter().map(|(id, name)| view! { <option value=id.to_string()>{name.clone()}</option> }).collect_view()}
                        </select>
                    </div>
                    <div class="field">
                        <label for="bulk-text">"Message"</label>
                        <textarea id="bulk-text" name="text" rows="4" maxlength="918" required data-testid="bulk-text"
                            on:input=move |ev| text.set(event_target_value(&ev))
                            prop:value=move || text.get()></textarea>
                        <p class="muted small" data-testid="bulk-meter">{move || sms_meter(&text.get())}</p>
                        <p class="muted small">
                            "Placeholders, filled in for each subscriber: "
                            {PLACEHOLDERS.iter().map(|p| view! { <code>{format!("{{{}}}", p.key())}</code> " " }).collect_view()}
                        </p>
                    </div>
                    <div class="form-actions">
                        <button type="submit" class="button" data-testid="bulk-count" disabled=move || preview.pending().get()>
                            {move || if preview.pending().get() { "Counting…" } else { "Count recipients" }}
                        </button>
                    </div>
                </div>
            </ActionForm>
            {move || match preview.value().get() {
                Some(Ok(p)) => Some(view! { <Confirm p price text segment /> }.into_any()),
                Some(Err(err)) => Some(view! { <p class="alert alert-danger" role="alert" data-testid="bulk-error">{failure(err)}</p> }.into_any()),
                None => None,
            }}
        </section>
        <section class="card" aria-labelledby="recent-title">
            <h2 id="recent-title">"Sent before"</h2>
            {if recent.is_empty() {
                view! { <p class="muted">"No bulk messages yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="plain-list">
                        {recent.into_iter().map(|c| view! {
                            <li>
                                <a href=format!("/app/messages/bulk/{}", c.id)>{c.label}</a>
                                <span class="muted small">{format!(" · {} recipients · {}", c.recipients, day_month_year(c.created_at.date_naive()))}</span>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

/// The count and the cost, and the button that sends exactly what was counted.
#[component]
fn Confirm(
    p: Preview,
    price: i64,
    text: RwSignal<String>,
    segment: RwSignal<String>,
) -> impl IntoView {
    let send = ServerAction::<SendBulkSms>::new();
    let form = p.form.clone();
    let counted = (form.text.clone(), form.segment.clone());
    // Changed after counting: count again before sending.
    let stale = Signal::derive(move || text.get() != counted.0 || segment.get() != counted.1);
    let recipients = p.recipients;
    view! {
        <div class="bulk-preview" data-testid="bulk-preview" role="status">
            <h3>{p.label.clone()}</h3>
            <p>
                <strong data-testid="bulk-recipients">{recipients}</strong>
                {if recipients == 1 { " subscriber with SMS consent" } else { " subscribers with SMS consent" }}
            </p>
            {(p.left_out > 0).then(|| view! {
                <p class="muted" data-testid="bulk-left-out">{format!("{} in this group have not agreed to SMS and are left out.", p.left_out)}</p>
            })}
            <p data-testid="bulk-cost">
                {format!("About {} SMS, estimated {} (at {} an SMS).", p.parts, format_kes(p.estimated_cost_minor), format_kes(price))}
            </p>
            {p.sample.clone().map(|s| view! { <p class="sms-preview" data-testid="bulk-sample">{s}</p> })}
            {move || stale.get().then(|| view! { <p class="alert alert-info">"The message or the group changed: count again before sending."</p> })}
            {(recipients > 0).then(|| view! {
                <ActionForm action=send>
                    <input type="hidden" name="id" value=p.key.to_string() />
                    <input type="hidden" name="segment" value=form.segment.clone() />
                    <input type="hidden" name="days" value=form.days.clone() />
                    <input type="hidden" name="plan" value=form.plan.clone() />
                    <input type="hidden" name="router" value=form.router.clone() />
                    <input type="hidden" name="text" value=form.text.clone() />
                    <input type="hidden" name="expected" value=recipients.to_string() />
                    <button type="submit" class="button" data-testid="bulk-send"
                        disabled=move || send.pending().get() || stale.get()>
                        {format!("Send to {recipients} {}", if recipients == 1 { "subscriber" } else { "subscribers" })}
                    </button>
                </ActionForm>
            })}
            {move || send.value().get().and_then(Result::err).map(|err| view! {
                <p class="alert alert-danger" role="alert" data-testid="bulk-send-error">{failure(err)}</p>
            })}
        </div>
    }
}

/// `/app/messages/bulk/{id}`.
#[component]
pub fn BulkProgressPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|s| Uuid::parse_str(&s).ok())
    };
    let (tick, set_tick) = signal(0_u32);
    let done = RwSignal::new(false);
    // Look again every 2 seconds until every message is settled.
    Effect::new(move |_| {
        let handle = set_interval_with_handle(
            move || {
                if !done.get_untracked() {
                    set_tick.update(|t| *t = t.wrapping_add(1));
                }
            },
            std::time::Duration::from_secs(2),
        );
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
    });
    let progress = Resource::new(
        move || (id(), tick.get()),
        |(id, _)| async move {
            match id {
                Some(id) => bulk_sms_progress(id).await,
                None => Err(AppError::NotFound {
                    what: "That bulk message".into(),
                }),
            }
        },
    );
    view! {
        <Title text="Bulk SMS" />
        <header class="page-header">
            <h1>"Bulk SMS"</h1>
            <a href="/app/messages/bulk" class="button button-secondary">"Write another"</a>
        </header>
        <Transition fallback=|| view! { <p class="muted" aria-busy="true">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match progress.await {
                    Ok(p) => {
                        if p.percent() >= 100 {
                            done.set(true);
                        }
                        view! { <ProgressView p /> }.into_any()
                    }
                    Err(err) => view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ProgressView(p: Progress) -> impl IntoView {
    let percent = p.percent();
    let summary = STATUSES
        .iter()
        .filter_map(|(status, label)| {
            let n = p.count(status);
            (n > 0).then(|| format!("{n} {}", label.to_lowercase()))
        })
        .collect::<Vec<_>>()
        .join(" · ");
    let listed = p.rows.len() as i64;
    view! {
        <section class="card" aria-labelledby="campaign-title">
            <h2 id="campaign-title">{p.label.clone()}</h2>
            <p class="muted small">{format!("Sent by {} on {}", p.created_by, local_time(p.created_at, p.utc_offset_seconds))}</p>
            <p class="sms-preview">{p.body.clone()}</p>
            <div class="import-progress" role="status">
                <progress max="100" value=percent.to_string() data-testid="bulk-progress" data-percent=percent.to_string()>{format!("{percent}%")}</progress>
                <span data-testid="bulk-percent">{format!("{percent}%")}</span>
                <span class="muted">{format!("{} of {} settled", p.settled(), p.recipients)}</span>
            </div>
            <p data-testid="bulk-summary">{summary}</p>
            <p class="muted small">
                {format!("Estimated cost {}.", format_kes(p.estimated_cost_minor))}
                {(p.left_out > 0).then(|| format!(" {} without SMS consent were left out.", p.left_out))}
            </p>
        </section>
        <section class="card" aria-labelledby="recipients-title">
            <h2 id="recipients-title">"Recipients"</h2>
            {(listed < p.recipients).then(|| view! { <p class="muted small">{format!("The first {listed} of {}, failures first.", p.recipients)}</p> })}
            <div class="table-wrap">
                <table data-testid="bulk-recipients-table">
                    <thead><tr><th>"Subscriber"</th><th>"Number"</th><th>"Status"</th><th>"Gateway's answer"</th></tr></thead>
                    <tbody>
                        {p.rows.into_iter().map(|r| view! {
                            <tr data-testid="bulk-recipient" data-status=r.status.clone()>
                                <td>{r.name.unwrap_or_default()}</td>
                                <td class="nowrap">{display_phone(&r.recipient)}</td>
                                <td><span class=status_badge(&r.status)>{status_label(&r.status)}</span></td>
                                <td class="small">{r.error.unwrap_or_default()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}
