//! The billing benchmark (`server bench-billing N`, driven by `make bench`): one billing run that
//! renews N prepaid services from their customers' credit, measured against a bare `COPY` of the
//! very rows that run wrote into tables with the same columns, checks and indexes.
//!
//! The run is the real job (`billing::job::run_tenant`, batches of 1,000) on a fresh ISP of its
//! own, so nothing else in the database is due. The reference is what PostgreSQL itself needs to
//! store the same data: the invoices, their lines, the invoice journal transactions and their
//! entries, and one new version of each service row (the expiry move), copied out after the run
//! and copied into `bench_copy.*` in one transaction. The ratio between the two is the cost of
//! everything the job does beyond storing its result: finding the due services, locking them,
//! reading credit, checking keys, the balance trigger, foreign keys and row-level security.

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use app::{
    billing::job::{Options, run_tenant},
    db::TenantId,
    plans::{self, model::PlanForm},
    state::AppState,
    workspace::store,
};
use futures_util::TryStreamExt;
use sqlx::{AssertSqlSafe, Connection, PgPool};
use uuid::Uuid;

/// The plan every benchmark service is on: KES 2,000 a month.
const PRICE_MINOR: i64 = 200_000;

/// What the benchmark measured.
#[derive(Debug)]
pub struct Figures {
    pub services: i64,
    pub seed: Duration,
    pub run: Duration,
    pub copy: Duration,
    /// Rows per table that the run wrote and the reference copied.
    pub rows: Vec<(&'static str, u64)>,
}

impl Figures {
    pub fn ratio(&self) -> f64 {
        self.run.as_secs_f64() / self.copy.as_secs_f64().max(f64::EPSILON)
    }
}

/// The tables the reference copies, each with the rows of the run it takes (the ISP's id is
/// `$1`; every row of these tables in the benchmark ISP came from the run, except the payment
/// journals that gave the customers their credit).
const COPIED: [(&str, &str); 5] = [
    ("invoices", "select * from invoices where tenant_id = $1"),
    (
        "invoice_lines",
        "select * from invoice_lines where tenant_id = $1",
    ),
    (
        "ledger_transactions",
        "select * from ledger_transactions where tenant_id = $1 and kind = 'invoice'",
    ),
    (
        "ledger_entries",
        "select e.* from ledger_entries e
           join ledger_transactions t on t.tenant_id = e.tenant_id and t.id = e.transaction_id
          where e.tenant_id = $1 and t.kind = 'invoice'",
    ),
    ("services", "select * from services where tenant_id = $1"),
];

/// Seeds a new ISP with `n` due prepaid services whose customers hold a month's credit, runs
/// the billing job once, checks it renewed every one, then times the `COPY` reference.
pub async fn run(state: &AppState, owner: &PgPool, n: i64) -> anyhow::Result<Figures> {
    ensure!(n > 0, "at least one service");
    let tenant = TenantId(Uuid::new_v4());
    let seed_started = Instant::now();
    seed(state, tenant, n, true).await?;
    // Statistics and a vacuum as a database in use would have them (the runtime role may not).
    sqlx::raw_sql(
        "vacuum (analyze) customers, services, payments, ledger_transactions, ledger_entries,
                          invoices, invoice_lines, plans, tenants, document_counters",
    )
    .execute(owner)
    .await
    .context("vacuuming after the seed")?;
    let seed = seed_started.elapsed();

    let started = Instant::now();
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
    let run = started.elapsed();
    let n_usize = usize::try_from(n)?;
    ensure!(
        report.invoices == n_usize && report.renewed == n_usize,
        "the run issued {} invoices and renewed {} services, not {n}",
        report.invoices,
        report.renewed
    );
    verify(state, tenant, n).await?;

    let (copy, rows) = copy_reference(owner, tenant).await?;
    Ok(Figures {
        services: n,
        seed,
        run,
        copy,
        rows,
    })
}

/// A new ISP with one monthly plan and `n` customers (account numbers B1 to Bn), each with a
/// prepaid service expiring tomorrow and, with `credit`, a cash payment of one month's price as
/// credit (payment, journal and its two entries), written set-based in transactions of 10,000
/// customers through the runtime role.
pub async fn seed(state: &AppState, tenant: TenantId, n: i64, credit: bool) -> anyhow::Result<()> {
    let mut tx = state.db.tenant(tenant).await?;
    let slug = format!("bench-{}", &tenant.0.simple().to_string()[..8]);
    store::create_tenant(&mut tx, &slug, "Billing Benchmark Networks").await?;
    let plan = PlanForm {
        name: "Home 8 Mbps".into(),
        kind: "pppoe".into(),
        price: "2,000".into(),
        validity_count: "1".into(),
        validity_unit: "months".into(),
        download_mbps: "8".into(),
        upload_mbps: "4".into(),
        ..PlanForm::default()
    };
    plans::service::insert_if_missing(&mut tx, &plan, chrono::Utc::now())
        .await
        .map_err(|e| anyhow::anyhow!("creating the plan: {e}"))?;
    tx.commit().await?;

    let mut from = 1;
    while from <= n {
        let to = (from + 9_999).min(n);
        let mut tx = state.db.tenant(tenant).await?;
        // Ids from the customer's number, so each statement finds the rows of the one before.
        let steps = [
            "insert into customers (tenant_id, id, account_number, name, phone, sms_consent,
                                    created_at, updated_at)
             select $1, md5($1::text || ':c:' || g)::uuid, 'B' || g, 'Benchmark Customer ' || g,
                    '2547' || lpad(g::text, 8, '0'), true, now(), now()
               from generate_series($2::bigint, $3::bigint) g",
            "insert into services (tenant_id, id, customer_id, plan_id, username, password_enc,
                                   status, billing_mode, starts_at, expires_at, created_at, updated_at)
             select $1, md5($1::text || ':s:' || g)::uuid, md5($1::text || ':c:' || g)::uuid,
                    (select id from plans where tenant_id = $1), 'bench' || g, '\\x00'::bytea,
                    'active', 'prepaid', now() - interval '30 days',
                    now() + interval '1 day' + make_interval(secs => g), now(), now()
               from generate_series($2::bigint, $3::bigint) g",
            "insert into payments (tenant_id, id, customer_id, channel, amount_minor, currency,
                                   reference, received_at, created_at)
             select $1, md5($1::text || ':p:' || g)::uuid, md5($1::text || ':c:' || g)::uuid,
                    'cash', $4, 'KES', 'SEED' || g, now() - interval '1 day', now()
               from generate_series($2::bigint, $3::bigint) g",
            "insert into ledger_transactions (tenant_id, id, kind, source_type, source_id,
                                              idempotency_key, memo, posted_at)
             select $1, md5($1::text || ':t:' || g)::uuid, 'payment', 'payment',
                    md5($1::text || ':p:' || g)::uuid, 'payment:cash:SEED' || g,
                    'Cash payment SEED' || g, now() - interval '1 day'
               from generate_series($2::bigint, $3::bigint) g",
            // Both legs in one statement: the balance trigger checks each statement's
            // transactions when it ends.
            "insert into ledger_entries (tenant_id, transaction_id, line, account, customer_id,
                                         amount_minor, currency)
             select $1, md5($1::text || ':t:' || g)::uuid, leg,
                    case leg when 1 then 'clearing:cash' else 'receivable' end,
                    case leg when 2 then md5($1::text || ':c:' || g)::uuid end,
                    case leg when 1 then $4 else -$4 end, 'KES'
               from generate_series($2::bigint, $3::bigint) g, generate_series(1, 2) leg",
        ];
        let steps = if credit { &steps[..] } else { &steps[..2] };
        for sql in steps {
            sqlx::query(*sql)
                .bind(tenant.0)
                .bind(from)
                .bind(to)
                .bind(PRICE_MINOR)
                .execute(tx.conn())
                .await
                .map_err(|e| anyhow::anyhow!("seeding customers {from} to {to}: {e:?}"))?;
        }
        tx.commit().await?;
        from = to + 1;
    }
    tracing::info!(n, "benchmark ISP seeded");
    Ok(())
}

