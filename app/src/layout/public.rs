//! Pieces the public pages (payment link, portal, hotspot) share.

use leptos::prelude::*;

use crate::error::AppError;

/// What a public page shows when it cannot show itself: its own "not found" card (an address
/// mistyped or out of date), or the error in words.
pub fn problem_card(
    err: AppError,
    test_id: &'static str,
    title: &'static str,
    advice: &'static str,
) -> AnyView {
    match err {
        AppError::NotFound { .. } => view! {
            <section class="card auth-card" data-testid=test_id>
                <h1>{title}</h1>
                <p>{advice}</p>
            </section>
        }
        .into_any(),
        err => view! {
            <section class="card auth-card">
                <p class="alert alert-danger" role="alert">{err.to_string()}</p>
            </section>
        }
        .into_any(),
    }
}
