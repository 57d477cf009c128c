//! Settings → Payments: M-Pesa Daraja and Paystack credentials, which provider takes pushes,
//! and "Test connection". Secrets are write-only: the form shows whether each is set and its
//! last four characters, and a blank field keeps what is stored.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    error::AppError,
    money::format_kes,
    payments::{
        api::{
            AssignUnmatched, CustomerPaymentLink, RegisterMpesaUrls, SendStkPush,
            TestMpesaConnection, UpdatePaymentSettings, get_payment_settings, list_unmatched,
            payment_request_status,
        },
        model::{PaymentRequestView, UnmatchedRow},
        pay_page::{RequestStatusBox, follow_request},
    },
    settings::SettingsTabs,
};

/// A saved secret's placeholder: its last four characters, or that none is saved.
pub(crate) fn secret_hint(last4: &Option<String>) -> String {
    match last4 {
        Some(l) => format!("Set (ends in {l}); type to replace"),
        None => "Not set".into(),
    }
}

#[component]
pub fn PaymentSettingsPage() -> impl IntoView {
    let save = ServerAction::<UpdatePaymentSettings>::new();
    let settings = Resource::new(move || save.version().get(), |_| get_payment_settings());
    let saved = save.value();
    let test = ServerAction::<TestMpesaConnection>::new();
    let register = ServerAction::<RegisterMpesaUrls>::new();
    let field_error = move |field: &'static str| {
        move || match saved.get() {
            Some(Err(AppError::Invalid { field: f, reason })) if f == field => Some(reason),
            _ => None,
        }
    };
    view! {
        <Title text="Payment settings" />
        <header class="page-header"><h1>"Settings"</h1></header>
        <SettingsTabs />
        <Suspense fallback=|| view! { <p class="muted" aria-busy="true">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match settings.await {
                    Err(AppError::Forbidden) => view! {
                        <section class="card empty-state">
                            <h2>"Owners and admins manage payment settings"</h2>
                            <p>"M-Pesa and Paystack credentials are kept from other roles."</p>
                        </section>
                    }.into_any(),
                    Err(err) => view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any(),
                    Ok(s) => {
                        let till = s.mpesa_kind == "till";
                        view! {
                            <section class="card">
                                <h2>"M-Pesa (Daraja)"</h2>
                                <p class="muted">"From your app on the Safaricom developer portal (Daraja). Secrets are stored encrypted and never shown again: leave a field blank to keep what is saved."</p>
                                {move || match saved.get() {
                                    Some(Ok(_)) => Some(view! { <p class="alert alert-info" role="status" data-testid="payments-saved">"Saved."</p> }.into_any()),
                                    Some(Err(AppError::Invalid { .. })) | None => None,
                                    Some(Err(err)) => Some(view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any()),
                                }}
                                <ActionForm action=save>
                                    <fieldset class="form">
                                        <div class="form-grid">
                                            <div class="field">
                                                <label for="mpesa_environment">"Environment"</label>
                                                <select id="mpesa_environment" name="mpesa_environment">
                                                    <option value="sandbox" selected=s.mpesa_environment == "sandbox">"Sandbox (testing)"</option>
                                                    <option value="production" selected=s.mpesa_environment == "production">"Production (real money)"</option>
                                                </select>
                                            </div>
                                            <div class="field">
                                                <label for="mpesa_kind">"Customers pay to a"</label>
                                                <select id="mpesa_kind" name="mpesa_kind">
                                                    <option value="paybill" selected=!till>"Paybill (with account number)"</option>
                                                    <option value="till" selected=till>"Till (buy goods)"</option>
                                                </select>
                                            </div>
                                            <div class="field">
                                                <label for="mpesa_shortcode">"Paybill or store number (shortcode)"</label>
                                                <input id="mpesa_shortcode" name="mpesa_shortcode" inputmode="numeric" autocomplete="off" value=s.mpesa_shortcode.clone() data-testid="mpesa-shortcode" />
                                                <span class="error" role="alert">{field_error("mpesa_shortcode")}</span>
                                            </div>
                                            <div class="field">
                                                <label for="mpesa_till">"Till number (buy goods only)"</label>
                                                <input id="mpesa_till" name="mpesa_till" inputmode="numeric" autocomplete="off" value=s.mpesa_till.clone() />
                                                <span class="error" role="alert">{field_error("mpesa_till")}</span>
                                            </div>
                                            <div class="field">
                                                <label for="mpesa_consumer_key">"Consumer key"</label>
                                                <input id="mpesa_consumer_key" name="mpesa_consumer_key" type="password" autocomplete="new-password" placeholder=secret_hint(&s.mpesa_consumer_key_last4) data-testid="mpesa-consumer-key" />
                                                <span class="error" role="alert">{field_error("mpesa_consumer_key")}</span>
                                            </div>
                                            <div class="field">
                                                <label for="mpesa_consumer_secret">"Consumer secret"</label>
                                                <input id="mpesa_consumer_secret" name="mpesa_consumer_secret" type="password" autocomplete="new-password" placeholder=secret_hint(&s.mpesa_consumer_secret_last4) data-testid="mpesa-consumer-secret" />
                                                <span class="error" role="alert">{field_error("mpesa_consumer_secret")}</span>
                                            </div>
                                            <div class="field">
                                                <label for="mpesa_passkey">"Lipa na M-Pesa passkey (for STK push)"</label>
                                                <input id="mpesa_passkey" name="mpesa_passkey" type="password" autocomplete="new-password" placeholder=secret_hint(&s.mpesa_passkey_last4) />
                                                <span class="error" role="alert">{field_error("mpesa_passkey")}</span>
                                            </div>
                                        </div>
                                        <label class="checkbox">
                                            <input type="checkbox" name="c2b_reject_unknown" value="on" checked=s.c2b_reject_unknown />
                                            " Refuse paybill payments to unknown account numbers (otherwise they wait in Unmatched payments)"
                                        </label>
                                        <h2>"Paystack"</h2>
                                        <div class="form-grid">
                                            <div class="field">
                                                <label for="paystack_secret">"Secret key"</label>
                                                <input id="paystack_secret" name="paystack_secret" type="password" autocomplete="new-password" placeholder=secret_hint(&s.paystack_secret_last4) />
                                                <span class="error" role="alert">{field_error("paystack_secret")}</span>
                                            </div>
                                            <div class="field">
                                                <label for="stk_provider">"\"Pay now\" uses"</label>
                                                <select id="stk_provider" name="stk_provider">
                                                    <option value="" selected=s.stk_provider.is_empty()>"Not set up yet"</option>
                                                    <option value="mpesa" selected=s.stk_provider == "mpesa">"M-Pesa STK push"</option>
                                                    <option value="paystack" selected=s.stk_provider == "paystack">"Paystack checkout"</option>
                                                </select>
                                                <span class="error" role="alert">{field_error("stk_provider")}</span>
                                            </div>
                                        </div>
                                        <div class="form-actions"><button type="submit" class="button" data-testid="save-payments">"Save"</button></div>
                                    </fieldset>
                                </ActionForm>
                            </section>
                            <section class="card">
                                <h2>"Test the M-Pesa connection"</h2>
                                <p class="muted">"Asks Daraja for a token with the saved consumer key and secret."</p>
                                <ActionForm action=test>
                                    <button type="submit" class="button button-secondary" data-testid="test-mpesa" aria-busy=move || test.pending().get().then_some("true")>
                                        {move || if test.pending().get() { "Testing…" } else { "Test connection" }}
                                    </button>
                                </ActionForm>
                                {move || test.value().get().map(|r| match r {
                                    Ok(t) => view! {
                                        <p class=if t.ok { "alert alert-info" } else { "alert alert-danger" } role="status" data-testid="mpesa-test-result">{t.message}</p>
                                    }.into_any(),
                                    Err(err) => view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any(),
                                })}
                            </section>
                            <section class="card">
                                <h2>"Receive paybill and till payments"</h2>
                                <p class="muted">"Tells M-Pesa to send every payment to your shortcode here, where it is matched to the customer by account number (or phone number) and applied at once. Do this once after saving your shortcode."</p>
                                <ActionForm action=register>
                                    <button type="submit" class="button button-secondary" data-testid="register-c2b" aria-busy=move || register.pending().get().then_some("true")>
                                        {move || if register.pending().get() { "Registering…" } else { "Register payment URLs" }}
                                    </button>
                                </ActionForm>
                                {move || register.value().get().map(|r| match r {
                                    Ok(t) => view! { <p class="alert alert-info" role="status" data-testid="register-c2b-result">{t.message}</p> }.into_any(),
                                    Err(err) => view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any(),
                                })}
                            </section>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// `/app/payments/unmatched`: the Unmatched payments queue. Each open payment can be assigned
/// to the customer it was meant for (owner and admin); support staff see the queue.
#[component]
pub fn UnmatchedPage() -> impl IntoView {
    let assign = ServerAction::<AssignUnmatched>::new();
    let rows = Resource::new(move || assign.version().get(), |_| list_unmatched());
    view! {
        <Title text="Unmatched payments" />
        <header class="page-header"><h1>"Payments"</h1></header>
        <crate::payments::transactions_page::PaymentsTabs />
        <section class="card">
            <h2>"Unmatched payments"</h2>
            <p class="muted">"Money that arrived for an account number nobody has. Assign each to the customer it was meant for: it is then applied like any payment, to their oldest open invoice first."</p>
            {move || assign.value().get().map(|r| match r {
                Ok(()) => view! { <p class="alert alert-info" role="status" data-testid="assigned">"Assigned and applied."</p> }.into_any(),
                Err(err) => view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any(),
            })}
            <Suspense fallback=|| view! { <p class="muted" aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match rows.await {
                        Err(err) => view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any(),
                        Ok(rows) if rows.is_empty() => view! {
                            <div class="empty-state" data-testid="unmatched-empty">
                                <p>"No unmatched payments. Every payment found its customer."</p>
                            </div>
                        }.into_any(),
                        Ok(rows) => view! {
                            <div class="table-wrap">
                                <table data-testid="unmatched-table">
                                    <thead><tr>
                                        <th>"Received"</th><th>"Receipt"</th><th>"Payer"</th><th>"Account typed"</th>
                                        <th class="num">"Amount"</th><th>"Customer"</th>
                                    </tr></thead>
                                    <tbody>
                                        {rows.into_iter().map(|row| view! { <UnmatchedTableRow row assign /> }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn UnmatchedTableRow(row: UnmatchedRow, assign: ServerAction<AssignUnmatched>) -> impl IntoView {
    let field = format!("assign-{}", row.id);
    view! {
        <tr data-testid="unmatched-row">
            <td class="nowrap">{row.received_at.format("%-d %b %Y %H:%M UTC").to_string()}</td>
            <td><code>{row.reference.clone()}</code></td>
            <td>{row.payer_name.clone()}</td>
            <td><code>{row.account_typed.clone()}</code></td>
            <td class="num">{format_kes(row.amount_minor)}</td>
            <td>
                {match (row.customer_name.clone(), row.customer_account.clone()) {
                    (Some(name), account) => view! {
                        <span>{name} " " <span class="muted">{account.unwrap_or_default()}</span></span>
                    }.into_any(),
                    _ => view! {
                        <ActionForm action=assign attr:class="form-inline">
                            <input type="hidden" name="id" value=row.id.to_string() />
                            <label class="visually-hidden" for=field.clone()>"Customer account number"</label>
                            <input id=field name="account" required placeholder="Account no." autocomplete="off" size="10" />
                            <button type="submit" class="button button-small">"Assign"</button>
                        </ActionForm>
                    }.into_any(),
                }}
            </td>
        </tr>
    }
}

/// On the customer panel: the customer's payment link to copy, and "Send M-Pesa request" (an
/// STK push to their phone, for what they owe unless an amount is typed), followed live.
#[component]
pub fn CustomerPayments(customer: uuid::Uuid, phone: String, offset: i32) -> impl IntoView {
    let link = ServerAction::<CustomerPaymentLink>::new();
    let send = ServerAction::<SendStkPush>::new();
    let follow = RwSignal::new(None::<uuid::Uuid>);
    let current = RwSignal::new(None::<PaymentRequestView>);
    Effect::new(move |_| {
        if let Some(Ok(view)) = send.value().get() {
            follow.set(Some(view.id));
            current.set(Some(view));
        }
    });
    follow_request(follow, current, payment_request_status);
    let send_error = move || match send.value().get() {
        Some(Err(AppError::Invalid { field, reason })) => Some(format!("{field}: {reason}")),
        Some(Err(err)) => Some(err.to_string()),
        _ => None,
    };
    let busy = move || {
        send.pending().get() || current.with(|c| c.as_ref().is_some_and(|c| c.status.is_open()))
    };
    let phone_id = format!("stk-phone-{customer}");
    let amount_id = format!("stk-amount-{customer}");
    view! {
        <details class="panel-section" data-testid="customer-payments">
            <summary>"Request a payment"</summary>
            <ActionForm action=link>
                <input type="hidden" name="customer" value=customer.to_string() />
                <button type="submit" class="button button-secondary button-small" data-testid="get-payment-link">"Show payment link"</button>
            </ActionForm>
            {move || link.value().get().map(|r| match r {
                Ok(url) => {
                    let copy_url = url.clone();
                    view! {
                        <div class="link-copy">
                            <input readonly value=url aria-label="Payment link" data-testid="payment-link" on:focus=|ev| select_all(&ev) />
                            <button type="button" class="button button-small" on:click=move |_| copy_text(&copy_url)>"Copy"</button>
                        </div>
                        <p class="muted small">"Send it to the customer by SMS or WhatsApp: it opens a page where they pay by M-Pesa, without signing in."</p>
                    }.into_any()
                }
                Err(err) => view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any(),
            })}
            <ActionForm action=send>
                <input type="hidden" name="customer" value=customer.to_string() />
                <div class="form-grid">
                    <div class="field">
                        <label for=phone_id.clone()>"M-Pesa phone"</label>
                        <input id=phone_id name="phone" type="tel" required value=phone data-testid="stk-phone" />
                    </div>
                    <div class="field">
                        <label for=amount_id.clone()>"Amount (KES)"</label>
                        <input id=amount_id name="amount" inputmode="decimal" placeholder="What they owe" data-testid="stk-amount" />
                    </div>
                </div>
                <button type="submit" class="button button-small" data-testid="send-stk" disabled=busy>
                    {move || if busy() { "Waiting for the customer…" } else { "Send M-Pesa request" }}
                </button>
            </ActionForm>
            {move || send_error().map(|e| view! { <p class="alert alert-danger" role="alert" data-testid="stk-error">{e}</p> })}
            <RequestStatusBox current offset />
        </details>
    }
}

/// Selects a read-only field's text when it gets focus, ready to copy.
fn select_all(ev: &leptos::ev::FocusEvent) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        if let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        {
            input.select();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ev;
}

/// Puts `text` on the clipboard (browser only).
pub(crate) fn copy_text(text: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        // The promise settles on its own; a refusal leaves the selectable field to copy from.
        let _ = window.navigator().clipboard().write_text(text);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}
