use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{audit::api::list_audit, error::AppError, settings::SettingsTabs};

/// Settings → Audit log: the latest entries, filtered by action and actor. The filter is a plain
/// GET form, so it works without JavaScript and filtered views can be bookmarked.
#[component]
pub fn AuditLogPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        let q = query.read();
        (
            q.get("action").unwrap_or_default(),
            q.get("actor").unwrap_or_default(),
        )
    };
    let entries = Resource::new(filter, |(action, actor)| list_audit(action, actor));
    view! {
        <Title text="Audit log" />
        <header class="page-header">
            <h1>"Settings"</h1>
        </header>
        <SettingsTabs />
        <form method="get" class="form form-inline" role="search">
            <div class="field">
                <label for="audit-action">"Action"</label>
                <select id="audit-action" name="action">
                    <option value="" selected=move || filter().0.is_empty()>"All"</option>
                    <option value="auth." selected=move || filter().0 == "auth.">"Sign-ins and passwords"</option>
                    <option value="staff." selected=move || filter().0 == "staff.">"Staff"</option>
                    <option value="account." selected=move || filter().0 == "account.">"Account"</option>
                </select>
            </div>
            <div class="field">
                <label for="audit-actor">"Who (email)"</label>
                <input id="audit-actor" name="actor" prop:value=move || filter().1 value=move || filter().1 />
            </div>
            <button type="submit" class="button button-secondary">"Filter"</button>
        </form>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match entries.await {
                    Err(AppError::Forbidden) => view! {
                        <section class="card empty-state">
                            <h2>"Owners and admins see the audit log"</h2>
                        </section>
                    }.into_any(),
                    Err(err) => view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <section class="card empty-state"><h2>"Nothing recorded matches"</h2></section>
                    }.into_any(),
                    Ok(list) => view! {
                        <div class="table-wrap">
                            <table data-testid="audit-table">
                                <thead><tr><th>"When (UTC)"</th><th>"Who"</th><th>"What"</th><th>"Change"</th><th>"From"</th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|e| view! {
                                        <tr>
                                            <td>{e.at.format("%Y-%m-%d %H:%M:%S").to_string()}</td>
                                            <td>{e.actor}</td>
                                            <td><code>{e.action}</code><br/><span class="muted">{e.entity}</span></td>
                                            <td class="muted wrap-anywhere">{e.before.map(|b| format!("before {b}"))}<br/>{e.after.map(|a| format!("after {a}"))}</td>
                                            <td class="muted wrap-anywhere">{e.ip}<br/>{e.user_agent}</td>
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
