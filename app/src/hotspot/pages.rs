//! `/hotspot/{isp}`: the captive page a hotspot router sends visitors to. Server-rendered and
//! readable without JavaScript (the packages, prices and the voucher box); hydrated, "Buy"
//! follows the M-Pesa prompt live with its countdown, and once the code is on the router the
//! page logs the device in by posting it to the router's login address.

use leptos::{html, prelude::*};
use leptos_meta::Title;
use uuid::Uuid;

use crate::{
    error::AppError,
    hotspot::{
        api::{HotspotBuy, HotspotRedeem, hotspot_page, hotspot_status},
        model::{HotspotView, Purchase, RouterParams, login_target, original_target},
    },
    money::format_kes,
    payments::{model::PaymentRequestView, pay_page::RequestStatusBox},
};

/// How often the page asks where a purchase stands.
const POLL_EVERY: std::time::Duration = std::time::Duration::from_secs(2);
/// Polls after payment before "Connect" is offered even though the router has not yet
/// confirmed the code (an agent router may take its interval to fetch it).
const READY_POLLS: u32 = 15;

#[component]
pub fn HotspotPage() -> impl IntoView {
    let slug = crate::surface::page_url().key();
    let page = Resource::new(move || slug.clone(), hotspot_page);
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));
    view! {
        <Title text="WiFi" />
        <main class="auth-page hotspot-page" data-hydrated=move || hydrated.get().to_string()>
            <Suspense fallback=|| view! { <p class="muted" aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(view) => view! { <Hotspot page=view /> }.into_any(),
                        Err(err) => crate::layout::public::problem_card(
                            err,
                            "hotspot-not-found",
                            "Hotspot not found",
                            "This WiFi page does not exist. Ask the shop that runs this hotspot.",
                        ),
                    }
                })}
            </Suspense>
        </main>
    }
}

/// What the router passed on in the page's address.
fn router_params(query: &crate::surface::PageUrl) -> RouterParams {
    RouterParams {
        router: query.query("router").and_then(|r| r.parse::<Uuid>().ok()),
        mac: query.query("mac"),
        ip: query.query("ip"),
        link_login: query.query("link-login").and_then(|l| login_target(&l)),
        link_orig: query.query("link-orig").and_then(|l| original_target(&l)),
    }
}

/// What went wrong with a form, in words for the visitor.
fn problem<T>(result: Option<Result<T, AppError>>) -> Option<String> {
    match result? {
        Ok(_) => None,
        Err(AppError::Invalid { field, reason }) => Some(match field.as_str() {
            "phone" => format!("Phone number {reason}."),
            "code" => format!("That code {reason}."),
            "plan" => format!("That package {reason}."),
            _ => "Buying here is not set up yet: ask for a voucher.".to_string(),
        }),
        Err(other) => Some(other.to_string()),
    }
}

