use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};

use crate::{
    auth::pages::SignOutButton,
    error::AppError,
    layout::model::Area,
    workspace::{api::current_workspace, model::Workspace},
};

/// The workspace resource, loaded once by the layout and shared with the pages inside it.
#[derive(Clone, Copy)]
pub struct WorkspaceResource(pub Resource<Result<Workspace, AppError>>);

/// The frame of every operator page: top bar, side navigation, content.
#[component]
pub fn OperatorLayout() -> impl IntoView {
    let workspace = Resource::new(|| (), |_| current_workspace());
    provide_context(WorkspaceResource(workspace));

    // On a phone the navigation is a drawer; following one of its links closes it.
    let (nav_open, set_nav_open) = signal(false);

    // Effects run only in the browser, after hydration: the attribute tells people and browser
    // tests that the page is now interactive.
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));

    view! {
        <div
            class="shell"
            class:nav-open=nav_open
            data-hydrated=move || hydrated.get().to_string()
        >
            <a class="skip-link" href="#main">
                "Skip to content"
            </a>
            <header class="topbar">
                <button
                    type="button"
                    class="nav-toggle"
                    aria-controls="sidenav"
                    aria-expanded=move || nav_open.get().to_string()
                    on:click=move |_| set_nav_open.update(|open| *open = !*open)
                >
                    <span aria-hidden="true">"☰"</span>
                    <span class="nav-toggle-label">
                        {move || if nav_open.get() { "Close menu" } else { "Menu" }}
                    </span>
                </button>
                <a class="brand" href="/app">
                    <span class="brand-mark" aria-hidden="true">
                        "J"
                    </span>
                    <span class="brand-name">"Jasiyo"</span>
                </a>
                <Suspense fallback=|| {
                    view! { <span class="topbar-isp muted">"Loading…"</span> }
                }>
                    {move || Suspend::new(async move {
                        match workspace.await {
                            Ok(w) => {
                                view! {
                                    {w.logo_version.map(|v| view! {
                                        <img class="topbar-logo" src=format!("/app/logo?v={v}") alt="" width="32" height="32" />
                                    })}
                                    <span class="topbar-isp" data-testid="isp-name">
                                        {w.isp_name}
                                    </span>
                                    <span class="topbar-user">
                                        <span class="topbar-user-name" data-testid="user-name">
                                            {w.user_name}
                                        </span>
                                        <span class="badge badge-neutral">{w.role.label()}</span>
                                        <SignOutButton />
                                    </span>
                                }
                                    .into_any()
                            }
                            Err(AppError::Unauthenticated) => {
                                // No session (or it ended): to the sign-in page. On the server
                                // this is a 302, so it works without JavaScript too.
                                view! { <Redirect path="/login" /> }.into_any()
                            }
                            Err(err) => {
                                view! {
                                    <span class="topbar-user text-danger" role="status">
                                        {err.to_string()}
                                    </span>
                                }
                                    .into_any()
                            }
                        }
                    })}
                </Suspense>
            </header>
            <nav
                id="sidenav"
                class="sidenav"
                aria-label="Main"
                on:click=move |_| set_nav_open.set(false)
            >
                <ul>
                    {Area::ALL
                        .into_iter()
                        .map(|area| {
                            view! {
                                <li>
                                    <A href=area.href() exact=area == Area::Dashboard>
                                        <span class="nav-glyph" aria-hidden="true">
                                            {area.glyph()}
                                        </span>
                                        {area.label()}
                                    </A>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </nav>
            <div
                class="nav-scrim"
                aria-hidden="true"
                on:click=move |_| set_nav_open.set(false)
            ></div>
            <main id="main" class="content" tabindex="-1">
                <Outlet />
            </main>
        </div>
    }
}
