//! The demo ISP that `make run` serves: created once, through the runtime role and RLS like any
//! other tenant, and left alone on later runs.

use app::{
    auth::{model::Role, password},
    db::{Db, TenantId},
    plans::{self, model::PlanForm},
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
    let now = chrono::Utc::now();
    for form in demo_plans() {
        plans::service::insert_if_missing(&mut tx, &form, now).await?;
    }
    tx.commit().await?;
    Ok(tenant)
}

/// A believable price list for a small Kenyan ISP.
fn demo_plans() -> Vec<PlanForm> {
    let plan =
        |name: &str, kind: &str, price: &str, count: &str, unit: &str, down: &str, up: &str| {
            PlanForm {
                name: name.into(),
                kind: kind.into(),
                price: price.into(),
                validity_count: count.into(),
                validity_unit: unit.into(),
                download_mbps: down.into(),
                upload_mbps: up.into(),
                ..PlanForm::default()
            }
        };
    let mut home20 = plan("Home 20 Mbps", "pppoe", "3,500", "1", "months", "20", "10");
    home20.burst_download_mbps = "40".into();
    home20.burst_upload_mbps = "20".into();
    let mut daily = plan("Hotspot Daily", "hotspot", "50", "1", "days", "5", "2");
    daily.shared_users = "1".into();
    let mut hour = plan("Hotspot 2 Hours", "hotspot", "20", "2", "hours", "3", "1");
    hour.data_cap_gb = "1".into();
    vec![
        plan("Home 8 Mbps", "pppoe", "2,000", "1", "months", "8", "4"),
        home20,
        plan(
            "Business 50 Mbps",
            "static_ip",
            "12,000",
            "1",
            "months",
            "50",
            "50",
        ),
        daily,
        hour,
    ]
}
