//! `server [serve|migrate|seed-demo]`: serve the app (default), apply migrations as the owner
//! role, or create the demo ISP.

use anyhow::Context;
use server::{config, demo, migrate, serve, telemetry};

const USAGE: &str = "usage: server [serve | migrate | seed-demo]
  serve      serve the app (APP_DATABASE_URL, Leptos.toml, LEPTOS_SITE_ADDR)
  migrate    apply pending migrations as the owner role (DATABASE_URL)
  seed-demo  create the demo ISP if it is missing (APP_DATABASE_URL)";

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
            let db = app::db::Db::new(pool);
            let tenant = demo::seed(&db).await.context("seeding the demo ISP")?;
            db.close().await;
            tracing::info!(%tenant, slug = demo::DEMO_SLUG, "demo ISP ready");
            Ok(())
        }
        "-h" | "--help" | "help" => {
            eprintln!("{USAGE}");
            Ok(())
        }
        other => anyhow::bail!("unknown command {other:?}\n{USAGE}"),
    }
}
