//! The demo ISP that `make run` serves: created once, through the runtime role and RLS like any
//! other tenant, and left alone on later runs.

use anyhow::Context;
use app::{
    auth::{identity::Staff, model::Role, password, session::RequestMeta},
    customers::import,
    db::TenantId,
    plans::{self, model::PlanForm},
    state::AppState,
    workspace::store,
};
use chrono::{DateTime, Duration, FixedOffset, Offset, Utc};
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

/// Common Kenyan names, for the demo ISP's customers (the first 20 and 10) and the benchmark's
/// 100,000.
pub const FIRST_NAMES: [&str; 40] = [
    "Achieng",
    "Wanjiru",
    "Kamau",
    "Otieno",
    "Njeri",
    "Mwangi",
    "Akinyi",
    "Kiprono",
    "Wambui",
    "Omondi",
    "Chebet",
    "Mutua",
    "Nyambura",
    "Kibet",
    "Atieno",
    "Ndungu",
    "Auma",
    "Karanja",
    "Jepkosgei",
    "Ouma",
    "Wairimu",
    "Kiptoo",
    "Adhiambo",
    "Gitau",
    "Muthoni",
    "Onyango",
    "Jeruto",
    "Macharia",
    "Moraa",
    "Nyaga",
    "Anyango",
    "Ruto",
    "Wangari",
    "Odera",
    "Kemunto",
    "Njoroge",
    "Awino",
    "Langat",
    "Wanjiku",
    "Omolo",
];
pub const LAST_NAMES: [&str; 40] = [
    "Odhiambo",
    "Kariuki",
    "Wekesa",
    "Mutiso",
    "Njoroge",
    "Korir",
    "Onyango",
    "Maina",
    "Barasa",
    "Chege",
    "Kamau",
    "Otieno",
    "Wafula",
    "Kiplagat",
    "Nyamweya",
    "Mwangi",
    "Omondi",
    "Kimani",
    "Cheruiyot",
    "Achieng",
    "Mugo",
    "Rotich",
    "Okoth",
    "Ngugi",
    "Mutai",
    "Owino",
    "Kiprotich",
    "Waweru",
    "Simiyu",
    "Nyongesa",
    "Ochieng",
    "Kirui",
    "Gachanja",
    "Muriuki",
    "Keter",
    "Opiyo",
    "Wanyama",
    "Kagwe",
    "Bett",
    "Oduya",
];

/// The demo ISP's Daraja app, which the simulator `make run` starts accepts. Demo data only.
pub const DEMO_MPESA_KEY: &str = "demo-consumer-key-7Gq2";
pub const DEMO_MPESA_SECRET: &str = "demo-consumer-secret-Lw9x";
/// Safaricom's published sandbox shortcode; the passkey is the simulator's.
pub const DEMO_MPESA_SHORTCODE: &str = "174379";
pub const DEMO_MPESA_PASSKEY: &str = "demo-passkey-5b0c1e7a9d";
/// The demo's Paystack key, accepted by the Paystack simulator `make run` starts.
pub const DEMO_PAYSTACK_SECRET: &str = "sk_test_demo0c1e7a9d5b0c1e7a9d5b0c1e7a9d";

/// How many customers the demo ISP has.
pub const DEMO_CUSTOMERS: usize = 200;

/// The demo's router: a RouterOS simulator `make run` starts, reached over the binary API.
pub const DEMO_ROUTER: &str = "Kasarani POP (simulated)";
pub const DEMO_ROUTER_USER: &str = "jasiyo";
pub const DEMO_ROUTER_PASSWORD: &str = "demo-router-pass";
/// The demo SMS gateway's account (the Africa's Talking simulator).
pub const DEMO_SMS_USER: &str = "sandbox";
pub const DEMO_SMS_KEY: &str = "demo-sms-api-key";

