//! The RouterOS binary API (v6) end to end over TCP on loopback: our client signs in to the
//! router simulator and manages PPPoE secrets as the push worker will: add, a duplicate refused
//! with RouterOS's message, disable, print with a query, kick an active session, remove. Wrong
//! passwords, unknown commands, an offline router and a failing command surface as errors.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::time::Duration;

use app::network::{
    routeros_api::Command,
    routeros_v6::{RouterError, V6Client},
};
use server::simulators::routeros::RouterSim;

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn pppoe_secrets_are_added_disabled_kicked_and_removed() {
    let router = RouterSim::start(0, "jasiyo", "api-pass").await.unwrap();
    let mut api = V6Client::connect(router.addr(), "jasiyo", "api-pass", WAIT)
        .await
        .unwrap();

    let add = Command::new("/ppp/secret/add")
        .attr("name", "wanjiru")
        .attr("password", "pppoe-1")
        .attr("profile", "10M")
        .attr("service", "pppoe")
        .tag("1");
    let replies = api.run(&add).await.unwrap();
    let id = replies.last().unwrap().get("ret").unwrap().to_string();
    assert!(id.starts_with('*'), "{id}");
    assert_eq!(replies.last().unwrap().tag.as_deref(), Some("1"));

    // RouterOS refuses a second secret of the same name, and says so.
    match api.run(&add).await {
        Err(RouterError::Refused(message)) => {
            assert_eq!(message, "failure: secret with the same name already exists")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }

    // Cut off: disabled, and the live session kicked.
    api.run(
        &Command::new("/ppp/secret/set")
            .attr(".id", &id)
            .attr("disabled", "yes"),
    )
    .await
    .unwrap();
    router.insert(
        "/ppp/active",
        &[("name", "wanjiru"), ("address", "10.0.0.7")],
    );
    router.insert(
        "/ppp/active",
        &[("name", "otieno"), ("address", "10.0.0.8")],
    );
    let active = api
        .run(&Command::new("/ppp/active/print").query("name", "wanjiru"))
        .await
        .unwrap();
    assert_eq!(active.len(), 2, "one !re and the !done");
    let session = active[0].get(".id").unwrap().to_string();
    api.run(&Command::new("/ppp/active/remove").attr(".id", &session))
        .await
        .unwrap();
    let secrets = router.items("/ppp/secret");
    assert_eq!(secrets.len(), 1);
    // RouterOS keeps flags as booleans, whichever word set them.
    assert_eq!(secrets[0]["disabled"], "true");
    assert_eq!(secrets[0]["profile"], "10M");
    let left: Vec<String> = router
        .items("/ppp/active")
        .iter()
        .map(|i| i["name"].clone())
        .collect();
    assert_eq!(left, ["otieno"]);

    // Removed when the service is deleted.
    api.run(&Command::new("/ppp/secret/remove").attr(".id", &id))
        .await
        .unwrap();
    assert!(router.items("/ppp/secret").is_empty());
    match api
        .run(&Command::new("/ppp/secret/remove").attr(".id", &id))
        .await
    {
        Err(RouterError::Refused(message)) => assert_eq!(message, "no such item"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // The password never reaches a log line.
    assert!(!add.to_string().contains("pppoe-1"));
}

#[tokio::test]
async fn sign_in_failures_unknown_commands_and_an_offline_router_are_errors() {
    let router = RouterSim::start(0, "jasiyo", "api-pass").await.unwrap();
    match V6Client::connect(router.addr(), "jasiyo", "wrong", WAIT).await {
        Err(RouterError::Refused(message)) => {
            assert!(
                message.contains("invalid user name or password"),
                "{message}"
            )
        }
        Err(other) => panic!("expected a refusal, got {other:?}"),
        Ok(_) => panic!("signed in with a wrong password"),
    }

    let mut api = V6Client::connect(router.addr(), "jasiyo", "api-pass", WAIT)
        .await
        .unwrap();
    assert!(matches!(
        api.run(&Command::new("/interface/wireless/print")).await,
        Err(RouterError::Refused(_))
    ));
    // A command the router fails, then the session still works.
    router.fail_next("failure: out of memory");
    match api
        .run(&Command::new("/ip/hotspot/user/add").attr("name", "X7K2-P9MQ"))
        .await
    {
        Err(RouterError::Refused(message)) => assert_eq!(message, "failure: out of memory"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    api.run(&Command::new("/ip/hotspot/user/add").attr("name", "X7K2-P9MQ"))
        .await
        .unwrap();
    assert_eq!(router.items("/ip/hotspot/user").len(), 1);
    assert_eq!(
        router.commands().len(),
        3,
        "every command after sign-in is recorded"
    );

    router.set_offline(true);
    assert!(
        V6Client::connect(router.addr(), "jasiyo", "api-pass", WAIT)
            .await
            .is_err(),
        "an offline router is an error, not a hang"
    );
    router.set_offline(false);
    V6Client::connect(router.addr(), "jasiyo", "api-pass", WAIT)
        .await
        .unwrap();

    // A router older than 6.43 answers sign-in with a challenge: told, not guessed at.
    router.set_old_login(true);
    assert!(matches!(
        V6Client::connect(router.addr(), "jasiyo", "api-pass", WAIT).await,
        Err(RouterError::TooOld)
    ));
}
