//! One ISP with M-Pesa set up against a Daraja simulator, and the app serving on a loopback
//! port so the simulator's callbacks reach it over real HTTP: the fixture the payment tests
//! share.

use app::{
    auth::{identity::Staff, model::Role, session::RequestMeta},
    customers::{
        model::{CustomerForm, ServiceForm},
        service as customers,
    },
    db::TenantId,
    payments::{model::PaymentSettingsForm, settings},
    plans::{self, model::PlanForm},
    state::AppState,
};
use server::simulators::{daraja::DarajaSim, paystack::PaystackSim};
use uuid::Uuid;

use super::{TestDb, fresh_database};

pub const KEY: &str = "consumer-key-C2B-1111";
pub const SECRET: &str = "consumer-secret-C2B-2222";
pub const SHORTCODE: &str = "600984";
pub const PASSKEY: &str = "passkey-C2B-3333-bfb279f9aa9bdbcf158e97dd71a467cd";
pub const PAYSTACK_SECRET: &str = "sk_test_isp4444bfb279f9aa9bdbcf158e97dd71a4";

pub struct Isp {
    pub db: TestDb,
    pub state: AppState,
    pub tenant: TenantId,
    pub staff: Staff,
    pub sim: DarajaSim,
    pub paystack: PaystackSim,
    pub url: String,
}

/// The ISP, its paybill's URLs registered with the simulator.
pub async fn isp(slug: &str) -> Isp {
    let db = fresh_database().await;
    let sim = DarajaSim::start(0).await.unwrap();
    sim.add_app(KEY, SECRET);
    sim.add_shortcode(SHORTCODE, PASSKEY);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let paystack = PaystackSim::start(0).await.unwrap();
    let mut state = db.state();
    state.providers.daraja_url = Some(sim.url());
    state.providers.paystack_url = Some(paystack.url());
    state.providers.public_url = Some(url.clone());
    let router = server::routes::router(state.clone(), super::client::leptos_options());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let (tenant, owner) = db.tenant(slug, "C2B Net").await;
    let staff = Staff {
        tenant,
        user_id: owner,
        session_id: Uuid::nil(),
        name: "Owner".into(),
        email: format!("owner@{slug}.test"),
        role: Role::Owner,
    };
    let mut tx = db.db().tenant(tenant).await.unwrap();
    let plan = PlanForm {
        name: "Home 8".into(),
        kind: "pppoe".into(),
        price: "2,000".into(),
        validity_count: "1".into(),
        validity_unit: "months".into(),
        download_mbps: "8".into(),
        upload_mbps: "4".into(),
        ..PlanForm::default()
    };
    plans::service::insert_if_missing(&mut tx, &plan, state.clock.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let isp = Isp {
        db,
        state,
        tenant,
        staff,
        sim,
        paystack,
        url,
    };
    isp.settings(false).await;
    let hook = isp.hook().await;
    isp.paystack.add_key(
        PAYSTACK_SECRET,
        Some(&format!("{}/hooks/paystack/{hook}", isp.url)),
    );
    let shortcode = app::payments::daraja::register_c2b_urls(&isp.state, &isp.staff)
        .await
        .unwrap();
    assert_eq!(shortcode, SHORTCODE);
    isp
}

impl Isp {
    pub async fn settings(&self, reject_unknown: bool) {
        self.settings_with(reject_unknown, "").await;
    }

    /// The ISP's payment settings, with `stk_provider` ("", "mpesa" or "paystack") chosen for
    /// "Pay now".
    pub async fn settings_with(&self, reject_unknown: bool, stk_provider: &str) {
        let form = PaymentSettingsForm {
            mpesa_environment: "sandbox".into(),
            mpesa_shortcode: SHORTCODE.into(),
            mpesa_kind: "paybill".into(),
            mpesa_consumer_key: KEY.into(),
            mpesa_consumer_secret: SECRET.into(),
            mpesa_passkey: PASSKEY.into(),
            paystack_secret: PAYSTACK_SECRET.into(),
            c2b_reject_unknown: reject_unknown.then(|| "on".into()),
            stk_provider: stk_provider.into(),
            ..PaymentSettingsForm::default()
        };
        settings::update(&self.state, &self.staff, &form, &RequestMeta::default())
            .await
            .unwrap();
    }

    /// A customer with a prepaid service: its first month is invoiced (KES 2,000, unpaid).
    /// Returns (customer, account number).
    pub async fn customer(&self, name: &str, phone: &str) -> (Uuid, String) {
        let mut tx = self.db.db().tenant(self.tenant).await.unwrap();
        let plan: Uuid = sqlx::query_scalar("select id from plans limit 1")
            .fetch_one(tx.conn())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let customer = CustomerForm {
            name: name.into(),
            phone: phone.into(),
            ..CustomerForm::default()
        }
        .check()
        .unwrap();
        let service = ServiceForm {
            plan_id: plan.to_string(),
            billing_mode: "prepaid".into(),
            ..ServiceForm::default()
        }
        .check_optional()
        .unwrap()
        .unwrap();
        let detail = customers::create(
            &self.state,
            &self.staff,
            &customer,
            Some(&service),
            &RequestMeta::default(),
        )
        .await
        .unwrap();
        (detail.id, detail.account_number)
    }

    pub async fn scalar(&self, sql: &str) -> i64 {
        let mut tx = self.db.db().tenant(self.tenant).await.unwrap();
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(tx.conn())
            .await
            .unwrap()
    }

    /// Every journal entry of the ISP sums to zero.
    pub async fn assert_ledger_balanced(&self) {
        assert_eq!(
            self.scalar("select coalesce(sum(amount_minor), 0)::bigint from ledger_entries")
                .await,
            0
        );
    }

    /// Waits (up to 10 s) until every stored paybill confirmation is applied, as the applier
    /// does a moment after the webhook answers.
    pub async fn applied(&self) {
        for _ in 0..500 {
            let waiting = self
                .scalar("select count(*) from provider_events where outcome is null")
                .await;
            if waiting == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("stored confirmations were not applied within 10 s");
    }

    pub async fn scalar_uuid(&self, sql: &str) -> Uuid {
        let mut tx = self.db.db().tenant(self.tenant).await.unwrap();
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(tx.conn())
            .await
            .unwrap()
    }

    pub async fn hook(&self) -> String {
        let mut tx = self.db.db().tenant(self.tenant).await.unwrap();
        settings::hook_token(&mut tx, &self.state.secrets)
            .await
            .unwrap()
    }
}
