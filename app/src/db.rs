//! The only way application code reaches PostgreSQL.
//!
//! The server connects as `jasiyo_app`, a role that owns nothing and cannot bypass row-level
//! security. Every tenant table's policy compares `tenant_id` with the transaction-local setting
//! `app.tenant_id`, so a query that forgets its tenant filter still sees only its own tenant's
//! rows, and with no tenant set it sees none. [`TenantTx`] is the transaction that has set it:
//! store functions take `&mut TenantTx`, so tenant code without a tenant does not compile.

use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

/// A tenant (ISP) id. A newtype so it cannot be confused with any other id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[sqlx(transparent)]
pub struct TenantId(pub Uuid);

impl std::fmt::Display for TenantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The runtime connection pool. Deliberately does not expose the pool: callers open a
/// tenant transaction, or one of the few named cross-tenant lookups below.
#[derive(Clone, Debug)]
pub struct Db {
    pool: PgPool,
}

/// A transaction scoped to one tenant: `app.tenant_id` is set for its lifetime only
/// (`set_config(..., true)`), so a pooled connection never carries a tenant into the next use.
pub struct TenantTx {
    tx: Transaction<'static, Postgres>,
    tenant: TenantId,
}

impl Db {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Opens a transaction in which only `tenant`'s rows are visible or writable.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn tenant(&self, tenant: TenantId) -> Result<TenantTx, sqlx::Error> {
        // BEGIN and the setting in one round trip (every request opens a few of these). The id
        // is a `Uuid`, whose text is hex digits and dashes only, so it is safe in the SQL text.
        let begin = format!(
            "begin; select set_config('app.tenant_id', '{}', true)",
            tenant.0.hyphenated()
        );
        let tx = self.pool.begin_with(AssertSqlSafe(begin)).await?;
        Ok(TenantTx { tx, tenant })
    }

    /// Finds a tenant by its public slug (portal and hotspot URLs, demo sign-in). The tenants
    /// policy shows a row whose slug equals `app.tenant_slug`, so this lookup can see that one
    /// row and nothing else.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn tenant_by_slug(&self, slug: &str) -> Result<Option<TenantId>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("select set_config('app.tenant_slug', $1, true)")
            .bind(slug)
            .execute(&mut *tx)
            .await?;
        let id = sqlx::query_scalar!("select id from tenants where slug = $1", slug)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id.map(TenantId))
    }

    /// Finds the ISP whose payment hook token hashes to `hash_hex` (the payment_settings lookup
    /// policy shows that one row) and, in the same transaction, switches to it: a paybill
    /// confirmation is stored in two round trips plus its insert and commit. `None` (and
    /// nothing left open) when no ISP has that hash.
    pub async fn hook_tenant(&self, hash_hex: &str) -> Result<Option<TenantTx>, sqlx::Error> {
        let Some(mut tx) = self.begin_lookup("app.hook_token_hash", hash_hex).await? else {
            return Ok(None);
        };
        // The row found switches the transaction to its tenant as it is read.
        let found = sqlx::query!(
            r#"select tenant_id, set_config('app.tenant_id', tenant_id::text, true) as switched
                 from payment_settings where hook_token_hash = decode($1, 'hex')"#,
            hash_hex
        )
        .fetch_optional(&mut *tx)
        .await?;
        Self::switched(tx, found.map(|row| row.tenant_id)).await
    }

    /// The ISP whose payment hook token hashes to `hash_hex`; see `hook_tenant`.
    pub async fn tenant_by_hook_token_hash(
        &self,
        hash_hex: &str,
    ) -> Result<Option<TenantId>, sqlx::Error> {
        let Some(tx) = self.hook_tenant(hash_hex).await? else {
            return Ok(None);
        };
        let tenant = tx.tenant;
        tx.tx.commit().await?;
        Ok(Some(tenant))
    }

    /// Finds the session whose token hashes to `token_hash_hex` and, in the same transaction,
    /// switches to its tenant: every signed-in request starts here, so one transaction (six
    /// round trips) instead of two (eight). `None` (and nothing left open) when no session has
    /// that hash.
    pub async fn session_tenant(
        &self,
        token_hash_hex: &str,
    ) -> Result<Option<(TenantTx, SessionRef)>, sqlx::Error> {
        // The hash is checked to be hex, so it can go into the BEGIN round trip as text.
        if !token_hash_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let begin =
            format!("begin; select set_config('app.session_token_hash', '{token_hash_hex}', true)");
        let mut tx = self.pool.begin_with(AssertSqlSafe(begin)).await?;
        let Some(row) = sqlx::query!(
            "select tenant_id, id, user_id from sessions where token_hash = decode($1, 'hex')",
            token_hash_hex
        )
        .fetch_optional(&mut *tx)
        .await?
        else {
            tx.commit().await?;
            return Ok(None);
        };
        let tenant = TenantId(row.tenant_id);
        sqlx::query("select set_config('app.tenant_id', $1, true)")
            .bind(tenant.to_string())
            .execute(&mut *tx)
            .await?;
        let found = SessionRef {
            tenant,
            session_id: row.id,
            user_id: row.user_id,
        };
        Ok(Some((TenantTx { tx, tenant }, found)))
    }

    /// Finds the portal session whose token hashes to `token_hash_hex` (the lookup policy shows
    /// that one row) and switches the transaction to its ISP. `None` (nothing left open) when no
    /// session has that hash.
    pub async fn portal_session_tenant(
        &self,
        token_hash_hex: &str,
    ) -> Result<Option<TenantTx>, sqlx::Error> {
        let Some(mut tx) = self
            .begin_lookup("app.portal_token_hash", token_hash_hex)
            .await?
        else {
            return Ok(None);
        };
        let found = sqlx::query!(
            r#"select tenant_id, set_config('app.tenant_id', tenant_id::text, true) as switched
                 from portal_sessions where token_hash = decode($1, 'hex')"#,
            token_hash_hex
        )
        .fetch_optional(&mut *tx)
        .await?;
        Self::switched(tx, found.map(|row| row.tenant_id)).await
    }

    /// A transaction that can see one row through a lookup policy: `setting` is set to the hex
    /// hash in the BEGIN round trip (checked to be hex first, so it can go in as text). `None`,
    /// with nothing opened, when `hash_hex` is not hex.
    async fn begin_lookup(
        &self,
        setting: &'static str,
        hash_hex: &str,
    ) -> Result<Option<Transaction<'static, Postgres>>, sqlx::Error> {
        if hash_hex.is_empty() || !hash_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let begin = format!("begin; select set_config('{setting}', '{hash_hex}', true)");
        Ok(Some(self.pool.begin_with(AssertSqlSafe(begin)).await?))
    }

    /// A lookup's transaction as the tenant transaction of the row it found (whose query switched
    /// `app.tenant_id` as it read it), or committed and closed when it found none.
    async fn switched(
        tx: Transaction<'static, Postgres>,
        tenant: Option<Uuid>,
    ) -> Result<Option<TenantTx>, sqlx::Error> {
        match tenant {
            Some(tenant) => Ok(Some(TenantTx {
                tx,
                tenant: TenantId(tenant),
            })),
            None => {
                tx.commit().await?;
                Ok(None)
            }
        }
    }

    /// Finds the emailed token whose hash is `token_hash_hex` (the email_tokens lookup policy
    /// shows that one row).
    pub async fn email_token_by_hash(
        &self,
        token_hash_hex: &str,
    ) -> Result<Option<EmailTokenRef>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("select set_config('app.email_token_hash', $1, true)")
            .bind(token_hash_hex)
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query!(
            r#"select tenant_id, id, user_id, purpose, expires_at, used_at is not null as "used!"
                 from email_tokens where token_hash = decode($1, 'hex')"#,
            token_hash_hex
        )
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.map(|r| EmailTokenRef {
            tenant: TenantId(r.tenant_id),
            token_id: r.id,
            user_id: r.user_id,
            purpose: r.purpose,
            expires_at: r.expires_at,
            used: r.used,
        }))
    }

    /// Undelivered mail due for another attempt, across tenants (at most `limit`): the retry
    /// worker's view, through the outbox's worker policy (`app.worker = 'email'`).
    pub async fn mail_due(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: i64,
    ) -> Result<Vec<(TenantId, Uuid)>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("select set_config('app.worker', 'email', true)")
            .execute(&mut *tx)
            .await?;
        let rows = sqlx::query!(
            r#"select tenant_id, id from email_outbox
                where status <> 'sent' and attempts < 8
                  and coalesce(next_attempt_at, created_at) <= $1
                order by coalesce(next_attempt_at, created_at)
                limit $2"#,
            now,
            limit
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(|r| (TenantId(r.tenant_id), r.id))
            .collect())
    }

    /// Text messages in `status` whose `next_attempt_at` is at or before `until`, across ISPs,
    /// urgent first: `queued` ones due to be sent, or `sending` ones handed over before then and
    /// never settled (the sender's view through the `sms_outbox_sender` policy,
    /// `app.worker = 'sms'`).
    pub async fn sms_rows(
        &self,
        status: &str,
        until: chrono::DateTime<chrono::Utc>,
        limit: i64,
    ) -> Result<Vec<(TenantId, Uuid)>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("select set_config('app.worker', 'sms', true)")
            .execute(&mut *tx)
            .await?;
        let rows = sqlx::query!(
            r#"select tenant_id, id from sms_outbox
                where status = $1 and next_attempt_at <= $2
                order by urgent desc, next_attempt_at
                limit $3"#,
            status,
            until,
            limit
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(|r| (TenantId(r.tenant_id), r.id))
            .collect())
    }

    /// The message a gateway's id names, across ISPs (a delivery report on the platform's account
    /// says nothing else), through the sender's policy (`app.worker = 'sms'`). Only sent messages
    /// carry an id, so the newest one wins should a gateway ever reuse one.
    pub async fn sms_by_provider_id(
        &self,
        provider_id: &str,
    ) -> Result<Option<(TenantId, Uuid)>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("select set_config('app.worker', 'sms', true)")
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query!(
            r#"select tenant_id, id from sms_outbox
                where provider_message_id = $1
                order by created_at desc
                limit 1"#,
            provider_id
        )
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.map(|r| (TenantId(r.tenant_id), r.id)))
    }

    /// ISPs that have texted `phone` (through the sms_outbox_sender policy): where a STOP from
    /// that number withdraws consent.
    pub async fn sms_tenants_by_recipient(
        &self,
        phone: &str,
    ) -> Result<Vec<TenantId>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("select set_config('app.worker', 'sms', true)")
            .execute(&mut *tx)
            .await?;
        let tenants = sqlx::query_scalar!(
            "select distinct tenant_id from sms_outbox where recipient = $1",
            phone
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(tenants.into_iter().map(TenantId).collect())
    }

    /// ISPs with paybill confirmations stored by `before` and not yet applied, through the
    /// provider_events_apply_worker policy (`app.worker = 'payments'`).
    pub async fn tenants_with_unapplied_c2b(
        &self,
        before: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<TenantId>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("select set_config('app.worker', 'payments', true)")
            .execute(&mut *tx)
            .await?;
        let rows = sqlx::query_scalar!(
            r#"select distinct tenant_id from provider_events
                where outcome is null and kind = 'c2b_confirmation' and received_at <= $1"#,
            before
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows.into_iter().map(TenantId).collect())
    }

    /// Open payment requests whose next STK query (or expiry) is due, across tenants (at most
    /// `limit`), through the payment_requests_poll_worker policy (`app.worker = 'payments'`).
    pub async fn payment_requests_due(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: i64,
    ) -> Result<Vec<(TenantId, Uuid)>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("select set_config('app.worker', 'payments', true)")
            .execute(&mut *tx)
            .await?;
        let rows = sqlx::query!(
            r#"select tenant_id, id from payment_requests
                where status in ('sending', 'pending') and next_query_at <= $1
                order by next_query_at
                limit $2"#,
            now,
            limit
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(|r| (TenantId(r.tenant_id), r.id))
            .collect())
    }

    /// The customer whose payment link code hashes to `hash_hex` (the payment_links lookup
    /// policy shows that one row): (tenant, customer).
    pub async fn payment_link_by_hash(
        &self,
        hash_hex: &str,
    ) -> Result<Option<(TenantId, Uuid)>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("select set_config('app.pay_code_hash', $1, true)")
            .bind(hash_hex)
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query!(
            "select tenant_id, customer_id from payment_links where code_hash = decode($1, 'hex')",
            hash_hex
        )
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.map(|r| (TenantId(r.tenant_id), r.customer_id)))
    }

    /// What the network worker has to do across ISPs, read through the `*_network_worker`
    /// policies (`app.worker = 'network'`): ISPs with desired states not yet queued, ISPs with
    /// services due to be cut off by `now`, and pushed routers to contact (commands due, or
    /// not heard from for an interval).
    pub async fn network_work(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<NetworkWork, sqlx::Error> {
        let mut tx = self
            .pool
            .begin_with("begin; select set_config('app.worker', 'network', true)")
            .await?;
        let unqueued = sqlx::query_scalar!(
            "select distinct tenant_id from network_entries where version > queued_version"
        )
        .fetch_all(&mut *tx)
        .await?;
        // Prepaid services past their expiry (the grace period is the ISP's, applied by the
        // sweep itself) and postpaid ones with an invoice past due.
        let expiring = sqlx::query_scalar!(
            r#"select tenant_id as "tenant_id!" from services
                where status = 'active' and expires_at <= $1
               union
               select i.tenant_id from invoices i
                where i.status in ('pending', 'overdue') and i.service_id is not null
                  and i.due_at <= $1
                  and exists (select 1 from services s
                               where s.tenant_id = i.tenant_id and s.id = i.service_id
                                 and s.status = 'active' and s.billing_mode = 'postpaid')
               union
               select tenant_id from vouchers where status = 'available' and expires_at <= $1
               union
               select tenant_id from vouchers where status = 'used' and ends_at <= $1"#,
            now
        )
        .fetch_all(&mut *tx)
        .await?;
        // Pushed routers with commands due or not heard from for an interval; RADIUS NASes
        // with disconnects due (they are heard from by their own packets).
        let routers = sqlx::query!(
            r#"select r.tenant_id, r.id from routers r
                where (r.mode in ('rest', 'api', 'radius')
                       and exists (select 1 from router_commands c
                                    where c.tenant_id = r.tenant_id and c.router_id = r.id
                                      and c.status = 'queued' and c.next_attempt_at <= $1))
                   or (r.mode in ('rest', 'api')
                       and (greatest(r.last_seen_at, r.last_error_at) is null
                            or greatest(r.last_seen_at, r.last_error_at)
                               <= $1 - make_interval(secs => r.interval_secs)))"#,
            now
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(NetworkWork {
            unqueued: unqueued.into_iter().map(TenantId).collect(),
            expiring: expiring.into_iter().map(TenantId).collect(),
            routers: routers
                .into_iter()
                .map(|r| (TenantId(r.tenant_id), r.id))
                .collect(),
        })
    }

    /// Every RADIUS router (tenant, id, address, disconnect port, sealed secret), through the
    /// routers_network_worker policy, for the RADIUS server's table of clients.
    pub async fn radius_nases(
        &self,
    ) -> Result<Vec<(TenantId, Uuid, String, Option<i32>, Vec<u8>)>, sqlx::Error> {
        let mut tx = self
            .pool
            .begin_with("begin; select set_config('app.worker', 'network', true)")
            .await?;
        let rows = sqlx::query!(
            r#"select tenant_id, id, host as "host!", port, secret_enc from routers
                where mode = 'radius' and host is not null"#
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(|r| (TenantId(r.tenant_id), r.id, r.host, r.port, r.secret_enc))
            .collect())
    }

    /// ISPs with a RADIUS router (for closing their stale sessions).
    pub async fn radius_tenants(&self) -> Result<Vec<TenantId>, sqlx::Error> {
        Ok(self
            .radius_nases()
            .await?
            .into_iter()
            .map(|(tenant, ..)| tenant)
            .collect::<std::collections::HashSet<_>>()
            .into_iter()
            .collect())
    }

    /// Makes the RADIUS sessions partition for the month of `at` if it is missing.
    pub async fn radius_partition(
        &self,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query!("select radius_sessions_partition($1)", at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Opens a transaction for the router `id`'s check-in, switched to its tenant as the row is
    /// read (the routers_lookup_by_id policy shows that one row). `None` when no router has it.
    pub async fn router_tenant(&self, id: Uuid) -> Result<Option<TenantTx>, sqlx::Error> {
        // A `Uuid` prints as hex and dashes only: safe in the SQL text.
        let begin = format!(
            "begin; select set_config('app.router_id', '{}', true)",
            id.hyphenated()
        );
        let mut tx = self.pool.begin_with(AssertSqlSafe(begin)).await?;
        let found = sqlx::query!(
            r#"select tenant_id, set_config('app.tenant_id', tenant_id::text, true) as switched
                 from routers where id = $1"#,
            id
        )
        .fetch_optional(&mut *tx)
        .await?;
        match found {
            Some(row) => Ok(Some(TenantTx {
                tx,
                tenant: TenantId(row.tenant_id),
            })),
            None => {
                tx.commit().await?;
                Ok(None)
            }
        }
    }

    /// Every tenant, for the billing job (the tenants_billing_worker policy shows all rows
    /// only with app.worker = 'billing').
    pub async fn billing_tenants(&self) -> Result<Vec<TenantId>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("select set_config('app.worker', 'billing', true)")
            .execute(&mut *tx)
            .await?;
        let ids = sqlx::query_scalar!("select id from tenants order by id")
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ids.into_iter().map(TenantId).collect())
    }

    /// Finds the account signing in with `email` (already normalised). The users policy shows
    /// the one row whose email is in `app.login_email`.
    pub async fn login_by_email(&self, email: &str) -> Result<Option<Login>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("select set_config('app.login_email', $1, true)")
            .bind(email)
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query!(
            r#"select tenant_id, id, password_hash, disabled_at is not null as "disabled!",
                      email_verified_at is not null as "verified!"
                 from users where email = $1"#,
            email
        )
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.map(|r| Login {
            tenant: TenantId(r.tenant_id),
            user_id: r.id,
            password_hash: r.password_hash,
            disabled: r.disabled,
            verified: r.verified,
        }))
    }

    /// A cheap round trip for health checks; touches no tenant data.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("select 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// The pool, for the few tables that hold no tenant's data (`auth_throttle`). Tenant data
    /// is reached only through [`Db::tenant`] and the named lookups above.
    pub(crate) fn global(&self) -> &PgPool {
        &self.pool
    }

    /// A connection listening on `channel` (LISTEN/NOTIFY), outside the pool's count.
    pub async fn listener(&self, channel: &str) -> Result<sqlx::postgres::PgListener, sqlx::Error> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        listener.listen(channel).await?;
        Ok(listener)
    }

    /// Closes every connection; used on graceful shutdown.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// What a network worker round found to do; see [`Db::network_work`].
#[derive(Debug, Default)]
pub struct NetworkWork {
    pub unqueued: Vec<TenantId>,
    pub expiring: Vec<TenantId>,
    pub routers: Vec<(TenantId, Uuid)>,
}

/// A session found by its token, before its tenant's transaction is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRef {
    pub tenant: TenantId,
    pub session_id: Uuid,
    pub user_id: Uuid,
}

/// An emailed token found from its link, before its tenant's transaction is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailTokenRef {
    pub tenant: TenantId,
    pub token_id: Uuid,
    pub user_id: Uuid,
    pub purpose: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub used: bool,
}

/// An account found by email at sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub tenant: TenantId,
    pub user_id: Uuid,
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub verified: bool,
}

impl TenantTx {
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    /// The connection to run queries on, inside the tenant's transaction.
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// Commits the change. Dropping a `TenantTx` without committing rolls it back, so an error
    /// half-way through a change leaves nothing half-written.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}
