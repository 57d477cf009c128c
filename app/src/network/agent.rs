//! The phone-home agent: routers with no port the server can reach run a RouterOS script that
//! checks in at `/api/routers/agent` every few seconds, runs the commands it is given (as a
//! RouterOS script) and posts what each did with its next check-in.
//!
//! Authentication: the router's id and secret on every check-in, plus a one-time nonce. Each
//! answer hands the router the nonce its next check-in must carry, so a recorded check-in
//! replayed later (or a second copy of the router) is refused. A router that lost its nonce
//! (a reboot clears script globals) checks in without one and is given a fresh nonce and no
//! commands; a refused check-in makes the script forget its nonce, so it heals itself.
//!
//! RouterOS 6's `/tool fetch output=user` keeps at most 4 KB, so an answer carries a few
//! commands and asks the router to check in again at once (`jasiyoMore`) while more wait.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    error::AppError,
    network::{
        command_spec::CommandSpec,
        queue::{self, Claimed, Outcome},
        routers::secret_binding,
    },
    state::AppState,
};

/// Commands claimed for one answer; as many as fit `SCRIPT_BUDGET` are sent, the rest go back
/// to the queue at once (a cut-off renders to ~350 bytes, an enable to ~800).
pub const AGENT_BATCH: i64 = 16;

/// RouterOS 6 keeps at most 4 KB of a `/tool fetch output=user` answer.
pub const SCRIPT_BUDGET: usize = 3_900;

/// Check-in rounds one run of the agent script makes at most (each a batch).
pub const AGENT_ROUNDS: u32 = 20;

/// A check-in as posted by the router (form-encoded).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct CheckIn {
    #[serde(default)]
    pub router: String,
    #[serde(default)]
    pub secret: String,
    #[serde(default)]
    pub nonce: String,
    #[serde(default)]
    pub version: String,
    /// `id:present:as-desired,` per command run since the last check-in (`id:err,` on error).
    #[serde(default)]
    pub results: String,
}

/// Why a check-in was refused (the router is told only the status).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    #[error("not a router of this server")]
    Unknown,
    #[error("wrong secret")]
    WrongSecret,
    #[error("this router is not set up for the phone-home agent")]
    NotAgent,
    #[error("replayed or out-of-order check-in (stale nonce)")]
    StaleNonce,
}

/// The answer to a check-in.
#[derive(Debug)]
pub enum Answer {
    Script(String),
    Refused(Refusal),
}

fn digest(nonce: &str) -> Vec<u8> {
    Sha256::digest(nonce.as_bytes()).to_vec()
}

