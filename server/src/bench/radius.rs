//! The RADIUS benchmark (`server bench-radius-seed N`, `server bench-radius-load …`, driven by
//! `make bench`): an ISP with `n` PPPoE services (`bench1` … `benchN`, passwords `pw1` …) and a
//! RADIUS router at 127.0.0.1, and a load generator that keeps a number of PAP Access-Requests
//! in flight against a RADIUS server for a fixed time and measures what comes back. The same
//! generator drives Jasiyo's server and FreeRADIUS (reading the same users through its SQL
//! module), in the same run.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, ensure};
use app::{
    db::TenantId,
    network::{
        radius_packet::{self as rp, ACCESS_ACCEPT, ACCESS_REQUEST, Packet, attr},
        routers::{generate_secret, secret_binding},
    },
    state::AppState,
};
use tokio::net::UdpSocket;
use uuid::Uuid;

/// What the seed made, for the bench script.
#[derive(Debug)]
pub struct Seeded {
    pub tenant: TenantId,
    pub secret: String,
    pub seed: Duration,
}

pub async fn seed(state: &AppState, n: i64) -> anyhow::Result<Seeded> {
    ensure!(n > 0, "at least one service");
    let started = Instant::now();
    let tenant = TenantId(Uuid::new_v4());
    super::billing::seed(state, tenant, n, false).await?;
    // Real sealed passwords (the billing seed leaves a placeholder), `pw<N>` for `bench<N>`.
    let mut tx = state.db.tenant(tenant).await?;
    let services: Vec<(Uuid, String)> =
        sqlx::query_as("select id, username from services where tenant_id = $1")
            .bind(tenant.0)
            .fetch_all(tx.conn())
            .await?;
    let mut ids = Vec::with_capacity(services.len());
    let mut sealed = Vec::with_capacity(services.len());
    for (id, username) in services {
        let password = username.replacen("bench", "pw", 1);
        let binding = format!("service-password:{}:{id}", tenant.0);
        sealed.push(
            state
                .secrets
                .seal(password.as_bytes(), binding.as_bytes())
                .map_err(|e| anyhow::anyhow!("sealing a password: {e}"))?,
        );
        ids.push(id);
    }
    sqlx::query(
        "update services s set password_enc = t.sealed
           from unnest($2::uuid[], $3::bytea[]) as t(id, sealed)
          where s.tenant_id = $1 and s.id = t.id",
    )
    .bind(tenant.0)
    .bind(&ids)
    .bind(&sealed)
    .execute(tx.conn())
    .await?;
    let router = Uuid::new_v4();
    let secret = generate_secret().map_err(|e| anyhow::anyhow!("a secret: {e}"))?;
    let secret_enc = state
        .secrets
        .seal(
            secret.as_bytes(),
            &secret_binding(tenant.0, router, "secret"),
        )
        .map_err(|e| anyhow::anyhow!("sealing the secret: {e}"))?;
    sqlx::query(
        "insert into routers (tenant_id, id, name, mode, host, port, secret_enc, created_at,
                              updated_at)
         values ($1, $2, 'Benchmark NAS', 'radius', '127.0.0.1', 3799, $3, now(), now())",
    )
    .bind(tenant.0)
    .bind(router)
    .bind(secret_enc)
    .execute(tx.conn())
    .await
    .context("adding the RADIUS router")?;
    tx.commit().await?;
    Ok(Seeded {
        tenant,
        secret,
        seed: started.elapsed(),
    })
}

/// What a load run measured.
#[derive(Debug, Default)]
pub struct Load {
    pub sent: u64,
    pub accepted: u64,
    pub other: u64,
    pub timeouts: u64,
    pub elapsed: Duration,
    /// Latencies of the answered requests, in microseconds, sorted.
    pub latencies: Vec<u64>,
}

impl Load {
    pub fn rate(&self) -> f64 {
        (self.accepted + self.other) as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile(&self, p: f64) -> u64 {
        if self.latencies.is_empty() {
            return 0;
        }
        let at = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[at.min(self.latencies.len() - 1)]
    }
}

/// Keeps `concurrency` Access-Requests in flight (one socket each) against `server` for
/// `seconds`, users picked round the `users` seeded; a request unanswered for 2 s counts as a
/// timeout.
pub async fn load(
    server: SocketAddr,
    secret: &str,
    users: u64,
    concurrency: usize,
    seconds: u64,
) -> anyhow::Result<Load> {
    let secret: Arc<[u8]> = Arc::from(secret.as_bytes());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for worker in 0..concurrency {
        let secret = secret.clone();
        tasks.push(tokio::spawn(async move {
            let socket = UdpSocket::bind("127.0.0.1:0").await?;
            socket.connect(server).await?;
            let mut load = Load::default();
            let mut buffer = vec![0u8; rp::MAX_PACKET];
            let mut n = worker as u64;
            let mut id: u8 = 0;
            while Instant::now() < deadline {
                n = n.wrapping_add(concurrency as u64);
                let user = 1 + n % users;
                id = id.wrapping_add(1);
                let request =
                    access_request(id, &format!("bench{user}"), &format!("pw{user}"), &secret)?;
                let sent = Instant::now();
                socket.send(&request).await?;
                load.sent += 1;
                loop {
                    match tokio::time::timeout(Duration::from_secs(2), socket.recv(&mut buffer))
                        .await
                    {
                        Err(_) => {
                            load.timeouts += 1;
                            break;
                        }
                        Ok(received) => {
                            let answer = &buffer[..received?];
                            // A late answer to an earlier, timed-out request is skipped.
                            if answer.get(1) != Some(&id) {
                                continue;
                            }
                            load.latencies.push(sent.elapsed().as_micros() as u64);
                            if answer.first() == Some(&ACCESS_ACCEPT) {
                                load.accepted += 1;
                            } else {
                                load.other += 1;
                            }
                            break;
                        }
                    }
                }
            }
            anyhow::Ok(load)
        }));
    }
    let mut total = Load::default();
    for task in tasks {
        let part = task.await.context("a load task")??;
        total.sent += part.sent;
        total.accepted += part.accepted;
        total.other += part.other;
        total.timeouts += part.timeouts;
        total.latencies.extend(part.latencies);
    }
    total.elapsed = started.elapsed();
    total.latencies.sort_unstable();
    Ok(total)
}

/// A PAP Access-Request with a Message-Authenticator, as a MikroTik sends.
fn access_request(id: u8, user: &str, password: &str, secret: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut authenticator = [0u8; 16];
    getrandom::fill(&mut authenticator).map_err(|e| anyhow::anyhow!("random: {e}"))?;
    let mut packet = Packet::new(ACCESS_REQUEST, id, authenticator);
    packet.push(attr::USER_NAME, user.as_bytes());
    packet.push(
        attr::USER_PASSWORD,
        rp::hide_password(password.as_bytes(), secret, &authenticator),
    );
    packet.push(attr::NAS_IP_ADDRESS, [127, 0, 0, 1]);
    packet.push(attr::MESSAGE_AUTHENTICATOR, [0u8; 16]);
    let mut bytes = packet
        .encode()
        .map_err(|e| anyhow::anyhow!("encoding: {e}"))?;
    rp::set_message_authenticator(&mut bytes, secret);
    Ok(bytes)
}
