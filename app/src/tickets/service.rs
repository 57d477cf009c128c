//! Tickets: subscribers open them and reply from the portal; staff read, reply, assign and
//! close them. A staff reply texts the subscriber (through the SMS outbox, in the reply's own
//! transaction). Every read and change is scoped to one ISP, and on the portal to one customer.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    audit::store::{Entry, record},
    auth::{identity::Staff, model::Permission, session::RequestMeta},
    customers::service::{offset_seconds, zone},
    db::TenantTx,
    error::AppError,
    messaging::{
        sms::{self, Sms},
        template::{self, Event, Language, Placeholder, Values, render},
        templates,
    },
    portal::session::Subscriber,
    state::AppState,
    tickets::model::{Ticket, TicketInput, TicketList, TicketMessage, TicketPage, check_message},
};

fn not_found() -> AppError {
    AppError::NotFound {
        what: "That ticket".into(),
    }
}

/// Opens a ticket for the signed-in subscriber; returns its id.
pub async fn open(
    state: &AppState,
    who: &Subscriber,
    input: &TicketInput,
    meta: &RequestMeta,
) -> Result<Uuid, AppError> {
    let now = state.clock.now();
    let mut tx = state.db.tenant(who.tenant).await?;
    let number = sqlx::query_scalar!(
        "update tenants set last_ticket_number = last_ticket_number + 1 where id = $1
         returning last_ticket_number",
        who.tenant.0
    )
    .fetch_one(tx.conn())
    .await?;
    let id = Uuid::new_v4();
    sqlx::query!(
        "insert into tickets (tenant_id, id, number, customer_id, subject, category, created_at,
                              last_message_at)
         values ($1, $2, $3, $4, $5, $6, $7, $7)",
        who.tenant.0,
        id,
        number,
        who.customer_id,
        input.subject,
        input.category,
        now
    )
    .execute(tx.conn())
    .await?;
    add_message(&mut tx, id, None, &input.message, now).await?;
    audit(&mut tx, now, None, "subscriber", "ticket.opened", id, meta).await?;
    tx.commit().await?;
    Ok(id)
}

