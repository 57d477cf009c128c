//! The browser half of Jasiyo: nothing but the hydrate entry point.
//! Everything the user sees is written once in `app` and rendered first by the server.

/// Called by the generated JS loader once the WebAssembly module is instantiated.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
