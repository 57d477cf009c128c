//! Signing subscribers in to an ISP's portal, and what the portal shows them.
//!
//! One-time codes: six digits sent by SMS to a phone number of the ISP's customers, valid
//! 5 minutes, 5 tries, only the latest code of a number counts. A number gets at most one code a
//! minute and five an hour; an address asking for codes or failing them is slowed down with the
//! sign-in throttle. Whether a number belongs to a customer is never told: a stranger's number
//! gets the same answer and no SMS. Codes are kept only as an HMAC bound to the ISP and the
//! number, so a code for one ISP is nothing at another's.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::{
    audit::store::{Entry, record},
    auth::{
        password::{self, Verified},
        session::{RequestMeta, hash_token, hex},
        throttle,
    },
    db::{TenantId, TenantTx},
    error::AppError,
    messaging::{
        sms::{self, Sms},
        template::{self, Event, Language, Placeholder, Values, render},
        templates,
    },
    payments::links,
    phone::normalise_phone,
    portal::{
        model::{PortalHome, PortalInvoice, PortalPlanChoice, PortalService, PortalStart},
        session::{self, Subscriber},
    },
    state::AppState,
};

pub const CODE_VALID: Duration = Duration::minutes(5);
pub const CODE_TRIES: i32 = 5;
/// A number gets at most one code per minute...
pub const CODE_EVERY: Duration = Duration::seconds(60);
/// ...and this many an hour.
pub const CODES_PER_HOUR: i64 = 5;

/// The ISP behind a portal address.
pub async fn tenant(state: &AppState, slug: &str) -> Result<TenantId, AppError> {
    let slug = slug.trim();
    let not_found = || AppError::NotFound {
        what: "That portal".into(),
    };
    if slug.is_empty() || slug.len() > 40 {
        return Err(not_found());
    }
    state.db.tenant_by_slug(slug).await?.ok_or_else(not_found)
}

/// What the sign-in page shows before anyone is signed in.
pub async fn start(state: &AppState, slug: &str) -> Result<PortalStart, AppError> {
    let tenant = tenant(state, slug).await?;
    let mut tx = state.db.tenant(tenant).await?;
    let business = sqlx::query_scalar!("select name from tenants where id = $1", tenant.0)
        .fetch_one(tx.conn())
        .await?;
    let has_logo = has_logo(&mut tx).await?;
    tx.commit().await?;
    Ok(PortalStart {
        business,
        slug: slug.trim().to_string(),
        has_logo,
    })
}

pub(crate) async fn has_logo(tx: &mut TenantTx) -> Result<bool, AppError> {
    let tenant = tx.tenant();
    Ok(sqlx::query_scalar!(
        r#"select exists(select 1 from tenant_logos where tenant_id = $1) as "found!""#,
        tenant.0
    )
    .fetch_one(tx.conn())
    .await?)
}

fn code_mac(state: &AppState, tenant: TenantId, phone: &str, code: &str) -> [u8; 32] {
    state.secrets.mac(&[
        b"portal code",
        tenant.0.as_bytes(),
        phone.as_bytes(),
        code.as_bytes(),
    ])
}

