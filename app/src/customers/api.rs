//! Server functions for customers and services. Every one checks the caller on the server and
//! runs in one transaction with its audit entry (see `service`).

use leptos::prelude::*;
use uuid::Uuid;

use crate::{
    customers::model::{
        Attention, CustomerDetail, CustomerForm, CustomerPage, CustomerQuery, ImportReport,
        Removal, ServiceForm,
    },
    error::AppError,
};

#[cfg(feature = "ssr")]
use crate::{
    auth::identity::{self, caller},
    customers::service::{self, ServiceChange},
};

#[server(prefix = "/api", endpoint = "customers/list")]
pub async fn list_customers(query: CustomerQuery) -> Result<CustomerPage, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        service::list(&state, &staff, &query.check()?).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "customers/get")]
pub async fn get_customer(id: Uuid) -> Result<CustomerDetail, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        service::detail(&state, &staff, id).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "customers/create")]
pub async fn create_customer(
    customer: CustomerForm,
    service: ServiceForm,
) -> Result<CustomerDetail, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        let input = customer.check()?;
        let first = service.check_optional()?;
        service::create(
            &state,
            &staff,
            &input,
            first.as_ref(),
            &identity::request_meta(),
        )
        .await
    })
    .await
}

#[server(prefix = "/api", endpoint = "customers/update")]
pub async fn update_customer(id: Uuid, customer: CustomerForm) -> Result<CustomerDetail, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        let input = customer.check()?;
        service::update(&state, &staff, id, &input, &identity::request_meta()).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "customers/delete")]
pub async fn delete_customer(id: Uuid) -> Result<Removal, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        service::delete(&state, &staff, id, &identity::request_meta()).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "services/add")]
pub async fn add_service(
    customer_id: Uuid,
    service: ServiceForm,
) -> Result<CustomerDetail, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        let input = service.check()?;
        service::add_service(
            &state,
            &staff,
            customer_id,
            &input,
            &identity::request_meta(),
        )
        .await
    })
    .await
}

#[cfg(feature = "ssr")]
async fn change(id: Uuid, change: ServiceChange) -> Result<CustomerDetail, AppError> {
    let (state, staff) = caller().await?;
    service::change_service(&state, &staff, id, change, &identity::request_meta()).await
}

#[server(prefix = "/api", endpoint = "services/suspend")]
pub async fn suspend_service(id: Uuid) -> Result<CustomerDetail, AppError> {
    crate::error::respond(change(id, ServiceChange::Suspend)).await
}

#[server(prefix = "/api", endpoint = "services/reactivate")]
pub async fn reactivate_service(id: Uuid) -> Result<CustomerDetail, AppError> {
    crate::error::respond(change(id, ServiceChange::Reactivate)).await
}

/// Extends by `days`, or to the end of the local date `until` (YYYY-MM-DD); exactly one is given.
#[server(prefix = "/api", endpoint = "services/extend")]
pub async fn extend_service(
    id: Uuid,
    #[server(default)] days: String,
    #[server(default)] until: String,
) -> Result<CustomerDetail, AppError> {
    crate::error::respond(async move {
        let how = match (days.trim(), until.trim()) {
            (d, "") if !d.is_empty() => ServiceChange::ExtendDays(
                d.parse()
                    .map_err(|_| AppError::invalid("days", "add from 1 to 366 days"))?,
            ),
            ("", u) if !u.is_empty() => ServiceChange::ExtendUntil(
                chrono::NaiveDate::parse_from_str(u, "%Y-%m-%d")
                    .map_err(|_| AppError::invalid("until", "must be a date like 2027-01-31"))?,
            ),
            _ => return Err(AppError::invalid("days", "give a number of days or a date")),
        };
        change(id, how).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "services/change-plan")]
pub async fn change_service_plan(id: Uuid, plan_id: String) -> Result<CustomerDetail, AppError> {
    crate::error::respond(async move {
        let plan = Uuid::parse_str(plan_id.trim())
            .map_err(|_| AppError::invalid("plan_id", "choose a plan"))?;
        change(id, ServiceChange::ChangePlan(plan)).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "services/change-password")]
pub async fn change_service_password(
    id: Uuid,
    password: String,
) -> Result<CustomerDetail, AppError> {
    crate::error::respond(async move {
        let password = crate::customers::model::validate_service_password("password", &password)?;
        change(id, ServiceChange::ChangePassword(password)).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "services/reveal-password")]
pub async fn reveal_service_password(id: Uuid) -> Result<String, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        service::reveal_password(&state, &staff, id, &identity::request_meta()).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "customers/attention")]
pub async fn needs_attention() -> Result<Attention, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        service::attention(&state, &staff).await
    })
    .await
}

/// Imports a CSV file's text (read by the browser): all rows or none.
#[server(prefix = "/api", endpoint = "customers/import")]
pub async fn import_customers(csv: String) -> Result<ImportReport, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        crate::customers::import::import(&state, &staff, &csv, &identity::request_meta()).await
    })
    .await
}

/// Moves a service onto another router; a blank `router_id` takes it off every router.
#[server(prefix = "/api", endpoint = "services/move-router")]
pub async fn move_service_router(id: Uuid, router_id: String) -> Result<CustomerDetail, AppError> {
    crate::error::respond(async move {
        let router = match router_id.trim() {
            "" => None,
            r => Some(
                Uuid::parse_str(r)
                    .map_err(|_| AppError::invalid("router_id", "choose a router"))?,
            ),
        };
        change(id, ServiceChange::MoveRouter(router)).await
    })
    .await
}
