//! Customer and service steps. Each change is one transaction with its audit entry; reading is
//! open to all staff, changing needs `ManageCustomers`, deleting `DeleteCustomers`, and reading a
//! service password back `RevealServicePasswords`.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use crate::{
    audit::store::{Entry, record},
    auth::{identity::Staff, model::Permission, session::RequestMeta},
    billing::model::next_billing_date,
    customers::model::{
        Attention, BillingMode, CustomerDetail, CustomerFilter, CustomerInput, CustomerPage,
        CustomerRow, CustomerSort, PAGE_SIZE, Removal, ServiceInput, ServiceStatus, ServiceView,
        add_validity, end_of_local_day,
    },
    db::TenantTx,
    error::AppError,
    messaging::template::Language,
    phone::normalise_phone,
    plans::model::{PlanKind, ValidityUnit},
    state::AppState,
};

/// The tenant's zone and grace period, which expiry arithmetic and "needs attention" follow.
pub struct Zone {
    pub tz: chrono_tz::Tz,
    pub grace_period_days: i32,
}

pub async fn zone(tx: &mut TenantTx) -> Result<Zone, AppError> {
    let tenant = tx.tenant();
    let row = sqlx::query!(
        "select time_zone, grace_period_days from tenants where id = $1",
        tenant.0
    )
    .fetch_one(tx.conn())
    .await?;
    // A zone the settings page accepted always parses; Nairobi is the product's default.
    let tz = row
        .time_zone
        .parse::<chrono_tz::Tz>()
        .unwrap_or(chrono_tz::Africa::Nairobi);
    Ok(Zone {
        tz,
        grace_period_days: row.grace_period_days,
    })
}

/// The zone's offset from UTC at `now`, in seconds.
pub fn offset_seconds(zone: &Zone, now: DateTime<Utc>) -> i32 {
    use chrono::Offset;
    now.with_timezone(&zone.tz).offset().fix().local_minus_utc()
}

/// What a plan contributes to a service.
#[derive(Debug, Clone)]
pub struct PlanTerms {
    pub id: Uuid,
    pub name: String,
    pub price_minor: i64,
    pub kind: PlanKind,
    pub validity_unit: ValidityUnit,
    pub validity_count: i32,
    pub archived: bool,
}

pub async fn plan_terms(tx: &mut TenantTx, id: Uuid) -> Result<PlanTerms, AppError> {
    let tenant = tx.tenant();
    let row = sqlx::query!(
        r#"select id, name, price_minor, kind, validity_unit, validity_count,
                  archived_at is not null as "archived!"
             from plans where tenant_id = $1 and id = $2"#,
        tenant.0,
        id
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| AppError::invalid("plan_id", "choose one of your plans"))?;
    Ok(PlanTerms {
        id: row.id,
        name: row.name,
        price_minor: row.price_minor,
        kind: PlanKind::parse(&row.kind)?,
        validity_unit: ValidityUnit::parse(&row.validity_unit)?,
        validity_count: row.validity_count,
        archived: row.archived,
    })
}

impl PlanTerms {
    pub fn expiry_from(
        &self,
        start: DateTime<Utc>,
        zone: &Zone,
    ) -> Result<DateTime<Utc>, AppError> {
        let count = u32::try_from(self.validity_count).unwrap_or(1);
        add_validity(start, self.validity_unit, count, &zone.tz)
            .ok_or_else(|| AppError::invalid("expiry", "is too far in the future"))
    }
}

/// Hands out `count` consecutive unused account numbers (digits only) from the tenant's counter.
/// The counter row is locked by the update, so concurrent creations never get the same number.
pub async fn next_account_numbers(
    tx: &mut TenantTx,
    count: usize,
) -> Result<Vec<String>, AppError> {
    let tenant = tx.tenant();
    let mut numbers = Vec::with_capacity(count);
    while numbers.len() < count {
        let want = i64::try_from(count - numbers.len()).unwrap_or(i64::MAX);
        let last = sqlx::query_scalar!(
            "update tenants set last_account_number = last_account_number + $2 where id = $1
             returning last_account_number",
            tenant.0,
            want
        )
        .fetch_one(tx.conn())
        .await?;
        let candidates: Vec<String> = ((last - want + 1)..=last).map(|n| n.to_string()).collect();
        // Numbers typed by hand (or imported) may already hold some of these.
        let taken = sqlx::query_scalar!(
            "select account_number from customers where tenant_id = $1 and account_number = any($2)",
            tenant.0,
            &candidates
        )
        .fetch_all(tx.conn())
        .await?;
        numbers.extend(candidates.into_iter().filter(|c| !taken.contains(c)));
    }
    Ok(numbers)
}

/// Where a service password is bound (AES-GCM associated data): its tenant and service.
pub(crate) fn password_binding(tenant: Uuid, service: Uuid) -> Vec<u8> {
    format!("service-password:{tenant}:{service}").into_bytes()
}

