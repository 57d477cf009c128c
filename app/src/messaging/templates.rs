//! The ISP's message templates: its own words for an event in a language, or the default that
//! ships (`template::Event::default_text`). Changing one is audited with before and after.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::{
    audit::store::{Entry, record},
    auth::{identity::Staff, model::Permission, session::RequestMeta},
    db::TenantTx,
    error::AppError,
    messaging::{
        model::{TemplateRow, TemplatesView, parse_reminder_days},
        template::{self, Event, Language},
    },
    state::AppState,
};

/// Every event in both languages, the ISP's own words where it wrote them.
pub async fn list(state: &AppState, staff: &Staff) -> Result<TemplatesView, AppError> {
    let mut tx = state.db.tenant(staff.tenant).await?;
    let own = sqlx::query!("select event, language, body from message_templates")
        .fetch_all(tx.conn())
        .await?;
    let reminder_days = reminder_days(&mut tx, staff).await?;
    tx.commit().await?;
    let mut rows = Vec::with_capacity(Event::ALL.len() * Language::ALL.len());
    for event in Event::ALL {
        for language in Language::ALL {
            let custom = own
                .iter()
                .find(|r| r.event == event.as_str() && r.language == language.as_str())
                .map(|r| r.body.clone());
            rows.push(TemplateRow {
                event,
                language,
                custom: custom.is_some(),
                text: custom.unwrap_or_else(|| event.default_text(language).to_string()),
            });
        }
    }
    Ok(TemplatesView {
        rows,
        reminder_days,
        editable: staff.role.can(Permission::ManageSystemSettings),
    })
}

/// The words to send for `event` in `language`, in the caller's transaction.
pub async fn text_for(
    tx: &mut TenantTx,
    event: Event,
    language: Language,
) -> Result<String, AppError> {
    let own = sqlx::query_scalar!(
        "select body from message_templates where event = $1 and language = $2",
        event.as_str(),
        language.as_str()
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(own.unwrap_or_else(|| event.default_text(language).to_string()))
}

/// Saves the ISP's words for an event in a language; `None` goes back to the default.
pub async fn save(
    state: &AppState,
    staff: &Staff,
    event: &str,
    language: &str,
    text: Option<&str>,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    staff.require(Permission::ManageSystemSettings)?;
    let event = Event::parse("event", event)?;
    let language = Language::parse("language", language)?;
    let text = text.map(str::trim);
    if let Some(text) = text {
        template::check(event, text)?;
    }
    let now: DateTime<Utc> = state.clock.now();
    let mut tx = state.db.tenant(staff.tenant).await?;
    let before = sqlx::query_scalar!(
        "select body from message_templates where event = $1 and language = $2 for update",
        event.as_str(),
        language.as_str()
    )
    .fetch_optional(tx.conn())
    .await?;
    match text {
        Some(text) => {
            sqlx::query!(
                "insert into message_templates (tenant_id, event, language, body, updated_at, updated_by)
                 values ($1, $2, $3, $4, $5, $6)
                 on conflict (tenant_id, event, language)
                 do update set body = excluded.body, updated_at = excluded.updated_at,
                               updated_by = excluded.updated_by",
                staff.tenant.0,
                event.as_str(),
                language.as_str(),
                text,
                now,
                staff.user_id
            )
            .execute(tx.conn())
            .await?;
        }
        None => {
            sqlx::query!(
                "delete from message_templates where event = $1 and language = $2",
                event.as_str(),
                language.as_str()
            )
            .execute(tx.conn())
            .await?;
        }
    }
    let entity = format!("{}/{}", event.as_str(), language.as_str());
    let entry = Entry::by_staff(
        staff,
        now,
        "settings.message_template_updated",
        ("message_template", entity),
        meta,
    );
    record(
        &mut tx,
        entry
            .with_before(json!({ "text": before }))
            .with_after(json!({ "text": text })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn reminder_days(tx: &mut TenantTx, staff: &Staff) -> Result<Vec<i32>, AppError> {
    Ok(sqlx::query_scalar!(
        "select reminder_days from tenants where id = $1",
        staff.tenant.0
    )
    .fetch_one(tx.conn())
    .await?)
}

/// Sets the days before expiry reminders go ("3, 1"; blank: none). Owner and admin; audited.
pub async fn set_reminder_days(
    state: &AppState,
    staff: &Staff,
    input: &str,
    meta: &RequestMeta,
) -> Result<Vec<i32>, AppError> {
    staff.require(Permission::ManageSystemSettings)?;
    let days = parse_reminder_days(input)?;
    let now = state.clock.now();
    let mut tx = state.db.tenant(staff.tenant).await?;
    let before = reminder_days(&mut tx, staff).await?;
    sqlx::query!(
        "update tenants set reminder_days = $2, updated_at = $3 where id = $1",
        staff.tenant.0,
        &days,
        now
    )
    .execute(tx.conn())
    .await?;
    let entry = Entry::by_staff(
        staff,
        now,
        "settings.reminder_days_updated",
        ("tenant", staff.tenant.0.to_string()),
        meta,
    );
    record(
        &mut tx,
        entry
            .with_before(json!({ "reminder_days": before }))
            .with_after(json!({ "reminder_days": days })),
    )
    .await?;
    tx.commit().await?;
    Ok(days)
}
