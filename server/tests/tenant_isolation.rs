//! Tenant isolation, proved as the runtime role (`jasiyo_app`). A superuser or the owner would
//! bypass or sidestep RLS and make these tests pass vacuously, so the first test shows the
//! suite's connection is subject to RLS: a query with no tenant filter at all still returns
//! none of the other tenant's rows.
//!
//! Every tenant table needs a probe below (SQL inserting one row for tenant $1); a test fails
//! when a table has none, so new tables join the suite as they are created.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use app::db::TenantId;
use sqlx::{AssertSqlSafe, PgPool};
use support::{TestDb, audit::tenant_tables, fresh_database};

/// table -> SQL inserting one row owned by tenant $1, given $2, the id of a user of that tenant.
const PROBES: &[(&str, &str)] = &[
    (
        "users",
        "insert into users (tenant_id, id, email, name, role)
         values ($1, gen_random_uuid(), 'probe-' || gen_random_uuid() || '@example.test',
                 'Probe made by ' || $2::text, 'support')",
    ),
    (
        "sessions",
        "insert into sessions (tenant_id, id, user_id, token_hash, remember, created_at,
                               last_seen_at, idle_expires_at, absolute_expires_at)
         values ($1, gen_random_uuid(), $2, sha256(gen_random_uuid()::text::bytea), false, now(),
                 now(), now() + interval '1 hour', now() + interval '1 day')",
    ),
    (
        "email_tokens",
        "insert into email_tokens (tenant_id, id, user_id, purpose, token_hash, created_at, expires_at)
         values ($1, gen_random_uuid(), $2, 'verify_email', sha256(gen_random_uuid()::text::bytea),
                 now(), now() + interval '1 day')",
    ),
    (
        "email_outbox",
        "insert into email_outbox (tenant_id, id, kind, to_address, subject, body_text, created_at)
         values ($1, gen_random_uuid(), 'probe', 'probe@example.test', 'Probe', 'for ' || $2::text, now())",
    ),
    (
        "tenant_logos",
        "insert into tenant_logos (tenant_id, content_type, bytes, updated_at)
         values ($1, 'image/png', convert_to('probe for ' || $2::text, 'UTF8'), now())",
    ),
    (
        "plans",
        "insert into plans (tenant_id, id, name, kind, price_minor, validity_unit, validity_count,
                            download_kbps, upload_kbps, created_at, updated_at)
         values ($1, gen_random_uuid(), 'Probe ' || $2::text, 'pppoe', 100000, 'months', 1,
                 10000, 5000, now(), now())",
    ),
    (
        "customers",
        "insert into customers (tenant_id, id, account_number, name, phone, created_at, updated_at)
         values ($1, gen_random_uuid(), upper(substr(md5(random()::text), 1, 10)),
                 'Probe ' || $2::text, '254700000000', now(), now())",
    ),
    (
        // A term for the tenant's own probe customer (which already indexed its own words).
        "customer_search_terms",
        "insert into customer_search_terms (tenant_id, customer_id, term)
         values ($1, coalesce((select id from customers where tenant_id = $1 limit 1), gen_random_uuid()),
                 'probe-' || $2::text)",
    ),
    (
        // Its customer and plan are the tenant's own probes (a random id where none is visible:
        // the row-level check refuses such an insert before the foreign keys are looked at).
        "services",
        "insert into services (tenant_id, id, customer_id, plan_id, username, password_enc, status,
                               billing_mode, starts_at, expires_at, created_at, updated_at)
         values ($1, gen_random_uuid(),
                 coalesce((select id from customers where tenant_id = $1 limit 1), gen_random_uuid()),
                 coalesce((select id from plans where tenant_id = $1 limit 1), gen_random_uuid()),
                 'probe' || substr(md5(random()::text), 1, 10), convert_to($2::text, 'UTF8'),
                 'active', 'prepaid', now(), now() + interval '1 day', now(), now())",
    ),
    (
        "audit_log",
        "insert into audit_log (tenant_id, at, actor_user_id, actor_label, action)
         values ($1, now(), $2, 'probe', 'probe.inserted')",
    ),
    (
        "invoices",
        "insert into invoices (tenant_id, id, number, customer_id, purpose, period_start, period_end,
                               idempotency_key, currency, subtotal_minor, vat_minor, total_minor,
                               issued_at, due_at, status, balance_minor, created_at, updated_at)
         values ($1, gen_random_uuid(), 1,
                 coalesce((select id from customers where tenant_id = $1 limit 1), gen_random_uuid()),
                 'period', now(), now() + interval '1 day', 'probe:' || $2::text, 'KES', 100, 0, 100,
                 now(), now(), 'pending', 100, now(), now())",
    ),
    (
        "invoice_lines",
        "insert into invoice_lines (tenant_id, invoice_id, line, description, period_start, period_end,
                                    quantity, unit_price_minor, net_minor, vat_minor, total_minor)
         values ($1, coalesce((select id from invoices where tenant_id = $1 limit 1), gen_random_uuid()),
                 1, 'Probe ' || $2::text, now(), now() + interval '1 day', 1, 100, 100, 0, 100)",
    ),
    (
        "credit_notes",
        "insert into credit_notes (tenant_id, id, number, invoice_id, customer_id, amount_minor,
                                   vat_minor, reason, issued_at, issued_by)
         values ($1, gen_random_uuid(), 1,
                 coalesce((select id from invoices where tenant_id = $1 limit 1), gen_random_uuid()),
                 coalesce((select id from customers where tenant_id = $1 limit 1), gen_random_uuid()),
                 10, 0, 'Probe ' || $2::text, now(), $2)",
    ),
    (
        "payments",
        "insert into payments (tenant_id, id, customer_id, channel, amount_minor, currency, reference,
                               received_at, recorded_by, created_at)
         values ($1, gen_random_uuid(),
                 coalesce((select id from customers where tenant_id = $1 limit 1), gen_random_uuid()),
                 'cash', 100, 'KES', 'probe-' || $2::text, now(), $2, now())",
    ),
    (
        "ledger_transactions",
        "insert into ledger_transactions (tenant_id, id, kind, source_type, source_id, idempotency_key,
                                          memo, posted_at, posted_by)
         values ($1, gen_random_uuid(), 'adjustment', 'invoice', gen_random_uuid(),
                 'probe:' || $2::text, 'probe', now(), $2)",
    ),
    (
        // Two balancing entries on the tenant's probe transaction.
        "ledger_entries",
        "with t as (select coalesce((select id from ledger_transactions where tenant_id = $1 limit 1),
                                    gen_random_uuid()) as id)
         insert into ledger_entries (tenant_id, transaction_id, line, account, amount_minor, currency)
         select $1, t.id, l, case l when 1 then 'write_off' else 'vat_payable' end,
                case l when 1 then 100 else -100 end, 'KES'
           from t, generate_series(1, 2) l
          where $2::uuid is not null",
    ),
    (
        "document_counters",
        "insert into document_counters (tenant_id, kind, last_number)
         values ($1, 'invoice', 1 + (select count(*) from users where id = $2))",
    ),
    (
        "billing_runs",
        "insert into billing_runs (tenant_id, id, requested_by, requested_at, status)
         values ($1, gen_random_uuid(), $2, now(), 'running')",
    ),
    (
        "payment_settings",
        "insert into payment_settings (tenant_id, hook_token_enc, hook_token_hash, updated_at)
         values ($1, '\\x00', sha256(($1::text || $2::text)::bytea), now())",
    ),
    (
        "provider_events",
        "insert into provider_events (tenant_id, id, provider, kind, event_id, payload, received_at)
         values ($1, gen_random_uuid(), 'mpesa', 'c2b_confirmation', 'probe-' || $2::text, '{}', now())",
    ),
    (
        "unmatched_payments",
        "insert into unmatched_payments (tenant_id, id, event_id, channel, reference, amount_minor,
                                         received_at)
         values ($1, gen_random_uuid(),
                 coalesce((select id from provider_events where tenant_id = $1 limit 1), gen_random_uuid()),
                 'mpesa', 'probe-' || $2::text, 100, now())",
    ),
    (
        "payment_requests",
        "insert into payment_requests (tenant_id, id, customer_id, provider, source, payer,
                                       amount_minor, currency, status, requested_by, created_at)
         values ($1, gen_random_uuid(),
                 coalesce((select id from customers where tenant_id = $1 limit 1), gen_random_uuid()),
                 'paystack', 'staff', 'probe@example.test', 100, 'KES', 'failed', $2, now())",
    ),
    (
        "outbox_events",
        "insert into outbox_events (tenant_id, id, topic, customer_id, body, created_at)
         values ($1, gen_random_uuid(), 'payment.received',
                 coalesce((select id from customers where tenant_id = $1 limit 1), gen_random_uuid()),
                 jsonb_build_object('probe', $2::text), now())",
    ),
    (
        "payment_links",
        "insert into payment_links (tenant_id, customer_id, code_enc, code_hash, created_at)
         values ($1, coalesce((select id from customers where tenant_id = $1 limit 1), gen_random_uuid()),
                 '\\x00', sha256(($1::text || $2::text)::bytea), now())",
    ),
    (
        "routers",
        "insert into routers (tenant_id, id, name, mode, secret_enc, created_at, updated_at)
         values ($1, gen_random_uuid(), 'Probe ' || $2::text, 'agent', '\\x00', now(), now())",
    ),
    (
        "network_entries",
        "insert into network_entries (tenant_id, router_id, username, kind, desired, reason,
                                      changed_at, due_at)
         values ($1, coalesce((select id from routers where tenant_id = $1 limit 1), gen_random_uuid()),
                 'probe-' || $2::text, 'pppoe', 'enabled', 'added', now(), now())",
    ),
    (
        "router_commands",
        "insert into router_commands (tenant_id, router_id, username, version, spec, reason, status,
                                      next_attempt_at, due_at, created_at)
         values ($1, coalesce((select id from routers where tenant_id = $1 limit 1), gen_random_uuid()),
                 'probe-' || $2::text, 1, '{}', 'added', 'queued', now(), now(), now())",
    ),
    (
        "radius_sessions",
        "insert into radius_sessions (tenant_id, router_id, session_id, started_at, username, updated_at)
         values ($1, coalesce((select id from routers where tenant_id = $1 limit 1), gen_random_uuid()),
                 'probe-' || $2::text, now(), 'probe', now())",
    ),
    (
        "voucher_batches",
        "insert into voucher_batches (tenant_id, id, plan_id, count, expires_at, created_by, created_at)
         values ($1, gen_random_uuid(),
                 coalesce((select id from plans where tenant_id = $1 limit 1), gen_random_uuid()),
                 1, now() + interval '1 day', $2, now())",
    ),
    (
        "vouchers",
        "insert into vouchers (tenant_id, id, batch_id, code, plan_id, expires_at, created_at, updated_at)
         values ($1, gen_random_uuid(),
                 coalesce((select id from voucher_batches where tenant_id = $1 limit 1), gen_random_uuid()),
                 translate(upper(substr(md5($2::text || random()::text), 1, 4)), '01OIL', '23456')
                   || '-' || translate(upper(substr(md5(random()::text), 1, 4)), '01OIL', '23456'),
                 coalesce((select id from plans where tenant_id = $1 limit 1), gen_random_uuid()),
                 now() + interval '1 day', now(), now())",
    ),
    (
        "portal_codes",
        "insert into portal_codes (tenant_id, id, phone, code_hash, created_at, expires_at)
         values ($1, gen_random_uuid(), '254712000999', sha256($2::text::bytea), now(),
                 now() + interval '5 minutes')",
    ),
    (
        "portal_sessions",
        "insert into portal_sessions (tenant_id, id, customer_id, token_hash, created_at,
                                      last_seen_at, idle_expires_at, absolute_expires_at)
         values ($1, gen_random_uuid(),
                 coalesce((select id from customers where tenant_id = $1 limit 1), gen_random_uuid()),
                 sha256(gen_random_uuid()::text::bytea), now(), now(), now() + interval '1 day',
                 now() + interval '2 days')",
    ),
    (
        "tickets",
        "insert into tickets (tenant_id, id, number, customer_id, subject, category, created_at,
                              last_message_at)
         values ($1, gen_random_uuid(), 1,
                 coalesce((select id from customers where tenant_id = $1 limit 1), gen_random_uuid()),
                 'Probe by ' || $2::text, 'other', now(), now())",
    ),
    (
        "ticket_messages",
        "insert into ticket_messages (tenant_id, ticket_id, body, created_at)
         values ($1, coalesce((select id from tickets where tenant_id = $1 limit 1), gen_random_uuid()),
                 'Probe by ' || $2::text, now())",
    ),
    (
        "sms_outbox",
        "insert into sms_outbox (tenant_id, id, kind, recipient, body, next_attempt_at, created_at)
         values ($1, gen_random_uuid(), 'probe', '254712000999', 'Probe by ' || $2::text, now(), now())",
    ),
    (
        "sms_campaigns",
        "insert into sms_campaigns (tenant_id, id, segment, segment_label, body, recipients,
                                    left_out, parts, estimated_cost_minor, created_by, created_at)
         values ($1, gen_random_uuid(), 'active', 'Probe', 'Probe by ' || $2::text, 0, 0, 0, 0,
                 $2, now())",
    ),
    (
        "sms_providers",
        "insert into sms_providers (tenant_id, provider, updated_at, updated_by)
         values ($1, 'platform', now(), $2)",
    ),
    (
        "smtp_settings",
        "insert into smtp_settings (tenant_id, host, port, security, from_address, updated_at,
                                    updated_by)
         values ($1, 'mail.probe.test', 25, 'none', 'probe@probe.test', now(), $2)",
    ),
    (
        "message_templates",
        "insert into message_templates (tenant_id, event, language, body, updated_at, updated_by)
         values ($1, 'probe', 'sw', 'Probe by ' || $2::text, now(), $2)",
    ),
];