/// Creates the demo ISP, its staff, plans and customers where missing. Returns the tenant id.
#[tracing::instrument(skip(state))]
pub async fn seed(state: &AppState) -> anyhow::Result<TenantId> {
    let db = &state.db;
    let (tenant, new) = match db.tenant_by_slug(DEMO_SLUG).await? {
        Some(id) => (id, false),
        None => (TenantId(Uuid::new_v4()), true),
    };
    let mut tx = db.tenant(tenant).await?;
    store::create_tenant(&mut tx, DEMO_SLUG, DEMO_NAME).await?;
    if new {
        // Two days between expiry and cut-off, so the dashboard has someone in grace.
        store::set_grace_period(&mut tx, 2).await?;
    }
    for (name, email, role, password) in DEMO_STAFF {
        let hash = password::hash(password).await?;
        store::add_staff(&mut tx, name, email, role, Some(&hash)).await?;
    }
    let now = chrono::Utc::now();
    for form in demo_plans() {
        plans::service::insert_if_missing(&mut tx, &form, now).await?;
    }
    tx.commit().await?;
    let owner = demo_owner(state, tenant).await?;
    seed_customers(state, &owner).await?;
    seed_payment_settings(state, &owner).await?;
    seed_router(state, &owner).await?;
    // Renewal invoices for whoever expires in the next few days, at once rather than on the
    // server's first scheduled run.
    app::billing::job::run_tenant(state, tenant, &app::billing::job::Options::default())
        .await
        .map_err(|e| anyhow::anyhow!("the demo's first billing run failed: {e}"))?;
    Ok(tenant)
}

/// The demo owner, as the seed acts (audited as "Demo seed").
async fn demo_owner(state: &AppState, tenant: TenantId) -> anyhow::Result<Staff> {
    let (_, owner_email, _, _) = DEMO_STAFF[0];
    let login = state
        .db
        .login_by_email(owner_email)
        .await?
        .context("the demo owner exists")?;
    Ok(Staff {
        tenant,
        user_id: login.user_id,
        session_id: Uuid::nil(),
        name: "Demo seed".into(),
        email: owner_email.into(),
        role: Role::Owner,
    })
}

/// About 200 customers in mixed states, imported through the same path as an ISP's CSV file
/// (account numbers 1001 on, so a second run skips them all).
async fn seed_customers(state: &AppState, owner: &Staff) -> anyhow::Result<()> {
    let csv = demo_customers_csv(state.clock.now());
    let report = import::import(state, owner, &csv, &RequestMeta::default()).await?;
    anyhow::ensure!(
        report.error_count == 0,
        "the demo customers did not import: {:?}",
        report.errors
    );
    tracing::info!(
        imported = report.imported,
        skipped = report.skipped,
        "demo customers"
    );
    Ok(())
}

