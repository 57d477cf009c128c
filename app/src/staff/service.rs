//! Staff management steps, each one transaction with its audit entry.

use chrono::Duration;
use serde_json::json;
use uuid::Uuid;

use crate::{
    audit::store::{Entry, record},
    auth::{
        account::{Purpose, issue_token, take_token},
        identity::Staff,
        model::{Permission, Role, normalise_email, validate_name},
        password,
        session::{self, RequestMeta},
    },
    db::TenantTx,
    error::AppError,
    mail::outbox::{self, Email, Kind},
    staff::model::{StaffMember, StaffStatus, parse_role},
    state::AppState,
};

pub const INVITATION_TTL: Duration = Duration::days(7);

pub async fn list(tx: &mut TenantTx) -> Result<Vec<StaffMember>, AppError> {
    let tenant = tx.tenant();
    let rows = sqlx::query!(
        r#"select id, name, email, role as "role: Role",
                  case when disabled_at is not null then 'disabled'
                       when password_hash is null then 'invited'
                       else 'active' end as "status!"
             from users where tenant_id = $1
            order by role, lower(name)"#,
        tenant.0
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| StaffMember {
            id: r.id,
            name: r.name,
            email: r.email,
            role: r.role,
            status: match r.status.as_str() {
                "disabled" => StaffStatus::Disabled,
                "invited" => StaffStatus::Invited,
                _ => StaffStatus::Active,
            },
        })
        .collect())
}

/// Invites a new staff member by email with a role; they set their password from the link.
pub async fn invite(
    state: &AppState,
    actor: &Staff,
    name: &str,
    email: &str,
    role: &str,
    meta: &RequestMeta,
) -> Result<StaffMember, AppError> {
    actor.require(Permission::ManageStaff)?;
    let name = validate_name("name", name)?;
    let email = normalise_email(email)?;
    let role = parse_role(role)?;
    if state.db.login_by_email(&email).await?.is_some() {
        return Err(AppError::invalid(
            "email",
            "already has a Jasiyo account; use another address",
        ));
    }
    let now = state.clock.now();
    let id = Uuid::new_v4();
    let mut tx = state.db.tenant(actor.tenant).await?;
    let isp: String = sqlx::query_scalar!("select name from tenants where id = $1", actor.tenant.0)
        .fetch_one(tx.conn())
        .await?;
    let inserted = sqlx::query!(
        r#"insert into users (tenant_id, id, email, name, role) values ($1, $2, $3, $4, $5)
           on conflict (email) do nothing"#,
        actor.tenant.0,
        id,
        email,
        name,
        role as Role
    )
    .execute(tx.conn())
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(AppError::invalid(
            "email",
            "already has a Jasiyo account; use another address",
        ));
    }
    let token = issue_token(&mut tx, id, Purpose::Invitation, now, INVITATION_TTL).await?;
    let link = state
        .mailer
        .link(&format!("/accept-invitation?token={token}"));
    let mail = outbox::enqueue(
        &mut tx,
        now,
        Email {
            kind: Kind::Invitation,
            to: &email,
            subject: &format!("{} invited you to {isp} on Jasiyo", actor.name),
            body: format!(
                "Hello {name},\n\n{} invited you to join {isp} on Jasiyo as {}. Choose your \
                 password here:\n\n{link}\n\nThe link works once, for 7 days.\n",
                actor.name,
                role.label().to_lowercase()
            ),
        },
    )
    .await?;
    record(
        &mut tx,
        Entry {
            at: now,
            actor_user_id: Some(actor.user_id),
            actor_label: &actor.email,
            action: "staff.invited",
            entity: Some(("user", id.to_string())),
            before: None,
            after: Some(json!({ "email": email, "name": name, "role": role })),
            meta,
        },
    )
    .await?;
    tx.commit().await?;
    outbox::deliver_later(state, actor.tenant, mail);
    Ok(StaffMember {
        id,
        name,
        email,
        role,
        status: StaffStatus::Invited,
    })
}

