use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    customers::{
        api::needs_attention,
        model::{Attention, CustomerRow},
        pages::local_time,
    },
    error::AppError,
    layout::{WorkspaceResource, model::Area},
    workspace::{api::check_database, model::DatabaseCheck},
};

#[component]
pub fn DashboardPage() -> impl IntoView {
    let workspace = use_context::<WorkspaceResource>().map(|w| w.0);
    let check = Action::new(|_: &()| check_database());
    let checking = check.pending();

    view! {
        <Title text=Area::Dashboard.label() />
        <header class="page-header">
            <h1>"Dashboard"</h1>
        </header>
        <div class="card-grid">
            <section class="card" aria-labelledby="workspace-title">
                <h2 id="workspace-title">"Your workspace"</h2>
                <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match workspace {
                            Some(resource) => workspace_summary(resource.await).into_any(),
                            None => view! { <p class="muted">"Unavailable."</p> }.into_any(),
                        }
                    })}
                </Suspense>
            </section>

            <section class="card" aria-labelledby="status-title">
                <h2 id="status-title">"System status"</h2>
                <p class="muted">"Ask the database for its time and version, live."</p>
                <button
                    type="button"
                    class="button"
                    data-testid="check-database"
                    disabled=checking
                    on:click=move |_| {
                        check.dispatch(());
                    }
                >
                    {move || if checking.get() { "Checking…" } else { "Check database" }}
                </button>
                <div class="check-result" aria-live="polite">
                    {move || check.value().get().map(database_check_result)}
                </div>
            </section>

            <NeedsAttention />
        </div>
    }
}

fn workspace_summary(result: Result<crate::workspace::model::Workspace, AppError>) -> AnyView {
    match result {
        Ok(w) => view! {
            <dl class="facts">
                <div>
                    <dt>"Business"</dt>
                    <dd data-testid="workspace-isp">{w.isp_name}</dd>
                </div>
                <div>
                    <dt>"Signed in as"</dt>
                    <dd>{w.user_name} " · " {w.role.label()}</dd>
                </div>
                <div>
                    <dt>"Active staff"</dt>
                    <dd data-testid="staff-count">{w.staff_count}</dd>
                </div>
            </dl>
        }
        .into_any(),
        Err(err) => {
            view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any()
        }
    }
}

fn database_check_result(result: Result<DatabaseCheck, AppError>) -> AnyView {
    match result {
        Ok(check) => view! {
            <dl class="facts" data-testid="database-check">
                <div>
                    <dt>"Database"</dt>
                    <dd>
                        <span class="badge badge-success">"Connected"</span>
                    </dd>
                </div>
                <div>
                    <dt>"Version"</dt>
                    <dd>{check.server_version.clone()}</dd>
                </div>
                <div>
                    <dt>"Server time"</dt>
                    <dd data-testid="database-time">
                        {check.checked_at.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string()}
                    </dd>
                </div>
                <div>
                    <dt>"Round trip"</dt>
                    <dd>{check.round_trip_label()}</dd>
                </div>
            </dl>
        }
        .into_any(),
        Err(err) => view! {
            <p class="alert alert-danger" role="alert" data-testid="database-check-error">
                {err.to_string()}
            </p>
        }
        .into_any(),
    }
}

/// Headline counts, then who needs someone today: expired within the grace period, suspended,
/// and expiring within three days.
#[component]
fn NeedsAttention() -> impl IntoView {
    let attention = Resource::new(|| (), |_| needs_attention());
    view! {
        <Suspense fallback=|| view! { <section class="card card-wide"><p class="muted">"Loading figures…"</p></section> }>
            {move || Suspend::new(async move {
                match attention.await {
                    Err(err) => view! { <section class="card card-wide"><p class="alert alert-danger" role="alert">{err.to_string()}</p></section> }.into_any(),
                    Ok(a) => attention_view(a).into_any(),
                }
            })}
        </Suspense>
    }
}

fn attention_view(a: Attention) -> impl IntoView {
    let offset = a.utc_offset_seconds;
    let grace = if a.grace_period_days == 0 {
        "Expired in the grace period (none is set: cut off at expiry)".to_string()
    } else {
        format!(
            "Expired in the last {} day{} (grace period)",
            a.grace_period_days,
            if a.grace_period_days == 1 { "" } else { "s" }
        )
    };
    view! {
        <section class="card card-wide" aria-labelledby="counts-title">
            <h2 id="counts-title">"Subscribers"</h2>
            <div class="stats" data-testid="headline-counts">
                <a class="stat" href="/app/customers?status=active"><span class="stat-value" data-testid="count-active">{a.active}</span><span class="stat-label">"Active services"</span></a>
                <a class="stat" href="/app/customers?status=expired"><span class="stat-value" data-testid="count-expired">{a.expired}</span><span class="stat-label">"Expired"</span></a>
                <a class="stat" href="/app/customers?status=suspended"><span class="stat-value" data-testid="count-suspended">{a.suspended}</span><span class="stat-label">"Suspended"</span></a>
                <a class="stat" href="/app/customers"><span class="stat-value" data-testid="count-customers">{a.customers}</span><span class="stat-label">"Customers in all"</span></a>
            </div>
        </section>
        <section class="card card-wide" aria-labelledby="attention-title" data-testid="needs-attention">
            <h2 id="attention-title">"Needs attention"</h2>
            <div class="attention-grid">
                {attention_list(grace, a.in_grace_count, a.in_grace, offset, "attention-grace")}
                {attention_list("Suspended".to_string(), a.suspended, a.suspended_rows, offset, "attention-suspended")}
                {attention_list("Expiring within 3 days".to_string(), a.expiring_soon_count, a.expiring_soon, offset, "attention-expiring")}
            </div>
        </section>
    }
}

fn attention_list(
    title: String,
    count: i64,
    rows: Vec<CustomerRow>,
    offset: i32,
    testid: &'static str,
) -> impl IntoView {
    let more = count - rows.len() as i64;
    view! {
        <div class="attention" data-testid=testid>
            <h3>{title} " " <span class="badge badge-neutral" data-testid="attention-count">{count}</span></h3>
            {if rows.is_empty() {
                view! { <p class="muted">"Nobody. "</p> }.into_any()
            } else {
                view! {
                    <ul class="attention-list">
                        {rows.into_iter().map(|r| view! {
                            <li>
                                <a href=format!("/app/customers?q={}&open={}", crate::customers::pages::encode(&r.account_number), r.id)>{r.name}</a>
                                <span class="muted">{format!(" · {} · {}", r.plan_name.unwrap_or_default(), r.expires_at.map(|t| local_time(t, offset)).unwrap_or_default())}</span>
                            </li>
                        }).collect_view()}
                    </ul>
                    {(more > 0).then(|| view! { <p class="muted">{format!("and {more} more")}</p> })}
                }.into_any()
            }}
        </div>
    }
}