fn new_nonce() -> Result<String, AppError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| AppError::internal(&std::io::Error::other(e)))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Handles one check-in: authenticates it, records the results it carries and answers with
/// the next commands. Every step of one check-in is one transaction.
pub async fn check_in(state: &AppState, form: &CheckIn) -> Result<Answer, AppError> {
    let Ok(router) = Uuid::parse_str(form.router.trim()) else {
        return Ok(Answer::Refused(Refusal::Unknown));
    };
    let Some(mut tx) = state.db.router_tenant(router).await? else {
        return Ok(Answer::Refused(Refusal::Unknown));
    };
    let tenant = tx.tenant();
    let row = sqlx::query!(
        r#"select mode, secret_enc, agent_nonce_hash, interval_secs
             from routers where tenant_id = $1 and id = $2 for update"#,
        tenant.0,
        router
    )
    .fetch_one(tx.conn())
    .await?;
    let secret = state
        .secrets
        .open(&row.secret_enc, &secret_binding(tenant.0, router, "secret"))
        .map_err(|e| AppError::internal(&e))?;
    // Digests are compared, so the time a mismatch takes says nothing about the secret.
    if Sha256::digest(&secret) != Sha256::digest(form.secret.as_bytes()) {
        tracing::warn!(%tenant, %router, "agent check-in refused: wrong secret");
        return Ok(Answer::Refused(Refusal::WrongSecret));
    }
    if row.mode != "agent" {
        return Ok(Answer::Refused(Refusal::NotAgent));
    }
    let now = state.clock.now();
    let interval = chrono::Duration::seconds(i64::from(row.interval_secs));
    let fresh = form.nonce.trim().is_empty();
    if !fresh {
        let expected = row.agent_nonce_hash.unwrap_or_default();
        if expected != digest(form.nonce.trim()) {
            tracing::warn!(%tenant, %router, "agent check-in refused: stale nonce");
            return Ok(Answer::Refused(Refusal::StaleNonce));
        }
    }
    let nonce = new_nonce()?;
    let version: Option<String> = Some(form.version.trim())
        .filter(|v| !v.is_empty())
        .map(|v| v.chars().take(60).collect());
    sqlx::query!(
        r#"update routers set agent_nonce_hash = $3, last_seen_at = $4,
                              routeros_version = coalesce($5, routeros_version),
                              last_error = null, last_error_at = null
            where tenant_id = $1 and id = $2"#,
        tenant.0,
        router,
        digest(&nonce),
        now,
        version
    )
    .execute(tx.conn())
    .await?;
    let mut script = String::new();
    let _ = writeln!(script, ":global jasiyoNonce \"{nonce}\"");
    if fresh {
        // A router that lost its nonce gets a new one and checks in again with it; no
        // commands go to a check-in anyone could have recorded.
        script.push_str(":global jasiyoMore true\n");
        tx.commit().await?;
        return Ok(Answer::Script(script));
    }
    let outcomes = read_results(&mut tx, router, &form.results).await?;
    queue::record(&mut tx, now, chrono::Duration::zero(), &outcomes).await?;
    // Handed out two intervals ago and not reported: the script did not finish.
    queue::requeue_stale(
        &mut tx,
        router,
        now,
        interval * 2 + chrono::Duration::seconds(5),
    )
    .await?;
    let claimed = queue::claim(&mut tx, state, router, now, AGENT_BATCH).await?;
    if !claimed.is_empty() {
        script.push_str(":global jasiyoResults\n:global jasiyoMore\n");
        let mut left_over = Vec::new();
        let mut sent = 0;
        for command in &claimed {
            let line = render(command);
            // The first always goes (one command fits whatever its size); then what fits, in
            // order, so a user name's commands never overtake each other.
            let fits = script.len() + line.len() + 30 < SCRIPT_BUDGET;
            if left_over.is_empty() && (sent == 0 || fits) {
                script.push_str(&line);
                script.push('\n');
                sent += 1;
            } else {
                left_over.push(command.id);
            }
        }
        queue::unclaim(&mut tx, &left_over).await?;
        // Report at once, and fetch what else waits.
        script.push_str(":set jasiyoMore true\n");
    }
    tx.commit().await?;
    Ok(Answer::Script(script))
}

/// Reads `id:present:as-desired,` results against the commands delivered to this router.
async fn read_results(
    tx: &mut crate::db::TenantTx,
    router: Uuid,
    results: &str,
) -> Result<Vec<(i64, Outcome)>, AppError> {
    let tenant = tx.tenant();
    let parsed: Vec<(i64, Option<(i64, i64)>)> = results
        .split(',')
        .filter_map(|r| {
            let mut parts = r.trim().split(':');
            let id = parts.next()?.parse::<i64>().ok()?;
            match (parts.next(), parts.next()) {
                (Some("err"), _) => Some((id, None)),
                (Some(p), Some(e)) => Some((id, Some((p.parse().ok()?, e.parse().ok()?)))),
                _ => None,
            }
        })
        .take(1_000)
        .collect();
    if parsed.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = parsed.iter().map(|(id, _)| *id).collect();
    // Only commands this router was given count: ids of other routers are ignored.
    let specs: std::collections::HashMap<i64, CommandSpec> = sqlx::query!(
        r#"select id, spec from router_commands
            where tenant_id = $1 and router_id = $2 and id = any($3)
              and status in ('delivered', 'executed')"#,
        tenant.0,
        router,
        &ids
    )
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .filter_map(|r| Some((r.id, serde_json::from_value(r.spec).ok()?)))
    .collect();
    Ok(parsed
        .into_iter()
        .filter_map(|(id, seen)| {
            let spec = specs.get(&id)?;
            let outcome = match seen {
                None => Outcome::Refused("the router could not run the command".into()),
                Some((present, as_desired)) => {
                    let ok = match spec.desired.as_str() {
                        "enabled" => present == 1 && as_desired == 1,
                        "disabled" => as_desired == 0,
                        _ => present == 0,
                    };
                    if ok {
                        Outcome::Confirmed
                    } else {
                        Outcome::Unconfirmed(format!(
                            "the router reports {present} user(s) by that name, {as_desired} enabled as desired"
                        ))
                    }
                }
            };
            Some((id, outcome))
        })
        .collect())
}