/// The invitee sets a password from the link; the address is thereby confirmed.
pub async fn accept(
    state: &AppState,
    token: &str,
    new_password: &str,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let hash = password::hash(new_password).await?;
    let (mut tx, user_id) = take_token(state, token, Purpose::Invitation).await?;
    let now = state.clock.now();
    let tenant = tx.tenant();
    let email: String = sqlx::query_scalar!(
        r#"update users set password_hash = $3, password_changed_at = $4, email_verified_at = $4,
                  updated_at = $4
            where tenant_id = $1 and id = $2 returning email"#,
        tenant.0,
        user_id,
        hash,
        now
    )
    .fetch_one(tx.conn())
    .await?;
    record(
        &mut tx,
        Entry::about_self(now, user_id, &email, "staff.joined", meta),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Loads a staff member of the actor's tenant, locked for change; another tenant's id is
/// simply not found.
async fn target(tx: &mut TenantTx, user_id: Uuid) -> Result<(Role, bool, String), AppError> {
    let tenant = tx.tenant();
    let row = sqlx::query!(
        r#"select role as "role: Role", disabled_at is not null as "disabled!", email
             from users where tenant_id = $1 and id = $2 for update"#,
        tenant.0,
        user_id
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| AppError::NotFound {
        what: "That staff member".into(),
    })?;
    Ok((row.role, row.disabled, row.email))
}

/// Gives a staff member another role. Their sessions end: a privilege change means a new
/// sign-in. The owner's role cannot change.
pub async fn change_role(
    state: &AppState,
    actor: &Staff,
    user_id: Uuid,
    role: &str,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    actor.require(Permission::ManageStaff)?;
    let role = parse_role(role)?;
    let mut tx = state.db.tenant(actor.tenant).await?;
    let (before, _, email) = target(&mut tx, user_id).await?;
    if before == Role::Owner {
        return Err(AppError::invalid("role", "the owner's role cannot change"));
    }
    if before == role {
        return Ok(());
    }
    sqlx::query!(
        "update users set role = $3, updated_at = $4 where tenant_id = $1 and id = $2",
        actor.tenant.0,
        user_id,
        role as Role,
        state.clock.now()
    )
    .execute(tx.conn())
    .await?;
    session::end_all_for_user(&mut tx, user_id, None).await?;
    record(
        &mut tx,
        Entry {
            at: state.clock.now(),
            actor_user_id: Some(actor.user_id),
            actor_label: &actor.email,
            action: "staff.role_changed",
            entity: Some(("user", user_id.to_string())),
            before: Some(json!({ "email": email, "role": before })),
            after: Some(json!({ "email": email, "role": role })),
            meta,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Disables (sessions end at once) or re-enables a staff member. Not the owner, not oneself.
pub async fn set_disabled(
    state: &AppState,
    actor: &Staff,
    user_id: Uuid,
    disabled: bool,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    actor.require(Permission::ManageStaff)?;
    if user_id == actor.user_id {
        return Err(AppError::invalid("user", "you cannot disable yourself"));
    }
    let now = state.clock.now();
    let mut tx = state.db.tenant(actor.tenant).await?;
    let (role, was_disabled, email) = target(&mut tx, user_id).await?;
    if role == Role::Owner {
        return Err(AppError::invalid("user", "the owner cannot be disabled"));
    }
    if was_disabled == disabled {
        return Ok(());
    }
    sqlx::query!(
        r#"update users set disabled_at = case when $3::boolean then $4::timestamptz end, updated_at = $4
            where tenant_id = $1 and id = $2"#,
        actor.tenant.0,
        user_id,
        disabled,
        now
    )
    .execute(tx.conn())
    .await?;
    if disabled {
        session::end_all_for_user(&mut tx, user_id, None).await?;
    }
    record(
        &mut tx,
        Entry {
            at: now,
            actor_user_id: Some(actor.user_id),
            actor_label: &actor.email,
            action: if disabled {
                "staff.disabled"
            } else {
                "staff.enabled"
            },
            entity: Some(("user", user_id.to_string())),
            before: Some(json!({ "email": email, "disabled": was_disabled })),
            after: Some(json!({ "email": email, "disabled": disabled })),
            meta,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
