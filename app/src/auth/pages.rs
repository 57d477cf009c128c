use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{
    auth::api::{SignIn, SignOut},
    error::AppError,
};

/// `/login`: email, password, "keep me signed in". A plain form that works before (or
/// without) the WebAssembly, then submits in place once hydrated.
#[component]
pub fn SignInPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let pending = action.pending();
    let error = move || action.value().get().and_then(Result::err);

    view! {
        <Title text="Sign in" />
        <main class="auth-page">
            <section class="card auth-card" aria-labelledby="sign-in-title">
                <A href="/app" attr:class="auth-brand">
                    <span class="brand-mark" aria-hidden="true">
                        "J"
                    </span>
                    "Jasiyo"
                </A>
                <h1 id="sign-in-title">"Sign in"</h1>
                <ActionForm action=action>
                    <div class="form">
                        {move || {
                            error()
                                .map(|err| {
                                    view! {
                                        <p class="alert alert-danger" role="alert" data-testid="sign-in-error">
                                            {sign_in_message(&err)}
                                        </p>
                                    }
                                })
                        }}
                        <div class="field">
                            <label for="email">"Email"</label>
                            <input
                                id="email"
                                name="email"
                                type="email"
                                autocomplete="username"
                                inputmode="email"
                                required
                                autofocus
                            />
                        </div>
                        <div class="field">
                            <label for="password">"Password"</label>
                            <input
                                id="password"
                                name="password"
                                type="password"
                                autocomplete="current-password"
                                required
                            />
                        </div>
                        <label class="checkbox">
                            <input type="checkbox" name="remember" value="on" />
                            "Keep me signed in on this device for 7 days"
                        </label>
                        <button type="submit" class="button" disabled=pending>
                            {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                        </button>
                    </div>
                </ActionForm>
            </section>
        </main>
    }
}

fn sign_in_message(err: &AppError) -> String {
    match err {
        // Field errors from a malformed email are folded into the generic answer on the server;
        // anything else (throttling, outages) is said as it is.
        AppError::Invalid { .. } => AppError::SignInFailed.to_string(),
        other => other.to_string(),
    }
}

/// The sign-out button of the top bar: a form, so it works without JavaScript too.
#[component]
pub fn SignOutButton() -> impl IntoView {
    let action = ServerAction::<SignOut>::new();
    view! {
        <ActionForm action=action>
            <button type="submit" class="button-link topbar-signout" data-testid="sign-out">
                "Sign out"
            </button>
        </ActionForm>
    }
}
