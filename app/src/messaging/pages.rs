//! Settings → Messages: each event's SMS in English and Swahili, written with a live preview
//! and the SMS count the gateway will bill (the same code the server sends with).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    error::AppError,
    messaging::{
        api::{SaveMessageTemplate, SaveReminderDays, get_message_templates},
        model::TemplateRow,
        segments::{Encoding, count, unicode_chars},
        template::{Values, render},
    },
    settings::SettingsTabs,
};

#[component]
pub fn MessageSettingsPage() -> impl IntoView {
    let templates = Resource::new(|| (), |_| get_message_templates());
    view! {
        <Title text="Messages · Settings" />
        <header class="page-header">
            <h1>"Settings"</h1>
        </header>
        <SettingsTabs />
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
