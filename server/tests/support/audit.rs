//! The schema audit: the rules every migration must keep for tenant isolation, checked against
//! the live catalog. Returns findings rather than panicking so a test can also prove that each
//! rule fires when the schema is deliberately broken.

use sqlx::PgPool;

/// Tables that hold no tenant's data and so carry no `tenant_id`. Anything else must.
pub const GLOBAL_TABLES: &[&str] = &["_sqlx_migrations", "auth_throttle", "tenants"];

/// SELECT-only policies that show one row to a request holding its secret or key (an email at
/// sign-in, a session token's hash) before the tenant is known. Each must be listed here; the
/// isolation suite tests what each reveals.
pub const LOOKUP_POLICIES: &[(&str, &str, &str)] = &[
    ("users", "users_lookup_by_email", "app.login_email"),
    (
        "portal_sessions",
        "portal_sessions_lookup_by_token",
        "app.portal_token_hash",
    ),
    ("sms_outbox", "sms_outbox_sender", "app.worker"),
    (
        "sessions",
        "sessions_lookup_by_token",
        "app.session_token_hash",
    ),
    (
        "email_tokens",
        "email_tokens_lookup_by_token",
        "app.email_token_hash",
    ),
    ("email_outbox", "email_outbox_worker_scan", "app.worker"),
    (
        "payment_settings",
        "payment_settings_lookup_by_hook",
        "app.hook_token_hash",
    ),
    (
        "payment_requests",
        "payment_requests_poll_worker",
        "app.worker",
    ),
    (
        "provider_events",
        "provider_events_apply_worker",
        "app.worker",
    ),
    (
        "payment_links",
        "payment_links_lookup_by_code",
        "app.pay_code_hash",
    ),
    ("routers", "routers_lookup_by_id", "app.router_id"),
    ("routers", "routers_network_worker", "app.worker"),
    (
        "network_entries",
        "network_entries_network_worker",
        "app.worker",
    ),
    (
        "router_commands",
        "router_commands_network_worker",
        "app.worker",
    ),
    ("services", "services_network_worker", "app.worker"),
    ("invoices", "invoices_network_worker", "app.worker"),
    ("vouchers", "vouchers_network_worker", "app.worker"),
];

/// The runtime role the server uses.
pub const APP_ROLE: &str = "jasiyo_app";

/// The one policy expression tenant tables use, as PostgreSQL prints it back.
pub const TENANT_PREDICATE: &str =
    "(tenant_id = (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid)";

/// (name, command, permissive, USING, WITH CHECK) as the catalog prints them.
type PolicyRow = (String, String, bool, Option<String>, Option<String>);

/// Every ordinary table in the public schema that has a `tenant_id` column.
pub async fn tenant_tables(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        r#"select c.relname::text
             from pg_class c
             join pg_namespace n on n.oid = c.relnamespace
             join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
            where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition
            order by 1"#,
    )
    .fetch_all(pool)
    .await
    .expect("list tenant tables")
}

