//! Pages for areas that are not built yet, and the not-found page.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::layout::model::Area;

/// An honest placeholder: what the area will hold, and that it is not here yet.
#[component]
pub fn AreaPage(area: Area) -> impl IntoView {
    view! {
        <Title text=area.label() />
        <header class="page-header">
            <h1>{area.label()}</h1>
        </header>
        <section class="card empty-state" aria-labelledby="coming-title">
            <span class="empty-glyph" aria-hidden="true">
                {area.glyph()}
            </span>
            <h2 id="coming-title">"Not built yet"</h2>
            <p>{area.promise()}</p>
            <p class="muted">"This part of Jasiyo is on its way; nothing here is live yet."</p>
            <a class="button button-secondary" href="/app">
                "Back to the dashboard"
            </a>
        </section>
    }
}

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
