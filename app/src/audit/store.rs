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