#[component]
fn Hotspot(page: HotspotView) -> impl IntoView {
    let from_router = router_params(&crate::surface::page_url());
    let buy = ServerAction::<HotspotBuy>::new();
    let redeem = ServerAction::<HotspotRedeem>::new();
    let current: RwSignal<Option<Purchase>> = RwSignal::new(None);
    let payment: RwSignal<Option<PaymentRequestView>> = RwSignal::new(None);
    // Polls since the purchase was paid while the router had not yet confirmed the code.
    let waited = RwSignal::new(0u32);
    Effect::new(move |_| {
        if let Some(Ok(status)) = buy.value().get() {
            waited.set(0);
            current.set(Some(status));
        }
    });
    Effect::new(move |_| payment.set(current.get().map(|s| s.request)));
    let slug = page.slug.clone();
    let poll_slug = slug.clone();
    // Follows the purchase while it is open, and after payment until the router has the code.
    Effect::new(move |_| {
        let Some(status) = current.get() else { return };
        let paid_not_ready = status.code.is_some() && !status.ready;
        if !status.request.status.is_open() && !paid_not_ready {
            return;
        }
        let (id, slug) = (status.request.id, poll_slug.clone());
        set_timeout(
            move || {
                leptos::task::spawn_local(async move {
                    match hotspot_status(slug, id).await {
                        Ok(next) => {
                            if next.code.is_some() && !next.ready {
                                waited.update(|w| *w += 1);
                            }
                            current.set(Some(next));
                        }
                        // A blip in the connection: the effect runs again and retries.
                        Err(_) => current.update(|_| {}),
                    }
                })
            },
            POLL_EVERY,
        );
    });
    // The code to log in with: a voucher just accepted, or the one just bought.
    let code = Memo::new(move |_| {
        if let Some(Ok(r)) = redeem.value().get() {
            return Some(Ready {
                code: r.code,
                ready: r.ready,
                printed: true,
            });
        }
        current.with(|c| {
            c.as_ref().and_then(|c| {
                c.code.clone().map(|code| Ready {
                    code,
                    ready: c.ready,
                    printed: false,
                })
            })
        })
    });
    let busy = move || {
        buy.pending().get()
            || current.with(|c| c.as_ref().is_some_and(|c| c.request.status.is_open()))
    };
    let plans_empty = page.plans.is_empty();
    let router_field = from_router
        .router
        .map(|r| view! { <input type="hidden" name="router" value=r.to_string() /> });
    let logo = page
        .has_logo
        .then(|| view! { <img class="portal-logo" src=format!("/portal/{}/logo", page.slug) alt="" height="48" /> });
    let first = page.plans.first().map(|p| p.id);
    let plans = page
        .plans
        .iter()
        .map(|p| {
            let checked = Some(p.id) == first;
            view! {
                <label class="hotspot-plan" data-testid="hotspot-plan">
                    <input type="radio" name="plan" value=p.id.to_string() checked=checked required />
                    <span class="hotspot-plan-body">
                        <strong class="hotspot-plan-name">{p.name.clone()}</strong>
                        <span class="hotspot-plan-price" data-testid="hotspot-plan-price">{format_kes(p.price_minor)}</span>
                        <span class="muted small">
                            {p.validity.clone()} " · " {p.speed.clone()}
                            {p.data_cap.clone().map(|cap| format!(" · {cap}"))}
                            {p.shared_users.filter(|n| *n > 1).map(|n| format!(" · {n} devices"))}
                        </span>
                    </span>
                </label>
            }
        })
        .collect_view();
    let buy_slug = slug.clone();
    let buy_form = (page.mpesa && !plans_empty).then(move || {
        view! {
            <ActionForm action=buy>
                <div class="form">
                    <input type="hidden" name="slug" value=buy_slug />
                    {router_field}
                    <fieldset class="hotspot-plans">
                        <legend>"Choose a package"</legend>
                        {plans}
                    </fieldset>
                    <div class="field">
                        <label for="hotspot-phone">"M-Pesa phone number"</label>
                        <input id="hotspot-phone" name="phone" type="tel" inputmode="tel" autocomplete="tel" required placeholder="0712 345 678" data-testid="hotspot-phone" />
                    </div>
                    {move || problem(buy.value().get()).map(|e| view! { <p class="alert alert-danger" role="alert" data-testid="hotspot-error">{e}</p> })}
                    <button type="submit" class="button" data-testid="hotspot-buy" disabled=busy aria-busy=move || busy().then_some("true")>
                        {move || if busy() { "Waiting for M-Pesa…" } else { "Buy with M-Pesa" }}
                    </button>
                    <p class="muted small">"You will get an M-Pesa prompt on this phone. Enter your PIN; your code is also sent by SMS."</p>
                </div>
            </ActionForm>
        }
    });
    let no_sale = (plans_empty || !page.mpesa).then(|| {
        view! {
            <p class="muted" data-testid="hotspot-no-sale">
                {if plans_empty {
                    "No packages are on sale right now. Ask for a voucher."
                } else {
                    "Buying here is not set up yet. Ask for a voucher."
                }}
            </p>
        }
    });
    view! {
        <section class="card auth-card hotspot-card">
            {logo}
            <p class="pay-business" data-testid="hotspot-business">{page.business.clone()}</p>
            <h1>"Get online"</h1>
            {from_router.link_login.is_none().then(|| view! {
                <p class="muted small" data-testid="hotspot-no-router">"Connect to the WiFi network, then open any web page: it brings you here to log in."</p>
            })}
            <RequestStatusBox current=payment offset=0 />
            <Connect code from_router=from_router.clone() waited />
            {buy_form}
            {no_sale}
            <details class="hotspot-voucher" open=plans_empty>
                <summary>"Have a voucher?"</summary>
                <ActionForm action=redeem>
                    <div class="form">
                        <input type="hidden" name="slug" value=slug.clone() />
                        <div class="field">
                            <label for="hotspot-code">"Voucher code"</label>
                            <input id="hotspot-code" name="code" type="text" autocomplete="off" autocapitalize="characters" spellcheck="false" required placeholder="X7K2-P9MQ" data-testid="hotspot-voucher-code" />
                        </div>
                        {move || problem(redeem.value().get()).map(|e| view! { <p class="alert alert-danger" role="alert" data-testid="hotspot-voucher-error">{e}</p> })}
                        <button type="submit" class="button button-secondary" data-testid="hotspot-use-voucher" disabled=move || redeem.pending().get()>
                            {move || if redeem.pending().get() { "Checking…" } else { "Use voucher" }}
                        </button>
                    </div>
                </ActionForm>
            </details>
        </section>
    }
}

