//! The browser half of one public page (the payment link, the subscriber portal or the hotspot
//! page, chosen by feature): the same hydrate entry as `frontend`, mounting that page's route
//! alone, so the linker leaves everything else out and a phone on a slow connection downloads a
//! fraction of the operator app. `server/scripts/public-bundle.sh` builds it once per page; the
//! server picks the bundle by address (`app::bundle`).

#[cfg(feature = "hotspot")]
use app::HotspotApp as Surface;
#[cfg(feature = "pay")]
use app::PayApp as Surface;
// The portal, when no other page is chosen (so the crate builds and lints without features).
#[cfg(not(any(feature = "pay", feature = "hotspot")))]
use app::PortalApp as Surface;

/// Called by the generated JS loader once the WebAssembly module is instantiated.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(Surface);
}
