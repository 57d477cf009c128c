//! Benchmark support (subcommands of the server binary, driven by `make bench`): a demo ISP with
//! 100,000 customers, the query plans of the customers page, and the billing run against `COPY`
//! (`billing`). Nothing here runs in production.

pub mod billing;
pub mod c2b;
pub mod radius;

use anyhow::Context;
use app::{customers::model::CustomerQuery, db::Db};

use crate::demo::{FIRST_NAMES, LAST_NAMES};

/// Portal sessions for `n` of the demo ISP's customers (spread over the whole table, so the
/// portal home is measured on customers old and new): one `name=value` cookie per line.
pub async fn portal_sessions(db: &Db, n: usize) -> anyhow::Result<Vec<String>> {
    let tenant = db
        .tenant_by_slug(crate::demo::DEMO_SLUG)
        .await?
        .context("run `server seed-demo` first")?;
    let mut tx = db.tenant(tenant).await?;
    let customers: Vec<uuid::Uuid> = sqlx::query_scalar(
        "select id from customers where archived_at is null order by random() limit $1",
    )
    .bind(i64::try_from(n)?)
    .fetch_all(tx.conn())
    .await?;
    let now = chrono::Utc::now();
    let mut cookies = Vec::with_capacity(customers.len());
    for customer in customers {
        let token = app::portal::session::create(
            &mut tx,
            customer,
            None,
            now,
            &app::auth::session::RequestMeta::default(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("a portal session: {e}"))?;
        cookies.push(format!("{}={token}", app::portal::session::COOKIE));
    }
    tx.commit().await?;
    Ok(cookies)
}

/// Adds customers to the demo ISP, each with one service on one of its plans in a spread of
/// states, until it has `target` customers, with set-based SQL.
pub async fn seed_customers(db: &Db, target: usize) -> anyhow::Result<()> {
    let tenant = db
        .tenant_by_slug(crate::demo::DEMO_SLUG)
        .await?
        .context("run `server seed-demo` first")?;
    let mut tx = db.tenant(tenant).await?;
    let have: i64 = sqlx::query_scalar("select count(*) from customers")
        .fetch_one(tx.conn())
        .await?;
    let target = i64::try_from(target)?;
    if have >= target {
        tracing::info!(have, "the demo ISP already has enough customers");
        return Ok(());
    }
    let first: Vec<String> = FIRST_NAMES.iter().map(|s| s.to_string()).collect();
    let last: Vec<String> = LAST_NAMES.iter().map(|s| s.to_string()).collect();
    drop(tx);
    // In batches of 10,000, each its own transaction: one 100,000-row statement grew much
    // slower than linearly (its triggers update rows inserted by the same statement).
    let mut from = have + 1;
    while from <= target {
        let to = (from + 9_999).min(target);
        let mut tx = db.tenant(tenant).await?;
        // Account numbers from 200001 (clear of the demo's 1001-1200); ages over two years.
        sqlx::query(
            "insert into customers (tenant_id, id, account_number, name, phone, location, sms_consent,
                                    created_at, updated_at)
             select $1, gen_random_uuid(), (200000 + g)::text,
                    $2[1 + g % 40] || ' ' || $3[1 + (g / 40 + g / 1600) % 40],
                    '2547' || lpad((g * 7919 % 100000000)::text, 8, '0'),
                    'Estate ' || (g % 300), g % 4 <> 0,
                    now() - make_interval(mins => (g * 10)::int), now()
               from generate_series($4::bigint, $5::bigint) g",
        )
        .bind(tenant.0)
        .bind(&first)
        .bind(&last)
        .bind(from)
        .bind(to)
        .execute(tx.conn())
        .await
        .context("inserting customers")?;
        // One service each: mostly active, some expired, a few suspended; expiries over two
        // months.
        let accounts: Vec<String> = (from..=to).map(|g| (200_000 + g).to_string()).collect();
        sqlx::query(
            "insert into services (tenant_id, id, customer_id, plan_id, username, password_enc, status,
                                   billing_mode, starts_at, expires_at, created_at, updated_at)
             select c.tenant_id, gen_random_uuid(), c.id,
                    (select id from plans p where p.tenant_id = c.tenant_id
                      order by p.price_minor offset (n % 5) limit 1),
                    'u' || c.account_number, '\\x00'::bytea,
                    case when n % 17 = 0 then 'suspended' when n % 9 = 0 then 'expired' else 'active' end,
                    'prepaid', now() - interval '30 days',
                    case when n % 9 = 0 and n % 17 <> 0 then now() - make_interval(hours => (1 + n % 200)::int)
                         else now() + make_interval(hours => (1 + n % 1440)::int) end,
                    now(), now()
               from (select c.*, c.account_number::bigint as n from customers c
                      where c.tenant_id = $1 and c.account_number = any($2)) c",
        )
        .bind(tenant.0)
        .bind(&accounts)
        .execute(tx.conn())
        .await
        .context("inserting services")?;
        tx.commit().await?;
        tracing::info!(done = to, "customers added");
        from = to + 1;
    }
    tracing::info!(target, "the demo ISP has its customers");
    Ok(())
}

/// The plans PostgreSQL runs for the customers page: the first page, or a search.
pub async fn explain(db: &Db, search: Option<&str>) -> anyhow::Result<Vec<String>> {
    let tenant = db
        .tenant_by_slug(crate::demo::DEMO_SLUG)
        .await?
        .context("run `server seed-demo` first")?;
    let filter = CustomerQuery {
        q: search.unwrap_or_default().to_string(),
        ..CustomerQuery::default()
    }
    .check()?;
    let mut tx = db.tenant(tenant).await?;
    let lines = app::customers::service::explain(&mut tx, &filter, chrono::Utc::now()).await?;
    tx.commit().await?;
    Ok(lines)
}