/// A code to log in with.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ready {
    code: String,
    /// The router has it: log in at once.
    ready: bool,
    /// A printed voucher: its router should have it, so "Connect" is offered whatever it says.
    printed: bool,
}

/// The code to log in with and, when the router said where, the log-in itself: posted to the
/// router's login address as soon as the router has the code (or by the button).
#[component]
fn Connect(
    code: Memo<Option<Ready>>,
    from_router: RouterParams,
    waited: RwSignal<u32>,
) -> impl IntoView {
    let form = NodeRef::<html::Form>::new();
    let submitted = RwSignal::new(None::<String>);
    let target = from_router.link_login.clone();
    let dst = from_router.link_orig.clone().unwrap_or_default();
    // Logs the device in once per code, when the router has it.
    Effect::new(move |_| {
        let Some(Ready {
            code, ready: true, ..
        }) = code.get()
        else {
            return;
        };
        if submitted.get_untracked().as_deref() == Some(code.as_str()) {
            return;
        }
        if let Some(form) = form.get() {
            submitted.set(Some(code));
            form.submit().ok();
        }
    });
    move || {
        let Ready {
            code: value,
            ready,
            printed,
        } = code.get()?;
        let can_connect = ready || printed || waited.get() >= READY_POLLS;
        let login = target.clone().map(|action| {
            let dst = dst.clone();
            view! {
                <form method="post" action=action node_ref=form data-testid="hotspot-login-form">
                    <input type="hidden" name="username" value=value.clone() />
                    <input type="hidden" name="password" value=value.clone() />
                    <input type="hidden" name="dst" value=dst />
                    <input type="hidden" name="popup" value="true" />
                    {if can_connect {
                        view! { <button type="submit" class="button" data-testid="hotspot-connect">"Connect now"</button> }.into_any()
                    } else {
                        view! { <p class="muted" aria-busy="true" data-testid="hotspot-setting-up">"Setting up your access on the router…"</p> }.into_any()
                    }}
                </form>
            }
        });
        let hint = target.is_none().then(|| {
            view! { <p class="small">"On the WiFi login page, type this code as both the user name and the password."</p> }
        });
        Some(view! {
            <div class="alert alert-success hotspot-code-box" role="status">
                <p>"Your WiFi code"</p>
                <p class="hotspot-code"><code data-testid="hotspot-code">{value.clone()}</code></p>
                {hint}
                {login}
            </div>
        })
    }
}
