//! The not-found page.

use leptos::prelude::*;
use leptos_meta::Title;

/// Shown for any address that matches no page; answers 404 on the server.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <Title text="Page not found" />
        <main class="standalone">
            <section class="card empty-state">
                <h1>"Page not found"</h1>
                <p>"There is nothing at this address. It may have moved, or the link is mistyped."</p>
                <a class="button" href="/app">
                    "Go to the dashboard"
                </a>
            </section>
        </main>
    }
}
