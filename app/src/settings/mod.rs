//! Settings: the tabs, and the pages that are not yet their own area.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// The tabs across the top of every settings page.
#[component]
pub fn SettingsTabs() -> impl IntoView {
    view! {
        <nav class="tabs" aria-label="Settings">
            <A href="/app/settings" exact=true>"General"</A>
            <A href="/app/settings/staff">"Staff"</A>
            <A href="/app/settings/audit">"Audit log"</A>
        </nav>
    }
}

/// Settings → General. Business details, logo and time zone arrive with the settings work; the
/// tabs already lead to staff and the audit log.
#[component]
pub fn GeneralSettingsPage() -> impl IntoView {
    view! {
        <Title text="Settings" />
        <header class="page-header">
            <h1>"Settings"</h1>
        </header>
        <SettingsTabs />
        <section class="card empty-state">
            <h2>"Business details"</h2>
            <p>
                "Your business name, county, logo, address, phone, support email, WhatsApp number, \
                 time zone and grace period will be edited here. This part is not built yet."
            </p>
        </section>
    }
}