/// A RouterOS double-quoted string.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' | '\\' | '$' | '?' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// RouterOS CLI paths of a kind's menus: users, active sessions, profiles, and the attribute
/// active sessions name their user by.
fn cli_menus(spec: &CommandSpec) -> (&'static str, &'static str, &'static str, &'static str) {
    if spec.kind == "hotspot" {
        (
            "/ip hotspot user",
            "/ip hotspot active",
            "/ip hotspot user profile",
            "user",
        )
    } else {
        ("/ppp secret", "/ppp active", "/ppp profile", "name")
    }
}

/// One command as one line of RouterOS script: look, then add, set or remove; then append
/// `id:present:as-desired,` to `jasiyoResults` (`id:err,` if anything failed).
pub fn render(command: &Claimed) -> String {
    let spec = &command.spec;
    let (users, active, profiles, active_user) = cli_menus(spec);
    let name = quote(&command.username);
    let mut steps = Vec::new();
    let mut desired_filter = format!("name={name} disabled=no");
    match spec.desired.as_str() {
        "enabled" => {
            if let Some(profile) = &spec.profile {
                let profile = quote(profile);
                let attrs: Vec<String> = spec
                    .profile_attributes()
                    .into_iter()
                    .skip(1)
                    .map(|(k, v)| format!("{k}={}", quote(&v)))
                    .collect();
                let attrs = attrs.join(" ");
                steps.push(format!(
                    ":if ([:len [{profiles} find name={profile}]] = 0) do={{ {profiles} add name={profile} {attrs} }} else={{ {profiles} set [find name={profile}] {attrs} }}"
                ));
                let _ = write!(desired_filter, " profile={profile}");
            }
            let password = command.password.as_deref().unwrap_or_default();
            let attrs: Vec<String> = spec
                .user_attributes(&command.username, password)
                .into_iter()
                .skip(1)
                .map(|(k, v)| format!("{k}={}", quote(&v)))
                .collect();
            let attrs = attrs.join(" ");
            steps.push(format!(
                ":if ([:len [{users} find name={name}]] = 0) do={{ {users} add name={name} {attrs} }} else={{ {users} set [find name={name}] {attrs} }}"
            ));
        }
        "disabled" => {
            steps.push(format!("{users} set [find name={name}] disabled=yes"));
            steps.push(format!("{active} remove [find {active_user}={name}]"));
        }
        _ => {
            steps.push(format!("{users} remove [find name={name}]"));
            steps.push(format!("{active} remove [find {active_user}={name}]"));
        }
    }
    let id = command.id;
    format!(
        ":do {{ {}; :set jasiyoResults ($jasiyoResults . \"{id}:\" . [:len [{users} find name={name}]] . \":\" . [:len [{users} find {desired_filter}]] . \",\") }} on-error={{ :set jasiyoResults ($jasiyoResults . \"{id}:err,\") }}",
        steps.join("; ")
    )
}

/// The script the ISP pastes into the router's terminal: the agent script and a scheduler
/// that runs it every `interval_secs`, then a first run.
pub fn install_script(public_url: &str, router: Uuid, secret: &str, interval_secs: i32) -> String {
    let url = format!("{}/api/routers/agent", public_url.trim_end_matches('/'));
    let body = agent_script(&url, router, secret);
    let source = quote(&body);
    format!(
        "# Jasiyo phone-home agent. Paste into the router's terminal (RouterOS 6.43 or later).\n\
         # It checks in every {interval_secs}s; nothing needs to reach the router from outside.\n\
         /system scheduler remove [find name=\"jasiyo-agent\"]\n\
         /system script remove [find name=\"jasiyo-agent\"]\n\
         /system script add name=\"jasiyo-agent\" policy=read,write,test,policy source={source}\n\
         /system scheduler add name=\"jasiyo-agent\" interval={interval_secs}s start-time=startup policy=read,write,test,policy on-event=\"/system script run jasiyo-agent\"\n\
         /system script run jasiyo-agent\n"
    )
}