/// Six random digits, uniformly (no modulo bias).
fn new_code() -> Result<String, AppError> {
    loop {
        let mut bytes = [0u8; 4];
        getrandom::fill(&mut bytes).map_err(|e| AppError::internal(&std::io::Error::other(e)))?;
        let n = u32::from_be_bytes(bytes);
        // 4,294,000,000 is the largest multiple of 1,000,000 that fits.
        if n < 4_294_000_000 {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

/// Requests for codes from one address in one hour before it is slowed down. Kenyan mobile
/// networks put many subscribers behind one address, so this is generous, and the count starts
/// afresh each hour (the key names the hour) rather than building up for ever.
pub const CODE_REQUESTS_PER_ADDRESS_HOUR: i32 = 60;

fn ip_keys(meta: &RequestMeta, what: &str, free: i32, now: DateTime<Utc>) -> Vec<(String, i32)> {
    throttle::hourly_ip_keys(meta.ip, &format!("portal-{what}"), free, now)
}

/// Sends a sign-in code to `phone` if it is a customer's; answers the same either way.
#[tracing::instrument(skip(state, meta))]
pub async fn request_code(
    state: &AppState,
    slug: &str,
    phone: &str,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let tenant = tenant(state, slug).await?;
    let phone = normalise_phone("phone", phone)?;
    let now = state.clock.now();
    let ip = ip_keys(meta, "code", CODE_REQUESTS_PER_ADDRESS_HOUR, now);
    throttle::check(&state.db, &ip, now).await?;
    let mut tx = state.db.tenant(tenant).await?;
    // One at a time per number: the row lock on the newest code (or none) serialises requests.
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtextextended($1 || ':' || $2, 0))",
        tenant.0.to_string(),
        phone
    )
    .execute(tx.conn())
    .await?;
    let recent = sqlx::query!(
        r#"select count(*) as "n!", max(created_at) as last
             from portal_codes where tenant_id = $1 and phone = $2 and created_at > $3"#,
        tenant.0,
        phone,
        now - Duration::hours(1)
    )
    .fetch_one(tx.conn())
    .await?;
    if let Some(last) = recent.last
        && now - last < CODE_EVERY
    {
        return Err(AppError::Throttled {
            retry_after_seconds: u64::try_from((last + CODE_EVERY - now).num_seconds().max(1))
                .unwrap_or(60),
        });
    }
    if recent.n >= CODES_PER_HOUR {
        return Err(AppError::Throttled {
            retry_after_seconds: 3600,
        });
    }
    // Every request counts against the address (a success of any kind clears nothing).
    throttle::record_failure(&state.db, &ip, now).await?;
    let customer = sqlx::query!(
        "select id, language from customers where tenant_id = $1 and phone = $2
            and archived_at is null
          order by created_at desc limit 1",
        tenant.0,
        phone
    )
    .fetch_optional(tx.conn())
    .await?;
    let Some(customer) = customer else {
        tracing::info!(%tenant, "portal code asked for a number that is no customer's");
        tx.commit().await?;
        return Ok(());
    };
    let code = new_code()?;
    sqlx::query!(
        "insert into portal_codes (tenant_id, id, phone, code_hash, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6)",
        tenant.0,
        Uuid::new_v4(),
        phone,
        &code_mac(state, tenant, &phone, &code)[..],
        now,
        now + CODE_VALID
    )
    .execute(tx.conn())
    .await?;
    let business = sqlx::query_scalar!("select name from tenants where id = $1", tenant.0)
        .fetch_one(tx.conn())
        .await?;
    let language = Language::parse("language", &customer.language).unwrap_or_default();
    let template = templates::text_for(&mut tx, Event::PortalOtp, language).await?;
    let body = template::fit(render(
        &template,
        &Values::new()
            .set(Placeholder::Code, code.as_str())
            .set(Placeholder::Business, business),
    ));
    sms::enqueue(
        &mut tx,
        now,
        &Sms {
            customer: Some(customer.id),
            kind: "portal_code",
            recipient: &phone,
            body: &body,
            urgent: true,
        },
    )
    .await?;
    tx.commit().await?;
    state.sms.nudge();
    Ok(())
}

/// Checks a code; on success starts a session for the number's customer and returns its token.
#[tracing::instrument(skip(state, code, meta))]
pub async fn verify_code(
    state: &AppState,
    slug: &str,
    phone: &str,
    code: &str,
    meta: &RequestMeta,
) -> Result<String, AppError> {
    let tenant = tenant(state, slug).await?;
    let phone = normalise_phone("phone", phone)?;
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::invalid("code", "is the 6 digits in the SMS"));
    }
    let now = state.clock.now();
    let ip = ip_keys(meta, "verify", throttle::IP_FREE_FAILURES, now);
    throttle::check(&state.db, &ip, now).await?;
    let mut tx = state.db.tenant(tenant).await?;
    let latest = sqlx::query!(
        "select id, code_hash, expires_at, attempts, used_at from portal_codes
          where tenant_id = $1 and phone = $2 order by created_at desc limit 1 for update",
        tenant.0,
        phone
    )
    .fetch_optional(tx.conn())
    .await?;
    let Some(latest) = latest.filter(|c| c.used_at.is_none() && c.expires_at > now) else {
        tx.commit().await?;
        throttle::record_failure(&state.db, &ip, now).await?;
        return Err(AppError::invalid(
            "code",
            "has expired or was not sent: ask for a new one",
        ));
    };
    if latest.attempts >= CODE_TRIES {
        tx.commit().await?;
        return Err(AppError::invalid(
            "code",
            "was tried too many times: ask for a new one",
        ));
    }
    let expected = code_mac(state, tenant, &phone, code);
    if !crate::network::radius_server::constant_eq(&expected, &latest.code_hash) {
        sqlx::query!(
            "update portal_codes set attempts = attempts + 1 where tenant_id = $1 and id = $2",
            tenant.0,
            latest.id
        )
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        throttle::record_failure(&state.db, &ip, now).await?;
        let left = CODE_TRIES - latest.attempts - 1;
        return Err(AppError::invalid(
            "code",
            if left > 0 {
                format!(
                    "is not right: {left} more {}",
                    if left == 1 { "try" } else { "tries" }
                )
            } else {
                "is not right, and that was the last try: ask for a new one".to_string()
            },
        ));
    }
    sqlx::query!(
        "update portal_codes set used_at = $3 where tenant_id = $1 and id = $2",
        tenant.0,
        latest.id,
        now
    )
    .execute(tx.conn())
    .await?;
    let Some(customer) = sqlx::query_scalar!(
        "select id from customers where tenant_id = $1 and phone = $2 and archived_at is null
          order by created_at desc limit 1",
        tenant.0,
        phone
    )
    .fetch_optional(tx.conn())
    .await?
    else {
        tx.commit().await?;
        return Err(AppError::invalid(
            "phone",
            "has no account with this provider",
        ));
    };
    let token = session::create(&mut tx, customer, Some(&phone), now, meta).await?;
    audit(&mut tx, now, customer, "portal.sign_in", "code", meta).await?;
    tx.commit().await?;
    Ok(token)
}

