//! ISP sign-up, email verification and password reset. Every answer that could tell whether an
//! email is registered is the same for registered and unknown addresses; the owner of a
//! registered address is told by email instead.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::{
    audit::store::{Entry, record},
    auth::{
        model::{Role, normalise_email, validate_name},
        password,
        session::{self, RequestMeta},
        throttle,
    },
    db::{TenantId, TenantTx},
    error::AppError,
    mail::outbox::{self, Email, Kind},
    state::AppState,
};

pub const VERIFY_TTL: Duration = Duration::hours(24);
pub const RESET_TTL: Duration = Duration::hours(1);
pub const TRIAL: Duration = Duration::days(14);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
    Invitation,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::ResetPassword => "reset_password",
            Purpose::Invitation => "invitation",
        }
    }
}

/// Issues a single-use token for `user_id` and returns it (only its hash is stored).
pub(crate) async fn issue_token(
    tx: &mut TenantTx,
    user_id: Uuid,
    purpose: Purpose,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Result<String, AppError> {
    let (token, hash) = session::new_token()?;
    let tenant = tx.tenant();
    sqlx::query!(
        r#"insert into email_tokens (tenant_id, id, user_id, purpose, token_hash, created_at, expires_at)
           values ($1, $2, $3, $4, $5, $6, $7)"#,
        tenant.0,
        Uuid::new_v4(),
        user_id,
        purpose.as_str(),
        &hash[..],
        now,
        now + ttl
    )
    .execute(tx.conn())
    .await?;
    Ok(token)
}

/// Takes a token from a link: valid, unused, unexpired and for `purpose`, or a clear refusal.
/// Marks it used in the returned transaction, so using it and acting on it commit together.
pub(crate) async fn take_token(
    state: &AppState,
    token: &str,
    purpose: Purpose,
) -> Result<(TenantTx, Uuid), AppError> {
    let refused = || {
        AppError::invalid(
            "token",
            "this link is not valid or has expired; ask for a new one",
        )
    };
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(refused());
    }
    let hash = session::hex(&session::hash_token(token));
    let found = state
        .db
        .email_token_by_hash(&hash)
        .await?
        .ok_or_else(refused)?;
    if found.used || found.purpose != purpose.as_str() || found.expires_at <= state.clock.now() {
        return Err(refused());
    }
    let mut tx = state.db.tenant(found.tenant).await?;
    // Single use even under a double click: only one transaction can flip used_at.
    let taken = sqlx::query!(
        "update email_tokens set used_at = $3 where tenant_id = $1 and id = $2 and used_at is null",
        found.tenant.0,
        found.token_id,
        state.clock.now()
    )
    .execute(tx.conn())
    .await?;
    if taken.rows_affected() != 1 {
        return Err(refused());
    }
    Ok((tx, found.user_id))
}

/// A URL-friendly tenant slug from the company name ("Kilimani Fibre Ltd" -> "kilimani-fibre-ltd").
pub fn slug_from(company: &str) -> String {
    let mut slug = String::new();
    for c in company.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
        if slug.len() >= 30 {
            break;
        }
    }
    let slug = slug.trim_matches('-').to_string();
    if slug.is_empty() {
        "isp".to_string()
    } else {
        slug
    }
}

pub struct SignUp<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub company: &'a str,
    pub password: &'a str,
}

/// Creates the ISP (14-day trial, Nairobi time, KES, no grace period) and its owner, and emails
/// a verification link. For an address that already has an account, emails its owner instead;
/// the caller sees the same answer either way.
#[tracing::instrument(skip_all)]
pub async fn sign_up(
    state: &AppState,
    form: SignUp<'_>,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let name = validate_name("name", form.name)?;
    let company = validate_name("company", form.company)?;
    let email = normalise_email(form.email)?;
    // Hash before looking anything up, so both paths cost the same.
    let hash = password::hash(form.password).await?;
    let now = state.clock.now();

    if let Some(existing) = state.db.login_by_email(&email).await? {
        return tell_existing_owner(state, existing.tenant, &email, now).await;
    }

    let tenant = TenantId(Uuid::new_v4());
    let mut slug = slug_from(&company);
    if state.db.tenant_by_slug(&slug).await?.is_some() {
        slug = format!("{slug}-{}", &Uuid::new_v4().simple().to_string()[..6]);
    }
    let user_id = Uuid::new_v4();
    let mut tx = state.db.tenant(tenant).await?;
    sqlx::query!(
        r#"insert into tenants (id, slug, name, trial_ends_at) values ($1, $2, $3, $4)"#,
        tenant.0,
        slug,
        company,
        now + TRIAL
    )
    .execute(tx.conn())
    .await?;
    let inserted = sqlx::query!(
        r#"insert into users (tenant_id, id, email, name, role, password_hash, password_changed_at)
           values ($1, $2, $3, $4, $5, $6, $7)
           on conflict (email) do nothing"#,
        tenant.0,
        user_id,
        email,
        name,
        Role::Owner as Role,
        hash,
        now
    )
    .execute(tx.conn())
    .await?;
    if inserted.rows_affected() == 0 {
        // Someone signed up with this address a moment ago: same answer as above.
        drop(tx);
        if let Some(existing) = state.db.login_by_email(&email).await? {
            return tell_existing_owner(state, existing.tenant, &email, now).await;
        }
        return Ok(());
    }
    let token = issue_token(&mut tx, user_id, Purpose::VerifyEmail, now, VERIFY_TTL).await?;
    let link = state.mailer.link(&format!("/verify-email?token={token}"));
    let mail = outbox::enqueue(
        &mut tx,
        now,
        Email {
            kind: Kind::VerifyEmail,
            to: &email,
            subject: "Confirm your email for Jasiyo",
            body: format!(
                "Hello {name},\n\nWelcome to Jasiyo. Confirm your email address to start your \
                 14-day trial for {company}:\n\n{link}\n\nThe link works once, for 24 hours. If you \
                 did not sign up, ignore this message.\n"
            ),
        },
    )
    .await?;
    record(
        &mut tx,
        Entry {
            at: now,
            actor_user_id: Some(user_id),
            actor_label: &email,
            action: "account.signed_up",
            entity: Some(("tenant", tenant.0.to_string())),
            before: None,
            after: Some(json!({ "company": company, "slug": slug, "trial_ends_at": now + TRIAL })),
            meta,
        },
    )
    .await?;
    tx.commit().await?;
    outbox::deliver_later(state, tenant, mail);
    Ok(())
}

