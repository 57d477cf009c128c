//! Enforcement end to end, at scale: 1,000 services on five simulated routers (three on the v6
//! API, one on REST, one phone-home agent), one of them offline until half-way and one
//! flapping, the real network worker running, and the clock moved a day on. Every expired
//! service must end up cut off, every one that paid reconnected, and none cut off early. The
//! latencies from expiry to confirmed cut-off and from payment to confirmed reconnection are
//! printed per router (figures, not assertions: speed is for benchmarks).
#![allow(clippy::unwrap_used, clippy::expect_used)]
// tests fail loudly by design
// The issue asks for the measured latencies to be printed (`cargo test -- --nocapture`).
#![allow(clippy::print_stdout)]

mod support;

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use app::{
    auth::session::RequestMeta,
    billing::{actions, job, model::Channel},
};
use futures_util::StreamExt;
use support::net::{net, sim, user};
use uuid::Uuid;

const SERVICES: usize = 1_000;

/// Router, change, count, p50, p95 and max milliseconds.
type Figures = (String, String, i64, Option<i64>, Option<i64>, Option<i64>);

/// Waits until every desired state is confirmed on its router (or panics after `limit`).
async fn converged(net: &support::net::Net, limit: Duration) {
    let started = Instant::now();
    loop {
        let behind = net
            .scalar("select count(*) from network_entries where confirmed_version < version")
            .await;
        if behind == 0 {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "{behind} desired states still unconfirmed after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_services_are_cut_off_at_expiry_and_reconnected_on_payment() {
    let net = net("enforce", Some(app::clock::Clock::shifted())).await;
    let sims = [
        sim().await,
        sim().await,
        sim().await,
        sim().await,
        sim().await,
    ];
    let mut routers = vec![
        net.api_router("API 1", &sims[0]).await,
        net.api_router("API 2 (offline)", &sims[1]).await,
        net.api_router("API 3 (flapping)", &sims[2]).await,
        net.rest_router("REST", &sims[3]).await,
    ];
    let (agent_router, agent) = net.agent_router("Agent", 5).await;
    routers.push(agent_router);
    let names = [
        "API 1",
        "API 2 (offline)",
        "API 3 (flapping)",
        "REST",
        "Agent",
    ];
    // Pushed routers are looked at every 5 s (the agent checks in as often).
    let mut tx = net.db.db().tenant(net.tenant).await.unwrap();
    sqlx::query("update routers set interval_secs = 5")
        .execute(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    sims[1].set_offline(true);
    let flapping = Arc::new(AtomicBool::new(true));
    {
        let (sim, flapping) = (sims[2].clone(), flapping.clone());
        tokio::spawn(async move {
            while flapping.load(Ordering::Relaxed) {
                sim.set_offline(!sim.is_offline());
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            sim.set_offline(false);
        });
    }
    sims[4].start_agent(agent);
    net.state.network.start(&net.state);

    // Half on a daily plan (to expire), half monthly (must stay on).
    let started = Instant::now();
    let daily = net.plan("Daily 5").await;
    let monthly = net.plan("Home 8").await;
    // Made four at a time, as a few staff members would.
    let net_ref = &net;
    let routers_ref = &routers;
    let services: Vec<(Uuid, Uuid, String, usize, bool)> = futures_util::stream::iter(0..SERVICES)
        .map(|i| async move {
            let plan = if i % 2 == 0 { daily } else { monthly };
            let router = i % routers_ref.len();
            let (customer, service, username) = net_ref
                .service(
                    &format!("Subscriber {i}"),
                    &format!("0712{i:06}"),
                    plan,
                    Some(routers_ref[router]),
                )
                .await;
            (customer, service, username, router, plan == daily)
        })
        .buffer_unordered(4)
        .collect()
        .await;
    println!("{SERVICES} services made in {:?}", started.elapsed());
    // Renewals are invoiced ahead (a daily plan is always within the notice).
    let report = job::run_tenant(&net.state, net.tenant, &job::Options::default())
        .await
        .unwrap();
    assert_eq!(report.invoices as usize, SERVICES / 2);

    // The offline router comes back; everything is on its router.
    tokio::time::sleep(Duration::from_secs(2)).await;
    sims[1].set_offline(false);
    converged(&net, Duration::from_secs(90)).await;
    println!("all on their routers after {:?}", started.elapsed());
    for (_, _, username, router, _) in &services {
        assert_eq!(
            user(&sims[*router], "/ppp/secret", username).map(|u| u.0),
            Some(false),
            "{username} on {}",
            names[*router]
        );
    }

    // A day on: the daily services expire one after another, as far apart as they were made.
    // The clock is moved to a second before the first expiry and then runs on past the last.
    // The router flaps on.
    let mut expiries = Vec::new();
    for (_, service, _, _, is_daily) in &services {
        if *is_daily {
            expiries.push(net.expiry(*service).await);
        }
    }
    let first = *expiries.iter().min().unwrap();
    let last = *expiries.iter().max().unwrap();
    net.state
        .clock
        .advance(first - net.state.clock.now() - chrono::Duration::seconds(1));
    tokio::time::sleep(
        (last - first + chrono::Duration::seconds(2))
            .to_std()
            .unwrap(),
    )
    .await;
    // Half of them pay their renewal.
    let mut paid = HashMap::new();
    for (customer, service, _, _, is_daily) in &services {
        if !is_daily || paid.len() >= SERVICES / 4 {
            continue;
        }
        let mut tx = net.db.db().tenant(net.tenant).await.unwrap();
        let renewal: Uuid = sqlx::query_scalar(
            "select id from invoices where customer_id = $1 and status <> 'paid'
              order by period_start desc limit 1",
        )
        .bind(customer)
        .fetch_one(tx.conn())
        .await
        .unwrap();
        tx.commit().await.unwrap();
        actions::mark_paid(
            &net.state,
            &net.staff,
            renewal,
            Channel::Cash,
            None,
            &format!("CASH-{service}"),
            &RequestMeta::default(),
        )
        .await
        .unwrap();
        paid.insert(*service, ());
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    flapping.store(false, Ordering::Relaxed);
    converged(&net, Duration::from_secs(90)).await;

    // Every router shows what each service should be.
    let mut expired = 0;
    for (_, service, username, router, is_daily) in &services {
        let cut_off = *is_daily && !paid.contains_key(service);
        expired += usize::from(cut_off);
        assert_eq!(
            user(&sims[*router], "/ppp/secret", username).map(|u| u.0),
            Some(cut_off),
            "{username} on {} (daily {is_daily}, paid {})",
            names[*router],
            paid.contains_key(service)
        );
    }
    assert_eq!(expired, SERVICES / 4);
    // None cut off early: no monthly service was ever told to go off.
    assert_eq!(
        net.scalar(
            "select count(*) from router_commands c join services s on s.id = c.service_id
              join plans p on p.id = s.plan_id
             where p.validity_unit = 'months' and c.spec->>'desired' <> 'enabled'"
        )
        .await,
        0
    );
    // Nothing was cut off before its expiry.
    assert_eq!(
        net.scalar(
            "select count(*) from router_commands c join services s on s.id = c.service_id
             where c.reason = 'cut_off' and c.confirmed_at < c.due_at"
        )
        .await,
        0
    );

    // The figures, per router.
    let mut tx = net.db.db().tenant(net.tenant).await.unwrap();
    let rows: Vec<Figures> = sqlx::query_as(
        "select r.name, c.reason, count(*),
                (extract(epoch from percentile_disc(0.5) within group
                      (order by c.confirmed_at - c.due_at)) * 1000)::bigint,
                (extract(epoch from percentile_disc(0.95) within group
                      (order by c.confirmed_at - c.due_at)) * 1000)::bigint,
                (extract(epoch from max(c.confirmed_at - c.due_at)) * 1000)::bigint
           from router_commands c join routers r on r.id = c.router_id
          where c.status = 'confirmed' and c.reason in ('cut_off', 'reconnected')
          group by r.name, c.reason order by r.name, c.reason",
    )
    .fetch_all(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    println!("router            change        count   p50 ms   p95 ms   max ms");
    for (name, reason, count, p50, p95, max) in &rows {
        println!(
            "{name:<17} {reason:<12} {count:>6} {:>8} {:>8} {:>8}",
            p50.unwrap_or(-1),
            p95.unwrap_or(-1),
            max.unwrap_or(-1)
        );
    }
    let cut: i64 = rows.iter().filter(|r| r.1 == "cut_off").map(|r| r.2).sum();
    let back: i64 = rows
        .iter()
        .filter(|r| r.1 == "reconnected")
        .map(|r| r.2)
        .sum();
    assert_eq!(
        back as usize,
        SERVICES / 4,
        "every payer was reconnected once"
    );
    // A payer's cut-off may never have reached a router that was away: collapsed into the
    // reconnection, it was never sent. Every one who did not pay was cut off exactly once.
    assert!(
        (SERVICES / 4..=SERVICES / 2).contains(&(cut as usize)),
        "{cut} cut-offs"
    );
    assert_eq!(
        net.scalar(
            "select count(*) from (select service_id from router_commands
                                    where reason = 'cut_off' and status = 'confirmed'
                                    group by service_id having count(*) > 1) twice"
        )
        .await,
        0
    );
}
