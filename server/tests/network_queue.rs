//! The desired state and the per-router command queue, pushed over the RouterOS API (v6) and
//! the v7 REST API to the simulator: what a change queues, collapsing while a router is away,
//! retries and failure, and the expiry sweep.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use app::{
    auth::session::RequestMeta,
    customers::service::{self as customers, ServiceChange},
    network::{queue::MAX_ATTEMPTS, routers},
};
use chrono::Duration;
use support::net::{net, sim, user};

async fn change(net: &support::net::Net, service: uuid::Uuid, change: ServiceChange) {
    customers::change_service(
        &net.state,
        &net.staff,
        service,
        change,
        &RequestMeta::default(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_new_service_is_pushed_with_its_plan_and_confirmed() {
    let net = net("queue-new", None).await;
    let router_sim = sim().await;
    let router = net.api_router("Core", &router_sim).await;
    let (_, _, username) = net
        .service(
            "Achieng",
            "0712000001",
            net.plan("Home 8").await,
            Some(router),
        )
        .await;
    let round = net.round().await;
    assert_eq!(round.queued, 1);
    assert_eq!(
        user(&router_sim, "/ppp/secret", &username),
        Some((false, Some("jasiyo-4M-8M".into())))
    );
    let profile = router_sim
        .items("/ppp/profile")
        .into_iter()
        .find(|p| p.get("name").map(String::as_str) == Some("jasiyo-4M-8M"))
        .expect("the plan's profile was made");
    assert_eq!(profile.get("rate-limit").map(String::as_str), Some("4M/8M"));
    let secret = &router_sim.items("/ppp/secret")[0];
    assert_eq!(
        secret.get("password").map(String::as_str),
        Some("pass-1234")
    );
    assert_eq!(secret.get("service").map(String::as_str), Some("pppoe"));
    let cmds = net.commands(router).await;
    assert_eq!(cmds.len(), 1);
    assert_eq!(
        (cmds[0].status.as_str(), cmds[0].reason.as_str()),
        ("confirmed", "added")
    );
    assert_eq!(
        net.scalar("select count(*) from network_entries where confirmed_version = version")
            .await,
        1
    );
    // The router answered: online, with its version.
    let mut tx = net.db.db().tenant(net.tenant).await.unwrap();
    let list = routers::list(&mut tx, net.state.clock.now()).await.unwrap();
    tx.commit().await.unwrap();
    assert!(list[0].online);
    assert_eq!(list[0].routeros_version.as_deref(), Some("7.16.2 (stable)"));
}

#[tokio::test]
async fn the_same_desired_state_twice_makes_no_second_command() {
    let net = net("queue-same", None).await;
    let router_sim = sim().await;
    let router = net.api_router("Core", &router_sim).await;
    let (_, service, _) = net
        .service(
            "Baraka",
            "0712000002",
            net.plan("Home 8").await,
            Some(router),
        )
        .await;
    net.round().await;
    // A renewal moves the expiry, not what the router is told.
    change(&net, service, ServiceChange::ExtendDays(5)).await;
    let round = net.round().await;
    assert_eq!(round.queued, 0, "an expiry move queues nothing");
    // The same state recomputed (a no-op update of the service) changes nothing either.
    net.exec("update services set status = status where id = $1", service)
        .await;
    assert_eq!(net.round().await.queued, 0);
    // Even recomputing the desired state outright leaves the entry's version alone.
    net.exec(
        "select network_refresh(tenant_id, array[id], now()) from services where id = $1",
        service,
    )
    .await;
    assert_eq!(
        net.scalar("select max(version) from network_entries").await,
        1
    );
    assert_eq!(net.round().await.queued, 0);
    assert_eq!(net.commands(router).await.len(), 1);
    let before = router_sim.commands().len();
    net.round().await;
    // At most a look to see it is online; no user command is sent.
    assert!(
        router_sim.commands()[before..]
            .iter()
            .all(|c| c.starts_with("/system/resource")),
        "{:?}",
        &router_sim.commands()[before..]
    );
}

#[tokio::test]
async fn an_offline_router_gets_only_the_latest_state_when_it_returns() {
    let net = net("queue-offline", None).await;
    let router_sim = sim().await;
    let router = net.api_router("Core", &router_sim).await;
    let (_, service, username) = net
        .service(
            "Chebet",
            "0712000003",
            net.plan("Home 8").await,
            Some(router),
        )
        .await;
    net.round().await;
    router_sim.set_offline(true);
    change(&net, service, ServiceChange::Suspend).await;
    net.round().await;
    let cmds = net.commands(router).await;
    assert_eq!(cmds.len(), 2);
    assert_eq!(
        (cmds[1].status.as_str(), cmds[1].attempts),
        ("queued", 0),
        "an unreachable router costs no attempt"
    );
    assert_eq!(
        net.scalar("select count(*) from routers where last_error is not null")
            .await,
        1
    );
    // While it is away the state flips twice more: still one command waiting, the latest.
    change(&net, service, ServiceChange::Reactivate).await;
    net.round().await;
    change(&net, service, ServiceChange::Suspend).await;
    net.round().await;
    let cmds = net.commands(router).await;
    assert_eq!(cmds.len(), 2, "collapsed: {cmds:?}");
    assert_eq!(
        (cmds[1].desired.as_str(), cmds[1].status.as_str()),
        ("disabled", "queued")
    );
    // It comes back; within an interval it has its commands.
    router_sim.set_offline(false);
    net.state.clock.advance(Duration::seconds(10));
    net.round().await;
    let cmds = net.commands(router).await;
    assert_eq!(cmds[1].status, "confirmed");
    assert!(user(&router_sim, "/ppp/secret", &username).unwrap().0);
    let sets = router_sim
        .commands()
        .iter()
        .filter(|c| c.starts_with("/ppp/secret/set"))
        .count();
    assert_eq!(sets, 1, "one change reached the router, not three");
}

#[tokio::test]
async fn a_refused_command_is_retried_with_backoff_then_failed_and_can_be_retried() {
    let net = net("queue-fail", None).await;
    let router_sim = sim().await;
    let router = net.api_router("Core", &router_sim).await;
    let (_, _, username) = net
        .service(
            "Dalmas",
            "0712000004",
            net.plan("Home 8").await,
            Some(router),
        )
        .await;
    let mut backoffs = Vec::new();
    for attempt in 1..=MAX_ATTEMPTS {
        // The sign-in's version check passes; the first user command is refused.
        router_sim.fail_after("failure: out of memory", 1);
        net.round().await;
        let cmd = net.commands(router).await.remove(0);
        assert_eq!(cmd.attempts, attempt);
        assert_eq!(cmd.last_error.as_deref(), Some("failure: out of memory"));
        if attempt == MAX_ATTEMPTS {
            assert_eq!(cmd.status, "failed", "shown as failed after {MAX_ATTEMPTS}");
            break;
        }
        assert_eq!(cmd.status, "queued");
        let wait = net
            .scalar(
                "select extract(epoch from next_attempt_at - delivered_at)::bigint
                   from router_commands",
            )
            .await;
        backoffs.push(wait);
        // Nothing is tried before the back-off is over.
        router_sim.fail_times("", 0);
        net.round().await;
        assert_eq!(net.commands(router).await[0].attempts, attempt);
        net.state.clock.advance(Duration::seconds(wait));
    }
    assert_eq!(backoffs, [5, 10, 20, 40]);
    assert!(user(&router_sim, "/ppp/secret", &username).is_none());
    let detail = routers::detail(&net.state, &net.staff, router)
        .await
        .unwrap();
    assert_eq!(detail.router.failed, 1);
    assert_eq!(detail.commands[0].status, "failed");
    // Someone fixes the router and retries from its page.
    router_sim.fail_times("", 0);
    let retried = routers::retry_failed(&net.state, &net.staff, router, &RequestMeta::default())
        .await
        .unwrap();
    assert_eq!(retried, 1);
    net.round().await;
    assert_eq!(net.commands(router).await[0].status, "confirmed");
    assert!(user(&router_sim, "/ppp/secret", &username).is_some());
}

#[tokio::test]
async fn rest_routers_are_pushed_to_over_rest() {
    let net = net("queue-rest", None).await;
    let router_sim = sim().await;
    let router = net.rest_router("Edge v7", &router_sim).await;
    let (_, service, username) = net
        .service(
            "Esther",
            "0712000005",
            net.plan("Hotspot day").await,
            Some(router),
        )
        .await;
    net.round().await;
    assert_eq!(
        user(&router_sim, "/ip/hotspot/user", &username),
        Some((false, Some("jasiyo-1M-3M-x2".into())))
    );
    let profile = router_sim.items("/ip/hotspot/user/profile").remove(0);
    assert_eq!(profile.get("shared-users").map(String::as_str), Some("2"));
    assert!(
        router_sim
            .commands()
            .iter()
            .any(|c| c.starts_with("PUT /rest/ip/hotspot/user")),
        "{:?}",
        router_sim.commands()
    );
    // A cut-off kicks the device off at once.
    router_sim.insert(
        "/ip/hotspot/active",
        &[("user", &username), ("address", "10.5.50.7")],
    );
    change(&net, service, ServiceChange::Suspend).await;
    net.round().await;
    assert!(user(&router_sim, "/ip/hotspot/user", &username).unwrap().0);
    assert!(router_sim.items("/ip/hotspot/active").is_empty());
    let cmds = net.commands(router).await;
    assert_eq!(
        (cmds[1].reason.as_str(), cmds[1].status.as_str()),
        ("suspended", "confirmed")
    );
}

#[tokio::test]
async fn the_sweep_cuts_off_at_expiry_never_before() {
    let net = net("queue-sweep", None).await;
    let router_sim = sim().await;
    let router = net.api_router("Core", &router_sim).await;
    let (_, service, username) = net
        .service(
            "Faith",
            "0712000006",
            net.plan("Daily 5").await,
            Some(router),
        )
        .await;
    net.round().await;
    router_sim.insert(
        "/ppp/active",
        &[("name", &username), ("address", "10.0.0.9")],
    );
    let expires = net.expiry(service).await;
    // A second before expiry: still on.
    net.state
        .clock
        .advance(expires - net.state.clock.now() - Duration::seconds(1));
    let round = net.round().await;
    assert_eq!(round.expired, 0);
    assert!(!user(&router_sim, "/ppp/secret", &username).unwrap().0);
    // At expiry (no grace period): cut off, and the session kicked.
    net.state.clock.advance(Duration::seconds(1));
    let round = net.round().await;
    assert_eq!(round.expired, 1);
    assert!(user(&router_sim, "/ppp/secret", &username).unwrap().0);
    assert!(router_sim.items("/ppp/active").is_empty());
    let cmds = net.commands(router).await;
    assert_eq!(
        (cmds[1].reason.as_str(), cmds[1].status.as_str()),
        ("cut_off", "confirmed")
    );
    // The cut-off was due at the expiry itself: that is where its latency counts from.
    assert_eq!(
        net.scalar(
            "select count(*) from router_commands c join services s on s.id = c.service_id
              where c.reason = 'cut_off' and c.due_at = s.expires_at"
        )
        .await,
        1
    );
    // Extending reconnects.
    change(&net, service, ServiceChange::ExtendDays(1)).await;
    net.round().await;
    assert!(!user(&router_sim, "/ppp/secret", &username).unwrap().0);
    assert_eq!(net.commands(router).await[2].reason, "reconnected");
    // The router page's figures count both.
    let detail = routers::detail(&net.state, &net.staff, router)
        .await
        .unwrap();
    assert_eq!((detail.cut_off.count, detail.reconnect.count), (1, 1));
    assert!(detail.install_script.is_none(), "not an agent router");
}

#[tokio::test]
async fn moving_archiving_and_plan_edits_reach_the_routers() {
    let net = net("queue-move", None).await;
    let (sim_a, sim_b) = (sim().await, sim().await);
    let a = net.api_router("A", &sim_a).await;
    let b = net.api_router("B", &sim_b).await;
    let home = net.plan("Home 8").await;
    let (customer, service, username) = net.service("Gitau", "0712000007", home, Some(a)).await;
    net.round().await;
    change(&net, service, ServiceChange::MoveRouter(Some(b))).await;
    net.round().await;
    assert!(
        user(&sim_a, "/ppp/secret", &username).is_none(),
        "removed from A"
    );
    assert_eq!(
        user(&sim_b, "/ppp/secret", &username).map(|u| u.0),
        Some(false)
    );
    assert_eq!(net.commands(a).await[1].reason, "moved");
    // The plan gets faster: its users move to the new speed's profile.
    net.exec("update plans set download_kbps = 20000 where id = $1", home)
        .await;
    net.round().await;
    assert_eq!(
        user(&sim_b, "/ppp/secret", &username).unwrap().1.as_deref(),
        Some("jasiyo-4M-20M")
    );
    assert_eq!(net.commands(b).await.last().unwrap().reason, "plan");
    // Removing the customer (archived: they have an invoice) removes the user.
    customers::delete(&net.state, &net.staff, customer, &RequestMeta::default())
        .await
        .unwrap();
    net.round().await;
    assert!(user(&sim_b, "/ppp/secret", &username).is_none());
    assert_eq!(net.commands(b).await.last().unwrap().reason, "removed");
}

#[tokio::test]
async fn a_router_with_services_cannot_be_deleted() {
    let net = net("queue-delete", None).await;
    let router_sim = sim().await;
    let router = net.api_router("Core", &router_sim).await;
    net.service(
        "Halima",
        "0712000008",
        net.plan("Home 8").await,
        Some(router),
    )
    .await;
    let err = routers::delete(&net.state, &net.staff, router, &RequestMeta::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("move them"), "{err}");
}

#[tokio::test]
async fn a_service_cannot_be_put_on_another_isps_router() {
    let net = net("queue-foreign", None).await;
    let (other, other_owner) = net.db.tenant("other-isp", "Other ISP").await;
    let other_staff = app::auth::identity::Staff {
        tenant: other,
        user_id: other_owner,
        session_id: uuid::Uuid::nil(),
        name: "Other".into(),
        email: "owner@other-isp.test".into(),
        role: app::auth::model::Role::Owner,
    };
    let input = app::network::model::RouterForm {
        name: "Theirs".into(),
        mode: "agent".into(),
        ..Default::default()
    }
    .check(false)
    .unwrap();
    let theirs = routers::create(&net.state, &other_staff, &input, &RequestMeta::default())
        .await
        .unwrap()
        .id;
    let (_, service, _) = net
        .service("Imani", "0712000009", net.plan("Home 8").await, None)
        .await;
    let err = customers::change_service(
        &net.state,
        &net.staff,
        service,
        ServiceChange::MoveRouter(Some(theirs)),
        &RequestMeta::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, app::AppError::Invalid { ref field, .. } if field == "router_id"),
        "{err}"
    );
    assert_eq!(net.scalar("select count(*) from network_entries").await, 0);
}

#[tokio::test]
async fn a_reset_router_is_sent_everything_again() {
    let net = net("queue-resync", None).await;
    let router_sim = sim().await;
    let router = net.api_router("Core", &router_sim).await;
    let home = net.plan("Home 8").await;
    let (_, _, on) = net
        .service("Jabali", "0712000010", home, Some(router))
        .await;
    let (_, off, cut) = net
        .service("Kerubo", "0712000011", home, Some(router))
        .await;
    change(&net, off, ServiceChange::Suspend).await;
    net.round().await;
    router_sim.reset();
    assert!(router_sim.items("/ppp/secret").is_empty());
    // Nothing changed in the database: nothing is sent until someone asks.
    assert_eq!(net.round().await.queued, 0);
    let queued = routers::resync(&net.state, &net.staff, router, &RequestMeta::default())
        .await
        .unwrap();
    assert_eq!(queued, 2);
    net.round().await;
    assert_eq!(
        user(&router_sim, "/ppp/secret", &on),
        Some((false, Some("jasiyo-4M-8M".into())))
    );
    // A suspended user stays off (a disabled user the router lacks is as good as cut off).
    assert!(user(&router_sim, "/ppp/secret", &cut).is_none_or(|u| u.0));
}
