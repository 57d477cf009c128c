use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{auth::session::RequestMeta, db::TenantTx, error::AppError};

/// One audit entry. `action` is dotted lowercase (`auth.signed_in`, `customer.updated`).
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<Uuid>,
    /// Who, in words: the user's email, or what was typed for a failed sign-in.
    pub actor_label: &'a str,
    pub action: &'a str,
    pub entity: Option<(&'a str, String)>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub meta: &'a RequestMeta,
}

impl<'a> Entry<'a> {
    /// An entry about a user made by that same user (sign-in, password change, joining).
    pub fn about_self(
        at: DateTime<Utc>,
        user_id: Uuid,
        label: &'a str,
        action: &'a str,
        meta: &'a RequestMeta,
    ) -> Self {
        Self {
            at,
            actor_user_id: Some(user_id),
            actor_label: label,
            action,
            entity: Some(("user", user_id.to_string())),
            before: None,
            after: None,
            meta,
        }
    }

    /// An entry about `entity` made by a member of the ISP's staff; `before`/`after` as the
    /// change has them.
    pub fn by_staff(
        staff: &'a crate::auth::identity::Staff,
        at: DateTime<Utc>,
        action: &'a str,
        entity: (&'a str, String),
        meta: &'a RequestMeta,
    ) -> Self {
        Self {
            at,
            actor_user_id: Some(staff.user_id),
            actor_label: &staff.email,
            action,
            entity: Some(entity),
            before: None,
            after: None,
            meta,
        }
    }

    pub fn with_before(mut self, before: serde_json::Value) -> Self {
        self.before = Some(before);
        self
    }

    pub fn with_after(mut self, after: serde_json::Value) -> Self {
        self.after = Some(after);
        self
    }
}

pub async fn record(tx: &mut TenantTx, entry: Entry<'_>) -> Result<(), AppError> {
    let tenant = tx.tenant();
    let (entity_type, entity_id) = match entry.entity {
        Some((kind, id)) => (Some(kind), Some(id)),
        None => (None, None),
    };
    sqlx::query!(
        r#"insert into audit_log (tenant_id, at, actor_user_id, actor_label, action, entity_type,
                                  entity_id, before, after, ip, user_agent)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"#,
        tenant.0,
        entry.at,
        entry.actor_user_id,
        entry.actor_label,
        entry.action,
        entity_type,
        entity_id,
        entry.before,
        entry.after,
        entry.meta.ip.map(sqlx::types::ipnet::IpNet::from),
        entry.meta.user_agent.as_deref(),
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn list(
    tx: &mut TenantTx,
    action_prefix: &str,
    actor_contains: &str,
) -> Result<Vec<crate::audit::model::AuditEntry>, AppError> {
    let tenant = tx.tenant();
    let rows = sqlx::query!(
        r#"select id, at, actor_label, action,
                  entity_type || ':' || entity_id as entity,
                  before::text as before, after::text as after,
                  host(ip) as ip, user_agent
             from audit_log
            where tenant_id = $1
              and ($2 = '' or starts_with(action, $2))
              and ($3 = '' or strpos(lower(actor_label), lower($3)) > 0)
            order by at desc, id desc
            limit 200"#,
        tenant.0,
        action_prefix,
        actor_contains
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| crate::audit::model::AuditEntry {
            id: r.id,
            at: r.at,
            actor: r.actor_label,
            action: r.action,
            entity: r.entity,
            before: r.before,
            after: r.after,
            ip: r.ip,
            user_agent: r.user_agent,
        })
        .collect())
}