struct Two {
    db: TestDb,
    a: TenantId,
    b: TenantId,
    b_user: uuid::Uuid,
}

async fn two_tenants_with_a_row_in_every_table() -> Two {
    let db = fresh_database().await;
    let (a, a_user) = db.tenant("alpha-net", "Alpha Net").await;
    let (b, b_user) = db.tenant("beta-fibre", "Beta Fibre").await;
    for (tenant, user) in [(a, a_user), (b, b_user)] {
        let mut tx = db.db().tenant(tenant).await.unwrap();
        for (_, insert) in PROBES {
            sqlx::query(*insert)
                .bind(tenant.0)
                .bind(user)
                .execute(tx.conn())
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }
    Two { db, a, b, b_user }
}

/// SQL naming a table read from the catalog (never from input), quoted as an identifier.
fn on_table(template: &str, table: &str) -> AssertSqlSafe<String> {
    AssertSqlSafe(template.replace("{table}", &format!("\"{}\"", table.replace('"', "\"\""))))
}

/// 42501: a row-level security violation or a missing privilege; either way, refused.
fn is_refused(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "42501")
}

async fn count_all(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(on_table("select count(*) from {table}", table))
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Rows of `table` visible inside `tenant`'s transaction.
async fn count_as(db: &TestDb, tenant: TenantId, table: &str) -> i64 {
    let mut tx = db.db().tenant(tenant).await.unwrap();
    sqlx::query_scalar(on_table("select count(*) from {table}", table))
        .fetch_one(tx.conn())
        .await
        .unwrap()
}

#[tokio::test]
async fn the_suite_runs_as_the_runtime_role_and_a_forgotten_filter_still_hides_other_tenants() {
    let Two { db, a, b, .. } = two_tenants_with_a_row_in_every_table().await;

    let (user, superuser, bypass): (String, bool, bool) = sqlx::query_as(
        "select current_user::text, rolsuper, rolbypassrls from pg_roles where rolname = current_user",
    )
    .fetch_one(&db.app)
    .await
    .unwrap();
    assert_eq!(user, "jasiyo_app");
    assert!(
        !superuser && !bypass,
        "the runtime role must be subject to RLS"
    );

    // Both tenants have staff; as A, an unfiltered query returns exactly A's.
    for (me, other) in [(a, b), (b, a)] {
        let mut tx = db.db().tenant(me).await.unwrap();
        let tenants: Vec<uuid::Uuid> = sqlx::query_scalar("select distinct tenant_id from users")
            .fetch_all(tx.conn())
            .await
            .unwrap();
        assert_eq!(tenants, vec![me.0], "{me} saw rows of {other}");
    }
}

#[tokio::test]
async fn every_tenant_table_has_an_isolation_probe() {
    let db = fresh_database().await;
    let missing: Vec<String> = tenant_tables(&db.owner)
        .await
        .into_iter()
        .filter(|t| !PROBES.iter().any(|(p, _)| p == t))
        .collect();
    assert!(
        missing.is_empty(),
        "add an isolation probe for: {missing:?}"
    );
}

#[tokio::test]
async fn with_no_tenant_set_every_tenant_table_looks_empty() {
    let Two { db, .. } = two_tenants_with_a_row_in_every_table().await;
    for table in tenant_tables(&db.owner).await {
        assert_eq!(
            count_all(&db.app, &table).await,
            0,
            "{table} leaked rows with no tenant set"
        );
    }
    assert_eq!(
        count_all(&db.app, "tenants").await,
        0,
        "tenants leaked with no tenant set"
    );
}

#[tokio::test]
async fn a_tenant_cannot_read_another_tenants_rows() {
    let Two { db, a, b, .. } = two_tenants_with_a_row_in_every_table().await;
    for table in tenant_tables(&db.owner).await {
        let mut tx = db.db().tenant(a).await.unwrap();
        let (mine, theirs): (i64, i64) = sqlx::query_as(on_table("select count(*) filter (where tenant_id = $1), count(*) filter (where tenant_id <> $1) from {table}", &table))
        .bind(a.0)
        .fetch_one(tx.conn())
        .await
        .unwrap();
        assert!(
            mine > 0,
            "{table}: the probe row of the tenant itself is not visible"
        );
        assert_eq!(theirs, 0, "{table}: tenant {a} read rows of {b}");
    }
}

#[tokio::test]
async fn a_tenant_cannot_insert_rows_for_another_tenant() {
    let Two { db, a, b, b_user } = two_tenants_with_a_row_in_every_table().await;
    for (table, insert) in PROBES {
        let mut tx = db.db().tenant(a).await.unwrap();
        let err = sqlx::query(*insert)
            .bind(b.0)
            .bind(b_user)
            .execute(tx.conn())
            .await
            .expect_err("insert for another tenant must fail");
        assert!(
            is_refused(&err),
            "{table}: expected an RLS violation, got {err}"
        );
    }
}

#[tokio::test]
async fn a_tenant_cannot_update_or_delete_another_tenants_rows() {
    let Two { db, a, b, .. } = two_tenants_with_a_row_in_every_table().await;
    for table in tenant_tables(&db.owner).await {
        let before = count_as(&db, b, &table).await;
        for (verb, sql) in [
            (
                "update",
                "update {table} set tenant_id = tenant_id where tenant_id = $1",
            ),
            ("delete", "delete from {table} where tenant_id = $1"),
        ] {
            let mut tx = db.db().tenant(a).await.unwrap();
            match sqlx::query(on_table(sql, &table))
                .bind(b.0)
                .execute(tx.conn())
                .await
            {
                Ok(done) => assert_eq!(
                    done.rows_affected(),
                    0,
                    "{table}: {a} could {verb} rows of {b}"
                ),
                // Append-only tables (audit_log) refuse the runtime role any update or delete.
                Err(err) => assert!(is_refused(&err), "{table}: {verb}: {err}"),
            }
            tx.commit().await.ok();
        }
        assert_eq!(
            count_as(&db, b, &table).await,
            before,
            "{table}: rows of {b} changed"
        );
    }
}

#[tokio::test]
async fn the_audit_log_is_append_only_for_the_runtime_role() {
    let Two { db, a, .. } = two_tenants_with_a_row_in_every_table().await;
    for sql in [
        "update audit_log set action = 'probe.rewritten'",
        "delete from audit_log",
    ] {
        let mut tx = db.db().tenant(a).await.unwrap();
        let err = sqlx::query(sql)
            .execute(tx.conn())
            .await
            .expect_err("the runtime role must not change audit entries");
        assert!(is_refused(&err), "{sql}: {err}");
    }
    assert!(count_as(&db, a, "audit_log").await > 0);
}

#[tokio::test]
async fn lookup_settings_reveal_only_the_row_they_name() {
    let Two { db, a, b, .. } = two_tenants_with_a_row_in_every_table().await;
    // Signing in: the email reveals that one account, and none of its tenant's other rows.
    let mut tx = db.app.begin().await.unwrap();
    sqlx::query("select set_config('app.login_email', 'owner@alpha-net.test', true)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let (users, sessions, audit): (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from users), (select count(*) from sessions), (select count(*) from audit_log)",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!((users, sessions, audit), (1, 0, 0));
    drop(tx);
    // A session token's hash reveals that one session.
    let hash: Vec<u8> = {
        let mut tx = db.db().tenant(b).await.unwrap();
        sqlx::query_scalar("select token_hash from sessions limit 1")
            .fetch_one(tx.conn())
            .await
            .unwrap()
    };
    let found = db
        .db()
        .session_tenant(&app::auth::session::hex(&hash))
        .await
        .unwrap();
    let found = found.map(|(_, s)| s.tenant);
    assert_eq!(found, Some(b));
    assert_ne!(found, Some(a));
    assert_eq!(
        db.db()
            .session_tenant(&"00".repeat(32))
            .await
            .unwrap()
            .map(|(_, s)| s),
        None
    );
    // A portal session's token hash reveals that one session and opens its tenant only.
    let hash: Vec<u8> = {
        let mut tx = db.db().tenant(b).await.unwrap();
        sqlx::query_scalar("select token_hash from portal_sessions limit 1")
            .fetch_one(tx.conn())
            .await
            .unwrap()
    };
    let mut tx = db
        .db()
        .portal_session_tenant(&app::auth::session::hex(&hash))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tx.tenant(), b);
    let (sessions, customers): (i64, i64) = sqlx::query_as(
        "select (select count(*) from portal_sessions where tenant_id <> $1),
                (select count(*) from customers where tenant_id <> $1)",
    )
    .bind(b.0)
    .fetch_one(tx.conn())
    .await
    .unwrap();
    assert_eq!((sessions, customers), (0, 0), "nothing of the other tenant");
    drop(tx);
    assert!(
        db.db()
            .portal_session_tenant(&"00".repeat(32))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_router_id_reveals_that_router_alone_and_opens_its_tenant() {
    let Two { db, a, b, .. } = two_tenants_with_a_row_in_every_table().await;
    let router: uuid::Uuid = {
        let mut tx = db.db().tenant(b).await.unwrap();
        sqlx::query_scalar("select id from routers limit 1")
            .fetch_one(tx.conn())
            .await
            .unwrap()
    };
    // The setting alone shows that one router and nothing else of its tenant.
    let mut tx = db.app.begin().await.unwrap();
    sqlx::query("select set_config('app.router_id', $1, true)")
        .bind(router.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    let (routers, users, commands): (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from routers), (select count(*) from users),
                (select count(*) from router_commands)",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!((routers, users, commands), (1, 0, 0));
    drop(tx);
    // A check-in's transaction switches to the router's tenant, not the other.
    let tx = db.db().router_tenant(router).await.unwrap().unwrap();
    assert_eq!(tx.tenant(), b);
    assert_ne!(tx.tenant(), a);
    drop(tx);
    assert!(
        db.db()
            .router_tenant(uuid::Uuid::new_v4())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_tenant_cannot_move_its_rows_to_another_tenant() {
    let Two { db, a, b, .. } = two_tenants_with_a_row_in_every_table().await;
    for table in tenant_tables(&db.owner).await {
        let mut tx = db.db().tenant(a).await.unwrap();
        let err = sqlx::query(on_table("update {table} set tenant_id = $1", &table))
            .bind(b.0)
            .execute(tx.conn())
            .await
            .expect_err("moving rows to another tenant must fail");
        assert!(
            is_refused(&err),
            "{table}: expected an RLS violation, got {err}"
        );
    }
}

#[tokio::test]
async fn a_tenant_sees_and_changes_only_its_own_tenant_row() {
    let Two { db, a, b, .. } = two_tenants_with_a_row_in_every_table().await;
    let mut tx = db.db().tenant(a).await.unwrap();
    let visible: Vec<uuid::Uuid> = sqlx::query_scalar("select id from tenants")
        .fetch_all(tx.conn())
        .await
        .unwrap();
    assert_eq!(visible, vec![a.0]);
    let renamed = sqlx::query("update tenants set name = 'Hijacked' where id = $1")
        .bind(b.0)
        .execute(tx.conn())
        .await
        .unwrap();
    assert_eq!(renamed.rows_affected(), 0);
    let err = sqlx::query(
        "insert into tenants (id, slug, name) values (gen_random_uuid(), 'rogue', 'Rogue')",
    )
    .execute(tx.conn())
    .await
    .expect_err("creating a tenant other than the transaction's must fail");
    assert!(is_refused(&err), "expected an RLS violation, got {err}");
}

#[tokio::test]
async fn a_lookup_by_slug_finds_that_tenant_and_reveals_no_other() {
    let Two { db, a, b, .. } = two_tenants_with_a_row_in_every_table().await;
    let app = db.db();
    assert_eq!(app.tenant_by_slug("alpha-net").await.unwrap(), Some(a));
    assert_eq!(app.tenant_by_slug("beta-fibre").await.unwrap(), Some(b));
    assert_eq!(app.tenant_by_slug("gamma").await.unwrap(), None);

    // The slug setting shows the tenant row only: none of that tenant's data.
    let mut tx = db.app.begin().await.unwrap();
    sqlx::query("select set_config('app.tenant_slug', 'alpha-net', true)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let (tenants, users): (i64, i64) =
        sqlx::query_as("select (select count(*) from tenants), (select count(*) from users)")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!((tenants, users), (1, 0));
}
