//! The browser half of Jasiyo: nothing but the hydrate entry point.
//! Everything the user sees is written once in `app` and rendered first by the server.
// Release builds keep Leptos's full view types (debug builds erase them), and the operator
// pages' types nest deeper than rustc's default limit of 128 allows.
#![recursion_limit = "256"]

/// Called by the generated JS loader once the WebAssembly module is instantiated.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // The root the server rendered for this address (`app::Root`): a public page's own, or the app.
    let path = leptos::prelude::window()
        .location()
        .pathname()
        .unwrap_or_default();
    leptos::mount::hydrate_body(move || leptos::prelude::view! { <app::Root path /> });
}
