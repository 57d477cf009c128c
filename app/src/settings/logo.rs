//! The ISP's logo: checked by its bytes (not its name or declared type), at most 256 KiB.

use serde_json::json;

use crate::{
    audit::store::{Entry, record},
    auth::{identity::Staff, model::Permission, session::RequestMeta},
    db::TenantTx,
    error::AppError,
    state::AppState,
};

pub const MAX_BYTES: usize = 256 * 1024;

/// The image type the bytes really are, if one we accept.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

pub async fn save(
    state: &AppState,
    staff: &Staff,
    bytes: &[u8],
    meta: &RequestMeta,
) -> Result<(), AppError> {
    staff.require(Permission::ManageSystemSettings)?;
    if bytes.is_empty() {
        return Err(AppError::invalid("logo", "choose an image file"));
    }
    if bytes.len() > MAX_BYTES {
        return Err(AppError::invalid("logo", "must be at most 256 KB"));
    }
    let content_type = sniff(bytes)
        .ok_or_else(|| AppError::invalid("logo", "must be a PNG, JPEG or WebP image"))?;
    let now = state.clock.now();
    let mut tx = state.db.tenant(staff.tenant).await?;
    sqlx::query!(
        r#"insert into tenant_logos (tenant_id, content_type, bytes, updated_at)
           values ($1, $2, $3, $4)
           on conflict (tenant_id) do update
             set content_type = excluded.content_type, bytes = excluded.bytes,
                 updated_at = excluded.updated_at"#,
        staff.tenant.0,
        content_type,
        bytes,
        now
    )
    .execute(tx.conn())
    .await?;
    record(
        &mut tx,
        Entry {
            at: now,
            actor_user_id: Some(staff.user_id),
            actor_label: &staff.email,
            action: "settings.logo_updated",
            entity: Some(("tenant", staff.tenant.0.to_string())),
            before: None,
            after: Some(json!({ "content_type": content_type, "bytes": bytes.len() })),
            meta,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The logo's type and bytes, if the tenant has one.
pub async fn load(tx: &mut TenantTx) -> Result<Option<(String, Vec<u8>)>, AppError> {
    let tenant = tx.tenant();
    let row = sqlx::query!(
        "select content_type, bytes from tenant_logos where tenant_id = $1",
        tenant.0
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|r| (r.content_type, r.bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_recognised_by_their_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"<svg xmlns=..."), None);
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b""), None);
    }
}
