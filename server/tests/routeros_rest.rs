//! The RouterOS v7 REST API end to end over HTTP on loopback: our client adds, prints (with a
//! filter), disables and removes PPPoE secrets on the router simulator; RouterOS's refusals
//! (a duplicate name, an item that is not there, wrong credentials, a failing command) come
//! back as errors carrying the router's words.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::time::Duration;

use app::network::{router_error::RouterError, routeros_rest::RestClient};
use server::simulators::routeros::RouterSim;

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn secrets_are_added_printed_disabled_and_removed_over_rest() {
    let router = RouterSim::start(0, "jasiyo", "api-pass").await.unwrap();
    let api = RestClient::new(&router.rest_url(), "jasiyo", "api-pass", WAIT).unwrap();

    let added = api
        .add(
            "/ppp/secret",
            &[
                ("name", "wanjiru"),
                ("password", "pppoe-1"),
                ("profile", "10M"),
            ],
        )
        .await
        .unwrap();
    let id = added[".id"].clone();
    assert!(id.starts_with('*'), "{id}");
    assert_eq!(added["profile"], "10M");
    match api.add("/ppp/secret", &[("name", "wanjiru")]).await {
        Err(RouterError::Refused(why)) => {
            assert_eq!(why, "failure: secret with the same name already exists")
        }
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }
    api.add("/ppp/secret", &[("name", "otieno")]).await.unwrap();

    let found = api
        .print("/ppp/secret", &[("name", "wanjiru")])
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0][".id"], id);
    assert_eq!(api.print("/ppp/secret", &[]).await.unwrap().len(), 2);

    let changed = api
        .set("/ppp/secret", &id, &[("disabled", "true")])
        .await
        .unwrap();
    assert_eq!(changed["disabled"], "true");
    assert_eq!(router.items("/ppp/secret")[0]["disabled"], "true");

    api.remove("/ppp/secret", &id).await.unwrap();
    assert_eq!(router.items("/ppp/secret").len(), 1);
    match api.remove("/ppp/secret", &id).await {
        Err(RouterError::Refused(why)) => assert_eq!(why, "Not Found"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(
        router
            .commands()
            .iter()
            .any(|c| c.starts_with("PATCH /rest/ppp/secret/")),
        "{:?}",
        router.commands()
    );
}

#[tokio::test]
async fn wrong_credentials_unknown_menus_and_failing_commands_are_refusals() {
    let router = RouterSim::start(0, "jasiyo", "api-pass").await.unwrap();
    let wrong = RestClient::new(&router.rest_url(), "jasiyo", "nope", WAIT).unwrap();
    match wrong.print("/ppp/secret", &[]).await {
        Err(RouterError::Refused(why)) => assert_eq!(why, "Unauthorized"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let api = RestClient::new(&router.rest_url(), "jasiyo", "api-pass", WAIT).unwrap();
    match api.print("/interface/wireless", &[]).await {
        Err(RouterError::Refused(why)) => assert_eq!(why, "no such command prefix"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    router.fail_next("failure: out of memory");
    match api.add("/ip/hotspot/user", &[("name", "X7K2-P9MQ")]).await {
        Err(RouterError::Refused(why)) => assert_eq!(why, "failure: out of memory"),
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }
    api.add("/ip/hotspot/user", &[("name", "X7K2-P9MQ")])
        .await
        .unwrap();
    assert_eq!(router.items("/ip/hotspot/user").len(), 1);
}
