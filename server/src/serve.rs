//! Starting and stopping the server.

use std::time::Duration;

use anyhow::Context;
use app::{db::Db, state::AppState};
use sqlx::{
    PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};
use tokio::net::TcpListener;

use crate::{
    config, demo, routes,
    simulators::{
        daraja::DarajaSim, paystack::PaystackSim, routeros::RouterSim, sms::SmsSim, smtp::SmtpSink,
    },
};
use app::mail::mailer::Mailer;

/// Opens a pool. Connections are tagged so they can be told apart in `pg_stat_activity`.
pub async fn connect(options: PgConnectOptions, size: u32) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options.application_name("jasiyo"))
        .await
}

#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    #[error(
        "the runtime database role {role:?} is a superuser or has BYPASSRLS: row-level security \
         would not protect tenants. Point APP_DATABASE_URL at the jasiyo_app role."
    )]
    Privileged { role: String },
    #[error("could not inspect the runtime database role")]
    Query(#[from] sqlx::Error),
}

/// Refuses to serve as a role that row-level security does not apply to.
pub async fn check_runtime_role(pool: &PgPool) -> Result<(), RoleError> {
    let (role, privileged): (String, bool) = sqlx::query_as(
        "select rolname::text, rolsuper or rolbypassrls from pg_roles where rolname = current_user",
    )
    .fetch_one(pool)
    .await?;
    if privileged {
        return Err(RoleError::Privileged { role });
    }
    Ok(())
}