pub async fn audit(pool: &PgPool) -> Vec<String> {
    let mut findings = Vec::new();

    // 1. Every table is either a tenant table or a declared global one.
    let untenanted: Vec<String> = sqlx::query_scalar(
        r#"select c.relname::text
             from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition
              and not exists (select 1 from pg_attribute a
                               where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped)
              and c.relname::text <> all($1)
            order by 1"#,
    )
    .bind(GLOBAL_TABLES)
    .fetch_all(pool)
    .await
    .expect("list tables without tenant_id");
    for table in untenanted {
        findings.push(format!(
            "{table}: has no tenant_id and is not a declared global table"
        ));
    }

    // 2. Row-level security enabled and forced on tenant tables (and on tenants itself).
    let unprotected: Vec<(String, bool, bool)> = sqlx::query_as(
        r#"select c.relname::text, c.relrowsecurity, c.relforcerowsecurity
             from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'public' and c.relkind in ('r', 'p')
              and (c.relname = 'tenants'
                   or exists (select 1 from pg_attribute a
                               where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped))
              and not (c.relrowsecurity and c.relforcerowsecurity)
            order by 1"#,
    )
    .fetch_all(pool)
    .await
    .expect("check row-level security flags");
    for (table, enabled, forced) in unprotected {
        findings.push(format!(
            "{table}: row-level security enabled={enabled} forced={forced} (both must be true)"
        ));
    }

    // 3. Policies: at least one per tenant table, and each one is the tenant predicate for
    //    every command, in both USING and WITH CHECK. A looser policy would widen access,
    //    because permissive policies are OR-ed together.
    for table in tenant_tables(pool).await {
        let policies: Vec<PolicyRow> = sqlx::query_as(
            r#"select p.polname::text, p.polcmd::text, p.polpermissive,
                      pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
                 from pg_policy p
                where p.polrelid = ('public.' || quote_ident($1))::regclass
                order by 1"#,
        )
        .bind(&table)
        .fetch_all(pool)
        .await
        .expect("read policies");
        let mut tenant_policy = false;
        for (name, cmd, permissive, using, check) in policies {
            if let Some((_, _, setting)) = LOOKUP_POLICIES
                .iter()
                .find(|(t, p, _)| *t == table && *p == name)
            {
                let ok = cmd == "r"
                    && permissive
                    && check.is_none()
                    && using
                        .as_deref()
                        .is_some_and(|u| u.contains(&format!("current_setting('{setting}'")));
                if !ok {
                    findings.push(format!(
                        "{table}: lookup policy {name} must be FOR SELECT using {setting}; found \
                         command {cmd} USING {using:?} WITH CHECK {check:?}"
                    ));
                }
                continue;
            }
            let ok = cmd == "*"
                && permissive
                && using.as_deref() == Some(TENANT_PREDICATE)
                && check.as_deref() == Some(TENANT_PREDICATE);
            tenant_policy |= ok;
            if !ok {
                findings.push(format!(
                    "{table}: policy {name} (command {cmd}) must be FOR ALL with USING and WITH CHECK \
                     {TENANT_PREDICATE}; found USING {using:?} WITH CHECK {check:?}"
                ));
            }
        }
        if !tenant_policy {
            findings.push(format!(
                "{table}: no row-level security policy on tenant_id"
            ));
        }
    }

    // 4. The runtime role: no superuser, no BYPASSRLS, owns nothing.
    let role: Option<(bool, bool)> =
        sqlx::query_as("select rolsuper, rolbypassrls from pg_roles where rolname = $1")
            .bind(APP_ROLE)
            .fetch_optional(pool)
            .await
            .expect("read the runtime role");
    match role {
        None => findings.push(format!("role {APP_ROLE} does not exist")),
        Some((superuser, bypass)) => {
            if superuser {
                findings.push(format!("role {APP_ROLE} is a superuser"));
            }
            if bypass {
                findings.push(format!("role {APP_ROLE} has BYPASSRLS"));
            }
        }
    }
    let owned: Vec<String> = sqlx::query_scalar(
        r#"select kind || ' ' || name from (
              select 'relation' as kind, c.oid::regclass::text as name, c.relowner as owner from pg_class c
              union all select 'schema', n.nspname::text, n.nspowner from pg_namespace n
              union all select 'function', p.oid::regprocedure::text, p.proowner from pg_proc p
              union all select 'type', t.oid::regtype::text, t.typowner from pg_type t
           ) o
           where o.owner = (select oid from pg_roles where rolname = $1)
           order by 1"#,
    )
    .bind(APP_ROLE)
    .fetch_all(pool)
    .await
    .expect("list objects owned by the runtime role");
    for object in owned {
        findings.push(format!("{APP_ROLE} owns {object}"));
    }

    // 5. Every foreign key has an index whose leading columns are the key's columns, and
    //    foreign keys from tenant tables include tenant_id (they are checked without RLS).
    let fks: Vec<(String, String, bool, bool)> = sqlx::query_as(
        r#"select c.conrelid::regclass::text, c.conname::text,
                  exists (
                    select 1 from pg_index i
                     where i.indrelid = c.conrelid and i.indisvalid and i.indpred is null
                       and (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(c.conkey)] @> c.conkey
                       and (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(c.conkey)] <@ c.conkey
                  ) as indexed,
                  (not exists (select 1 from pg_attribute a
                                where a.attrelid = c.conrelid and a.attname = 'tenant_id' and not a.attisdropped)
                   or (select a.attnum from pg_attribute a
                        where a.attrelid = c.conrelid and a.attname = 'tenant_id') = any(c.conkey)) as tenant_scoped
             from pg_constraint c
             join pg_namespace n on n.oid = c.connamespace
            where c.contype = 'f' and n.nspname = 'public'
            order by 1, 2"#,
    )
    .fetch_all(pool)
    .await
    .expect("list foreign keys");
    for (table, constraint, indexed, tenant_scoped) in fks {
        if !indexed {
            findings.push(format!(
                "{table}: foreign key {constraint} has no index starting with its columns"
            ));
        }
        if !tenant_scoped {
            findings.push(format!(
                "{table}: foreign key {constraint} does not include tenant_id"
            ));
        }
    }

    findings
}