/// The agent itself: check in, run the answer, again at once while the answer asks for it.
pub fn agent_script(url: &str, router: Uuid, secret: &str) -> String {
    format!(
        r#":global jasiyoNonce
:global jasiyoResults
:global jasiyoMore
# One run at a time: a run still going (a slow link) is a job of this script; a run RouterOS
# killed is not, so nothing can stay locked.
:if ([:len [/system script job find where script="jasiyo-agent"]] <= 1) do={{
  :set jasiyoMore true
  :local rounds 0
  :while ($jasiyoMore = true && $rounds < {AGENT_ROUNDS}) do={{
    :set jasiyoMore false
    :set rounds ($rounds + 1)
    :local body ("router={router}&secret={secret}&version=" . [/system resource get version] . "&nonce=" . $jasiyoNonce . "&results=" . $jasiyoResults)
    :do {{
      :local reply [/tool fetch url="{url}" http-method=post http-header-field="Content-Type: application/x-www-form-urlencoded" http-data=$body output=user as-value]
      :set jasiyoResults ""
      :local run [:parse ($reply->"data")]
      $run
    }} on-error={{
      :set jasiyoNonce ""
      :log warning "jasiyo: check-in failed"
    }}
  }}
}}"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claimed(desired: &str, kind: &str) -> Claimed {
        Claimed {
            id: 17,
            username: "acc1001".into(),
            version: 3,
            spec: CommandSpec::new(
                kind,
                desired,
                Some(crate::network::command_spec::PlanLimits {
                    download_kbps: 10_000,
                    upload_kbps: 5_000,
                    burst: None,
                    shared_users: None,
                    data_cap_bytes: None,
                }),
            ),
            password: Some("p\"a$s\\w?".into()),
        }
    }

    #[test]
    fn quoting_escapes_what_routeros_reads_specially() {
        assert_eq!(quote(r#"a"b$c\d?e"#), r#""a\"b\$c\\d\?e""#);
    }

    #[test]
    fn an_enable_adds_or_sets_and_reports() {
        let line = render(&claimed("enabled", "pppoe"));
        assert!(line.starts_with(":do { "), "{line}");
        assert!(line.contains("/ppp profile add name=\"jasiyo-5M-10M\" rate-limit=\"5M/10M\""));
        assert!(line.contains("/ppp secret add name=\"acc1001\" password=\"p\\\"a\\$s\\\\w\\?\""));
        assert!(line.contains("disabled=no profile=\"jasiyo-5M-10M\"]]"));
        assert!(line.ends_with("on-error={ :set jasiyoResults ($jasiyoResults . \"17:err,\") }"));
        // Four of these fit one answer.
        assert!(4 * line.len() + 200 < SCRIPT_BUDGET, "{} bytes", line.len());
    }

    #[test]
    fn the_longest_command_fits_an_answer() {
        let mut longest = claimed("enabled", "hotspot");
        longest.username = "u".repeat(64);
        longest.password = Some("\"".repeat(64));
        longest.spec.limit_bytes_total = Some(i64::MAX);
        let line = render(&longest);
        assert!(line.len() + 200 < SCRIPT_BUDGET, "{} bytes", line.len());
    }

    #[test]
    fn a_cut_off_disables_and_kicks() {
        let line = render(&claimed("disabled", "hotspot"));
        assert!(line.contains("/ip hotspot user set [find name=\"acc1001\"] disabled=yes"));
        assert!(line.contains("/ip hotspot active remove [find user=\"acc1001\"]"));
        assert!(
            !line.contains("password"),
            "a cut-off needs no password: {line}"
        );
    }

    #[test]
    fn the_install_script_names_the_router_and_the_interval() {
        let id = Uuid::nil();
        let script = install_script("https://isp.example/", id, "SECRET", 10);
        assert!(script.contains("interval=10s"));
        assert!(script.contains("https://isp.example/api/routers/agent"));
        assert!(script.contains(&format!("router={id}&secret=SECRET")));
        // The agent's own `$` and quotes are escaped inside the source string.
        assert!(script.contains("\\$jasiyoNonce"));
        assert_eq!(script.lines().filter(|l| l.starts_with('/')).count(), 5);
        // One run at a time, by RouterOS's own list of running scripts (no flag to get stuck).
        assert!(script.contains("/system script job find where script=\\\"jasiyo-agent\\\""));
    }
}
