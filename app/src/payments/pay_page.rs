//! `/pay/{code}`: the public payment page a customer is sent. Server-rendered and usable as
//! plain HTML, small for phones on slow connections; once hydrated, "Pay now" sends the M-Pesa
//! prompt and the page follows it live (a status check every 2 seconds) until it is paid,
//! declined or expired, then shows the new expiry without a reload.

use leptos::prelude::*;
use leptos_meta::Title;
use uuid::Uuid;

use crate::{
    customers::pages::local_time,
    error::AppError,
    money::format_kes,
    payments::{
        api::{PayLinkCard, PayLinkPay, pay_link_page, pay_link_return, pay_link_status},
        model::{PayLinkView, PaymentRequestView, RequestStatus},
    },
};

/// How long an M-Pesa prompt waits on the phone for the PIN.
const PROMPT_SECONDS: u32 = 90;

/// How often the page asks where a payment stands.
const POLL_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

#[component]
pub fn PayPage() -> impl IntoView {
    let url = crate::surface::page_url();
    let code = url.key();
    // Back from Paystack (`?reference=…`): verified first, so the page then shows what it paid.
    let page = Resource::new(
        move || (url.key(), url.query("reference")),
        |(code, reference)| async move {
            let back = match reference {
                Some(reference) => Some(pay_link_return(code.clone(), reference).await),
                None => None,
            };
            (pay_link_page(code).await, back)
        },
    );
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));
    view! {
        <Title text="Pay" />
        <main class="auth-page pay-page" data-hydrated=move || hydrated.get().to_string()>
            <Suspense fallback=|| view! { <p class="muted" aria-busy="true">"Loading…"</p> }>
                {move || {
                let code = code.clone();
                Suspend::new(async move {
                    let (page, back) = page.await;
                    match page {
                        Ok(view) => view! { <PayCard code=code.clone() page=view back /> }.into_any(),
                        Err(err) => crate::layout::public::problem_card(
                            err,
                            "pay-not-found",
                            "Link not found",
                            "This payment link is not valid. Ask your internet provider for a new one.",
                        ),
                    }
                })}}
            </Suspense>
        </main>
    }
}

fn status_class(status: RequestStatus) -> &'static str {
    match status {
        RequestStatus::Paid => "alert alert-success",
        RequestStatus::Failed | RequestStatus::Expired => "alert alert-danger",
        RequestStatus::Sending | RequestStatus::Pending => "alert alert-info",
    }
}

#[component]
pub fn PayCard(
    code: String,
    page: PayLinkView,
    back: Option<Result<PaymentRequestView, AppError>>,
) -> impl IntoView {
    let pay = ServerAction::<PayLinkPay>::new();
    let card = ServerAction::<PayLinkCard>::new();
    let offset = page.utc_offset_seconds;
    let follow = RwSignal::new(page.open_request);
    let back_error = back.clone().and_then(Result::err).map(|e| e.to_string());
    let current = RwSignal::new(back.and_then(Result::ok));
    // A new request from "Pay now" (or the one already on the phone) is followed.
    Effect::new(move |_| {
        if let Some(Ok(view)) = pay.value().get() {
            follow.set(Some(view.id));
            current.set(Some(view));
        }
    });
    let poll_code = code.clone();
    follow_request(follow, current, move |id| {
        pay_link_status(poll_code.clone(), id)
    });
    let busy = move || {
        pay.pending().get()
            || current.with(|c| c.as_ref().is_some_and(|c| c.status.is_open()))
            || (follow.get().is_some() && current.with(Option::is_none))
    };
    let error = move || {
        let text = |e: AppError| match e {
            AppError::Invalid { reason, .. } => reason,
            other => other.to_string(),
        };
        if let Some(Err(e)) = pay.value().get() {
            return Some(text(e));
        }
        if let Some(Err(e)) = card.value().get() {
            return Some(text(e));
        }
        back_error.clone()
    };
    let due = page.amount_due_minor;
    let card_code = code.clone();
    let owes = page.owed_minor > 0;
    let services = page.services.clone();
    view! {
        <section class="card auth-card pay-card">
            <p class="pay-business" data-testid="pay-business">{page.business.clone()}</p>
            <h1>"Pay for your internet"</h1>
            <dl class="facts">
                <div><dt>"Name"</dt><dd data-testid="pay-customer">{page.customer_name.clone()}</dd></div>
                <div><dt>"Account"</dt><dd><code>{page.account_number.clone()}</code></dd></div>
                {services.into_iter().map(|s| view! {
                    <div>
                        <dt>"Plan"</dt>
                        <dd>
                            {s.plan} " · " {if s.status == "active" { "active until " } else { "expired " }}
                            <span data-testid="pay-service-expiry">{local_time(s.expires_at, offset)}</span>
                        </dd>
                    </div>
                }).collect_view()}
                <div>
                    <dt>{if owes { "Amount due" } else { "Pay ahead" }}</dt>
                    <dd class="pay-amount" data-testid="pay-amount">{format_kes(due)}</dd>
                </div>
            </dl>
            <RequestStatusBox current offset />
            {move || error().map(|e| view! { <p class="alert alert-danger" role="alert" data-testid="pay-error">{e}</p> })}
            {
                // The ISP's choice for "Pay now" (Payment settings) comes first; the other, when
                // set up, is offered underneath.
                let stk_form = (page.mpesa && due > 0).then(|| view! {
                    <ActionForm action=pay>
                        <div class="form">
                            <input type="hidden" name="code" value=code.clone() />
                            <div class="field">
                                <label for="pay-phone">"M-Pesa phone number"</label>
                                <input id="pay-phone" name="phone" type="tel" inputmode="tel" autocomplete="tel" required value=page.phone.clone() data-testid="pay-phone" />
                            </div>
                            <button type="submit" class="button" data-testid="pay-now" disabled=busy aria-busy=move || busy().then_some("true")>
                                {move || if busy() { "Waiting for M-Pesa…".to_string() } else { format!("Pay {} now", format_kes(due)) }}
                            </button>
                            <p class="muted small">"You will get an M-Pesa prompt on this phone. Enter your PIN to pay."</p>
                        </div>
                    </ActionForm>
                });
                let card_first = page.paystack_first;
                let card_form = (page.paystack && due > 0).then(|| view! {
                    <ActionForm action=card>
                        <div class="form">
                            <input type="hidden" name="code" value=card_code />
                            <div class="field">
                                <label for="pay-email">"Email for the receipt"</label>
                                <input id="pay-email" name="email" type="email" autocomplete="email" required value=page.email.clone() data-testid="pay-email" />
                            </div>
                            <button type="submit" class=if card_first { "button" } else { "button button-secondary" } data-testid="pay-card" disabled=move || card.pending().get()>
                                {move || match (card.pending().get(), card_first) {
                                    (true, _) => "Opening Paystack…".to_string(),
                                    (false, true) => format!("Pay {} now", format_kes(due)),
                                    (false, false) => "Pay by card (Paystack)".to_string(),
                                }}
                            </button>
                            {card_first.then(|| view! { <p class="muted small">"Paystack's page takes M-Pesa and cards."</p> })}
                        </div>
                    </ActionForm>
                });
                if card_first {
                    view! {
                        {card_form}
                        {stk_form.map(|form| view! {
                            <details class="pay-card-option">
                                <summary>"Pay with an M-Pesa prompt instead"</summary>
                                {form}
                            </details>
                        })}
                    }.into_any()
                } else {
                    let open = stk_form.is_none();
                    view! {
                        {stk_form}
                        {card_form.map(|form| view! {
                            <details class="pay-card-option" open=open>
                                <summary>"Pay by card instead"</summary>
                                {form}
                            </details>
                        })}
                    }.into_any()
                }
            }
            {if due <= 0 {
                view! { <p class="muted">"Nothing is due."</p> }.into_any()
            } else if !page.mpesa && !page.paystack {
                view! { <p class="muted">"Pay by M-Pesa paybill using your account number " <code>{page.account_number.clone()}</code> "."</p> }.into_any()
            } else {
                ().into_any()
            }}
        </section>
    }
}

