use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
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

            <section class="card card-wide empty-state" aria-labelledby="figures-title">
                <h2 id="figures-title">"Collections and subscribers"</h2>
                <p>
                    "Revenue collected today, who is active, who expires this week and who is \
                     suspended will show here once customers, plans and payments are set up."
                </p>
            </section>
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
