//! Settings: the tabs and Settings → General (the ISP's business details). Staff and the audit
//! log have their own areas.

pub mod api;
#[cfg(feature = "ssr")]
pub mod logo;
pub mod model;
#[cfg(feature = "ssr")]
pub mod service;

use leptos::prelude::*;

use crate::{
    error::AppError,
    settings::api::{UpdateBusinessSettings, get_business_settings},
};
use leptos_meta::Title;
use leptos_router::components::A;

/// The tabs across the top of every settings page.
#[component]
pub fn SettingsTabs() -> impl IntoView {
    view! {
        <nav class="tabs" aria-label="Settings">
            <A href="/app/settings" exact=true>"General"</A>
            <A href="/app/settings/billing">"Billing"</A>
            <A href="/app/settings/payments">"Payments"</A>
            <A href="/app/settings/messages">"Messages"</A>
            <A href="/app/settings/staff">"Staff"</A>
            <A href="/app/settings/audit">"Audit log"</A>
        </nav>
    }
}

/// Settings → General: the business details customers see on invoices, the portal and messages.
#[component]
pub fn GeneralSettingsPage() -> impl IntoView {
    let save = ServerAction::<UpdateBusinessSettings>::new();
    let settings = Resource::new(move || save.version().get(), |_| get_business_settings());
    let saved = save.value();
    let field_error = move |field: &'static str| {
        move || match saved.get() {
            Some(Err(AppError::Invalid { field: f, reason })) if f == field => Some(reason),
            _ => None,
        }
    };

    view! {
        <Title text="Settings" />
        <header class="page-header">
            <h1>"Settings"</h1>
        </header>
        <SettingsTabs />
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match settings.await {
                    Err(err) => view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any(),
                    Ok(s) => {
                        let locked = !s.editable;
                        view! {
                            <section class="card">
                                <h2>"Business details"</h2>
                                {locked.then(|| view! { <p class="alert alert-info">"Only the owner and admins can change these."</p> })}
                                {move || match saved.get() {
                                    Some(Ok(_)) => Some(view! { <p class="alert alert-info" role="status" data-testid="settings-saved">"Saved."</p> }.into_any()),
                                    Some(Err(AppError::Invalid { .. })) | None => None,
                                    Some(Err(err)) => Some(view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any()),
                                }}
                                <ActionForm action=save>
                                    <fieldset class="form" disabled=locked>
                                        <TextField name="name" label="Business name" value=s.name.clone() error=field_error("name") />
                                        <div class="field">
                                            <label for="county">"County"</label>
                                            <select id="county" name="county">
                                                <option value="" selected=s.county.is_none()>"Not set"</option>
                                                {model::COUNTIES.iter().map(|c| view! {
                                                    <option value=*c selected=s.county.as_deref() == Some(*c)>{*c}</option>
                                                }).collect_view()}
                                            </select>
                                            <span class="error" role="alert">{field_error("county")}</span>
                                        </div>
                                        <TextField name="address" label="Physical address" value=s.address.clone().unwrap_or_default() error=field_error("address") />
                                        <TextField name="phone" label="Primary phone" value=s.phone.clone().unwrap_or_default() error=field_error("phone") />
                                        <TextField name="support_email" label="Support email" value=s.support_email.clone().unwrap_or_default() error=field_error("support_email") />
                                        <TextField name="whatsapp" label="WhatsApp number" value=s.whatsapp.clone().unwrap_or_default() error=field_error("whatsapp") />
                                        <div class="field">
                                            <label for="time_zone">"Time zone"</label>
                                            <select id="time_zone" name="time_zone">
                                                {model::TIME_ZONES.iter().map(|z| view! {
                                                    <option value=*z selected=s.time_zone == *z>{*z}</option>
                                                }).collect_view()}
                                            </select>
                                            <span class="error" role="alert">{field_error("time_zone")}</span>
                                        </div>
                                        <TextField name="grace_period_days" label="Grace period (days after expiry before cut-off)" value=s.grace_period_days.to_string() error=field_error("grace_period_days") />
                                        <div class="form-actions">
                                            <button type="submit" class="button">"Save"</button>
                                        </div>
                                    </fieldset>
                                </ActionForm>
                            </section>
                            <section class="card" aria-labelledby="logo-title">
                                <h2 id="logo-title">"Logo"</h2>
                                <p class="muted">"PNG, JPEG or WebP, at most 256 KB. It appears in the top bar."</p>
                                {logo_message()}
                                // A plain multipart form: uploads work the same with or without
                                // JavaScript, and the server checks the file's bytes.
                                <form method="post" action="/app/settings/logo" enctype="multipart/form-data" class="form form-inline">
                                    <fieldset class="form-inline" disabled=locked>
                                        <div class="field">
                                            <label for="logo">"Image file"</label>
                                            <input id="logo" name="logo" type="file" accept="image/png,image/jpeg,image/webp" required />
                                        </div>
                                        <button type="submit" class="button button-secondary">"Upload logo"</button>
                                    </fieldset>
                                </form>
                            </section>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// The outcome of the last logo upload, carried back in the query string by the upload route.
fn logo_message() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    move || {
        let q = query.read();
        match (q.get("logo").as_deref(), q.get("logo_error")) {
            (Some("saved"), _) => Some(view! { <p class="alert alert-info" role="status" data-testid="logo-saved">"Logo saved."</p> }.into_any()),
            (_, Some(reason)) => Some(view! { <p class="alert alert-danger" role="alert" data-testid="logo-error">{format!("Logo not saved: {reason}.")}</p> }.into_any()),
            _ => None,
        }
    }
}

#[component]
fn TextField<E>(name: &'static str, label: &'static str, value: String, error: E) -> impl IntoView
where
    E: Fn() -> Option<String> + Send + Sync + Copy + 'static,
{
    let error_id = format!("{name}-error");
    view! {
        <div class="field">
            <label for=name>{label}</label>
            <input
                id=name
                name=name
                value=value
                aria-invalid=move || error().is_some().to_string()
                aria-describedby=error_id.clone()
            />
            <span class="error" id=error_id role="alert">{error}</span>
        </div>
    }
}
