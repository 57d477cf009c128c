//! The messages page's reading and its one action: sending a failed message again.
//!
//! A message whose outcome is unknown (the request may have reached the gateway) is only sent
//! again when the person asking says they accept it may arrive, and be billed, twice. Sign-in
//! codes are never sent again: the subscriber asks for a new one. A resend is a new message
//! (the first keeps its history) and is audited.

use serde_json::json;
use uuid::Uuid;

use crate::{
    audit::store::{Entry, record},
    auth::{identity::Staff, model::Permission, session::RequestMeta},
    customers::service::{offset_seconds, zone},
    error::AppError,
    messaging::{
        model::{MessageLog, MessageRow, STATUSES, shown_body},
        sms::{self, Sms},
    },
    state::AppState,
};

/// Messages shown at once, newest first.
pub const SHOWN: i64 = 200;

/// The newest messages in `status` ("" or "all": every status) whose number contains the
/// digits of `number` (a local `07…` form is matched too).
pub async fn list(
    state: &AppState,
    staff: &Staff,
    status: &str,
    number: &str,
) -> Result<MessageLog, AppError> {
    staff.require(Permission::ManageCustomers)?;
    let status = match status.trim() {
        "" | "all" => "all",
        s if STATUSES.iter().any(|(known, _)| *known == s) => s,
        _ => return Err(AppError::invalid("status", "is not a message status")),
    };
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.strip_prefix('0').unwrap_or(&digits).to_string();
    let now = state.clock.now();
    let mut tx = state.db.tenant(staff.tenant).await?;
    let rows = sqlx::query!(
        r#"select m.id, m.created_at, m.recipient, m.kind, m.body, m.status, m.attempts, m.error,
                  m.cost, m.delivery_status, c.name as "customer?"
             from sms_outbox m
             left join customers c on c.tenant_id = m.tenant_id and c.id = m.customer_id
            where ($1 = 'all' or m.status = $1)
              and ($2 = '' or strpos(m.recipient, $2) > 0)
            order by m.created_at desc
            limit $3"#,
        status,
        digits,
        SHOWN
    )
    .fetch_all(tx.conn())
    .await?;
    let counts =
        sqlx::query!(r#"select status, count(*) as "count!" from sms_outbox group by status"#)
            .fetch_all(tx.conn())
            .await?;
    let zone = zone(&mut tx).await?;
    tx.commit().await?;
    Ok(MessageLog {
        can_send_bulk: staff.role.can(Permission::SendBulkMessages),
        rows: rows
            .into_iter()
            .map(|r| MessageRow {
                body: shown_body(&r.kind, &r.body),
                id: r.id,
                created_at: r.created_at,
                recipient: r.recipient,
                customer: r.customer,
                kind: r.kind,
                status: r.status,
                attempts: r.attempts,
                error: r.error,
                cost: r.cost,
                delivery_status: r.delivery_status,
            })
            .collect(),
        counts: STATUSES
            .iter()
            .filter_map(|(s, _)| {
                counts
                    .iter()
                    .find(|c| c.status == *s)
                    .map(|c| (s.to_string(), c.count))
            })
            .collect(),
        utc_offset_seconds: offset_seconds(&zone, now),
    })
}

/// Queues a failed (or, confirmed, unknown) message again as a new message.
pub async fn resend(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    accept_twice: bool,
    meta: &RequestMeta,
) -> Result<Uuid, AppError> {
    staff.require(Permission::ManageCustomers)?;
    let now = state.clock.now();
    let mut tx = state.db.tenant(staff.tenant).await?;
    let Some(m) = sqlx::query!(
        "select customer_id, kind, recipient, body, status from sms_outbox where id = $1
            for update",
        id
    )
    .fetch_optional(tx.conn())
    .await?
    else {
        return Err(AppError::NotFound {
            what: "That message".into(),
        });
    };
    match m.status.as_str() {
        _ if m.kind == "portal_code" => {
            return Err(AppError::invalid(
                "id",
                "is a sign-in code: the subscriber asks for a new one instead",
            ));
        }
        "failed" => {}
        "unknown" if accept_twice => {}
        "unknown" => {
            return Err(AppError::invalid(
                "confirm",
                "this message may have arrived already; confirm that it may arrive and be paid for twice",
            ));
        }
        _ => {
            return Err(AppError::invalid(
                "id",
                "only a failed message, or one whose outcome is unknown, can be sent again",
            ));
        }
    }
    let copy = sms::enqueue(
        &mut tx,
        now,
        &Sms {
            customer: m.customer_id,
            kind: &m.kind,
            recipient: &m.recipient,
            body: &m.body,
            urgent: false,
        },
    )
    .await?;
    let entry = Entry::by_staff(staff, now, "message.resent", ("sms", id.to_string()), meta);
    record(
        &mut tx,
        entry
            .with_before(json!({ "status": m.status }))
            .with_after(json!({ "resent_as": copy })),
    )
    .await?;
    tx.commit().await?;
    state.sms.nudge();
    Ok(copy)
}