/// A password for a new service when none was typed: 10 characters from an alphabet without
/// look-alikes (no 0/o, 1/l/i), easy to read out over the phone.
pub fn generate_password() -> Result<String, AppError> {
    crate::secrets::random_text(b"abcdefghjkmnpqrstuvwxyz23456789", 10)
}

/// The user name a service gets when none was typed: its customer's account number.
pub fn default_username(account_number: &str) -> String {
    let name = account_number.to_ascii_lowercase();
    if name.len() < 3 {
        format!("acc{name}")
    } else {
        name
    }
}

/// The constraint a database error names, if any.
pub(crate) fn constraint(err: &sqlx::Error) -> Option<&str> {
    err.as_database_error().and_then(|e| e.constraint())
}

fn sealing(e: crate::secrets::SecretError) -> AppError {
    AppError::internal(&e)
}

async fn audit(
    tx: &mut TenantTx,
    state: &AppState,
    staff: &Staff,
    action: &str,
    entity: (&str, Uuid),
    (before, after): (Option<serde_json::Value>, Option<serde_json::Value>),
    meta: &RequestMeta,
) -> Result<(), AppError> {
    record(
        tx,
        Entry {
            at: state.clock.now(),
            actor_user_id: Some(staff.user_id),
            actor_label: &staff.email,
            action,
            entity: Some((entity.0, entity.1.to_string())),
            before,
            after,
            meta,
        },
    )
    .await
}

/// Inserts a customer; returns the id and account number.
async fn insert_customer(
    tx: &mut TenantTx,
    input: &CustomerInput,
    now: DateTime<Utc>,
) -> Result<(Uuid, String), AppError> {
    let tenant = tx.tenant();
    let account = match &input.account_number {
        Some(a) => a.clone(),
        None => next_account_numbers(tx, 1)
            .await?
            .pop()
            .ok_or_else(|| AppError::internal(&std::io::Error::other("no account number")))?,
    };
    let id = Uuid::new_v4();
    let result = sqlx::query!(
        r#"insert into customers (tenant_id, id, account_number, name, phone, email, location, notes,
                                  sms_consent, sms_consent_at, language, created_at, updated_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, case when $9 then $10::timestamptz end, $11,
                   $10, $10)"#,
        tenant.0,
        id,
        account,
        input.name,
        input.phone,
        input.email,
        input.location,
        input.notes,
        input.sms_consent,
        now,
        input.language.as_str()
    )
    .execute(tx.conn())
    .await;
    match result {
        Ok(_) => Ok((id, account)),
        Err(e) if constraint(&e) == Some("customers_tenant_account_key") => Err(AppError::invalid(
            "account_number",
            "another customer has this account number",
        )),
        Err(e) => Err(e.into()),
    }
}

/// What a new service is given, already checked.
pub struct NewService<'a> {
    pub customer_id: Uuid,
    pub account_number: &'a str,
    pub input: &'a ServiceInput,
    pub plan: &'a PlanTerms,
    pub status: ServiceStatus,
    pub starts_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

