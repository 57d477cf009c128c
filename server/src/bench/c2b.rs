//! The C2B benchmark's ISP (`server bench-c2b-seed N`, driven by `make bench`): `n` customers
//! (account numbers B1 to Bn) with prepaid services due, each with its renewal invoice issued by
//! a billing run and waiting to be paid, and M-Pesa set up with a hook token. The load itself is
//! Debian's `wrk` posting paybill confirmations to `/hooks/mpesa/{token}/c2b/confirmation` on
//! the release server: each one is stored, credited, allocated to the renewal invoice and renews
//! the service, exactly as in production.

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use app::{
    billing::job::{Options, run_tenant},
    db::TenantId,
    payments::settings,
    state::AppState,
};
use sqlx::PgPool;
use uuid::Uuid;

/// What the seed made, for the bench script.
#[derive(Debug)]
pub struct Seeded {
    pub tenant: TenantId,
    pub hook_token: String,
    pub seed: Duration,
}

pub async fn seed(state: &AppState, owner: &PgPool, n: i64) -> anyhow::Result<Seeded> {
    ensure!(n > 0, "at least one customer");
    let started = Instant::now();
    let tenant = TenantId(Uuid::new_v4());
    super::billing::seed(state, tenant, n, false).await?;
    let report = run_tenant(
        state,
        tenant,
        &Options {
            batch_size: 1_000,
            ..Options::default()
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("the billing run failed: {e}"))?;
    ensure!(
        report.invoices == usize::try_from(n)?,
        "the billing run issued {} renewal invoices, not {n}",
        report.invoices
    );
    let mut tx = state.db.tenant(tenant).await?;
    settings::ensure_row(&mut tx, &state.secrets, state.clock.now())
        .await
        .map_err(|e| anyhow::anyhow!("setting up payments: {e}"))?;
    let hook_token = settings::hook_token(&mut tx, &state.secrets)
        .await
        .map_err(|e| anyhow::anyhow!("reading the hook token: {e}"))?;
    tx.commit().await?;
    sqlx::raw_sql(
        "vacuum (analyze) customers, services, payments, ledger_transactions, ledger_entries,
                          invoices, invoice_lines, plans, tenants, payment_settings,
                          provider_events",
    )
    .execute(owner)
    .await
    .context("vacuuming after the seed")?;
    Ok(Seeded {
        tenant,
        hook_token,
        seed: started.elapsed(),
    })
}