/// Follows a payment request while it is open: asks `fetch` every 2 seconds and keeps the
/// answer in `current` (browser only: effects do not run on the server).
pub fn follow_request<F, Fut>(
    follow: RwSignal<Option<Uuid>>,
    current: RwSignal<Option<PaymentRequestView>>,
    fetch: F,
) where
    F: Fn(Uuid) -> Fut + Clone + 'static,
    Fut: std::future::Future<Output = Result<PaymentRequestView, AppError>> + 'static,
{
    Effect::new(move |_| {
        let Some(id) = follow.get() else { return };
        let open = current.with(|c| c.as_ref().is_none_or(|c| c.id != id || c.status.is_open()));
        if !open {
            return;
        }
        let fetch = fetch.clone();
        set_timeout(
            move || {
                leptos::task::spawn_local(async move {
                    match fetch(id).await {
                        Ok(view) => current.set(Some(view)),
                        // A blip in the connection: the effect runs again and retries.
                        Err(_) => current.update(|_| {}),
                    }
                })
            },
            POLL_EVERY,
        );
    });
}

/// Where a payment request stands, read out as it changes.
#[component]
pub fn RequestStatusBox(
    current: RwSignal<Option<PaymentRequestView>>,
    offset: i32,
) -> impl IntoView {
    // Seconds since the prompt being followed went out, counted in the browser (from when the
    // page learnt of it, so a phone's wrong clock does not matter).
    let open = Memo::new(move |_| {
        current.with(|c| c.as_ref().filter(|c| c.status.is_open()).map(|c| c.id))
    });
    let waited = RwSignal::new(0u32);
    Effect::new(move |_| {
        open.track();
        waited.set(0);
    });
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if open.get_untracked().is_some() {
                    waited.update(|w| *w += 1);
                }
            },
            std::time::Duration::from_secs(1),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    let countdown = move || {
        let left = PROMPT_SECONDS.saturating_sub(waited.get());
        if left > 0 {
            format!("{left} s left to enter your M-Pesa PIN.")
        } else {
            "Still waiting for M-Pesa…".to_string()
        }
    };
    move || {
        current.get().map(|c| {
            let expiry = c.expires_at.map(|at| local_time(at, offset));
            let is_open = c.status.is_open();
            view! {
                <div class=status_class(c.status) role="status" aria-live="polite" data-testid="pay-status" data-status=c.status.as_str()>
                    <p>{c.message.clone()}</p>
                    {is_open.then(|| view! { <p class="small" data-testid="pay-countdown">{countdown}</p> })}
                    {c.receipt.clone().map(|r| view! { <p>"M-Pesa receipt " <code>{r}</code></p> })}
                    {expiry.map(|e| view! { <p>"Internet paid until " <strong data-testid="pay-new-expiry">{e}</strong> "."</p> })}
                </div>
            }
        })
    }
}
