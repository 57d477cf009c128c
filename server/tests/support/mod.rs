//! Test fixtures: a fresh, migrated PostgreSQL database per test, reached as the owner role
//! (for migrations and for deliberately breaking things) and as the runtime role (for everything
//! the application does). Run through `make test`, which provides DATABASE_URL and
//! APP_DATABASE_URL for the project's cluster.
#![allow(dead_code)]

pub mod audit;
pub mod client;
pub mod isp;
pub mod net;

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

    /// Creates a tenant with one owner (`owner@{slug}.test`, password `{slug}-password`),
    /// through the runtime role and RLS like the app does. Returns the tenant and the owner.
    pub async fn tenant(&self, slug: &str, name: &str) -> (TenantId, Uuid) {
        let tenant = TenantId(Uuid::new_v4());
        let email = format!("owner@{slug}.test");
        let mut tx = self
            .db()
            .tenant(tenant)
            .await
            .expect("open tenant transaction");
        assert!(
            store::create_tenant(&mut tx, slug, name)
                .await
                .expect("create tenant")
        );
        self.add_staff(
            &mut tx,
            &format!("Owner of {name}"),
            &email,
            Role::Owner,
            &format!("{slug}-password"),
        )
        .await;
        tx.commit().await.expect("commit");
        let owner = self.user_id(tenant, &email).await;
        (tenant, owner)
    }

    pub async fn add_staff(
        &self,
        tx: &mut app::db::TenantTx,
        name: &str,
        email: &str,
        role: Role,
        password: &str,
    ) {
        let hash = app::auth::password::hash(password).await.expect("hash");
        assert!(
            store::add_staff(tx, name, email, role, Some(&hash))
                .await
                .expect("add staff"),
            "{email} already existed"
        );
    }

    pub async fn user_id(&self, tenant: TenantId, email: &str) -> Uuid {
        let mut tx = self.db().tenant(tenant).await.unwrap();
        sqlx::query_scalar("select id from users where email = $1")
            .bind(email)
            .fetch_one(tx.conn())
            .await
            .expect("user exists")
    }

    /// Application state over this database, with a manual clock starting now.
    pub fn state(&self) -> app::state::AppState {
        let mut state = app::state::AppState::new(
            self.db(),
            app::secrets::Secrets::random().expect("a random key"),
        );
        // Microseconds, as PostgreSQL keeps them, so times read back compare equal.
        let now = chrono::Utc::now().timestamp_micros();
        state.clock = app::clock::Clock::manual(
            chrono::DateTime::from_timestamp_micros(now).expect("now is in range"),
        );
        state
    }
}
