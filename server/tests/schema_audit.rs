//! The schema keeps the tenant-isolation rules: every tenant table has RLS enabled and forced
//! with the tenant policy, the runtime role is powerless, every foreign key is indexed. The
//! second half proves each rule fires by breaking the schema on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use sqlx::Executor;
use support::{audit::audit, fresh_database};

#[tokio::test]
async fn the_migrated_schema_passes_the_tenant_audit() {
    let db = fresh_database().await;
    let findings = audit(&db.owner).await;
    assert!(
        findings.is_empty(),
        "schema audit findings:\n{}",
        findings.join("\n")
    );
}

/// Applies `sql` as the owner to a fresh database and returns what the audit then reports.
async fn findings_after(sql: &str) -> Vec<String> {
    let db = fresh_database().await;
    db.owner
        .execute(sqlx::AssertSqlSafe(sql))
        .await
        .expect("break the schema");
    audit(&db.owner).await
}

fn assert_reported(findings: &[String], needle: &str) {
    assert!(
        findings.iter().any(|f| f.contains(needle)),
        "expected a finding containing {needle:?}, got {findings:?}"
    );
}

#[tokio::test]
async fn a_table_whose_rls_is_not_forced_is_reported() {
    let findings = findings_after("alter table users no force row level security").await;
    assert_reported(
        &findings,
        "users: row-level security enabled=true forced=false",
    );
}

#[tokio::test]
async fn a_table_whose_rls_is_disabled_is_reported() {
    let findings = findings_after("alter table users disable row level security").await;
    assert_reported(
        &findings,
        "users: row-level security enabled=false forced=true",
    );
}

#[tokio::test]
async fn a_tenant_table_without_a_policy_is_reported() {
    let findings = findings_after("drop policy users_tenant_isolation on users").await;
    assert_reported(
        &findings,
        "users: no row-level security policy on tenant_id",
    );
}

#[tokio::test]
async fn a_policy_that_lets_every_row_through_is_reported() {
    let findings =
        findings_after("create policy users_everyone on users using (true) with check (true)")
            .await;
    assert_reported(&findings, "policy users_everyone");
}

#[tokio::test]
async fn an_unlisted_or_widened_lookup_policy_is_reported() {
    let findings = findings_after(
        "create policy users_lookup_by_name on users for select
           using (name = current_setting('app.login_name', true));
         drop policy sessions_lookup_by_token on sessions;
         create policy sessions_lookup_by_token on sessions for all
           using (token_hash = decode(current_setting('app.session_token_hash', true), 'hex'))",
    )
    .await;
    assert_reported(&findings, "users: policy users_lookup_by_name");
    assert_reported(
        &findings,
        "sessions: lookup policy sessions_lookup_by_token must be FOR SELECT",
    );
}

#[tokio::test]
async fn a_new_tenant_table_without_rls_is_reported() {
    let findings = findings_after(
        "create table notes (tenant_id uuid not null references tenants (id), body text)",
    )
    .await;
    assert_reported(
        &findings,
        "notes: row-level security enabled=false forced=false",
    );
    assert_reported(
        &findings,
        "notes: no row-level security policy on tenant_id",
    );
    assert_reported(
        &findings,
        "notes: foreign key notes_tenant_id_fkey has no index",
    );
}

#[tokio::test]
async fn a_table_without_tenant_id_that_is_not_declared_global_is_reported() {
    let findings = findings_after("create table settings (key text primary key, value text)").await;
    assert_reported(&findings, "settings: has no tenant_id");
}

#[tokio::test]
async fn a_foreign_key_that_skips_tenant_id_is_reported() {
    let findings = findings_after(
        r#"create table notes (tenant_id uuid not null, id uuid not null, user_id uuid not null,
               primary key (tenant_id, id));
           alter table users add constraint users_id_key unique (id);
           alter table notes add constraint notes_user_fkey foreign key (user_id) references users (id);
           create index on notes (user_id);
           alter table notes enable row level security;
           alter table notes force row level security;
           create policy notes_tenant_isolation on notes
             using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
             with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);"#,
    )
    .await;
    assert_reported(
        &findings,
        "notes: foreign key notes_user_fkey does not include tenant_id",
    );
    assert!(
        !findings
            .iter()
            .any(|f| f.contains("notes: row-level") || f.contains("notes: policy")),
        "the correctly protected table must not be reported: {findings:?}"
    );
}