async fn add_message(
    tx: &mut TenantTx,
    ticket: Uuid,
    staff: Option<Uuid>,
    body: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let tenant = tx.tenant();
    sqlx::query!(
        "insert into ticket_messages (tenant_id, ticket_id, staff_id, body, created_at)
         values ($1, $2, $3, $4, $5)",
        tenant.0,
        ticket,
        staff,
        body,
        now
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

async fn audit(
    tx: &mut TenantTx,
    at: DateTime<Utc>,
    actor: Option<&Staff>,
    label: &str,
    action: &str,
    ticket: Uuid,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    record(
        tx,
        Entry {
            at,
            actor_user_id: actor.map(|s| s.user_id),
            actor_label: actor.map_or(label, |s| s.email.as_str()),
            action,
            entity: Some(("ticket", ticket.to_string())),
            before: None,
            after: None,
            meta,
        },
    )
    .await
}

/// The subscriber adds to their own ticket (a closed one opens again).
pub async fn subscriber_reply(
    state: &AppState,
    who: &Subscriber,
    ticket: Uuid,
    message: &str,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let body = check_message(message)?;
    let now = state.clock.now();
    let mut tx = state.db.tenant(who.tenant).await?;
    let updated = sqlx::query!(
        "update tickets set status = 'open', closed_at = null, last_message_at = $4
          where tenant_id = $1 and id = $2 and customer_id = $3",
        who.tenant.0,
        ticket,
        who.customer_id,
        now
    )
    .execute(tx.conn())
    .await?;
    if updated.rows_affected() == 0 {
        return Err(not_found());
    }
    add_message(&mut tx, ticket, None, &body, now).await?;
    audit(
        &mut tx,
        now,
        None,
        "subscriber",
        "ticket.subscriber_replied",
        ticket,
        meta,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Tickets, newest activity first: one customer's (`customer`) or the ISP's in `status`.
async fn tickets_in(
    tx: &mut TenantTx,
    customer: Option<Uuid>,
    status: Option<&str>,
    with_messages: bool,
) -> Result<Vec<Ticket>, AppError> {
    let tenant = tx.tenant();
    let rows = sqlx::query!(
        r#"select t.id, t.number, t.subject, t.category, t.status, t.customer_id,
                  c.name as customer_name, c.account_number, t.assigned_to,
                  u.name as "assigned_name?", t.created_at, t.last_message_at
             from tickets t
             join customers c on c.tenant_id = t.tenant_id and c.id = t.customer_id
             left join users u on u.tenant_id = t.tenant_id and u.id = t.assigned_to
            where t.tenant_id = $1 and ($2::uuid is null or t.customer_id = $2)
              and ($3::text is null or t.status = $3)
            order by t.last_message_at desc
            limit 200"#,
        tenant.0,
        customer,
        status
    )
    .fetch_all(tx.conn())
    .await?;
    let mut tickets: Vec<Ticket> = rows
        .into_iter()
        .map(|r| Ticket {
            id: r.id,
            number: r.number,
            subject: r.subject,
            category: r.category,
            status: r.status,
            customer_id: r.customer_id,
            customer_name: r.customer_name,
            account_number: r.account_number,
            assigned_to: r.assigned_to,
            assigned_name: r.assigned_name,
            created_at: r.created_at,
            last_message_at: r.last_message_at,
            messages: Vec::new(),
        })
        .collect();
    if with_messages && !tickets.is_empty() {
        let ids: Vec<Uuid> = tickets.iter().map(|t| t.id).collect();
        let messages = sqlx::query!(
            r#"select m.ticket_id, u.name as "staff_name?", m.body, m.created_at
                 from ticket_messages m
                 left join users u on u.tenant_id = m.tenant_id and u.id = m.staff_id
                where m.tenant_id = $1 and m.ticket_id = any($2)
                order by m.created_at, m.id"#,
            tenant.0,
            &ids
        )
        .fetch_all(tx.conn())
        .await?;
        for m in messages {
            if let Some(t) = tickets.iter_mut().find(|t| t.id == m.ticket_id) {
                t.messages.push(TicketMessage {
                    staff_name: m.staff_name,
                    body: m.body,
                    created_at: m.created_at,
                });
            }
        }
    }
    Ok(tickets)
}

/// The subscriber's own tickets with their conversations.
pub async fn for_subscriber(tx: &mut TenantTx, who: &Subscriber) -> Result<Vec<Ticket>, AppError> {
    tickets_in(tx, Some(who.customer_id), None, true).await
}

/// The Tickets page: `status` one of open, answered, closed, or all.
pub async fn list(state: &AppState, staff: &Staff, status: &str) -> Result<TicketList, AppError> {
    staff.require(Permission::ManageCustomers)?;
    let status = match status.trim() {
        "" | "open" => Some("open"),
        "answered" => Some("answered"),
        "closed" => Some("closed"),
        _ => None,
    };
    let now = state.clock.now();
    let mut tx = state.db.tenant(staff.tenant).await?;
    let tickets = tickets_in(&mut tx, None, status, false).await?;
    let counts = sqlx::query!(
        r#"select count(*) filter (where status = 'open') as "open!",
                  count(*) filter (where status = 'answered') as "answered!",
                  count(*) filter (where status = 'closed') as "closed!"
             from tickets where tenant_id = $1"#,
        staff.tenant.0
    )
    .fetch_one(tx.conn())
    .await?;
    let zone = zone(&mut tx).await?;
    tx.commit().await?;
    Ok(TicketList {
        tickets,
        open: counts.open,
        answered: counts.answered,
        closed: counts.closed,
        utc_offset_seconds: offset_seconds(&zone, now),
    })
}

/// One customer's tickets, for their panel.
pub async fn for_customer(
    state: &AppState,
    staff: &Staff,
    customer: Uuid,
) -> Result<Vec<Ticket>, AppError> {
    staff.require(Permission::ManageCustomers)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let known = sqlx::query_scalar!(
        r#"select count(*) as "n!" from customers where tenant_id = $1 and id = $2"#,
        staff.tenant.0,
        customer
    )
    .fetch_one(tx.conn())
    .await?;
    if known == 0 {
        return Err(AppError::NotFound {
            what: "That customer".into(),
        });
    }
    let tickets = tickets_in(&mut tx, Some(customer), None, false).await?;
    tx.commit().await?;
    Ok(tickets)
}

async fn one(tx: &mut TenantTx, id: Uuid) -> Result<Ticket, AppError> {
    let tenant = tx.tenant();
    let customer = sqlx::query_scalar!(
        "select customer_id from tickets where tenant_id = $1 and id = $2",
        tenant.0,
        id
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(not_found)?;
    tickets_in(tx, Some(customer), None, true)
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(not_found)
}

/// A ticket's page for staff.
pub async fn page(state: &AppState, staff: &Staff, id: Uuid) -> Result<TicketPage, AppError> {
    staff.require(Permission::ManageCustomers)?;
    let now = state.clock.now();
    let mut tx = state.db.tenant(staff.tenant).await?;
    let ticket = one(&mut tx, id).await?;
    let people = sqlx::query!(
        "select id, name from users where tenant_id = $1 and disabled_at is null order by name",
        staff.tenant.0
    )
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .map(|u| (u.id, u.name))
    .collect();
    let zone = zone(&mut tx).await?;
    tx.commit().await?;
    Ok(TicketPage {
        ticket,
        staff: people,
        utc_offset_seconds: offset_seconds(&zone, now),
    })
}

/// A staff reply: the ticket is answered and the subscriber gets a text saying so.
pub async fn reply(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    message: &str,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    staff.require(Permission::ManageCustomers)?;
    let body = check_message(message)?;
    let now = state.clock.now();
    let mut tx = state.db.tenant(staff.tenant).await?;
    let Some(t) = sqlx::query!(
        r#"update tickets t set status = 'answered', closed_at = null, last_message_at = $3
             from customers c
            where t.tenant_id = $1 and t.id = $2
              and c.tenant_id = t.tenant_id and c.id = t.customer_id
        returning t.number, t.subject, t.customer_id, c.phone, c.name, c.account_number,
                  c.language"#,
        staff.tenant.0,
        id,
        now
    )
    .fetch_optional(tx.conn())
    .await?
    else {
        return Err(not_found());
    };
    add_message(&mut tx, id, Some(staff.user_id), &body, now).await?;
    let isp = sqlx::query!(
        "select name, slug from tenants where id = $1",
        staff.tenant.0
    )
    .fetch_one(tx.conn())
    .await?;
    let link = format!(
        "{}/portal/{}",
        state.mailer.public_url.trim_end_matches('/'),
        isp.slug
    );
    let subject: String = t.subject.chars().take(40).collect();
    let language = Language::parse("language", &t.language).unwrap_or_default();
    let template = templates::text_for(&mut tx, Event::TicketReply, language).await?;
    let text = template::fit(render(
        &template,
        &Values::new()
            .set(Placeholder::Business, isp.name)
            .set(Placeholder::Ticket, format!("#{} \"{subject}\"", t.number))
            .set(Placeholder::Link, link)
            .set(Placeholder::Name, t.name)
            .set(Placeholder::Account, t.account_number),
    ));
    sms::enqueue(
        &mut tx,
        now,
        &Sms {
            customer: Some(t.customer_id),
            kind: "ticket_reply",
            recipient: &t.phone,
            body: &text,
            urgent: false,
        },
    )
    .await?;
    audit(&mut tx, now, Some(staff), "", "ticket.replied", id, meta).await?;
    tx.commit().await?;
    state.sms.nudge();
    Ok(())
}

/// Gives the ticket to a member of staff of the same ISP, or to nobody.
pub async fn assign(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    to: Option<Uuid>,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    staff.require(Permission::ManageCustomers)?;
    let now = state.clock.now();
    let mut tx = state.db.tenant(staff.tenant).await?;
    if let Some(user) = to {
        let known = sqlx::query_scalar!(
            r#"select count(*) as "n!" from users
                where tenant_id = $1 and id = $2 and disabled_at is null"#,
            staff.tenant.0,
            user
        )
        .fetch_one(tx.conn())
        .await?;
        if known == 0 {
            return Err(AppError::invalid("assigned_to", "is not one of your staff"));
        }
    }
    let updated = sqlx::query!(
        "update tickets set assigned_to = $3 where tenant_id = $1 and id = $2",
        staff.tenant.0,
        id,
        to
    )
    .execute(tx.conn())
    .await?;
    if updated.rows_affected() == 0 {
        return Err(not_found());
    }
    audit(&mut tx, now, Some(staff), "", "ticket.assigned", id, meta).await?;
    tx.commit().await?;
    Ok(())
}

/// Closes the ticket (the subscriber replying opens it again).
pub async fn close(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    staff.require(Permission::ManageCustomers)?;
    let now = state.clock.now();
    let mut tx = state.db.tenant(staff.tenant).await?;
    let updated = sqlx::query!(
        "update tickets set status = 'closed', closed_at = $3 where tenant_id = $1 and id = $2",
        staff.tenant.0,
        id,
        now
    )
    .execute(tx.conn())
    .await?;
    if updated.rows_affected() == 0 {
        return Err(not_found());
    }
    audit(&mut tx, now, Some(staff), "", "ticket.closed", id, meta).await?;
    tx.commit().await?;
    Ok(())
}