/// Signs in with the account number and the password the subscriber set.
#[tracing::instrument(skip(state, password, meta))]
pub async fn sign_in_password(
    state: &AppState,
    slug: &str,
    account: &str,
    password: &str,
    meta: &RequestMeta,
) -> Result<String, AppError> {
    let tenant = tenant(state, slug).await?;
    let account = account.trim().to_uppercase();
    let now = state.clock.now();
    let mut keys = ip_keys(meta, "password", throttle::IP_FREE_FAILURES, now);
    let account_key = format!(
        "portal-account:{}",
        hex(&hash_token(&format!("{}/{account}", tenant.0)))
    );
    keys.push((account_key.clone(), throttle::ACCOUNT_FREE_FAILURES));
    throttle::check(&state.db, &keys, now).await?;
    let mut tx = state.db.tenant(tenant).await?;
    let found = sqlx::query!(
        "select id, portal_password_hash from customers
          where tenant_id = $1 and account_number = $2 and archived_at is null",
        tenant.0,
        account
    )
    .fetch_optional(tx.conn())
    .await?;
    let stored = found.as_ref().and_then(|f| f.portal_password_hash.clone());
    let verdict = password::verify(password, stored).await?;
    let Some(found) = found.filter(|_| verdict != Verified::No) else {
        tx.commit().await?;
        throttle::record_failure(&state.db, &keys, now).await?;
        return Err(AppError::invalid(
            "password",
            "the account number or password is not right",
        ));
    };
    throttle::clear(&state.db, &account_key).await?;
    let token = session::create(&mut tx, found.id, None, now, meta).await?;
    audit(&mut tx, now, found.id, "portal.sign_in", "password", meta).await?;
    tx.commit().await?;
    Ok(token)
}

async fn audit(
    tx: &mut TenantTx,
    now: DateTime<Utc>,
    customer: Uuid,
    action: &str,
    how: &str,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    record(
        tx,
        Entry {
            at: now,
            actor_user_id: None,
            actor_label: "subscriber",
            action,
            entity: Some(("customer", customer.to_string())),
            before: None,
            after: Some(serde_json::json!({ "by": how })),
            meta,
        },
    )
    .await
}

