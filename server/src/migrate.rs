//! Schema migrations, embedded at compile time from `migrations/` and run as the owner role.

use sqlx::{PgPool, migrate::Migrator};

pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// Applies every pending migration. Safe to run on every start and from several servers at once
/// (sqlx takes an advisory lock).
#[tracing::instrument(skip(owner))]
pub async fn run(owner: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(owner).await
}
