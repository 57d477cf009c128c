//! The phone-home agent over real HTTP: the install script, check-in authentication, replayed
//! check-ins refused, commands delivered as a RouterOS script (run by the simulator's script
//! interpreter) and their results recorded.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use app::{
    auth::session::RequestMeta,
    customers::service::{self as customers, ServiceChange},
    network::routers,
};
use support::net::{net, sim, user};

async fn post(url: &str, body: String) -> u16 {
    app::payments::daraja::http()
        .unwrap()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_install_script_carries_the_router_its_secret_and_interval() {
    let net = net("agent-script", None).await;
    let (router, agent) = net.agent_router("Mast 2", 7).await;
    let detail = routers::detail(&net.state, &net.staff, router)
        .await
        .unwrap();
    let script = detail.install_script.expect("an agent router has a script");
    assert!(script.contains(&format!("{}/api/routers/agent", net.url)));
    assert!(script.contains(&format!("router={router}&secret={}", agent.secret)));
    assert!(script.contains("interval=7s"));
    assert!(script.contains("/system scheduler add name=\"jasiyo-agent\""));
    // Support staff see the router but never its secret.
    let mut support = net.staff.clone();
    support.role = app::auth::model::Role::Support;
    let detail = routers::detail(&net.state, &support, router).await.unwrap();
    assert!(detail.install_script.is_none());
    // A new secret changes the script and locks out the old one.
    routers::rotate_secret(&net.state, &net.staff, router, &RequestMeta::default())
        .await
        .unwrap();
    let rotated = routers::detail(&net.state, &net.staff, router)
        .await
        .unwrap()
        .install_script
        .unwrap();
    assert!(!rotated.contains(&agent.secret));
    let router_sim = sim().await;
    assert_eq!(router_sim.check_in(&agent).await, Some(403));
}

#[tokio::test]
async fn check_ins_are_authenticated_and_replays_refused() {
    let net = net("agent-auth", None).await;
    let (router, agent) = net.agent_router("Mast 1", 10).await;
    let url = agent.url.clone();
    // Unknown router, wrong secret, garbage: refused, and nothing about the router changes.
    let unknown = format!(
        "router={}&secret={}&nonce=&version=&results=",
        uuid::Uuid::new_v4(),
        agent.secret
    );
    assert_eq!(post(&url, unknown).await, 403);
    let wrong = format!("router={router}&secret=not-the-secret&nonce=&version=&results=");
    assert_eq!(post(&url, wrong).await, 403);
    assert_eq!(post(&url, "router=nonsense".into()).await, 403);
    assert_eq!(
        net.scalar("select count(*) from routers where last_seen_at is not null")
            .await,
        0
    );
    // A pushed router's id and secret do not work as an agent.
    let router_sim = sim().await;
    let pushed = net.api_router("Core", &router_sim).await;
    let mut tx = net.db.db().tenant(net.tenant).await.unwrap();
    let pushed_secret = routers::open_secret(&mut tx, &net.state, pushed)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let foreign = format!("router={pushed}&secret={pushed_secret}&nonce=&version=&results=");
    assert_eq!(post(&url, foreign).await, 403);

    // The real router checks in: first for a nonce, then with it.
    let agent_sim = sim().await;
    assert_eq!(agent_sim.check_in(&agent).await, Some(200));
    assert_eq!(agent_sim.check_in_counts(), (2, 0));
    let replayed = agent_sim.last_check_in().unwrap();
    assert!(
        !replayed.contains("nonce=&"),
        "the last check-in carried a nonce"
    );
    assert_eq!(
        post(&url, replayed.clone()).await,
        409,
        "a replay is refused"
    );
    // The replay burnt nothing the router needs: its own nonce moved on already.
    assert_eq!(agent_sim.check_in(&agent).await, Some(200));
    assert_eq!(post(&url, replayed).await, 409);
    assert_eq!(
        net.scalar("select count(*) from routers where last_seen_at is not null and routeros_version = '7.16.2 (stable)'")
            .await,
        1
    );
}

#[tokio::test]
async fn commands_are_delivered_in_the_script_and_results_recorded() {
    let net = net("agent-run", None).await;
    let (router, agent) = net.agent_router("Mast 3", 10).await;
    let agent_sim = sim().await;
    let home = net.plan("Home 8").await;
    let hotspot = net.plan("Hotspot day").await;
    // More services than one answer carries, one of them a hotspot user with a tricky password.
    let mut users = Vec::new();
    for i in 0..11 {
        let plan = if i == 0 { hotspot } else { home };
        let (_, service, username) = net
            .service(
                &format!("Subscriber {i}"),
                &format!("07120001{i:02}"),
                plan,
                Some(router),
            )
            .await;
        users.push((service, username));
    }
    customers::change_service(
        &net.state,
        &net.staff,
        users[0].0,
        ServiceChange::ChangePassword(r#"q"$\?{x};"#.into()),
        &RequestMeta::default(),
    )
    .await
    .unwrap();
    net.round().await;
    assert_eq!(
        net.scalar("select count(*) from router_commands where status = 'queued'")
            .await,
        11
    );
    // Nothing is sent anywhere until the router calls.
    assert!(agent_sim.items("/ppp/secret").is_empty());
    assert_eq!(agent_sim.check_in(&agent).await, Some(200));
    // Two answers of commands, each reported back at once.
    assert_eq!(
        net.scalar("select count(*) from router_commands where status = 'confirmed'")
            .await,
        11
    );
    assert_eq!(agent_sim.items("/ppp/secret").len(), 10);
    let hotspot_user = agent_sim
        .items("/ip/hotspot/user")
        .into_iter()
        .find(|u| u.get("name") == Some(&users[0].1))
        .unwrap();
    assert_eq!(
        hotspot_user.get("password").map(String::as_str),
        Some(r#"q"$\?{x};"#),
        "the password survived RouterOS quoting"
    );
    assert_eq!(
        user(&agent_sim, "/ppp/secret", &users[1].1),
        Some((false, Some("jasiyo-4M-8M".into())))
    );
    // A cut-off: delivered at the next check-in, the session kicked, confirmed.
    agent_sim.insert("/ppp/active", &[("name", &users[1].1)]);
    customers::change_service(
        &net.state,
        &net.staff,
        users[1].0,
        ServiceChange::Suspend,
        &RequestMeta::default(),
    )
    .await
    .unwrap();
    net.round().await;
    agent_sim.check_in(&agent).await;
    assert!(user(&agent_sim, "/ppp/secret", &users[1].1).unwrap().0);
    assert!(agent_sim.items("/ppp/active").is_empty());
    let cmds = net.commands(router).await;
    assert_eq!(
        (
            cmds.last().unwrap().reason.as_str(),
            cmds.last().unwrap().status.as_str()
        ),
        ("suspended", "confirmed")
    );
    // A command the router fails is reported as such and retried later.
    customers::change_service(
        &net.state,
        &net.staff,
        users[1].0,
        ServiceChange::Reactivate,
        &RequestMeta::default(),
    )
    .await
    .unwrap();
    net.round().await;
    agent_sim.fail_times("failure: no space", 1);
    agent_sim.check_in(&agent).await;
    let last = net.commands(router).await.pop().unwrap();
    assert_eq!((last.status.as_str(), last.attempts), ("queued", 1));
    assert_eq!(
        last.last_error.as_deref(),
        Some("the router could not run the command")
    );
    net.state.clock.advance(chrono::Duration::seconds(5));
    agent_sim.check_in(&agent).await;
    assert_eq!(
        net.commands(router).await.pop().unwrap().status,
        "confirmed"
    );
    assert!(!user(&agent_sim, "/ppp/secret", &users[1].1).unwrap().0);
}

#[tokio::test]
async fn an_agent_that_never_reports_gets_its_commands_again() {
    let net = net("agent-stale", None).await;
    let (router, agent) = net.agent_router("Mast 4", 10).await;
    let agent_sim = sim().await;
    net.service("Juma", "0712000201", net.plan("Home 8").await, Some(router))
        .await;
    net.round().await;
    // The script is handed out but the router dies before it reports.
    let mut body = String::new();
    for _ in 0..2 {
        // First for a nonce, then for the commands.
        let http = app::payments::daraja::http().unwrap();
        let nonce = agent_sim.global("jasiyoNonce").unwrap_or_default();
        let text = http
            .post(&agent.url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "router={}&secret={}&nonce={nonce}&version=&results=",
                agent.router_id, agent.secret
            ))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let next = text
            .lines()
            .find_map(|l| l.strip_prefix(":global jasiyoNonce \""))
            .unwrap()
            .trim_end_matches('"')
            .to_string();
        agent_sim.set_global("jasiyoNonce", &next);
        body = text;
    }
    assert!(body.contains("/ppp secret"), "{body}");
    assert_eq!(
        net.scalar("select count(*) from router_commands where status = 'delivered'")
            .await,
        1
    );
    // Two intervals on, the next check-in gets it again and runs it.
    net.state.clock.advance(chrono::Duration::seconds(30));
    agent_sim.check_in(&agent).await;
    let cmds = net.commands(router).await;
    assert_eq!(
        (cmds[0].status.as_str(), cmds[0].attempts),
        ("confirmed", 1)
    );
    assert_eq!(agent_sim.items("/ppp/secret").len(), 1);
}
