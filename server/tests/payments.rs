//! Payment provider settings and the Daraja client, against a real PostgreSQL as the
//! application role and the Daraja simulator on a real socket: secrets sealed and never sent
//! back, changes audited, "Test connection" through our client, one shared token per ISP, and
//! webhook tokens that find their ISP and nothing else.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use app::{
    AppError,
    db::TenantId,
    payments::{daraja, settings},
    state::AppState,
};
use axum::http::StatusCode;
use server::simulators::daraja::DarajaSim;
use support::{TestDb, client::Client, fresh_database};
use uuid::Uuid;

const KEY: &str = "consumer-key-AAAA1111";
const SECRET: &str = "consumer-secret-BBBB2222";
const PASSKEY: &str = "passkey-CCCC3333";
const PAYSTACK: &str = "sk_test_DDDD4444";

struct Isp {
    db: TestDb,
    state: AppState,
    tenant: TenantId,
    owner: Client,
    sim: DarajaSim,
}

async fn isp() -> Isp {
    let db = fresh_database().await;
    let sim = DarajaSim::start(0).await.unwrap();
    sim.add_app(KEY, SECRET);
    let mut state = db.state();
    state.providers.daraja_url = Some(sim.url());
    let (tenant, _) = db.tenant("pay-net", "Pay Net").await;
    let mut owner = Client::new(state.clone());
    owner
        .sign_in("owner@pay-net.test", "pay-net-password")
        .await;
    Isp {
        db,
        state,
        tenant,
        owner,
        sim,
    }
}

fn form<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut pairs = vec![
        ("mpesa_environment", "sandbox"),
        ("mpesa_shortcode", "174379"),
        ("mpesa_kind", "paybill"),
        ("stk_provider", "mpesa"),
    ];
    for (k, v) in extra {
        pairs.retain(|(key, _)| key != k);
        pairs.push((k, v));
    }
    pairs
}