/// The run's result, beyond its own report: every service a month further on, every invoice
/// paid from credit, no credit left, and the books balanced.
async fn verify(state: &AppState, tenant: TenantId, n: i64) -> anyhow::Result<()> {
    let mut tx = state.db.tenant(tenant).await?;
    let (moved, paid, credit, total): (i64, i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from services where expires_at > now() + interval '27 days'),
                (select count(*) from invoices where status = 'paid' and balance_minor = 0),
                (select coalesce(-sum(amount_minor), 0)::bigint from ledger_entries
                  where account = 'receivable' and invoice_id is null),
                (select coalesce(sum(amount_minor), 0)::bigint from ledger_entries)",
    )
    .fetch_one(tx.conn())
    .await?;
    tx.commit().await?;
    ensure!(moved == n, "{moved} of {n} services moved their expiry");
    ensure!(paid == n, "{paid} of {n} invoices are paid");
    ensure!(credit == 0, "{credit} of credit is left unapplied");
    ensure!(total == 0, "the ledger is off by {total}");
    Ok(())
}

/// Copies the run's rows out (untimed), then into `bench_copy.*` (timed: the `COPY`s and their
/// commit). Returns the time and the rows per table.
async fn copy_reference(
    owner: &PgPool,
    tenant: TenantId,
) -> anyhow::Result<(Duration, Vec<(&'static str, u64)>)> {
    let mut conn = owner.acquire().await?;
    // The owner is subject to the forced row-level security too.
    sqlx::query("select set_config('app.tenant_id', $1, false)")
        .bind(tenant.0.to_string())
        .execute(&mut *conn)
        .await?;
    let mut schema =
        String::from("drop schema if exists bench_copy cascade; create schema bench_copy;");
    for (table, _) in COPIED {
        schema.push_str(&format!(
            "create table bench_copy.{table}
                 (like public.{table} including defaults including constraints including indexes);"
        ));
    }
    sqlx::raw_sql(AssertSqlSafe(schema))
        .execute(&mut *conn)
        .await
        .context("creating the bench_copy tables")?;

    let tenant_literal = tenant.0.hyphenated().to_string();
    let mut data = Vec::with_capacity(COPIED.len());
    for (table, select) in COPIED {
        let select = select.replace("$1", &format!("'{tenant_literal}'::uuid"));
        let mut bytes = Vec::new();
        let mut stream = conn
            .copy_out_raw(&format!("copy ({select}) to stdout"))
            .await
            .with_context(|| format!("copying {table} out"))?;
        while let Some(chunk) = stream.try_next().await? {
            bytes.extend_from_slice(&chunk);
        }
        drop(stream);
        data.push((table, bytes));
    }

    let started = Instant::now();
    let mut tx = conn.begin().await?;
    let mut rows = Vec::with_capacity(data.len());
    for (table, bytes) in &data {
        let mut copy = tx
            .copy_in_raw(&format!("copy bench_copy.{table} from stdin"))
            .await?;
        // In pieces of 1 MiB, as a client streaming a file would send them.
        for piece in bytes.chunks(1 << 20) {
            copy.send(piece).await?;
        }
        rows.push((*table, copy.finish().await?));
    }
    tx.commit().await?;
    let elapsed = started.elapsed();

    sqlx::raw_sql("drop schema bench_copy cascade")
        .execute(&mut *conn)
        .await?;
    Ok((elapsed, rows))
}
