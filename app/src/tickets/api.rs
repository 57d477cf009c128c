//! Server functions for tickets: the operator side's, and the portal's (scoped to the signed-in
//! subscriber by the portal session).

use leptos::prelude::*;
use uuid::Uuid;

use crate::{
    error::AppError,
    tickets::model::{Ticket, TicketForm, TicketList, TicketPage},
};

#[server(prefix = "/api", endpoint = "tickets/list")]
pub async fn list_tickets(#[server(default)] status: String) -> Result<TicketList, AppError> {
    crate::error::respond(async move {
        let (state, staff) = crate::auth::identity::caller().await?;
        crate::tickets::service::list(&state, &staff, &status).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "tickets/customer")]
pub async fn customer_tickets(customer: Uuid) -> Result<Vec<Ticket>, AppError> {
    crate::error::respond(async move {
        let (state, staff) = crate::auth::identity::caller().await?;
        crate::tickets::service::for_customer(&state, &staff, customer).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "tickets/get")]
pub async fn get_ticket(id: Uuid) -> Result<TicketPage, AppError> {
    crate::error::respond(async move {
        let (state, staff) = crate::auth::identity::caller().await?;
        crate::tickets::service::page(&state, &staff, id).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "tickets/reply")]
pub async fn reply_ticket(id: Uuid, message: String) -> Result<(), AppError> {
    crate::error::respond(async move {
        let (state, staff) = crate::auth::identity::caller().await?;
        let meta = crate::auth::identity::request_meta();
        crate::tickets::service::reply(&state, &staff, id, &message, &meta).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "tickets/assign")]
pub async fn assign_ticket(id: Uuid, #[server(default)] to: String) -> Result<(), AppError> {
    crate::error::respond(async move {
        let (state, staff) = crate::auth::identity::caller().await?;
        let meta = crate::auth::identity::request_meta();
        let to = match to.trim() {
            "" => None,
            text => Some(
                Uuid::parse_str(text)
                    .map_err(|_| AppError::invalid("assigned_to", "is not one of your staff"))?,
            ),
        };
        crate::tickets::service::assign(&state, &staff, id, to, &meta).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "tickets/close")]
pub async fn close_ticket(id: Uuid) -> Result<(), AppError> {
    crate::error::respond(async move {
        let (state, staff) = crate::auth::identity::caller().await?;
        let meta = crate::auth::identity::request_meta();
        crate::tickets::service::close(&state, &staff, id, &meta).await
    })
    .await
}

/// The subscriber opens a ticket from the portal.
#[server(prefix = "/api", endpoint = "portal/tickets/open", output = crate::wire::Json)]
pub async fn portal_open_ticket(slug: String, form: TicketForm) -> Result<(), AppError> {
    crate::error::respond(async move {
        let state = crate::state::app_state()?;
        let token = crate::portal::api::portal_token();
        let who = crate::portal::service::subscriber(&state, &slug, token.as_deref()).await?;
        let input = form.check()?;
        let meta = crate::auth::identity::request_meta();
        let id = crate::tickets::service::open(&state, &who, &input, &meta).await?;
        leptos_axum::redirect(&format!("/portal/{}?ticket={id}#tickets", slug.trim()));
        Ok(())
    })
    .await
}

/// The subscriber adds to one of their tickets.
#[server(prefix = "/api", endpoint = "portal/tickets/reply", output = crate::wire::Json)]
pub async fn portal_reply_ticket(slug: String, id: Uuid, message: String) -> Result<(), AppError> {
    crate::error::respond(async move {
        let state = crate::state::app_state()?;
        let token = crate::portal::api::portal_token();
        let who = crate::portal::service::subscriber(&state, &slug, token.as_deref()).await?;
        let meta = crate::auth::identity::request_meta();
        crate::tickets::service::subscriber_reply(&state, &who, id, &message, &meta).await?;
        let at = state.clock.now().timestamp_millis();
        leptos_axum::redirect(&format!(
            "/portal/{}?ticket={id}&at={at}#tickets",
            slug.trim()
        ));
        Ok(())
    })
    .await
}