async fn tell_existing_owner(
    state: &AppState,
    tenant: TenantId,
    email: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let mut tx = state.db.tenant(tenant).await?;
    let link = state.mailer.link("/login");
    let reset = state.mailer.link("/forgot-password");
    let mail = outbox::enqueue(
        &mut tx,
        now,
        Email {
            kind: Kind::SignUpAgain,
            to: email,
            subject: "Someone tried to sign up to Jasiyo with your email",
            body: format!(
                "Hello,\n\nSomeone (perhaps you) tried to create a new Jasiyo account with this \
                 email address, which already has one. Sign in here:\n\n{link}\n\nForgot your \
                 password? Reset it here: {reset}\n\nIf this was not you, you can ignore this message.\n"
            ),
        },
    )
    .await?;
    tx.commit().await?;
    outbox::deliver_later(state, tenant, mail);
    Ok(())
}

/// Confirms the email address behind a verification link.
pub async fn verify_email(
    state: &AppState,
    token: &str,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let (mut tx, user_id) = take_token(state, token, Purpose::VerifyEmail).await?;
    let now = state.clock.now();
    let tenant = tx.tenant();
    let email: String = sqlx::query_scalar!(
        r#"update users set email_verified_at = coalesce(email_verified_at, $3), updated_at = $3
            where tenant_id = $1 and id = $2 returning email"#,
        tenant.0,
        user_id,
        now
    )
    .fetch_one(tx.conn())
    .await?;
    record(
        &mut tx,
        Entry::about_self(now, user_id, &email, "account.email_verified", meta),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Emails a reset link when the address has an account. Always answers the same.
pub async fn request_password_reset(
    state: &AppState,
    email: &str,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let Ok(email) = normalise_email(email) else {
        return Ok(());
    };
    let now = state.clock.now();
    let keys = throttle::keys_for(&format!("reset:{email}"), meta.ip);
    throttle::check(&state.db, &keys, now).await?;
    // Each request counts, found or not: resets are throttled like failed sign-ins.
    throttle::record_failure(&state.db, &keys, now).await?;
    let Some(login) = state.db.login_by_email(&email).await? else {
        return Ok(());
    };
    if login.disabled {
        return Ok(());
    }
    let mut tx = state.db.tenant(login.tenant).await?;
    let token = issue_token(
        &mut tx,
        login.user_id,
        Purpose::ResetPassword,
        now,
        RESET_TTL,
    )
    .await?;
    let link = state.mailer.link(&format!("/reset-password?token={token}"));
    let mail = outbox::enqueue(
        &mut tx,
        now,
        Email {
            kind: Kind::ResetPassword,
            to: &email,
            subject: "Reset your Jasiyo password",
            body: format!(
                "Hello,\n\nUse this link to choose a new password:\n\n{link}\n\nIt works once, for \
                 one hour. If you did not ask for it, ignore this message; your password stays \
                 as it is.\n"
            ),
        },
    )
    .await?;
    record(
        &mut tx,
        Entry::about_self(
            now,
            login.user_id,
            &email,
            "auth.password_reset_requested",
            meta,
        ),
    )
    .await?;
    tx.commit().await?;
    outbox::deliver_later(state, login.tenant, mail);
    Ok(())
}

/// Sets a new password from a reset link; every session of the user ends. Following the link
/// also proves the address, so it counts as verified.
pub async fn reset_password(
    state: &AppState,
    token: &str,
    new_password: &str,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let hash = password::hash(new_password).await?;
    let (mut tx, user_id) = take_token(state, token, Purpose::ResetPassword).await?;
    let now = state.clock.now();
    let tenant = tx.tenant();
    let email: String = sqlx::query_scalar!(
        r#"update users set password_hash = $3, password_changed_at = $4, updated_at = $4,
                  email_verified_at = coalesce(email_verified_at, $4)
            where tenant_id = $1 and id = $2 returning email"#,
        tenant.0,
        user_id,
        hash,
        now
    )
    .fetch_one(tx.conn())
    .await?;
    let ended = session::end_all_for_user(&mut tx, user_id, None).await?;
    record(
        &mut tx,
        Entry::about_self(now, user_id, &email, "auth.password_reset", meta)
            .with_after(json!({ "sessions_ended": ended })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_words_joined_by_hyphens() {
        assert_eq!(slug_from("Kilimani Fibre Ltd."), "kilimani-fibre-ltd");
        assert_eq!(slug_from("  ---  "), "isp");
        assert_eq!(slug_from("Wi-Fi 4 You!!"), "wi-fi-4-you");
        assert!(slug_from(&"a".repeat(80)).len() <= 30);
    }
}
