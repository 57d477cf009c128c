//! The demo ISP that `make run` serves: created once, through the runtime role and RLS like any
//! other tenant, and left alone on later runs.

use app::{
    auth::{model::Role, password},
    db::{Db, TenantId},
    workspace::store,
};
use uuid::Uuid;

pub const DEMO_SLUG: &str = "demo";
pub const DEMO_NAME: &str = "Demo Networks";

/// The demo staff: (name, email, role, password). Printed by `make run`; demo data only.
pub const DEMO_STAFF: [(&str, &str, Role, &str); 3] = [
    (
        "Wanjiku Otieno",
        "owner@demo.jasiyo.test",
        Role::Owner,
        "demo-owner-pass",
    ),
    (
        "Brian Kiprop",
        "admin@demo.jasiyo.test",
        Role::Admin,
        "demo-admin-pass",
    ),
    (
        "Amina Hassan",
        "support@demo.jasiyo.test",
        Role::Support,
        "demo-support-pass",
    ),
];

/// Creates the demo ISP and its staff where missing. Returns the tenant id.
#[tracing::instrument(skip(db))]
pub async fn seed(db: &Db) -> anyhow::Result<TenantId> {
    let tenant = match db.tenant_by_slug(DEMO_SLUG).await? {
        Some(id) => id,
        None => TenantId(Uuid::new_v4()),
    };
    let mut tx = db.tenant(tenant).await?;
    store::create_tenant(&mut tx, DEMO_SLUG, DEMO_NAME).await?;
    for (name, email, role, password) in DEMO_STAFF {
        let hash = password::hash(password).await?;
        store::add_staff(&mut tx, name, email, role, Some(&hash)).await?;
    }
    tx.commit().await?;
    Ok(tenant)
}
