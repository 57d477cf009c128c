use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use leptos_router::hooks::use_query_map;

use crate::{
    auth::api::{ForgotPassword, ResetPassword, SignIn, SignOut, SignUp, VerifyEmail},
    error::AppError,
};

/// The frame of the pages outside the operator app (sign-in, sign-up, links from emails).
#[component]
fn AuthCard(title: &'static str, children: Children) -> impl IntoView {
    // As in the operator shell: set once hydrated, for people and browser tests.
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));
    view! {
        <Title text=title />
        <main class="auth-page" data-hydrated=move || hydrated.get().to_string()>
            <section class="card auth-card">
                <a href="/app" class="auth-brand">
                    <span class="brand-mark" aria-hidden="true">
                        "J"
                    </span>
                    "Jasiyo"
                </a>
                <h1>{title}</h1>
                {children()}
            </section>
        </main>
    }
}

/// The message for one form field, when the last answer was about that field.
fn field_error(result: Option<Result<(), AppError>>, field: &str) -> Option<String> {
    match result {
        Some(Err(AppError::Invalid { field: f, reason })) if f == field => Some(reason),
        _ => None,
    }
}

/// An error that is not about a single field, for the top of a form.
fn form_error(result: Option<Result<(), AppError>>) -> Option<String> {
    match result {
        Some(Err(AppError::Invalid { .. })) | Some(Ok(())) | None => None,
        Some(Err(other)) => Some(other.to_string()),
    }
}

/// `/signup`: an ISP creates its Jasiyo account and a 14-day trial.
#[component]
pub fn SignUpPage() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let pending = action.pending();
    let value = action.value();
    let done = move || matches!(value.get(), Some(Ok(())));
    let err = move |field: &'static str| move || field_error(value.get(), field);

    view! {
        <AuthCard title="Start your free trial">
            <Show
                when=done
                fallback=move || {
                    view! {
                        <ActionForm action=action>
                            <div class="form">
                                {move || form_error(value.get()).map(|e| view! { <p class="alert alert-danger" role="alert">{e}</p> })}
                                <Field name="name" label="Your name" kind="text" autocomplete="name" error=Signal::derive(err("name")) />
                                <Field name="company" label="Business name" kind="text" autocomplete="organization" error=Signal::derive(err("company")) />
                                <Field name="email" label="Work email" kind="email" autocomplete="email" error=Signal::derive(err("email")) />
                                <Field name="password" label="Password" kind="password" autocomplete="new-password" error=Signal::derive(err("password")) />
                                <p class="hint">"At least 8 characters. A few words you will remember work well."</p>
                                <button type="submit" class="button" disabled=pending>
                                    {move || if pending.get() { "Creating your account…" } else { "Create account" }}
                                </button>
                                <p class="muted">"Already have an account? " <A href="/login">"Sign in"</A></p>
                            </div>
                        </ActionForm>
                    }
                }
            >
                <div class="alert alert-info" role="status" data-testid="sign-up-done">
                    <p>"Check your email. We sent a link to confirm your address; it works for 24 hours."</p>
                </div>
                <p><A href="/login">"Go to sign in"</A></p>
            </Show>
        </AuthCard>
    }
}

/// A labelled input with its error underneath, tied together for screen readers.
#[component]
fn Field(
    name: &'static str,
    label: &'static str,
    kind: &'static str,
    autocomplete: &'static str,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let error_id = format!("{name}-error");
    view! {
        <div class="field">
            <label for=name>{label}</label>
            <input
                id=name
                name=name
                type=kind
                autocomplete=autocomplete
                required
                aria-invalid=move || error.get().is_some().to_string()
                aria-describedby=error_id.clone()
            />
            <span class="error" id=error_id role="alert">
                {move || error.get()}
            </span>
        </div>
    }
}

/// `/verify-email?token=…`: confirms the address with a button, not on page load, so that mail
/// scanners following the link do not use it up.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let action = ServerAction::<VerifyEmail>::new();
    let value = action.value();
    view! {
        <AuthCard title="Confirm your email">
            <Show
                when=move || matches!(value.get(), Some(Ok(())))
                fallback=move || {
                    view! {
                        <ActionForm action=action>
                            <div class="form">
                                {move || field_error(value.get(), "token").or_else(|| form_error(value.get())).map(|e| view! { <p class="alert alert-danger" role="alert" data-testid="verify-error">{e}</p> })}
                                <input type="hidden" name="token" value=token />
                                <p>"One click and your Jasiyo account is ready."</p>
                                <button type="submit" class="button">"Confirm my email"</button>
                            </div>
                        </ActionForm>
                    }
                }
            >
                <p class="alert alert-info" role="status" data-testid="verified">
                    "Your email is confirmed."
                </p>
                <p><A href="/login">"Sign in"</A></p>
            </Show>
        </AuthCard>
    }
}

/// `/forgot-password`: asks for a reset link.
#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<ForgotPassword>::new();
    let value = action.value();
    view! {
        <AuthCard title="Reset your password">
            <Show
                when=move || matches!(value.get(), Some(Ok(())))
                fallback=move || {
                    view! {
                        <ActionForm action=action>
                            <div class="form">
                                {move || form_error(value.get()).map(|e| view! { <p class="alert alert-danger" role="alert">{e}</p> })}
                                <Field name="email" label="Email" kind="email" autocomplete="email" error=Signal::derive(|| None::<String>) />
                                <button type="submit" class="button">"Email me a link"</button>
                            </div>
                        </ActionForm>
                    }
                }
            >
                <p class="alert alert-info" role="status" data-testid="reset-sent">
                    "If an account exists for that email, a link to reset the password is on its way. It works for one hour."
                </p>
            </Show>
        </AuthCard>
    }
}

/// `/reset-password?token=…`: chooses a new password.
#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let action = ServerAction::<ResetPassword>::new();
    let value = action.value();
    view! {
        <AuthCard title="Choose a new password">
            <Show
                when=move || matches!(value.get(), Some(Ok(())))
                fallback=move || {
                    view! {
                        <ActionForm action=action>
                            <div class="form">
                                {move || field_error(value.get(), "token").or_else(|| form_error(value.get())).map(|e| view! { <p class="alert alert-danger" role="alert">{e}</p> })}
                                <input type="hidden" name="token" value=token />
                                <Field name="new_password" label="New password" kind="password" autocomplete="new-password" error=Signal::derive(move || field_error(value.get(), "password")) />
                                <button type="submit" class="button">"Save password"</button>
                            </div>
                        </ActionForm>
                    }
                }
            >
                <p class="alert alert-info" role="status">"Your password is changed. Sign in with it now."</p>
                <p><A href="/login">"Sign in"</A></p>
            </Show>
        </AuthCard>
    }
}

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
                        <p class="muted">
                            <A href="/forgot-password">"Forgot your password?"</A>
                            " · "
                            <A href="/signup">"Start a free trial"</A>
                        </p>
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