/// The demo router, with every service that is on none put on it (so the simulator the server
/// starts is told who is on and who is cut off). Its port is the simulator's, set at each start
/// by [`point_demo_router`].
async fn seed_router(state: &AppState, owner: &Staff) -> anyhow::Result<()> {
    let mut tx = state.db.tenant(owner.tenant).await?;
    let existing: Option<Uuid> = sqlx::query_scalar("select id from routers where name = $1")
        .bind(DEMO_ROUTER)
        .fetch_optional(tx.conn())
        .await?;
    tx.commit().await?;
    let router = match existing {
        Some(id) => id,
        None => {
            let input = app::network::model::RouterForm {
                name: DEMO_ROUTER.into(),
                site: "Kasarani, Mwiki road".into(),
                mode: "api".into(),
                host: "127.0.0.1".into(),
                port: "8728".into(),
                api_username: DEMO_ROUTER_USER.into(),
                api_password: DEMO_ROUTER_PASSWORD.into(),
                interval_secs: "5".into(),
                ..Default::default()
            }
            .check(false)
            .map_err(|e| anyhow::anyhow!("the demo router's form: {e}"))?;
            app::network::routers::create(state, owner, &input, &RequestMeta::default())
                .await
                .map_err(|e| anyhow::anyhow!("adding the demo router: {e}"))?
                .id
        }
    };
    let mut tx = state.db.tenant(owner.tenant).await?;
    sqlx::query("update services set router_id = $1, updated_at = $2 where router_id is null")
        .bind(router)
        .bind(state.clock.now())
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Points the demo router at the simulator listening on `port` and queues every user for it
/// (demo mode, at each start).
pub async fn point_demo_router(state: &AppState, port: u16) -> anyhow::Result<()> {
    let Some(tenant) = state.db.tenant_by_slug(DEMO_SLUG).await? else {
        return Ok(());
    };
    let mut tx = state.db.tenant(tenant).await?;
    let router: Option<Uuid> = sqlx::query_scalar(
        "update routers set host = '127.0.0.1', port = $1, last_error = null where name = $2
         returning id",
    )
    .bind(i32::from(port))
    .bind(DEMO_ROUTER)
    .fetch_optional(tx.conn())
    .await?;
    // The simulator starts empty: everyone is sent to it again.
    if let Some(router) = router {
        app::network::routers::requeue_all(&mut tx, router)
            .await
            .map_err(|e| anyhow::anyhow!("queueing the demo router's users: {e}"))?;
    }
    tx.commit().await?;
    Ok(())
}

/// M-Pesa and Paystack set up against the simulators `make run` starts (paybill, sandbox), through the same
/// path as the settings page; left alone once the ISP has a consumer key (a demo ISP made before
/// payments existed gets one on the next run).
async fn seed_payment_settings(state: &AppState, owner: &Staff) -> anyhow::Result<()> {
    let current = app::payments::settings::view(state, owner)
        .await
        .map_err(|e| anyhow::anyhow!("reading the demo's payment settings: {e}"))?;
    if current.mpesa_consumer_key_last4.is_some() && current.paystack_secret_last4.is_some() {
        return Ok(());
    }
    let form = app::payments::model::PaymentSettingsForm {
        mpesa_environment: "sandbox".into(),
        mpesa_shortcode: DEMO_MPESA_SHORTCODE.into(),
        mpesa_kind: "paybill".into(),
        mpesa_consumer_key: DEMO_MPESA_KEY.into(),
        mpesa_consumer_secret: DEMO_MPESA_SECRET.into(),
        mpesa_passkey: DEMO_MPESA_PASSKEY.into(),
        paystack_secret: DEMO_PAYSTACK_SECRET.into(),
        stk_provider: "mpesa".into(),
        ..Default::default()
    };
    app::payments::settings::update(state, owner, &form, &RequestMeta::default())
        .await
        .map_err(|e| anyhow::anyhow!("setting up the demo's M-Pesa: {e}"))?;
    Ok(())
}

/// The demo customers as an import file: names from common Kenyan names, plans weighted to home
/// PPPoE, and states spread like a real ISP's (mostly active, some expiring, expired in and
/// past the grace period, a few suspended, a few without a service yet).
pub fn demo_customers_csv(now: DateTime<Utc>) -> String {
    const PLACES: [&str; 8] = [
        "Kasarani",
        "Roysambu",
        "Githurai 45",
        "Zimmerman",
        "Kahawa West",
        "Ruiru",
        "Juja",
        "Thika Road Mall",
    ];
    let nairobi = FixedOffset::east_opt(3 * 3600).unwrap_or(Utc.fix());
    let mut out =
        String::from("account_number,name,phone,location,sms_consent,plan,expiry,status\n");
    for i in 0..DEMO_CUSTOMERS {
        let name = format!(
            "{} {}",
            FIRST_NAMES[i % 20],
            LAST_NAMES[(i / 2 + i / 20) % 10]
        );
        let phone = format!(
            "07{:02}{:06}",
            10 + (i * 7) % 90,
            (i * 7919 + 123_457) % 1_000_000
        );
        let plan = match i % 10 {
            0..=3 => "Home 8 Mbps",
            4..=6 => "Home 20 Mbps",
            7 => "Business 50 Mbps",
            _ => "Hotspot Daily",
        };
        // Hours from now until expiry, and the stored status.
        let (hours, status) = match (i * 7 + 3) % 20 {
            0 => (-30, "active"),      // expired yesterday: in the grace period
            1 => (-24 * 9, "expired"), // expired last week
            2 => (24 * 12, "suspended"),
            3 | 4 => (20 + (i as i64 % 40), "active"), // expiring within 3 days
            _ => (24 * (4 + (i as i64 * 13) % 26), "active"),
        };
        let (plan, expiry, status) = if i % 50 == 27 {
            ("", String::new(), "") // not connected yet
        } else {
            let at = (now + Duration::hours(hours)).with_timezone(&nairobi);
            (plan, at.format("%Y-%m-%d %H:%M").to_string(), status)
        };
        let consent = if i % 4 == 0 { "no" } else { "yes" };
        out.push_str(&format!(
            "{},{name},{phone},{},{consent},{plan},{expiry},{status}\n",
            1001 + i,
            PLACES[i % PLACES.len()]
        ));
    }
    out
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
