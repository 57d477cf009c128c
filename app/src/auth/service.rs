//! Signing in and out: the steps behind the server functions, each change in one transaction
//! with its audit entry.

use serde_json::json;

use crate::{
    audit::store::{Entry, record},
    auth::{
        identity::Staff,
        model::normalise_email,
        password::{self, Verified},
        session::{self, RequestMeta},
        throttle,
    },
    error::AppError,
    state::AppState,
};

/// Checks the credentials and starts a new session; returns its token. A session the browser
/// already had is ended first, so a sign-in never continues an old (possibly planted) session.
#[tracing::instrument(skip(state, password, previous_token, meta))]
pub async fn sign_in(
    state: &AppState,
    email: &str,
    password: &str,
    remember: bool,
    previous_token: Option<&str>,
    meta: &RequestMeta,
) -> Result<String, AppError> {
    let email = normalise_email(email).map_err(|_| AppError::SignInFailed)?;
    let now = state.clock.now();
    let keys = throttle::keys_for(&email, meta.ip);
    let account_key = keys[0].0.clone();
    throttle::check(&state.db, &keys, now).await?;

    let login = state.db.login_by_email(&email).await?;
    let stored = login.as_ref().and_then(|l| l.password_hash.clone());
    let verdict = password::verify(password, stored).await?;

    let login = match login {
        Some(login) if verdict != Verified::No && !login.disabled => login,
        other => {
            throttle::record_failure(&state.db, &keys, now).await?;
            if let Some(login) = other {
                let mut tx = state.db.tenant(login.tenant).await?;
                record(
                    &mut tx,
                    Entry {
                        at: now,
                        actor_user_id: None,
                        actor_label: &email,
                        action: "auth.sign_in_failed",
                        entity: Some(("user", login.user_id.to_string())),
                        before: None,
                        after: None,
                        meta,
                    },
                )
                .await?;
                tx.commit().await?;
            }
            return Err(AppError::SignInFailed);
        }
    };

    throttle::clear(&state.db, &account_key).await?;
    if !login.verified {
        return Err(AppError::EmailNotVerified);
    }
    if let Some(previous) = previous_token {
        end_session_of_token(state, previous).await?;
    }
    let mut tx = state.db.tenant(login.tenant).await?;
    if verdict == Verified::YesRehash {
        let fresh = password::hash(password).await?;
        sqlx::query!(
            "update users set password_hash = $3, updated_at = $4 where tenant_id = $1 and id = $2",
            login.tenant.0,
            login.user_id,
            fresh,
            now
        )
        .execute(tx.conn())
        .await?;
    }
    let token =
        session::create(&mut tx, login.user_id, remember, now, state.sessions, meta).await?;
    record(
        &mut tx,
        Entry::about_self(now, login.user_id, &email, "auth.signed_in", meta)
            .with_after(json!({ "remember": remember })),
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

async fn end_session_of_token(state: &AppState, token: &str) -> Result<(), AppError> {
    let hash = session::hex(&session::hash_token(token));
    if let Some((mut tx, found)) = state.db.session_tenant(&hash).await? {
        session::end(&mut tx, found.session_id).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Ends the staff member's current session, with an audit entry.
pub async fn sign_out(state: &AppState, staff: &Staff, meta: &RequestMeta) -> Result<(), AppError> {
    let mut tx = state.db.tenant(staff.tenant).await?;
    session::end(&mut tx, staff.session_id).await?;
    record(
        &mut tx,
        Entry::about_self(
            state.clock.now(),
            staff.user_id,
            &staff.email,
            "auth.signed_out",
            meta,
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Sets a new password for the staff member and ends every other session of theirs.
pub async fn change_password(
    state: &AppState,
    staff: &Staff,
    current: &str,
    new: &str,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let login = state
        .db
        .login_by_email(&staff.email)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if password::verify(current, login.password_hash).await? == Verified::No {
        return Err(AppError::invalid("current_password", "is not right"));
    }
    let fresh = password::hash(new).await?;
    let now = state.clock.now();
    let mut tx = state.db.tenant(staff.tenant).await?;
    sqlx::query!(
        r#"update users set password_hash = $3, password_changed_at = $4, updated_at = $4
            where tenant_id = $1 and id = $2"#,
        staff.tenant.0,
        staff.user_id,
        fresh,
        now
    )
    .execute(tx.conn())
    .await?;
    let ended = session::end_all_for_user(&mut tx, staff.user_id, Some(staff.session_id)).await?;
    record(
        &mut tx,
        Entry::about_self(
            now,
            staff.user_id,
            &staff.email,
            "auth.password_changed",
            meta,
        )
        .with_after(json!({ "other_sessions_ended": ended })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
