//! Settings → Messages: the ISP's SMS gateway and mail server (each with a test message),
//! which messages need consent, the reminder days, and each event's SMS in English and Swahili,
//! written with a live preview and the SMS count the gateway will bill (the same code the
//! server sends with).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    error::AppError,
    messaging::{
        api::{
            SaveMailServer, SaveMessageTemplate, SaveReminderDays, SaveSmsProvider, TestMailServer,
            TestSmsProvider, get_mail_server, get_message_templates, get_sms_provider,
        },
        model::TemplateRow,
        provider_model::{Provider, SECURITIES, SmsProviderView, SmtpView, TestSend},
        segments::{Encoding, count, unicode_chars},
        template::{Values, render},
    },
    payments::pages::secret_hint,
    settings::SettingsTabs,
};

#[component]
pub fn MessageSettingsPage() -> impl IntoView {
    let templates = Resource::new(|| (), |_| get_message_templates());
    let provider = Resource::new(|| (), |_| get_sms_provider());
    let mail_server = Resource::new(|| (), |_| get_mail_server());
    view! {
        <Title text="Messages · Settings" />
        <header class="page-header">
            <h1>"Settings"</h1>
        </header>
        <SettingsTabs />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match provider.await {
                    Ok(view) => view! { <GatewayCard view /> }.into_any(),
                    Err(err) => view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match mail_server.await {
                    Ok(view) => view! { <MailServerCard view /> }.into_any(),
                    Err(err) => view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
        <section class="card">
            <h2>"Which messages need consent"</h2>
            <p>
                "The messages below are " <strong>"transactional"</strong> ": a subscriber gets them because of their own account "
                "(a code they asked for, a receipt, an invoice, a reminder before their internet stops). They are sent "
                "whether or not the subscriber agreed to marketing messages."
            </p>
            <p>
                <strong>"Bulk and marketing messages"</strong> " (offers, announcements) only go to subscribers whose SMS consent "
                "is on. A subscriber who replies STOP, or whom you mark as not wanting messages, is taken off at once; the time is kept."
            </p>
        </section>
        <Suspense fallback=|| view! { <p class="muted" aria-busy="true">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match templates.await {
                    Err(err) => view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any(),
                    Ok(view) => {
                        let editable = view.editable;
                        let mut rows = view.rows.into_iter().peekable();
                        let mut cards = Vec::new();
                        while let Some(first) = rows.next() {
                            let mut group = vec![first];
                            while let Some(next) = rows.next_if(|r| r.event == group[0].event) {
                                group.push(next);
                            }
                            cards.push(group);
                        }
                        let days = view.reminder_days.iter().map(i32::to_string).collect::<Vec<_>>().join(", ");
                        view! {
                            {(!editable).then(|| view! { <p class="alert alert-info">"Only the owner and admins can change these."</p> })}
                            <ReminderDays days editable />
                            {cards.into_iter().map(|group| {
                                let event = group[0].event;
                                view! {
                                    <section class="card" data-testid="template-event" data-event=event.as_str()>
                                        <h2>{event.label()}</h2>
                                        <p class="muted small">
                                            "Placeholders: "
                                            {event.placeholders().iter().map(|p| view! { <code>{format!("{{{}}}", p.key())}</code> " " }).collect_view()}
                                        </p>
                                        <div class="template-languages">
                                            {group.into_iter().map(|row| view! { <TemplateEditor row editable /> }).collect_view()}
                                        </div>
                                    </section>
                                }
                            }).collect_view()}
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// When the "Expiring soon" reminder goes.
#[component]
fn ReminderDays(days: String, editable: bool) -> impl IntoView {
    let save = ServerAction::<SaveReminderDays>::new();
    view! {
        <section class="card" aria-labelledby="reminder-days-title">
            <h2 id="reminder-days-title">"Reminders before expiry"</h2>
            <ActionForm action=save>
                <fieldset class="form form-inline" disabled=!editable>
                    <div class="field">
                        <label for="reminder-days">"Days before a service expires"</label>
                        <input id="reminder-days" name="days" value=days inputmode="numeric" placeholder="3, 1" data-testid="reminder-days" />
                    </div>
                    <button type="submit" class="button button-secondary" disabled=move || save.pending().get()>"Save"</button>
                </fieldset>
            </ActionForm>
            {move || match save.value().get() {
                Some(Ok(days)) if days.is_empty() => Some(view! { <p class="alert alert-info" role="status">"Saved: no reminders before expiry."</p> }.into_any()),
                Some(Ok(days)) => Some(view! { <p class="alert alert-success" role="status" data-testid="reminder-days-saved">{format!("Saved: reminders {} days before expiry.", days.iter().map(i32::to_string).collect::<Vec<_>>().join(" and "))}</p> }.into_any()),
                Some(Err(AppError::Invalid { reason, .. })) => Some(view! { <p class="alert alert-danger" role="alert">{format!("The days {reason}.")}</p> }.into_any()),
                Some(Err(err)) => Some(view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any()),
                None => None,
            }}
            <p class="muted small">"Each customer with an active service gets one reminder per window, in their language; nobody gets the same reminder twice."</p>
        </section>
    }
}

/// What a text costs, in words: "1 SMS · 41 characters left".
pub fn sms_meter(text: &str) -> String {
    let counted = count(text);
    let mut words = format!(
        "{} SMS · {} characters left",
        counted.segments, counted.left
    );
    if counted.encoding == Encoding::Ucs2 {
        let culprits: String = unicode_chars(text).into_iter().take(5).collect();
        words.push_str(&format!(
            " · Unicode because of “{culprits}”: 70 characters a message"
        ));
    }
    words
}

#[component]
fn TemplateEditor(row: TemplateRow, editable: bool) -> impl IntoView {
    let save = ServerAction::<SaveMessageTemplate>::new();
    let reset = ServerAction::<SaveMessageTemplate>::new();
    let (event, language) = (row.event, row.language);
    let text = RwSignal::new(row.text.clone());
    let custom = RwSignal::new(row.custom);
    Effect::new(move |_| {
        if let Some(Ok(())) = save.value().get() {
            custom.set(true);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = reset.value().get() {
            custom.set(false);
            text.set(event.default_text(language).to_string());
        }
    });
    let preview = move || render(&text.get(), &Values::examples());
    let id = format!("template-{}-{}", event.as_str(), language.as_str());
    let error = move || {
        let failed = match (save.value().get(), reset.value().get()) {
            (Some(Err(err)), _) | (_, Some(Err(err))) => err,
            _ => return None,
        };
        Some(match failed {
            AppError::Invalid { reason, .. } => format!("This message {reason}."),
            other => other.to_string(),
        })
    };
    view! {
        <div class="template-editor" data-testid="template-editor" data-language=language.as_str()>
            <ActionForm action=save>
                <fieldset class="form" disabled=!editable>
                    <input type="hidden" name="event" value=event.as_str() />
                    <input type="hidden" name="language" value=language.as_str() />
                    <div class="field">
                        <label for=id.clone()>
                            {language.label()}
                            {move || custom.get().then(|| view! { " " <span class="badge badge-neutral" data-testid="template-custom">"Your own"</span> })}
                        </label>
                        <textarea id=id.clone() name="text" rows="4" maxlength="918" required data-testid="template-text"
                            on:input=move |ev| text.set(event_target_value(&ev))
                            prop:value=move || text.get()>{row.text.clone()}</textarea>
                    </div>
                    <p class="sms-preview" data-testid="template-preview">{preview}</p>
                    <p class="muted small" data-testid="template-meter">{move || sms_meter(&preview())}</p>
                    {move || error().map(|e| view! { <p class="alert alert-danger" role="alert" data-testid="template-error">{e}</p> })}
                    {move || matches!(save.value().get(), Some(Ok(()))).then(|| view! { <p class="alert alert-success" role="status" data-testid="template-saved">"Saved."</p> })}
                    <div class="form-actions">
                        <button type="submit" class="button button-secondary button-small" data-testid="template-save" disabled=move || save.pending().get()>"Save"</button>
                    </div>
                </fieldset>
            </ActionForm>
            {move || (custom.get() && editable).then(|| view! {
                <ActionForm action=reset>
                    <input type="hidden" name="event" value=event.as_str() />
                    <input type="hidden" name="language" value=language.as_str() />
                    <input type="hidden" name="reset" value="1" />
                    <button type="submit" class="button button-secondary button-small" data-testid="template-reset">"Use the default"</button>
                </ActionForm>
            })}
        </div>
    }
}

/// What a test message got: the gateway's or mail server's answer, or why it was not sent.
fn test_answer(answer: Result<TestSend, AppError>, testid: &'static str) -> AnyView {
    match answer {
        Ok(t) => view! {
            <p class=if t.sent { "alert alert-success" } else { "alert alert-danger" } role="status" data-testid=testid>{t.answer}</p>
        }.into_any(),
        Err(AppError::Invalid { field, reason }) => {
            let what = match field.as_str() {
                "phone" => "the number ",
                "to" => "the address ",
                _ => "",
            };
            view! {
                <p class="alert alert-danger" role="alert" data-testid=testid>{format!("Not sent: {what}{reason}.")}</p>
            }.into_any()
        }
        Err(err) => view! { <p class="alert alert-danger" role="alert" data-testid=testid>{err.to_string()}</p> }.into_any(),
    }
}

/// Where the ISP's texts go: Jasiyo's shared sender, its own Africa's Talking account, or its
/// bulk-SMS reseller; with a test message sent at once.
#[component]
fn GatewayCard(view: SmsProviderView) -> impl IntoView {
    let save = ServerAction::<SaveSmsProvider>::new();
    let test = ServerAction::<TestSmsProvider>::new();
    let chosen = RwSignal::new(view.provider);
    let editable = view.editable;
    let hint = secret_hint(&view.key_last4);
    let field_error = move |field: &'static str| {
        move || match save.value().get() {
            Some(Err(AppError::Invalid { field: f, reason })) if f == field => Some(reason),
            _ => None,
        }
    };
    let option = move |p: Provider, label: &'static str, help: &'static str| {
        view! {
            <label class="radio-card">
                <input type="radio" name="provider" value=p.as_str() checked=view.provider == p
                    data-testid=format!("sms-provider-{}", p.as_str())
                    on:change=move |_| chosen.set(p) />
                <span><strong>{label}</strong><br /><span class="muted small">{help}</span></span>
            </label>
        }
    };
    view! {
        <section class="card" aria-labelledby="gateway-title" data-testid="sms-gateway">
            <h2 id="gateway-title">"SMS gateway"</h2>
            {(!view.platform_available).then(|| view! {
                <p class="alert alert-info">"Jasiyo's shared sender is not set up on this server: choose your own gateway for messages to go out."</p>
            })}
            <ActionForm action=save>
                <fieldset class="form" disabled=!editable>
                    <legend class="visually-hidden">"Gateway"</legend>
                    {option(Provider::Platform, "Jasiyo's shared sender", "Nothing to set up; messages go out under Jasiyo's sender id.")}
                    {option(Provider::AfricasTalking, "Your Africa's Talking account", "Your own sender id and balance.")}
                    {option(Provider::Generic, "Your bulk-SMS reseller", "The JSON API many Kenyan resellers share (apikey, partnerID, shortcode).")}
                    <div class="form-grid" hidden=move || chosen.get() != Provider::AfricasTalking>
                        <div class="field">
                            <label for="at_username">"Username"</label>
                            <input id="at_username" name="at_username" autocomplete="off" value=view.at_username.clone() data-testid="at-username" />
                            <span class="error" role="alert">{field_error("at_username")}</span>
                        </div>
                        <div class="field">
                            <label for="at_sender_id">"Sender id (optional)"</label>
                            <input id="at_sender_id" name="at_sender_id" autocomplete="off" maxlength="11" value=view.at_sender_id.clone() />
                            <span class="error" role="alert">{field_error("at_sender_id")}</span>
                        </div>
                    </div>
                    <div class="form-grid" hidden=move || chosen.get() != Provider::Generic>
                        <div class="field">
                            <label for="generic_url">"Gateway address"</label>
                            <input id="generic_url" name="generic_url" type="url" autocomplete="off" placeholder="https://sms.example.co.ke" value=view.generic_url.clone() data-testid="generic-url" />
                            <span class="error" role="alert">{field_error("generic_url")}</span>
                        </div>
                        <div class="field">
                            <label for="generic_partner_id">"Partner id"</label>
                            <input id="generic_partner_id" name="generic_partner_id" autocomplete="off" value=view.generic_partner_id.clone() data-testid="generic-partner" />
                            <span class="error" role="alert">{field_error("generic_partner_id")}</span>
                        </div>
                        <div class="field">
                            <label for="generic_shortcode">"Sender id (shortcode)"</label>
                            <input id="generic_shortcode" name="generic_shortcode" autocomplete="off" maxlength="11" value=view.generic_shortcode.clone() data-testid="generic-shortcode" />
                            <span class="error" role="alert">{field_error("generic_shortcode")}</span>
                        </div>
                    </div>
                    <div class="field" hidden=move || chosen.get() == Provider::Platform>
                        <label for="sms_api_key">"API key"</label>
                        <input id="sms_api_key" name="api_key" type="password" autocomplete="new-password" placeholder=hint data-testid="sms-api-key" />
                        <span class="error" role="alert">{field_error("api_key")}</span>
                    </div>
                    {(!view.delivery_url.is_empty()).then(|| view! {
                        <p class="muted small" hidden=move || chosen.get() != Provider::AfricasTalking>
                            "On your Africa's Talking account, set the delivery reports callback to "
                            <code>{view.delivery_url.clone()}</code>
                            " and the incoming messages callback to "
                            <code>{view.inbound_url.clone()}</code>
                            " (replies of STOP then take a subscriber off your bulk messages)."
                        </p>
                    })}
                    {move || match save.value().get() {
                        Some(Ok(())) => Some(view! { <p class="alert alert-success" role="status" data-testid="sms-gateway-saved">"Saved."</p> }.into_any()),
                        Some(Err(AppError::Invalid { .. })) | None => None,
                        Some(Err(err)) => Some(view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any()),
                    }}
                    <div class="form-actions">
                        <button type="submit" class="button" data-testid="sms-gateway-save" disabled=move || save.pending().get()>"Save"</button>
                    </div>
                </fieldset>
            </ActionForm>
            {editable.then(|| view! {
                <ActionForm action=test>
                    <div class="form-inline">
                        <div class="field">
                            <label for="sms-test-phone">"Send a test SMS to"</label>
                            <input id="sms-test-phone" name="phone" type="tel" inputmode="tel" autocomplete="tel" placeholder="0712 345 678" required data-testid="sms-test-phone" />
                        </div>
                        <button type="submit" class="button button-secondary" data-testid="sms-test-send" disabled=move || test.pending().get()>
                            {move || if test.pending().get() { "Sending…" } else { "Send test" }}
                        </button>
                    </div>
                </ActionForm>
                {move || test.value().get().map(|answer| test_answer(answer, "sms-test-answer"))}
            })}
        </section>
    }
}

/// The ISP's own mail server for its customers' email (receipts, notices and invoices go by
/// email too to customers with an address), with a test email.
#[component]
fn MailServerCard(view: SmtpView) -> impl IntoView {
    let save = ServerAction::<SaveMailServer>::new();
    let test = ServerAction::<TestMailServer>::new();
    let own = RwSignal::new(view.own);
    let editable = view.editable;
    let hint = secret_hint(&view.password_last4);
    let field_error = move |field: &'static str| {
        move || match save.value().get() {
            Some(Err(AppError::Invalid { field: f, reason })) if f == field => Some(reason),
            _ => None,
        }
    };
    let security = view.security.clone();
    view! {
        <section class="card" aria-labelledby="mail-server-title" data-testid="mail-server">
            <h2 id="mail-server-title">"Email to customers"</h2>
            <p class="muted">"Customers with an email address get their receipts, cut-off notices and invoices by email as well as by SMS. Without a server of your own, Jasiyo's sends them."</p>
            <ActionForm action=save>
                <fieldset class="form" disabled=!editable>
                    <label class="checkbox">
                        <input type="checkbox" name="own" value="on" checked=view.own data-testid="mail-own"
                            on:change=move |ev| own.set(event_target_checked(&ev)) />
                        " Send from my own mail server"
                    </label>
                    <div class="form-grid" hidden=move || !own.get()>
                        <div class="field">
                            <label for="smtp_host">"Server"</label>
                            <input id="smtp_host" name="host" autocomplete="off" placeholder="mail.example.co.ke" value=view.host.clone() />
                            <span class="error" role="alert">{field_error("host")}</span>
                        </div>
                        <div class="field">
                            <label for="smtp_port">"Port"</label>
                            <input id="smtp_port" name="port" inputmode="numeric" value=view.port.clone() />
                            <span class="error" role="alert">{field_error("port")}</span>
                        </div>
                        <div class="field">
                            <label for="smtp_security">"Security"</label>
                            <select id="smtp_security" name="security">
                                {SECURITIES.iter().map(|(key, label)| view! {
                                    <option value=*key selected=security == *key>{*label}</option>
                                }).collect_view()}
                            </select>
                            <span class="error" role="alert">{field_error("security")}</span>
                        </div>
                        <div class="field">
                            <label for="smtp_username">"User name"</label>
                            <input id="smtp_username" name="username" autocomplete="off" value=view.username.clone() />
                            <span class="error" role="alert">{field_error("username")}</span>
                        </div>
                        <div class="field">
                            <label for="smtp_password">"Password"</label>
                            <input id="smtp_password" name="password" type="password" autocomplete="new-password" placeholder=hint />
                        </div>
                        <div class="field">
                            <label for="smtp_from">"From"</label>
                            <input id="smtp_from" name="from_address" autocomplete="off" placeholder="Kasarani Net <billing@example.co.ke>" value=view.from_address.clone() />
                            <span class="error" role="alert">{field_error("from_address")}</span>
                        </div>
                    </div>
                    {move || match save.value().get() {
                        Some(Ok(())) => Some(view! { <p class="alert alert-success" role="status" data-testid="mail-server-saved">"Saved."</p> }.into_any()),
                        Some(Err(AppError::Invalid { .. })) | None => None,
                        Some(Err(err)) => Some(view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any()),
                    }}
                    <div class="form-actions">
                        <button type="submit" class="button" disabled=move || save.pending().get()>"Save"</button>
                    </div>
                </fieldset>
            </ActionForm>
            {editable.then(|| view! {
                <ActionForm action=test>
                    <div class="form-inline">
                        <div class="field">
                            <label for="mail-test-to">"Send a test email to"</label>
                            <input id="mail-test-to" name="to" type="email" autocomplete="email" required />
                        </div>
                        <button type="submit" class="button button-secondary" disabled=move || test.pending().get()>
                            {move || if test.pending().get() { "Sending…" } else { "Send test" }}
                        </button>
                    </div>
                </ActionForm>
                {move || test.value().get().map(|answer| test_answer(answer, "mail-test-answer"))}
            })}
        </section>
    }
}
