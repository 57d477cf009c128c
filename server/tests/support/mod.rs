//! Test fixtures: a fresh, migrated PostgreSQL database per test, reached as the owner role
//! (for migrations and for deliberately breaking things) and as the runtime role (for everything
//! the application does). Run through `make test`, which provides DATABASE_URL and
//! APP_DATABASE_URL for the project's cluster.
#![allow(dead_code)]

pub mod audit;

use std::str::FromStr;

use app::{
    auth::model::Role,
    db::{Db, TenantId},
    workspace::store,
};
use sqlx::{
    AssertSqlSafe, Connection, Executor, PgConnection, PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};
use uuid::Uuid;

pub struct TestDb {
    pub name: String,
    /// The owner role: owns the tables, runs migrations. Not used for application queries.
    pub owner: PgPool,
    /// The runtime role `jasiyo_app`, exactly as the server connects.
    pub app: PgPool,
}

fn options(var: &str) -> PgConnectOptions {
    let url = std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run the database tests through `make test` (or server/scripts/db.sh exec cargo test)")
    });
    PgConnectOptions::from_str(&url).unwrap_or_else(|e| panic!("{var} is not a valid URL: {e}"))
}

/// Creates `jasiyo_test_<random>`, migrates it as the owner, and opens both pools.
pub async fn fresh_database() -> TestDb {
    let owner_base = options("DATABASE_URL");
    let app_base = options("APP_DATABASE_URL");
    let name = format!("jasiyo_test_{}", Uuid::new_v4().simple());

    let mut maintenance = PgConnection::connect_with(&owner_base)
        .await
        .expect("connect as the owner role");
    maintenance
        .execute(AssertSqlSafe(format!(r#"create database "{name}""#)))
        .await
        .expect("create the test database (the owner role needs CREATEDB)");
    maintenance.close().await.ok();

    let owner = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(owner_base.database(&name))
        .await
        .expect("connect to the test database as the owner");
    server::migrate::run(&owner)
        .await
        .expect("migrations apply");

    let app = server::serve::connect(app_base.database(&name), 5)
        .await
        .expect("connect to the test database as the runtime role");
    TestDb { name, owner, app }
}

impl TestDb {
    pub fn db(&self) -> Db {
        Db::new(self.app.clone())
    }

    /// Creates a tenant with one owner, through the runtime role and RLS like the app does.
    pub async fn tenant(&self, slug: &str, name: &str) -> TenantId {
        let db = self.db();
        let tenant = TenantId(Uuid::new_v4());
        let mut tx = db.tenant(tenant).await.expect("open tenant transaction");
        assert!(
            store::create_tenant(&mut tx, slug, name)
                .await
                .expect("create tenant")
        );
        store::add_staff(
            &mut tx,
            &format!("Owner of {name}"),
            &format!("owner@{slug}.test"),
            Role::Owner,
        )
        .await
        .expect("add owner");
        tx.commit().await.expect("commit");
        tenant
    }
}