async fn insert_service(
    tx: &mut TenantTx,
    state: &AppState,
    new: NewService<'_>,
) -> Result<Uuid, AppError> {
    let tenant = tx.tenant();
    let id = Uuid::new_v4();
    let username = new
        .input
        .username
        .clone()
        .unwrap_or_else(|| default_username(new.account_number));
    let password = match &new.input.password {
        Some(p) => p.clone(),
        None => generate_password()?,
    };
    let sealed = state
        .secrets
        .seal(password.as_bytes(), &password_binding(tenant.0, id))
        .map_err(sealing)?;
    let now = state.clock.now();
    let result = sqlx::query!(
        r#"insert into services (tenant_id, id, customer_id, plan_id, username, password_enc, status,
                                 billing_mode, billing_day, starts_at, expires_at, created_at, updated_at,
                                 router_id)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13)"#,
        tenant.0,
        id,
        new.customer_id,
        new.plan.id,
        username,
        sealed,
        new.status.as_str(),
        new.input.billing_mode.as_str(),
        new.input.billing_day,
        new.starts_at,
        new.expires_at,
        now,
        new.input.router_id
    )
    .execute(tx.conn())
    .await;
    match result {
        Ok(_) => Ok(id),
        Err(e) if constraint(&e) == Some("services_tenant_username_key") => Err(AppError::invalid(
            "username",
            "another service already uses this user name",
        )),
        Err(e) if constraint(&e) == Some("services_router_fkey") => Err(AppError::invalid(
            "router_id",
            "that router is not one of yours",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Starts an active service on a plan that is on sale, from now for one plan period.
async fn start_service(
    tx: &mut TenantTx,
    state: &AppState,
    by: Option<Uuid>,
    customer_id: Uuid,
    account_number: &str,
    service: &ServiceInput,
) -> Result<Uuid, AppError> {
    let zone = zone(tx).await?;
    let plan = plan_terms(tx, service.plan_id).await?;
    if plan.archived {
        return Err(AppError::invalid(
            "plan_id",
            "this plan is archived; choose one on sale",
        ));
    }
    let now = state.clock.now();
    // Prepaid runs one plan period; postpaid runs to the first billing day.
    let expires_at = match (service.billing_mode, service.billing_day) {
        (BillingMode::Postpaid, Some(day)) => {
            next_billing_date(now, u32::try_from(day).unwrap_or(1), &zone.tz)
                .ok_or_else(|| AppError::invalid("billing_day", "is not a day of the month"))?
        }
        _ => plan.expiry_from(now, &zone)?,
    };
    let id = insert_service(
        tx,
        state,
        NewService {
            customer_id,
            account_number,
            input: service,
            plan: &plan,
            status: ServiceStatus::Active,
            starts_at: now,
            expires_at,
        },
    )
    .await?;
    crate::billing::actions::invoice_new_service(
        tx,
        now,
        by,
        customer_id,
        id,
        &plan,
        service.billing_mode,
        (now, expires_at),
    )
    .await?;
    Ok(id)
}

/// Adds a customer, and their first service when a plan is given, in one transaction.
pub async fn create(
    state: &AppState,
    staff: &Staff,
    customer: &CustomerInput,
    service: Option<&ServiceInput>,
    meta: &RequestMeta,
) -> Result<CustomerDetail, AppError> {
    staff.require(Permission::ManageCustomers)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let now = state.clock.now();
    let (id, account) = insert_customer(&mut tx, customer, now).await?;
    if let Some(service) = service {
        start_service(&mut tx, state, Some(staff.user_id), id, &account, service).await?;
    }
    let detail = detail_in(&mut tx, state, id).await?;
    audit(
        &mut tx,
        state,
        staff,
        "customer.created",
        ("customer", id),
        (None, Some(json!(detail))),
        meta,
    )
    .await?;
    tx.commit().await?;
    Ok(detail)
}

/// Adds a service to an existing customer.
pub async fn add_service(
    state: &AppState,
    staff: &Staff,
    customer_id: Uuid,
    service: &ServiceInput,
    meta: &RequestMeta,
) -> Result<CustomerDetail, AppError> {
    staff.require(Permission::ManageCustomers)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let before = detail_in(&mut tx, state, customer_id).await?;
    let id = start_service(
        &mut tx,
        state,
        Some(staff.user_id),
        customer_id,
        &before.account_number,
        service,
    )
    .await?;
    let after = detail_in(&mut tx, state, customer_id).await?;
    let added = after.services.iter().find(|s| s.id == id).map(|s| json!(s));
    audit(
        &mut tx,
        state,
        staff,
        "service.added",
        ("service", id),
        (None, added),
        meta,
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn update(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    input: &CustomerInput,
    meta: &RequestMeta,
) -> Result<CustomerDetail, AppError> {
    staff.require(Permission::ManageCustomers)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let before = detail_in(&mut tx, state, id).await?;
    let account = input
        .account_number
        .clone()
        .unwrap_or_else(|| before.account_number.clone());
    let result = sqlx::query!(
        r#"update customers
              set account_number = $3, name = $4, phone = $5, email = $6, location = $7, notes = $8,
                  sms_consent = $9,
                  sms_consent_at = case when sms_consent is distinct from $9 then $10 else sms_consent_at end,
                  language = $11, updated_at = $10
            where tenant_id = $1 and id = $2"#,
        staff.tenant.0,
        id,
        account,
        input.name,
        input.phone,
        input.email,
        input.location,
        input.notes,
        input.sms_consent,
        state.clock.now(),
        input.language.as_str()
    )
    .execute(tx.conn())
    .await;
    match result {
        Ok(_) => {}
        Err(e) if constraint(&e) == Some("customers_tenant_account_key") => {
            return Err(AppError::invalid(
                "account_number",
                "another customer has this account number",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    if before.sms_consent && !input.sms_consent {
        crate::messaging::consent::drop_queued_bulk(
            &mut tx,
            Some(id),
            None,
            "not sent: SMS consent was withdrawn",
        )
        .await?;
    }
    let after = detail_in(&mut tx, state, id).await?;
    audit(
        &mut tx,
        state,
        staff,
        "customer.updated",
        ("customer", id),
        (Some(json!(before)), Some(json!(after))),
        meta,
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Removes a customer. One with money history (an invoice, a payment, a ledger entry) is
/// archived instead: it leaves every list and the books stay whole.
pub async fn delete(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    meta: &RequestMeta,
) -> Result<Removal, AppError> {
    staff.require(Permission::DeleteCustomers)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let before = detail_in(&mut tx, state, id).await?;
    let removal = if has_money_history(&mut tx, id).await? {
        sqlx::query!(
            "update customers set archived_at = $3, updated_at = $3 where tenant_id = $1 and id = $2",
            staff.tenant.0,
            id,
            state.clock.now()
        )
        .execute(tx.conn())
        .await?;
        Removal::Archived
    } else {
        sqlx::query!(
            "delete from customers where tenant_id = $1 and id = $2",
            staff.tenant.0,
            id
        )
        .execute(tx.conn())
        .await?;
        Removal::Deleted
    };
    let action = match removal {
        Removal::Deleted => "customer.deleted",
        Removal::Archived => "customer.archived",
    };
    audit(
        &mut tx,
        state,
        staff,
        action,
        ("customer", id),
        (Some(json!(before)), None),
        meta,
    )
    .await?;
    tx.commit().await?;
    Ok(removal)
}

/// Whether any money record names this customer: an invoice, a payment or a ledger entry.
async fn has_money_history(tx: &mut TenantTx, customer: Uuid) -> Result<bool, AppError> {
    let tenant = tx.tenant();
    Ok(sqlx::query_scalar!(
        r#"select exists (select 1 from invoices where tenant_id = $1 and customer_id = $2)
               or exists (select 1 from payments where tenant_id = $1 and customer_id = $2)
               or exists (select 1 from ledger_entries where tenant_id = $1 and customer_id = $2)
               as "found!""#,
        tenant.0,
        customer
    )
    .fetch_one(tx.conn())
    .await?)
}

/// The actions on one service from the detail panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceChange {
    Suspend,
    Reactivate,
    ExtendDays(u32),
    ExtendUntil(chrono::NaiveDate),
    ChangePlan(Uuid),
    ChangePassword(String),
    /// Onto another router (or none): the old one is told to remove the user.
    MoveRouter(Option<Uuid>),
}

/// Applies one change to a service and records it. Returns the customer's refreshed detail.
pub async fn change_service(
    state: &AppState,
    staff: &Staff,
    service_id: Uuid,
    change: ServiceChange,
    meta: &RequestMeta,
) -> Result<CustomerDetail, AppError> {
    staff.require(Permission::ManageCustomers)?;
    let tenant = staff.tenant;
    let mut tx = state.db.tenant(tenant).await?;
    let customer_id = sqlx::query_scalar!(
        "select customer_id from services where tenant_id = $1 and id = $2 for update",
        tenant.0,
        service_id
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| AppError::NotFound {
        what: "That service".into(),
    })?;
    let before_detail = detail_in(&mut tx, state, customer_id).await?;
    let before = before_detail
        .services
        .iter()
        .find(|s| s.id == service_id)
        .cloned()
        .ok_or_else(|| AppError::NotFound {
            what: "That service".into(),
        })?;
    let now = state.clock.now();
    let zone = zone(&mut tx).await?;
    // Status, expiry and plan after the change; the password is written on its own.
    let (mut status, mut expires_at, mut plan_id) =
        (before.status, before.expires_at, before.plan_id);
    let mut changed_plan = None;
    let action = match &change {
        ServiceChange::Suspend => {
            if before.status == ServiceStatus::Suspended {
                return Err(AppError::invalid(
                    "status",
                    "this service is already suspended",
                ));
            }
            status = ServiceStatus::Suspended;
            "service.suspended"
        }
        ServiceChange::Reactivate => {
            if before.status != ServiceStatus::Suspended {
                return Err(AppError::invalid(
                    "status",
                    "only a suspended service can be reactivated",
                ));
            }
            // Lifting a suspension gives back what was paid for; past its expiry it is expired
            // until extended or paid.
            status = ServiceStatus::Active.effective(before.expires_at, now);
            "service.reactivated"
        }
        ServiceChange::ExtendDays(days) => {
            if !(1..=366).contains(days) {
                return Err(AppError::invalid("days", "add from 1 to 366 days"));
            }
            // Days are added to the current expiry, or to now when it has passed (an expired
            // customer extended by 3 days gets 3 days from now).
            let from = before.expires_at.max(now);
            expires_at = add_validity(from, ValidityUnit::Days, *days, &zone.tz)
                .ok_or_else(|| AppError::invalid("days", "is too far in the future"))?;
            "service.extended"
        }
        ServiceChange::ExtendUntil(date) => {
            let until = end_of_local_day(*date, &zone.tz)
                .ok_or_else(|| AppError::invalid("until", "is not a date"))?;
            if until <= now {
                return Err(AppError::invalid("until", "must be today or later"));
            }
            if until <= before.starts_at {
                return Err(AppError::invalid(
                    "until",
                    "must be after the service started",
                ));
            }
            expires_at = until;
            "service.extended"
        }
        ServiceChange::ChangePlan(new_plan) => {
            let plan = plan_terms(&mut tx, *new_plan).await?;
            if plan.id == before.plan_id {
                return Err(AppError::invalid(
                    "plan_id",
                    "the service is already on this plan",
                ));
            }
            if plan.archived {
                return Err(AppError::invalid(
                    "plan_id",
                    "this plan is archived; choose one on sale",
                ));
            }
            plan_id = plan.id;
            changed_plan = Some(plan);
            "service.plan_changed"
        }
        ServiceChange::ChangePassword(password) => {
            let sealed = state
                .secrets
                .seal(password.as_bytes(), &password_binding(tenant.0, service_id))
                .map_err(sealing)?;
            sqlx::query!(
                "update services set password_enc = $3, updated_at = $4 where tenant_id = $1 and id = $2",
                tenant.0,
                service_id,
                sealed,
                now
            )
            .execute(tx.conn())
            .await?;
            "service.password_changed"
        }
        ServiceChange::MoveRouter(router) => {
            if *router == before.router_id {
                return Err(AppError::invalid(
                    "router_id",
                    "the service is already on this router",
                ));
            }
            let moved = sqlx::query!(
                "update services set router_id = $3, updated_at = $4 where tenant_id = $1 and id = $2",
                tenant.0,
                service_id,
                *router,
                now
            )
            .execute(tx.conn())
            .await;
            match moved {
                Ok(_) => {}
                Err(e) if constraint(&e) == Some("services_router_fkey") => {
                    return Err(AppError::invalid(
                        "router_id",
                        "that router is not one of yours",
                    ));
                }
                Err(e) => return Err(e.into()),
            }
            "service.router_changed"
        }
    };
    if matches!(
        change,
        ServiceChange::ExtendDays(_) | ServiceChange::ExtendUntil(_)
    ) && status == ServiceStatus::Expired
    {
        status = ServiceStatus::Active.effective(expires_at, now);
    }
    sqlx::query!(
        r#"update services set status = $3, expires_at = $4, plan_id = $5, updated_at = $6
            where tenant_id = $1 and id = $2"#,
        tenant.0,
        service_id,
        status.as_str(),
        expires_at,
        plan_id,
        now
    )
    .execute(tx.conn())
    .await?;
    // Back online after a cut-off or a suspension: the subscriber is told, once per period.
    if before.status != ServiceStatus::Active && status == ServiceStatus::Active {
        crate::messaging::events::reconnected(&mut tx, state, service_id, expires_at).await?;
    }
    if let Some(plan) = &changed_plan {
        crate::billing::actions::bill_plan_change(
            &mut tx,
            now,
            Some(staff.user_id),
            customer_id,
            service_id,
            plan,
        )
        .await?;
    }
    let after_detail = detail_in(&mut tx, state, customer_id).await?;
    let after = after_detail.services.iter().find(|s| s.id == service_id);
    audit(
        &mut tx,
        state,
        staff,
        action,
        ("service", service_id),
        (Some(json!(before)), after.map(|s| json!(s))),
        meta,
    )
    .await?;
    tx.commit().await?;
    Ok(after_detail)
}

/// Opens a service's password for an owner or admin who asked to see it; the reveal is audited.
pub async fn reveal_password(
    state: &AppState,
    staff: &Staff,
    service_id: Uuid,
    meta: &RequestMeta,
) -> Result<String, AppError> {
    staff.require(Permission::RevealServicePasswords)?;
    let tenant = staff.tenant;
    let mut tx = state.db.tenant(tenant).await?;
    let sealed = sqlx::query_scalar!(
        "select password_enc from services where tenant_id = $1 and id = $2",
        tenant.0,
        service_id
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| AppError::NotFound {
        what: "That service".into(),
    })?;
    let password = state
        .secrets
        .open(&sealed, &password_binding(tenant.0, service_id))
        .map_err(sealing)?;
    audit(
        &mut tx,
        state,
        staff,
        "service.password_revealed",
        ("service", service_id),
        (None, None),
        meta,
    )
    .await?;
    tx.commit().await?;
    String::from_utf8(password).map_err(|e| AppError::internal(&e))
}

pub async fn detail(state: &AppState, staff: &Staff, id: Uuid) -> Result<CustomerDetail, AppError> {
    let mut tx = state.db.tenant(staff.tenant).await?;
    let detail = detail_in(&mut tx, state, id).await?;
    tx.commit().await?;
    Ok(detail)
}

async fn detail_in(
    tx: &mut TenantTx,
    state: &AppState,
    id: Uuid,
) -> Result<CustomerDetail, AppError> {
    let tenant = tx.tenant();
    let now = state.clock.now();
    let c = sqlx::query!(
        r#"select id, account_number, name, phone, email, location, notes, sms_consent,
                  sms_consent_at, language, created_at, updated_at
             from customers where tenant_id = $1 and id = $2 and archived_at is null"#,
        tenant.0,
        id
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| AppError::NotFound {
        what: "That customer".into(),
    })?;
    let rows = sqlx::query!(
        r#"select s.id, s.plan_id, p.name as plan_name, p.price_minor, p.validity_unit,
                  p.validity_count, s.router_id, r.name as "router_name?", s.username, s.status,
                  s.billing_mode,
                  s.billing_day, s.starts_at, s.expires_at,
                  cur.period_start as "period_start?", cur.period_end as "period_end?",
                  cur.total_minor as "period_charged?"
             from services s join plans p on p.tenant_id = s.tenant_id and p.id = s.plan_id
             left join routers r on r.tenant_id = s.tenant_id and r.id = s.router_id
             -- The period being used now, as invoiced: what a plan change prorates.
             left join lateral (
                 select i.period_start, i.period_end, i.total_minor from invoices i
                  where i.tenant_id = s.tenant_id and i.service_id = s.id and i.purpose = 'period'
                    and i.period_start <= $3 and i.period_end > $3
                    and i.status not in ('cancelled', 'waived')
                  order by i.period_start desc limit 1) cur on true
            where s.tenant_id = $1 and s.customer_id = $2
            order by s.created_at, s.id"#,
        tenant.0,
        id,
        now
    )
    .fetch_all(tx.conn())
    .await?;
    let services = rows
        .into_iter()
        .map(|r| {
            Ok(ServiceView {
                id: r.id,
                plan_id: r.plan_id,
                plan_name: r.plan_name,
                plan_price_minor: r.price_minor,
                validity_unit: ValidityUnit::parse(&r.validity_unit)?,
                validity_count: r.validity_count,
                router_id: r.router_id,
                router_name: r.router_name,
                username: r.username,
                status: ServiceStatus::parse("status", &r.status)?.effective(r.expires_at, now),
                billing_mode: BillingMode::parse("billing_mode", &r.billing_mode)?,
                billing_day: r.billing_day,
                starts_at: r.starts_at,
                expires_at: r.expires_at,
                invoiced_period: match (r.period_start, r.period_end, r.period_charged) {
                    (Some(start), Some(end), Some(charged)) => Some((start, end, charged)),
                    _ => None,
                },
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    let zone = zone(tx).await?;
    let terms = crate::billing::invoices::terms(tx).await?;
    Ok(CustomerDetail {
        id: c.id,
        account_number: c.account_number,
        name: c.name,
        phone: c.phone,
        email: c.email,
        location: c.location,
        notes: c.notes,
        sms_consent: c.sms_consent,
        sms_consent_at: c.sms_consent_at,
        language: Language::parse("language", &c.language).unwrap_or_default(),
        created_at: c.created_at,
        updated_at: c.updated_at,
        services,
        utc_offset_seconds: offset_seconds(&zone, now),
        now,
        vat: terms.vat,
    })
}

/// A row of a customer list as the database returns it.
#[derive(sqlx::FromRow)]
struct ListRow {
    id: Uuid,
    account_number: String,
    name: String,
    phone: String,
    plan_name: Option<String>,
    status: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    services: i64,
    balance_minor: i64,
}

impl ListRow {
    fn into_row(self, now: DateTime<Utc>) -> Result<CustomerRow, AppError> {
        let status = match (&self.status, self.expires_at) {
            (Some(s), Some(at)) => Some(ServiceStatus::parse("status", s)?.effective(at, now)),
            _ => None,
        };
        Ok(CustomerRow {
            id: self.id,
            account_number: self.account_number,
            name: self.name,
            phone: self.phone,
            plan_name: self.plan_name,
            status,
            expires_at: self.expires_at,
            services: self.services,
            balance_minor: self.balance_minor,
        })
    }
}

/// The first string after every string that begins with `prefix`, in the "C" collation (bytes):
/// the prefix followed by the highest code point.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// The joins that complete a page of customers `c`: each with the service that matters most (the
/// next to expire among those still running, else the latest to have expired) and its plan.
fn push_list_joins(q: &mut QueryBuilder<Postgres>, now: DateTime<Utc>) {
    q.push(
        " left join lateral (
                select s.plan_id, s.status, s.expires_at from services s
                 where s.tenant_id = c.tenant_id and s.customer_id = c.id
                 order by (s.expires_at > ",
    );
    q.push_bind(now);
    q.push(") desc, case when s.expires_at > ");
    q.push_bind(now);
    q.push(
        " then s.expires_at end asc, s.expires_at desc
                 limit 1) s on true
           left join plans p on p.tenant_id = c.tenant_id and p.id = s.plan_id ",
    );
}

/// Adds the WHERE clause for a filter (everything but sort and paging).
fn push_filter(
    q: &mut QueryBuilder<Postgres>,
    tenant: Uuid,
    filter: &CustomerFilter,
    now: DateTime<Utc>,
) {
    q.push("where c.tenant_id = ");
    q.push_bind(tenant);
    q.push(" and c.archived_at is null");
    if let Some(search) = &filter.search {
        // Every word typed must begin a word of the customer's (see customer_search_terms); a
        // phone number typed in any accepted form is searched in its stored form.
        let words: Vec<String> = match normalise_phone("q", search) {
            Ok(phone) => vec![phone],
            Err(_) => search
                .split_whitespace()
                .take(5)
                .map(str::to_lowercase)
                .collect(),
        };
        // `= any(array(...))` rather than `in (...)`: the matching ids are collected first and
        // fetched through the primary key, where a join would be planned as a scan of every
        // customer (the planner cannot know that a few words match few customers).
        // Later words narrow the first word's matches as semi-joins (hashed, no set operation).
        q.push(" and c.id = any(array(");
        for (i, word) in words.iter().enumerate() {
            q.push(if i == 0 {
                "select t.customer_id from customer_search_terms t where t.tenant_id = "
            } else {
                " and t.customer_id in (select customer_id from customer_search_terms where tenant_id = "
            });
            q.push_bind(tenant);
            q.push(" and term >= ");
            q.push_bind(word.clone());
            q.push(" and term < ");
            q.push_bind(prefix_end(word));
            if i > 0 {
                q.push(")");
            }
        }
        q.push("))");
    }
    if filter.status.is_some() || filter.plan.is_some() || filter.router.is_some() {
        q.push(" and exists (select 1 from services f where f.tenant_id = c.tenant_id and f.customer_id = c.id");
        if let Some(status) = filter.status {
            // The effective status: an active service past its expiry counts as expired.
            q.push(" and (case when f.status = 'active' and f.expires_at <= ");
            q.push_bind(now);
            q.push(" then 'expired' else f.status end) = ");
            q.push_bind(status.as_str());
        }
        if let Some(plan) = filter.plan {
            q.push(" and f.plan_id = ");
            q.push_bind(plan);
        }
        if let Some(router) = filter.router {
            q.push(" and f.router_id = ");
            q.push_bind(router);
        }
        q.push(")");
    }
}

pub async fn list(
    state: &AppState,
    staff: &Staff,
    filter: &CustomerFilter,
) -> Result<CustomerPage, AppError> {
    let mut tx = state.db.tenant(staff.tenant).await?;
    let page = list_in(&mut tx, filter, state.clock.now()).await?;
    tx.commit().await?;
    Ok(page)
}

pub async fn list_in(
    tx: &mut TenantTx,
    filter: &CustomerFilter,
    now: DateTime<Utc>,
) -> Result<CustomerPage, AppError> {
    let rows = fetch_rows(tx, filter, now, Some(filter.page)).await?;
    let has_next = rows.len() > PAGE_SIZE as usize;
    let zone = zone(tx).await?;
    Ok(CustomerPage {
        rows: rows.into_iter().take(PAGE_SIZE as usize).collect(),
        page: filter.page,
        has_next,
        utc_offset_seconds: offset_seconds(&zone, now),
        plans: crate::plans::service::list(tx).await?,
        routers: crate::network::routers::choices(tx).await?,
    })
}

/// The customers a filter selects, in its order: one page (and one row more, to know whether
/// another page follows), or all of them (`page: None`, for the export).
pub async fn fetch_rows(
    tx: &mut TenantTx,
    filter: &CustomerFilter,
    now: DateTime<Utc>,
    page: Option<u32>,
) -> Result<Vec<CustomerRow>, AppError> {
    let mut q = list_query("", tx.tenant().0, filter, now, page);
    let rows: Vec<ListRow> = q.build_query_as().fetch_all(tx.conn()).await?;
    rows.into_iter().map(|r| r.into_row(now)).collect()
}

fn list_query(
    prefix: &str,
    tenant: Uuid,
    filter: &CustomerFilter,
    now: DateTime<Utc>,
    page: Option<u32>,
) -> QueryBuilder<Postgres> {
    let order = match filter.sort {
        CustomerSort::Name => " order by c.name, c.id",
        CustomerSort::Expiry => " order by c.next_expiry nulls last, c.id",
        CustomerSort::Newest => " order by c.created_at desc, c.id",
    };
    // The page is chosen first and only its rows are joined to their services and plans.
    let mut q = QueryBuilder::<Postgres>::new(prefix);
    q.push(
        "select c.id, c.account_number, c.name, c.phone, p.name as plan_name, s.status, s.expires_at,
                (select count(*) from services n where n.tenant_id = c.tenant_id and n.customer_id = c.id) as services,
                (select coalesce(sum(e.amount_minor), 0) from ledger_entries e
                  where e.tenant_id = c.tenant_id and e.customer_id = c.id)::bigint as balance_minor
           from (select c.tenant_id, c.id, c.account_number, c.name, c.phone, c.next_expiry, c.created_at
                   from customers c ",
    );
    push_filter(&mut q, tenant, filter, now);
    q.push(order);
    if let Some(page) = page {
        q.push(" limit ");
        q.push_bind(i64::from(PAGE_SIZE) + 1);
        q.push(" offset ");
        q.push_bind(i64::from(page.saturating_sub(1)) * i64::from(PAGE_SIZE));
    }
    q.push(") c");
    push_list_joins(&mut q, now);
    q.push(order);
    q
}

/// `EXPLAIN (ANALYZE, BUFFERS)` of a list page's query, for the benchmark report.
pub async fn explain(
    tx: &mut TenantTx,
    filter: &CustomerFilter,
    now: DateTime<Utc>,
) -> Result<Vec<String>, AppError> {
    let mut q = list_query(
        "explain (analyze, buffers) ",
        tx.tenant().0,
        filter,
        now,
        Some(filter.page),
    );
    let lines: Vec<(String,)> = q.build_query_as().fetch_all(tx.conn()).await?;
    Ok(lines.into_iter().map(|(l,)| l).collect())
}

/// The dashboard's figures: headline counts and the lists that need someone's attention.
pub async fn attention(state: &AppState, staff: &Staff) -> Result<Attention, AppError> {
    let mut tx = state.db.tenant(staff.tenant).await?;
    let tenant = staff.tenant.0;
    let now = state.clock.now();
    let zone = zone(&mut tx).await?;
    let counts = sqlx::query!(
        r#"select
             count(*) filter (where status = 'active' and expires_at > $2) as "active!",
             count(*) filter (where status = 'expired' or (status = 'active' and expires_at <= $2)) as "expired!",
             count(*) filter (where status = 'suspended') as "suspended!",
             count(*) filter (where status <> 'suspended' and expires_at <= $2
                                and expires_at > $2 - make_interval(days => $3)) as "in_grace!",
             count(*) filter (where status = 'active' and expires_at > $2
                                and expires_at <= $2 + interval '3 days') as "expiring!"
           from services where tenant_id = $1"#,
        tenant,
        now,
        zone.grace_period_days
    )
    .fetch_one(tx.conn())
    .await?;
    let customers = sqlx::query_scalar!(
        r#"select count(*) as "n!" from customers where tenant_id = $1 and archived_at is null"#,
        tenant
    )
    .fetch_one(tx.conn())
    .await?;
    let grace_start = now - chrono::Duration::days(i64::from(zone.grace_period_days));
    let in_grace = service_rows(&mut tx, now, ServiceWindow::ExpiredSince(grace_start)).await?;
    let suspended_rows = service_rows(&mut tx, now, ServiceWindow::Suspended).await?;
    let expiring_soon = service_rows(
        &mut tx,
        now,
        ServiceWindow::ExpiringBefore(now + chrono::Duration::days(3)),
    )
    .await?;
    tx.commit().await?;
    Ok(Attention {
        utc_offset_seconds: offset_seconds(&zone, now),
        active: counts.active,
        expired: counts.expired,
        suspended: counts.suspended,
        customers,
        grace_period_days: zone.grace_period_days,
        in_grace,
        in_grace_count: counts.in_grace,
        suspended_rows,
        expiring_soon,
        expiring_soon_count: counts.expiring,
    })
}

enum ServiceWindow {
    ExpiredSince(DateTime<Utc>),
    Suspended,
    ExpiringBefore(DateTime<Utc>),
}

/// Up to ten services in a window, each as a customer row about that service.
async fn service_rows(
    tx: &mut TenantTx,
    now: DateTime<Utc>,
    window: ServiceWindow,
) -> Result<Vec<CustomerRow>, AppError> {
    let tenant = tx.tenant();
    let mut q = QueryBuilder::<Postgres>::new(
        "select c.id, c.account_number, c.name, c.phone, p.name as plan_name, s.status, s.expires_at,
                1::bigint as services,
                (select coalesce(sum(e.amount_minor), 0) from ledger_entries e
                  where e.tenant_id = c.tenant_id and e.customer_id = c.id)::bigint as balance_minor
           from services s
           join customers c on c.tenant_id = s.tenant_id and c.id = s.customer_id
           join plans p on p.tenant_id = s.tenant_id and p.id = s.plan_id
          where s.tenant_id = ",
    );
    q.push_bind(tenant.0);
    q.push(" and c.archived_at is null");
    match window {
        ServiceWindow::ExpiredSince(since) => {
            q.push(" and s.status <> 'suspended' and s.expires_at <= ");
            q.push_bind(now);
            q.push(" and s.expires_at > ");
            q.push_bind(since);
            q.push(" order by s.expires_at desc");
        }
        ServiceWindow::Suspended => {
            q.push(" and s.status = 'suspended' order by s.updated_at desc");
        }
        ServiceWindow::ExpiringBefore(until) => {
            q.push(" and s.status = 'active' and s.expires_at > ");
            q.push_bind(now);
            q.push(" and s.expires_at <= ");
            q.push_bind(until);
            q.push(" order by s.expires_at");
        }
    }
    q.push(", s.id limit 10");
    let rows: Vec<ListRow> = q.build_query_as().fetch_all(tx.conn()).await?;
    rows.into_iter().map(|r| r.into_row(now)).collect()
}