/// The subscriber behind `token`, if signed in to `slug`'s portal (a session of another ISP is
/// no session here).
pub async fn subscriber(
    state: &AppState,
    slug: &str,
    token: Option<&str>,
) -> Result<Subscriber, AppError> {
    let token = token.ok_or(AppError::Unauthenticated)?;
    let tenant = tenant(state, slug).await?;
    match session::resolve(&state.db, token, state.clock.now()).await? {
        Some(s) if s.tenant == tenant => Ok(s),
        _ => Err(AppError::Unauthenticated),
    }
}

/// Sets (or changes) the subscriber's own password.
pub async fn set_password(
    state: &AppState,
    who: &Subscriber,
    new_password: &str,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let hash = password::hash(new_password).await?;
    let now = state.clock.now();
    let mut tx = state.db.tenant(who.tenant).await?;
    sqlx::query!(
        "update customers set portal_password_hash = $3 where tenant_id = $1 and id = $2",
        who.tenant.0,
        who.customer_id,
        hash
    )
    .execute(tx.conn())
    .await?;
    audit(
        &mut tx,
        now,
        who.customer_id,
        "portal.password_set",
        "portal",
        meta,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn sign_out(state: &AppState, who: &Subscriber) -> Result<(), AppError> {
    let mut tx = state.db.tenant(who.tenant).await?;
    session::end(&mut tx, who.session_id).await?;
    tx.commit().await?;
    Ok(())
}

/// A speed as people say it: "8 Mbps", "512 kbps".
fn mbps(kbps: i32) -> String {
    if kbps % 1000 == 0 {
        format!("{} Mbps", kbps / 1000)
    } else {
        format!("{kbps} kbps")
    }
}

/// What the portal's home shows the subscriber: their services, what they owe and how to pay
/// (the payment page's own card), their invoices.
pub async fn home(state: &AppState, slug: &str, who: &Subscriber) -> Result<PortalHome, AppError> {
    let mut tx = state.db.tenant(who.tenant).await?;
    let pay_code = links::link_code(&mut tx, state, who.customer_id).await?;
    let now = state.clock.now();
    let on_sale = sqlx::query!(
        r#"select id, name, kind, price_minor, validity_unit, validity_count, download_kbps,
                  upload_kbps
             from plans where tenant_id = $1 and archived_at is null
            order by price_minor, name"#,
        who.tenant.0
    )
    .fetch_all(tx.conn())
    .await?;
    let services = sqlx::query!(
        r#"select s.id, s.username, s.status, s.expires_at, p.name as plan, p.kind,
                  p.download_kbps, p.upload_kbps, s.plan_id, p.price_minor,
                  cur.period_start as "period_start?", cur.period_end as "period_end?",
                  cur.total_minor as "period_charged?", used.bytes as "used?"
             from services s join plans p on p.tenant_id = s.tenant_id and p.id = s.plan_id
             -- Data this period (or the last 30 days), where RADIUS accounting has any.
             left join lateral (
                 select sum(r.input_bytes + r.output_bytes)::bigint as bytes
                   from radius_sessions r
                  where r.tenant_id = s.tenant_id and r.username = s.username
                    and r.started_at >= coalesce(
                          (select i.period_start from invoices i
                            where i.tenant_id = s.tenant_id and i.service_id = s.id
                              and i.purpose = 'period' and i.period_start <= $3
                              and i.period_end > $3 and i.status not in ('cancelled', 'waived')
                            order by i.period_start desc limit 1),
                          $3 - interval '30 days')
                 having count(*) > 0) used on true
             left join lateral (
                 select i.period_start, i.period_end, i.total_minor from invoices i
                  where i.tenant_id = s.tenant_id and i.service_id = s.id and i.purpose = 'period'
                    and i.period_start <= $3 and i.period_end > $3
                    and i.status not in ('cancelled', 'waived')
                  order by i.period_start desc limit 1) cur on true
            where s.tenant_id = $1 and s.customer_id = $2
            order by s.created_at"#,
        who.tenant.0,
        who.customer_id,
        now
    )
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .map(|s| PortalService {
        choices: on_sale
            .iter()
            .filter(|p| p.kind == s.kind && p.id != s.plan_id)
            .map(|p| PortalPlanChoice {
                id: p.id,
                name: p.name.clone(),
                price_minor: p.price_minor,
                validity: crate::plans::model::ValidityUnit::parse(&p.validity_unit)
                    .map(|unit| crate::plans::model::validity_label(p.validity_count, unit))
                    .unwrap_or_default(),
                speed: format!("{} down, {} up", mbps(p.download_kbps), mbps(p.upload_kbps)),
            })
            .collect(),
        plan_id: s.plan_id,
        price_minor: s.price_minor,
        data_used_bytes: s.used,
        invoiced_period: match (s.period_start, s.period_end, s.period_charged) {
            (Some(start), Some(end), Some(charged)) => Some((start, end, charged)),
            _ => None,
        },
        id: s.id,
        plan: s.plan,
        kind: s.kind,
        username: s.username,
        status: s.status,
        expires_at: s.expires_at,
        speed: format!("{} down, {} up", mbps(s.download_kbps), mbps(s.upload_kbps)),
    })
    .collect();
    let invoices = sqlx::query!(
        r#"select id, number, status, total_minor, balance_minor, issued_at, due_at
             from invoices where tenant_id = $1 and customer_id = $2
            order by issued_at desc limit 24"#,
        who.tenant.0,
        who.customer_id
    )
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .map(|i| PortalInvoice {
        id: i.id,
        number: crate::billing::model::invoice_number(i.number),
        status: i.status,
        total_minor: i.total_minor,
        balance_minor: i.balance_minor,
        issued_at: i.issued_at,
        due_at: i.due_at,
    })
    .collect();
    let has_password = sqlx::query_scalar!(
        r#"select portal_password_hash is not null as "set!" from customers
            where tenant_id = $1 and id = $2"#,
        who.tenant.0,
        who.customer_id
    )
    .fetch_one(tx.conn())
    .await?;
    let vat = crate::billing::invoices::terms(&mut tx).await?.vat;
    let tickets = crate::tickets::service::for_subscriber(&mut tx, who).await?;
    let has_logo = has_logo(&mut tx).await?;
    tx.commit().await?;
    let pay = links::page(state, &pay_code).await?;
    Ok(PortalHome {
        slug: slug.to_string(),
        pay_code,
        pay,
        services,
        invoices,
        has_password,
        now,
        vat,
        tickets,
        has_logo,
    })
}

/// Moves one of the subscriber's services to another plan of the same kind on sale. What the
/// rest of the period costs is billed at once, as when staff change it (a credit note for the
/// unused part, an invoice for the new plan's), so the portal's Pay then asks for what is due.
pub async fn change_plan(
    state: &AppState,
    who: &Subscriber,
    service: Uuid,
    plan: Uuid,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let now = state.clock.now();
    let mut tx = state.db.tenant(who.tenant).await?;
    let current = sqlx::query!(
        r#"select s.plan_id, p.kind, p.name from services s
             join plans p on p.tenant_id = s.tenant_id and p.id = s.plan_id
            where s.tenant_id = $1 and s.id = $2 and s.customer_id = $3
            for update of s"#,
        who.tenant.0,
        service,
        who.customer_id
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| AppError::NotFound {
        what: "That service".into(),
    })?;
    let terms = crate::customers::service::plan_terms(&mut tx, plan).await?;
    if terms.id == current.plan_id {
        return Err(AppError::invalid("plan", "is the plan you are on"));
    }
    if terms.archived || terms.kind.as_str() != current.kind {
        return Err(AppError::invalid(
            "plan",
            "is not one you can move this service to",
        ));
    }
    sqlx::query!(
        "update services set plan_id = $3, updated_at = $4 where tenant_id = $1 and id = $2",
        who.tenant.0,
        service,
        terms.id,
        now
    )
    .execute(tx.conn())
    .await?;
    crate::billing::actions::bill_plan_change(&mut tx, now, None, who.customer_id, service, &terms)
        .await?;
    record(
        &mut tx,
        Entry {
            at: now,
            actor_user_id: None,
            actor_label: "subscriber",
            action: "service.plan_changed",
            entity: Some(("service", service.to_string())),
            before: Some(serde_json::json!({ "plan": current.name })),
            after: Some(serde_json::json!({ "plan": terms.name, "by": "portal" })),
            meta,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
