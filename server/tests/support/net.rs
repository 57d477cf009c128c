//! One ISP with routers on the RouterOS simulator and the app serving on a loopback port (so
//! phone-home routers can check in): the fixture the network tests share.

use app::{
    auth::{identity::Staff, model::Role, session::RequestMeta},
    customers::{
        model::{CustomerForm, ServiceForm},
        service as customers,
    },
    db::TenantId,
    network::{
        model::{RouterForm, RouterMode},
        routers, worker,
    },
    plans::{self, model::PlanForm},
    state::AppState,
};
use server::simulators::routeros::{AgentConfig, RouterSim};
use uuid::Uuid;

use super::{TestDb, fresh_database};

pub const API_USER: &str = "jasiyo";
pub const API_PASSWORD: &str = "router-Pa55";

pub struct Net {
    pub db: TestDb,
    pub state: AppState,
    pub tenant: TenantId,
    pub staff: Staff,
    pub url: String,
}

/// A command as the tests read it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Cmd {
    pub username: String,
    pub desired: String,
    pub reason: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
}

/// The ISP, its plans ("Home 8", monthly PPPoE; "Daily 5", daily PPPoE; "Hotspot day", a
/// one-day hotspot pass for 2 devices), serving HTTP on loopback. `clock` replaces the manual
/// clock when given (the enforcement test runs a shifted real clock).
pub async fn net(slug: &str, clock: Option<app::clock::Clock>) -> Net {
    let db = fresh_database().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let mut state = db.state();
    if let Some(clock) = clock {
        state.clock = clock;
    }
    state.providers.public_url = Some(url.clone());
    let router = server::routes::router(state.clone(), super::client::leptos_options());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let (tenant, owner) = db.tenant(slug, "Net ISP").await;
    let staff = Staff {
        tenant,
        user_id: owner,
        session_id: Uuid::nil(),
        name: "Owner".into(),
        email: format!("owner@{slug}.test"),
        role: Role::Owner,
    };
    let mut tx = db.db().tenant(tenant).await.unwrap();
    for (name, kind, unit, down, up, shared) in [
        ("Home 8", "pppoe", "months", "8", "4", ""),
        ("Daily 5", "pppoe", "days", "5", "2", ""),
        ("Hotspot day", "hotspot", "days", "3", "1", "2"),
    ] {
        let plan = PlanForm {
            name: name.into(),
            kind: kind.into(),
            price: "100".into(),
            validity_count: "1".into(),
            validity_unit: unit.into(),
            download_mbps: down.into(),
            upload_mbps: up.into(),
            shared_users: shared.into(),
            ..PlanForm::default()
        };
        plans::service::insert_if_missing(&mut tx, &plan, state.clock.now())
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    Net {
        db,
        state,
        tenant,
        staff,
        url,
    }
}

impl Net {
    async fn router(&self, form: RouterForm) -> Uuid {
        let input = form.check(false).unwrap();
        routers::create(&self.state, &self.staff, &input, &RequestMeta::default())
            .await
            .unwrap()
            .id
    }

    /// A router the server pushes to over the binary API (plain, port of `sim`).
    pub async fn api_router(&self, name: &str, sim: &RouterSim) -> Uuid {
        self.router(RouterForm {
            name: name.into(),
            mode: RouterMode::Api.as_str().into(),
            host: "127.0.0.1".into(),
            port: sim.addr().port().to_string(),
            api_username: API_USER.into(),
            api_password: API_PASSWORD.into(),
            ..RouterForm::default()
        })
        .await
    }

    /// A router the server pushes to over the v7 REST API (plain http to the simulator).
    pub async fn rest_router(&self, name: &str, sim: &RouterSim) -> Uuid {
        let port = sim.rest_url().rsplit(':').next().unwrap().to_string();
        self.router(RouterForm {
            name: name.into(),
            mode: RouterMode::Rest.as_str().into(),
            host: "127.0.0.1".into(),
            port,
            api_username: API_USER.into(),
            api_password: API_PASSWORD.into(),
            ..RouterForm::default()
        })
        .await
    }

    /// A phone-home router; returns it and the agent settings its install script carries.
    pub async fn agent_router(&self, name: &str, interval_secs: u64) -> (Uuid, AgentConfig) {
        let id = self
            .router(RouterForm {
                name: name.into(),
                mode: RouterMode::Agent.as_str().into(),
                interval_secs: interval_secs.to_string(),
                ..RouterForm::default()
            })
            .await;
        let mut tx = self.db.db().tenant(self.tenant).await.unwrap();
        let secret = routers::open_secret(&mut tx, &self.state, id)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let agent = AgentConfig {
            url: format!("{}/api/routers/agent", self.url),
            router_id: id.to_string(),
            secret,
            interval: std::time::Duration::from_secs(interval_secs),
        };
        (id, agent)
    }

    pub async fn plan(&self, name: &str) -> Uuid {
        let mut tx = self.db.db().tenant(self.tenant).await.unwrap();
        let id = sqlx::query_scalar("select id from plans where name = $1")
            .bind(name)
            .fetch_one(tx.conn())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        id
    }

    /// A customer with one prepaid service on `plan`, on `router`. Returns (customer, service,
    /// user name).
    pub async fn service(
        &self,
        name: &str,
        phone: &str,
        plan: Uuid,
        router: Option<Uuid>,
    ) -> (Uuid, Uuid, String) {
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
            router_id: router.map(|r| r.to_string()).unwrap_or_default(),
            password: "pass-1234".into(),
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
        let s = &detail.services[0];
        (detail.id, s.id, s.username.clone())
    }

    /// One worker round, every router delivered to before it returns.
    pub async fn round(&self) -> worker::Round {
        worker::round(&self.state, false).await.unwrap()
    }

    /// The router's commands, oldest first.
    pub async fn commands(&self, router: Uuid) -> Vec<Cmd> {
        let mut tx = self.db.db().tenant(self.tenant).await.unwrap();
        let rows = sqlx::query_as(
            "select username, spec->>'desired' as desired, reason, status, attempts, last_error
               from router_commands where router_id = $1 order by id",
        )
        .bind(router)
        .fetch_all(tx.conn())
        .await
        .unwrap();
        tx.commit().await.unwrap();
        rows
    }

    /// Runs `sql` (binding `id` as $1) in the ISP's transaction, as the app role.
    pub async fn exec(&self, sql: &str, id: Uuid) {
        let mut tx = self.db.db().tenant(self.tenant).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .bind(id)
            .execute(tx.conn())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    pub async fn expiry(&self, service: Uuid) -> chrono::DateTime<chrono::Utc> {
        let mut tx = self.db.db().tenant(self.tenant).await.unwrap();
        let at = sqlx::query_scalar("select expires_at from services where id = $1")
            .bind(service)
            .fetch_one(tx.conn())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        at
    }

    pub async fn scalar(&self, sql: &str) -> i64 {
        let mut tx = self.db.db().tenant(self.tenant).await.unwrap();
        let n = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(tx.conn())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        n
    }
}

/// The ISP's RADIUS server running on free loopback ports (named in the settings, as the router
/// page tells routers them), with short Disconnect-Request timeouts; and a RADIUS router for a
/// fake NAS at 127.0.0.`last`. Returns the state they run with, the auth and accounting
/// addresses, the router and the NAS.
pub async fn radius_nas(
    net: &Net,
    last: u8,
) -> (
    AppState,
    std::net::SocketAddr,
    std::net::SocketAddr,
    Uuid,
    server::simulators::nas::FakeNas,
) {
    use app::network::radius_server::{self, RadiusSettings};
    use server::simulators::nas::FakeNas;
    let mut state = net.state.clone();
    let free = || {
        std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    };
    state.radius = RadiusSettings {
        auth: Some(free()),
        acct: Some(free()),
        interim_secs: 300,
        dm_timeout: std::time::Duration::from_millis(300),
        cache: true,
    };
    let (auth, acct) = radius_server::start(&state).await.unwrap();
    let ip = std::net::IpAddr::from([127, 0, 0, last]);
    let input = RouterForm {
        name: "NAS".into(),
        mode: RouterMode::Radius.as_str().into(),
        host: ip.to_string(),
        ..RouterForm::default()
    }
    .check(false)
    .unwrap();
    let router = routers::create(&state, &net.staff, &input, &RequestMeta::default())
        .await
        .unwrap()
        .id;
    // The NAS needs the secret the router was given, and the router the NAS's port.
    let mut tx = net.db.db().tenant(net.tenant).await.unwrap();
    let secret = routers::open_secret(&mut tx, &state, router).await.unwrap();
    tx.commit().await.unwrap();
    let nas = FakeNas::start(ip, &secret).await.unwrap();
    net.exec(
        &format!("update routers set port = {} where id = $1", nas.dm_port()),
        router,
    )
    .await;
    (state, auth.unwrap(), acct.unwrap(), router, nas)
}

/// A router simulator with the API user the fixture's routers sign in as.
pub async fn sim() -> RouterSim {
    RouterSim::start(0, API_USER, API_PASSWORD).await.unwrap()
}

/// The simulator's user `name` in `menu`: (disabled, profile), or `None` when absent.
pub fn user(sim: &RouterSim, menu: &str, name: &str) -> Option<(bool, Option<String>)> {
    sim.items(menu)
        .into_iter()
        .find(|i| i.get("name").map(String::as_str) == Some(name))
        .map(|i| {
            (
                i.get("disabled").map(String::as_str) == Some("true"),
                i.get("profile").cloned(),
            )
        })
}