async fn save_credentials(isp: &mut Isp, key: &str, secret: &str) {
    let reply = isp
        .owner
        .call(
            "/api/payments/settings/update",
            &form(&[
                ("mpesa_consumer_key", key),
                ("mpesa_consumer_secret", secret),
            ]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[tokio::test]
async fn secrets_are_sealed_shown_by_their_last_four_and_kept_when_left_blank() {
    let mut isp = isp().await;
    let reply = isp
        .owner
        .call(
            "/api/payments/settings/update",
            &form(&[
                ("mpesa_consumer_key", KEY),
                ("mpesa_consumer_secret", SECRET),
                ("mpesa_passkey", PASSKEY),
                ("paystack_secret", PAYSTACK),
                ("c2b_reject_unknown", "on"),
            ]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    for secret in [KEY, SECRET, PASSKEY, PAYSTACK] {
        assert!(!reply.body.contains(secret), "{secret} sent back");
    }
    let view = reply.json();
    assert_eq!(view["mpesa_consumer_key_last4"], "1111");
    assert_eq!(view["mpesa_consumer_secret_last4"], "2222");
    assert_eq!(view["mpesa_passkey_last4"], "3333");
    assert_eq!(view["paystack_secret_last4"], "4444");
    assert_eq!(view["c2b_reject_unknown"], true);
    // The page renders on the server with each secret as a hint, never a value.
    let page = isp.owner.get("/app/settings/payments").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Set (ends in 1111)"), "{}", page.body);
    for secret in [KEY, SECRET, PASSKEY, PAYSTACK] {
        assert!(!page.body.contains(secret), "{secret} on the page");
    }

    // What the database holds is ciphertext, bound to this ISP: it opens for it, not for another.
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    let sealed: Vec<u8> = sqlx::query_scalar(
        "select mpesa_consumer_secret_enc from payment_settings where tenant_id = $1",
    )
    .bind(isp.tenant.0)
    .fetch_one(tx.conn())
    .await
    .unwrap();
    let creds = settings::mpesa_credentials(&mut tx, &isp.state.secrets)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(!sealed.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()));
    assert_eq!(
        (creds.consumer_key.as_str(), creds.consumer_secret.as_str()),
        (KEY, SECRET)
    );
    assert_eq!(creds.passkey.as_deref(), Some(PASSKEY));
    let elsewhere = TenantId(Uuid::new_v4());
    assert!(
        isp.state
            .secrets
            .open(
                &sealed,
                &settings::binding(elsewhere, "mpesa_consumer_secret")
            )
            .is_err()
    );

    // Saving again with the secret fields blank changes the rest and keeps every secret.
    let reply = isp
        .owner
        .call(
            "/api/payments/settings/update",
            &form(&[("mpesa_shortcode", "600984")]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let view = reply.json();
    assert_eq!(view["mpesa_shortcode"], "600984");
    assert_eq!(view["mpesa_consumer_key_last4"], "1111");
    assert_eq!(view["paystack_secret_last4"], "4444");
    assert_eq!(view["c2b_reject_unknown"], false, "an unticked box is off");

    // Both changes are audited, naming the secrets replaced but never their values.
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    let entries: Vec<(String, serde_json::Value)> = sqlx::query_as(
        "select action, after from audit_log where action = 'settings.payments_updated' order by id",
    )
    .fetch_all(tx.conn())
    .await
    .unwrap();
    assert_eq!(entries.len(), 2);
    let replaced = &entries[0].1["secrets_replaced"];
    assert_eq!(replaced.as_array().unwrap().len(), 4, "{replaced}");
    assert_eq!(entries[1].1["secrets_replaced"], serde_json::json!([]));
    let audit_text: String = sqlx::query_scalar(
        "select string_agg(coalesce(before::text, '') || after::text, ' ') from audit_log",
    )
    .fetch_one(tx.conn())
    .await
    .unwrap();
    for secret in [KEY, SECRET, PASSKEY, PAYSTACK] {
        assert!(!audit_text.contains(secret), "{secret} in the audit log");
    }
}

#[tokio::test]
async fn bad_fields_are_refused_by_name_and_nothing_is_saved() {
    let mut isp = isp().await;
    for (pairs, field) in [
        (vec![("mpesa_shortcode", "17a379")], "mpesa_shortcode"),
        (vec![("mpesa_kind", "till")], "mpesa_till"),
        (
            vec![("paystack_secret", "pk_live_abcdefgh")],
            "paystack_secret",
        ),
        (vec![("mpesa_environment", "live")], "mpesa_environment"),
    ] {
        let reply = isp
            .owner
            .call("/api/payments/settings/update", &form(&pairs))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.body
        );
        match reply.error() {
            AppError::Invalid { field: f, .. } => assert_eq!(f, field),
            other => panic!("{other:?}"),
        }
    }
    let view = isp.owner.call("/api/payments/settings", &[]).await.json();
    assert_eq!(view["mpesa_shortcode"], "", "nothing was saved: {view}");
}

#[tokio::test]
async fn test_connection_gets_a_token_from_daraja_and_names_refused_credentials() {
    let mut isp = isp().await;
    // Nothing saved yet: the answer says what is missing.
    let reply = isp
        .owner
        .call("/api/payments/settings/test-mpesa", &[])
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["ok"], false);
    assert!(
        reply.json()["message"]
            .as_str()
            .unwrap()
            .contains("not set"),
        "{}",
        reply.body
    );

    save_credentials(&mut isp, KEY, "wrong-secret-9999").await;
    let reply = isp
        .owner
        .call("/api/payments/settings/test-mpesa", &[])
        .await;
    assert_eq!(reply.json()["ok"], false, "{}", reply.body);
    assert!(
        reply.json()["message"]
            .as_str()
            .unwrap()
            .contains("refused the consumer key and secret"),
        "{}",
        reply.body
    );
    assert_eq!(isp.sim.tokens_issued(KEY), 0);

    save_credentials(&mut isp, KEY, SECRET).await;
    let reply = isp
        .owner
        .call("/api/payments/settings/test-mpesa", &[])
        .await;
    assert_eq!(reply.json()["ok"], true, "{}", reply.body);
    assert!(reply.json()["message"].as_str().unwrap().contains("174379"));
    assert_eq!(isp.sim.tokens_issued(KEY), 1);
    // The token the test fetched is the ISP's shared one from now on.
    let (_, token) = daraja::session(&isp.state, isp.tenant).await.unwrap();
    assert!(isp.sim.token_is_live(KEY, &token));
    assert_eq!(isp.sim.tokens_issued(KEY), 1);
}

#[tokio::test]
async fn every_worker_shares_one_token_until_it_nears_expiry() {
    let mut isp = isp().await;
    save_credentials(&mut isp, KEY, SECRET).await;
    // Eight workers at once find no token: one fetches it, the rest wait and reuse it (a second
    // fetch would invalidate the first worker's token).
    let sessions =
        futures_util::future::join_all((0..8).map(|_| daraja::session(&isp.state, isp.tenant)))
            .await;
    let tokens: Vec<String> = sessions.into_iter().map(|s| s.unwrap().1).collect();
    assert!(tokens.iter().all(|t| t == &tokens[0]), "{tokens:?}");
    assert_eq!(isp.sim.tokens_issued(KEY), 1);
    assert!(isp.sim.token_is_live(KEY, &tokens[0]));

    // Daraja's tokens last 3,599 s; ours is replaced a minute before that.
    isp.state.clock.advance(chrono::Duration::seconds(3_500));
    let (_, same) = daraja::session(&isp.state, isp.tenant).await.unwrap();
    assert_eq!(same, tokens[0]);
    isp.state.clock.advance(chrono::Duration::seconds(60));
    let (_, fresh) = daraja::session(&isp.state, isp.tenant).await.unwrap();
    assert_ne!(fresh, tokens[0]);
    assert!(isp.sim.token_is_live(KEY, &fresh));
    assert_eq!(isp.sim.tokens_issued(KEY), 2);

    // New credentials drop the cached token.
    isp.sim
        .add_app("consumer-key-EEEE5555", "consumer-secret-FFFF6666");
    save_credentials(
        &mut isp,
        "consumer-key-EEEE5555",
        "consumer-secret-FFFF6666",
    )
    .await;
    let (creds, token) = daraja::session(&isp.state, isp.tenant).await.unwrap();
    assert_eq!(creds.consumer_key, "consumer-key-EEEE5555");
    assert!(isp.sim.token_is_live("consumer-key-EEEE5555", &token));
}

#[tokio::test]
async fn a_webhook_token_finds_its_isp_and_nothing_else() {
    let isp = isp().await;
    let (other, _) = isp.db.tenant("other-net", "Other Net").await;
    let mut tokens = Vec::new();
    for tenant in [isp.tenant, other] {
        let mut tx = isp.db.db().tenant(tenant).await.unwrap();
        settings::ensure_row(&mut tx, &isp.state.secrets, isp.state.clock.now())
            .await
            .unwrap();
        // A second call keeps the first token.
        let first = settings::hook_token(&mut tx, &isp.state.secrets)
            .await
            .unwrap();
        settings::ensure_row(&mut tx, &isp.state.secrets, isp.state.clock.now())
            .await
            .unwrap();
        assert_eq!(
            settings::hook_token(&mut tx, &isp.state.secrets)
                .await
                .unwrap(),
            first
        );
        tx.commit().await.unwrap();
        tokens.push(first);
    }
    assert_ne!(tokens[0], tokens[1]);
    assert_eq!(tokens[0].len(), 64);
    let db = isp.db.db();
    assert_eq!(
        settings::tenant_by_hook_token(&db, &tokens[0])
            .await
            .unwrap(),
        Some(isp.tenant)
    );
    assert_eq!(
        settings::tenant_by_hook_token(&db, &tokens[1])
            .await
            .unwrap(),
        Some(other)
    );
    let mut wrong = tokens[0].clone();
    wrong.replace_range(0..1, if wrong.starts_with('a') { "b" } else { "a" });
    for bad in [wrong.as_str(), "", "not-a-token"] {
        assert_eq!(
            settings::tenant_by_hook_token(&db, bad).await.unwrap(),
            None,
            "{bad:?}"
        );
    }
    // With no tenant set and no token asked for, the runtime role sees no settings at all.
    let count: i64 = sqlx::query_scalar("select count(*) from payment_settings")
        .fetch_one(&isp.db.app)
        .await
        .unwrap();
    assert_eq!(count, 0);
}
