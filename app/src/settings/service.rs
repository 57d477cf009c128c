//! Reading and changing the ISP's business details, audited with before and after.

use serde_json::json;

use crate::{
    audit::store::{Entry, record},
    auth::{
        identity::Staff,
        model::{Permission, normalise_email, validate_name},
        session::RequestMeta,
    },
    error::AppError,
    phone::normalise_phone,
    settings::model::{BusinessSettings, parse_grace_days},
    state::AppState,
};

pub async fn get(state: &AppState, staff: &Staff) -> Result<BusinessSettings, AppError> {
    let mut tx = state.db.tenant(staff.tenant).await?;
    let settings = load(&mut tx, staff).await?;
    tx.commit().await?;
    Ok(settings)
}

async fn load(tx: &mut crate::db::TenantTx, staff: &Staff) -> Result<BusinessSettings, AppError> {
    let r = sqlx::query!(
        r#"select name, county, address, phone, support_email, whatsapp, time_zone, grace_period_days
             from tenants where id = $1"#,
        staff.tenant.0
    )
    .fetch_one(tx.conn())
    .await?;
    Ok(BusinessSettings {
        name: r.name,
        county: r.county,
        address: r.address,
        phone: r.phone,
        support_email: r.support_email,
        whatsapp: r.whatsapp,
        time_zone: r.time_zone,
        grace_period_days: r.grace_period_days,
        editable: staff.role.can(Permission::ManageSystemSettings),
    })
}

/// The form as submitted: every field as typed.
pub struct Form<'a> {
    pub name: &'a str,
    pub county: &'a str,
    pub address: &'a str,
    pub phone: &'a str,
    pub support_email: &'a str,
    pub whatsapp: &'a str,
    pub time_zone: &'a str,
    pub grace_period_days: &'a str,
}

fn optional(value: &str) -> Option<&str> {
    Some(value.trim()).filter(|v| !v.is_empty())
}

pub async fn update(
    state: &AppState,
    staff: &Staff,
    form: Form<'_>,
    meta: &RequestMeta,
) -> Result<BusinessSettings, AppError> {
    staff.require(Permission::ManageSystemSettings)?;
    let name = validate_name("name", form.name)?;
    let county = match optional(form.county) {
        None => None,
        Some(c) if crate::settings::model::COUNTIES.contains(&c) => Some(c.to_string()),
        Some(_) => return Err(AppError::invalid("county", "choose a county from the list")),
    };
    let address = optional(form.address).map(str::to_string);
    if address.as_ref().is_some_and(|a| a.chars().count() > 300) {
        return Err(AppError::invalid(
            "address",
            "must be at most 300 characters",
        ));
    }
    let phone = optional(form.phone)
        .map(|p| normalise_phone("phone", p))
        .transpose()?;
    let whatsapp = optional(form.whatsapp)
        .map(|p| normalise_phone("whatsapp", p))
        .transpose()?;
    let support_email = optional(form.support_email)
        .map(|e| {
            normalise_email(e).map_err(|_| {
                AppError::invalid("support_email", "must look like help@example.co.ke")
            })
        })
        .transpose()?;
    let time_zone = form.time_zone.trim();
    if time_zone.parse::<chrono_tz::Tz>().is_err() {
        return Err(AppError::invalid("time_zone", "is not a known time zone"));
    }
    let grace = parse_grace_days(form.grace_period_days)?;

    let mut tx = state.db.tenant(staff.tenant).await?;
    let before = load(&mut tx, staff).await?;
    sqlx::query!(
        r#"update tenants set name = $2, county = $3, address = $4, phone = $5, support_email = $6,
                  whatsapp = $7, time_zone = $8, grace_period_days = $9, updated_at = $10
            where id = $1"#,
        staff.tenant.0,
        name,
        county,
        address,
        phone,
        support_email,
        whatsapp,
        time_zone,
        grace,
        state.clock.now()
    )
    .execute(tx.conn())
    .await?;
    let after = load(&mut tx, staff).await?;
    record(
        &mut tx,
        Entry {
            at: state.clock.now(),
            actor_user_id: Some(staff.user_id),
            actor_label: &staff.email,
            action: "settings.business_updated",
            entity: Some(("tenant", staff.tenant.0.to_string())),
            before: Some(json!(before)),
            after: Some(json!(after)),
            meta,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}