/// Serves until SIGINT or SIGTERM, then finishes in-flight requests and closes the pool.
pub async fn run() -> anyhow::Result<()> {
    let options = config::leptos_options()?;
    let pool = connect(config::app_database()?, config::pool_size()?)
        .await
        .context("connecting to PostgreSQL as the runtime role (APP_DATABASE_URL)")?;
    check_runtime_role(&pool).await?;

    let mut state = AppState::new(Db::new(pool), config::secrets()?);
    state.sessions = config::session_timeouts()?;
    state.radius = config::radius()?;

    let mail = config::mail(options.site_addr);
    let dev_mail = if config::dev_mail() {
        let sink = SmtpSink::start(0)
            .await
            .context("starting the demo SMTP sink")?;
        tracing::info!(smtp = %sink.url(), "demo mail: all mail is caught and shown at /dev/mail");
        state.mailer = Mailer::smtp(&sink.url(), &mail.from, &mail.public_url)?;
        Some(sink)
    } else if let Some(url) = &mail.smtp_url {
        state.mailer = Mailer::smtp(url, &mail.from, &mail.public_url)?;
        None
    } else {
        tracing::warn!("JASIYO_SMTP_URL is not set: mail is kept in the outbox, not sent");
        state.mailer = Mailer::disabled(&mail.public_url);
        None
    };

    state.sms = app::messaging::sms::SmsSender::new(config::sms_gateway());
    let mut dev_sms = None;
    if config::dev_providers() {
        let sim = SmsSim::start(demo::DEMO_SMS_USER, demo::DEMO_SMS_KEY)
            .await
            .context("starting the SMS simulator")?;
        tracing::info!(sms = %sim.url(), "demo SMS: text messages are caught and shown at /dev/sms");
        state.sms =
            app::messaging::sms::SmsSender::new(Some(app::messaging::africastalking::AtConfig {
                base_url: sim.url(),
                username: demo::DEMO_SMS_USER.into(),
                api_key: demo::DEMO_SMS_KEY.into(),
                sender_id: None,
            }));
        sim.report_to(&format!(
            "{}/hooks/sms/africastalking/{}",
            mail.public_url.trim_end_matches('/'),
            app::messaging::delivery::delivery_secret(&state.secrets)
        ));
        dev_sms = Some(sim);
    } else if state.sms.gateway.is_none() {
        tracing::warn!(
            "JASIYO_SMS_AT_USERNAME and JASIYO_SMS_AT_API_KEY are not set: text messages stay queued"
        );
    }

    state.providers.daraja_url = config::daraja_url();
    state.providers.paystack_url = config::paystack_url();
    state.providers.public_url = Some(mail.public_url.clone());
    if config::dev_providers() {
        let daraja = DarajaSim::start(0)
            .await
            .context("starting the Daraja simulator")?;
        daraja.add_app(demo::DEMO_MPESA_KEY, demo::DEMO_MPESA_SECRET);
        daraja.add_shortcode(demo::DEMO_MPESA_SHORTCODE, demo::DEMO_MPESA_PASSKEY);
        // Long enough to watch the page wait, as a payer takes a few seconds to type a PIN.
        daraja.set_stk_timing(crate::simulators::daraja::Timing {
            answer_after: Duration::from_secs(4),
            late_by: Duration::from_secs(20),
        });
        tracing::info!(daraja = %daraja.url(), "demo payments: M-Pesa is a local simulator");
        state.providers.daraja_url = Some(daraja.url());
        let paystack = PaystackSim::start(0)
            .await
            .context("starting the Paystack simulator")?;
        tracing::info!(paystack = %paystack.url(), "demo payments: Paystack is a local simulator");
        state.providers.paystack_url = Some(paystack.url());
        // The demo ISP's router: a simulator on the binary API, told who is on and who is cut
        // off from the first round on (its memory starts empty at each start, as after a reset).
        let router = RouterSim::start(0, demo::DEMO_ROUTER_USER, demo::DEMO_ROUTER_PASSWORD)
            .await
            .context("starting the RouterOS simulator")?;
        demo::point_demo_router(&state, router.addr().port())
            .await
            .context("pointing the demo router at its simulator")?;
        tracing::info!(api = %router.addr(), "demo network: the demo router is a local simulator");
        // The demo ISP's paybill sends its payments here, once the server is listening.
        let demo_state = state.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let registered = match demo_state.db.tenant_by_slug(demo::DEMO_SLUG).await {
                Ok(Some(tenant)) => {
                    // Paystack's "dashboard" webhook URL for the demo key.
                    if let Ok(hook) = demo_hook_token(&demo_state, tenant).await {
                        paystack.add_key(
                            demo::DEMO_PAYSTACK_SECRET,
                            Some(&format!(
                                "{}/hooks/paystack/{hook}",
                                demo_state.mailer.public_url
                            )),
                        );
                    }
                    app::payments::daraja::register_c2b_urls_for(&demo_state, tenant)
                        .await
                        .map(Some)
                }
                Ok(None) => Ok(None),
                Err(err) => Err(err.into()),
            };
            match registered {
                Ok(Some(shortcode)) => tracing::info!(
                    %shortcode,
                    control = %format!("{}/simulator/c2b", daraja.url()),
                    "demo paybill registered with the simulator"
                ),
                Ok(None) => {}
                Err(err) => tracing::warn!(error = %err, "demo paybill not registered"),
            }
        });
    }

    let addr = options.site_addr;
    // Mail that could not be delivered at once is retried in the background.
    tokio::spawn(app::mail::outbox::retry_forever(
        state.clone(),
        Duration::from_secs(30),
    ));

    // STK pushes whose callback has not come are asked about, and expire after two minutes.
    tokio::spawn(app::payments::stk::poll_forever(
        state.clone(),
        Duration::from_secs(5),
    ));

    // Paybill confirmations are applied in batches as they arrive (and any left waiting by a
    // restart, at once).
    state.c2b.start(&state);

    // Text messages (sign-in codes first) as they are queued.
    state.sms.start(&state);

    // Cut-offs at expiry, and router commands queued and pushed as desired states change.
    state.network.start(&state);

    // RADIUS for routers that ask (a port already taken is reported, not fatal: the rest of
    // the app still serves).
    if let Err(err) = app::network::radius_server::start(&state).await {
        tracing::error!(error = %err, "RADIUS not served: could not bind its ports");
    }

    // Renewals, postpaid billing days, overdue invoices and cut-offs, on a schedule.
    let (every, batch_size) = config::billing()?;
    tokio::spawn(app::messaging::reminders::run_forever(state.clone(), every));
    // Receipts, cut-off notices and postpaid invoices: looked for every 10 s (a receipt is
    // awaited), each queued once however often this runs.
    tokio::spawn(app::messaging::events::run_forever(
        state.clone(),
        std::time::Duration::from_secs(10),
    ));
    tokio::spawn(app::billing::job::run_forever(
        state.clone(),
        every,
        batch_size,
    ));

    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr} (set LEPTOS_SITE_ADDR to use another)"))?;
    let local = listener.local_addr().context("reading the bound address")?;
    tracing::info!(url = %format!("http://{local}"), "listening");

    let surface = routes::Surface {
        hsts: config::hsts(),
        dev_mail,
        dev_sms,
    };
    let app = routes::router_with(state.clone(), options, surface);
    // Peer addresses reach the handlers for throttling and the audit log.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("serving HTTP")?;

    state.db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The demo ISP's webhook token (for the Paystack simulator's webhook URL).
async fn demo_hook_token(
    state: &AppState,
    tenant: app::db::TenantId,
) -> Result<String, app::AppError> {
    let mut tx = state.db.tenant(tenant).await?;
    let hook = app::payments::settings::hook_token(&mut tx, &state.secrets).await?;
    tx.commit().await?;
    Ok(hook)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "could not listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "could not listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
