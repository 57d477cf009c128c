//! `server [serve|migrate|seed-demo|bill|sms-delivery-url|bench-…]`: serve the app (default),
//! apply migrations as the owner role, create the demo ISP, run the billing job once, print the
//! delivery-report address for the platform's Africa's Talking account, or the tools `make bench`
//! uses (`bench-seed`, `bench-explain`, `bench-billing`, `bench-c2b-seed`, `bench-radius-seed`,
//! `bench-radius-load`).

use anyhow::Context;
use server::{config, demo, migrate, serve, telemetry};

const USAGE: &str = "usage: server [serve | migrate | seed-demo | bill | sms-delivery-url]
  serve      serve the app (APP_DATABASE_URL, Leptos.toml, LEPTOS_SITE_ADDR)
  migrate    apply pending migrations as the owner role (DATABASE_URL)
  seed-demo  create the demo ISP if it is missing (APP_DATABASE_URL)
  bill       run the billing job once for every tenant (APP_DATABASE_URL, JASIYO_BILLING_BATCH)
  sms-delivery-url  the addresses to give Africa's Talking for delivery reports and incoming
                    messages (JASIYO_PUBLIC_URL)
  bench-seed N          benchmarks only: fill the demo ISP up to N customers
  bench-explain [TEXT]  benchmarks only: the customers page's query plan (first page or a search)
  bench-portal-sessions N  benchmarks only: portal session cookies for N demo customers
  bench-billing N       benchmarks only: one billing run renewing N services, against COPY
  bench-c2b-seed N      benchmarks only: an ISP with N renewal invoices waiting for paybill payments
  bench-radius-seed N   benchmarks only: an ISP with N PPPoE services and a RADIUS router at 127.0.0.1
  bench-radius-load ADDR SECRET USERS CONCURRENCY SECONDS
                        benchmarks only: Access-Requests against a RADIUS server";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init();
    let command = std::env::args().nth(1).unwrap_or_else(|| "serve".into());
    match command.as_str() {
        "serve" => serve::run().await,
        "migrate" => {
            let pool = serve::connect(config::owner_database()?, 2)
                .await
                .context("connecting to PostgreSQL as the owner role (DATABASE_URL)")?;
            migrate::run(&pool).await.context("applying migrations")?;
            pool.close().await;
            tracing::info!("migrations applied");
            Ok(())
        }
        "seed-demo" => {
            let pool = serve::connect(config::app_database()?, 2)
                .await
                .context("connecting to PostgreSQL as the runtime role (APP_DATABASE_URL)")?;
            serve::check_runtime_role(&pool).await?;
            let state = app::state::AppState::new(app::db::Db::new(pool), config::secrets()?);
            let tenant = demo::seed(&state).await.context("seeding the demo ISP")?;
            state.db.close().await;
            tracing::info!(%tenant, slug = demo::DEMO_SLUG, "demo ISP ready");
            Ok(())
        }
        "bill" => {
            let pool = serve::connect(config::app_database()?, 2)
                .await
                .context("connecting to PostgreSQL as the runtime role (APP_DATABASE_URL)")?;
            serve::check_runtime_role(&pool).await?;
            let state = app::state::AppState::new(app::db::Db::new(pool), config::secrets()?);
            let (_, batch_size) = config::billing()?;
            let opts = app::billing::job::Options {
                batch_size,
                ..Default::default()
            };
            let report = app::billing::job::run_all(&state, &opts)
                .await
                .map_err(|e| anyhow::anyhow!("billing run failed: {e}"))?;
            state.db.close().await;
            tracing::info!(
                invoices = report.invoices,
                renewed = report.renewed,
                overdue = report.overdue,
                expired = report.expired,
                "billing run done"
            );
            Ok(())
        }
        "sms-delivery-url" => {
            // The secret in the path is derived from the server's key (JASIYO_SECRET_KEY).
            let secret = app::messaging::delivery::delivery_secret(&config::secrets()?);
            let public = config::mail(config::leptos_options()?.site_addr).public_url;
            let base = format!(
                "{}/hooks/sms/africastalking/{secret}",
                public.trim_end_matches('/')
            );
            let url = format!("delivery reports: {base}\nincoming messages: {base}/inbound\n");
            std::io::Write::write_all(&mut std::io::stdout().lock(), url.as_bytes())
                .context("writing the address")?;
            Ok(())
        }
        // In this binary rather than their own so `make bench` builds one release binary
        // (a second binary target rebuilds the Leptos crates with other settings).
        "bench-seed" | "bench-explain" | "bench-portal-sessions" => {
            let pool = serve::connect(config::app_database()?, 2)
                .await
                .context("connecting to PostgreSQL as the runtime role (APP_DATABASE_URL)")?;
            let db = app::db::Db::new(pool);
            let arg = std::env::args().nth(2);
            if command == "bench-seed" {
                let n: usize = arg
                    .context("how many customers?")?
                    .parse()
                    .context("a whole number of customers")?;
                server::bench::seed_customers(&db, n).await?;
            } else if command == "bench-portal-sessions" {
                let n: usize = arg
                    .context("how many sessions?")?
                    .parse()
                    .context("a whole number of sessions")?;
                // The cookies are this command's output (the bench script saves them).
                let mut out = std::io::stdout().lock();
                for cookie in server::bench::portal_sessions(&db, n).await? {
                    std::io::Write::write_all(&mut out, format!("{cookie}\n").as_bytes())
                        .context("writing the cookies")?;
                }
            } else {
                // The plan is this command's output (the bench script saves it), not a log line.
                let mut out = std::io::stdout().lock();
                for line in server::bench::explain(&db, arg.as_deref()).await? {
                    std::io::Write::write_all(&mut out, format!("{line}\n").as_bytes())
                        .context("writing the plan")?;
                }
            }
            db.close().await;
            Ok(())
        }
        "bench-billing" => {
            let n = count_arg("services")?;
            let (state, owner) = bench_connections().await?;
            let figures = server::bench::billing::run(&state, &owner, n).await?;
            state.db.close().await;
            owner.close().await;
            // The figures are this command's output (the bench script reads them), as
            // `name=value` lines.
            let mut out = format!(
                "services={}\nseed_seconds={:.1}\nrun_seconds={:.2}\ncopy_seconds={:.2}\nratio={:.2}\n",
                figures.services,
                figures.seed.as_secs_f64(),
                figures.run.as_secs_f64(),
                figures.copy.as_secs_f64(),
                figures.ratio()
            );
            for (table, rows) in &figures.rows {
                out.push_str(&format!("rows_{table}={rows}\n"));
            }
            std::io::Write::write_all(&mut std::io::stdout().lock(), out.as_bytes())
                .context("writing the figures")?;
            Ok(())
        }
        "bench-c2b-seed" => {
            let n = count_arg("customers")?;
            let (state, owner) = bench_connections().await?;
            let seeded = server::bench::c2b::seed(&state, &owner, n).await?;
            state.db.close().await;
            owner.close().await;
            // For the bench script, as `name=value` lines.
            let out = format!(
                "tenant={}\nhook={}\nseed_seconds={:.1}\n",
                seeded.tenant,
                seeded.hook_token,
                seeded.seed.as_secs_f64()
            );
            std::io::Write::write_all(&mut std::io::stdout().lock(), out.as_bytes())
                .context("writing the figures")?;
            Ok(())
        }
        "bench-radius-seed" => {
            let n = count_arg("services")?;
            let (state, owner) = bench_connections().await?;
            let seeded = server::bench::radius::seed(&state, n).await?;
            state.db.close().await;
            owner.close().await;
            let out = format!(
                "tenant={}\nsecret={}\nseed_seconds={:.1}\n",
                seeded.tenant,
                seeded.secret,
                seeded.seed.as_secs_f64()
            );
            std::io::Write::write_all(&mut std::io::stdout().lock(), out.as_bytes())
                .context("writing the figures")?;
            Ok(())
        }
        "bench-radius-load" => {
            let arg = |i: usize, what: &str| {
                std::env::args()
                    .nth(i)
                    .with_context(|| format!("missing {what}\n{USAGE}"))
            };
            let server: std::net::SocketAddr = arg(2, "ADDR")?.parse().context("ADDR")?;
            let secret = arg(3, "SECRET")?;
            let users: u64 = arg(4, "USERS")?.parse().context("USERS")?;
            let concurrency: usize = arg(5, "CONCURRENCY")?.parse().context("CONCURRENCY")?;
            let seconds: u64 = arg(6, "SECONDS")?.parse().context("SECONDS")?;
            let load =
                server::bench::radius::load(server, &secret, users, concurrency, seconds).await?;
            let out = format!(
                "sent={}\naccepted={}\nother={}\ntimeouts={}\nrate={:.0}\np50_us={}\np99_us={}\n",
                load.sent,
                load.accepted,
                load.other,
                load.timeouts,
                load.rate(),
                load.percentile(0.5),
                load.percentile(0.99)
            );
            std::io::Write::write_all(&mut std::io::stdout().lock(), out.as_bytes())
                .context("writing the figures")?;
            Ok(())
        }
        "-h" | "--help" | "help" => {
            eprintln!("{USAGE}");
            Ok(())
        }
        other => anyhow::bail!("unknown command {other:?}\n{USAGE}"),
    }
}

/// The benchmark commands' count argument (`server bench-… N`).
fn count_arg(what: &str) -> anyhow::Result<i64> {
    std::env::args()
        .nth(2)
        .with_context(|| format!("how many {what}?"))?
        .parse()
        .with_context(|| format!("a whole number of {what}"))
}

/// The runtime role's state and an owner pool (for vacuuming and the reference copies), as the
/// benchmark commands use them.
async fn bench_connections() -> anyhow::Result<(app::state::AppState, sqlx::PgPool)> {
    let pool = serve::connect(config::app_database()?, 2)
        .await
        .context("connecting to PostgreSQL as the runtime role (APP_DATABASE_URL)")?;
    serve::check_runtime_role(&pool).await?;
    let owner = serve::connect(config::owner_database()?, 1)
        .await
        .context("connecting to PostgreSQL as the owner role (DATABASE_URL)")?;
    let state = app::state::AppState::new(app::db::Db::new(pool), config::secrets()?);
    Ok((state, owner))
}
