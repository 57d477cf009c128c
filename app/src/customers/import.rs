//! Importing customers from CSV (an ISP moving from a spreadsheet or another system), and the
//! export that writes the same columns back, so an export re-imports as it is.
//!
//! Columns (header names are matched ignoring case, spaces, dashes and underscores; a few common
//! aliases are accepted; unknown columns are listed and ignored):
//!   name*, phone*, account_number, email, location, notes, sms_consent (yes/no),
//!   plan (a plan's name), username, password, expiry (YYYY-MM-DD = to the end of that day, or
//!   YYYY-MM-DD HH:MM, in the ISP's time zone), status (active/expired/suspended), billing_mode,
//!   billing_day, language (en/sw, English/Kiswahili; blank: English).
//! The file is checked in full first; any bad row means nothing is imported and every problem is
//! reported by line and column. A row whose account number (or, without one, phone number)
//! already belongs to a customer is skipped, so importing the same file twice adds nobody twice.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::{
    audit::store::{Entry, record},
    auth::{identity::Staff, model::Permission, session::RequestMeta},
    customers::{
        model::{
            BillingMode, CustomerForm, ImportError, ImportReport, ServiceForm, ServiceStatus,
            end_of_local_day, resolve_local,
        },
        service::{
            self, Zone, constraint, default_username, generate_password, next_account_numbers,
            password_binding,
        },
    },
    db::TenantTx,
    error::AppError,
    plans::model::ValidityUnit,
    state::AppState,
};

/// The most errors a report lists (the count says how many there were in all).
const MAX_REPORTED: usize = 500;
/// The largest file accepted in one import.
pub const MAX_ROWS: usize = 50_000;

const COLUMNS: [&str; 15] = [
    "name",
    "phone",
    "account_number",
    "email",
    "location",
    "notes",
    "sms_consent",
    "plan",
    "username",
    "password",
    "expiry",
    "status",
    "billing_mode",
    "billing_day",
    "language",
];

/// Maps a header as written to one of [`COLUMNS`].
fn column_for(header: &str) -> Option<&'static str> {
    let key: String = header
        .trim()
        .trim_start_matches('\u{feff}')
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let column = match key.as_str() {
        "name" | "fullname" | "customer" | "customername" => "name",
        "phone" | "phonenumber" | "mobile" | "msisdn" | "tel" => "phone",
        "accountnumber" | "account" | "accountno" | "accno" | "acc" => "account_number",
        "email" | "emailaddress" => "email",
        "location" | "address" | "physicallocation" => "location",
        "notes" | "note" | "comments" => "notes",
        "smsconsent" | "sms" | "consent" => "sms_consent",
        "plan" | "planname" | "package" => "plan",
        "username" | "user" | "pppoeusername" | "login" => "username",
        "password" | "pppoepassword" | "secret" => "password",
        "expiry" | "expires" | "expiresat" | "expirydate" | "expiration" => "expiry",
        "status" => "status",
        "billingmode" | "billing" => "billing_mode",
        "billingday" => "billing_day",
        "language" | "lang" | "smslanguage" => "language",
        _ => return None,
    };
    Some(column)
}

/// One checked row, ready to insert.
struct Row {
    customer: crate::customers::model::CustomerInput,
    service: Option<RowService>,
}

struct RowService {
    plan: Uuid,
    username: Option<String>,
    password: Option<String>,
    status: ServiceStatus,
    billing_mode: BillingMode,
    billing_day: Option<i16>,
    expires_at: DateTime<Utc>,
}

struct Plans {
    by_name: HashMap<String, (Uuid, ValidityUnit, i32)>,
}

/// Reads the expiry column: a date (to the end of that local day) or a local date and time.
fn parse_expiry(input: &str, zone: &Zone) -> Result<DateTime<Utc>, String> {
    let input = input.trim();
    let bad = || "must be a date like 2027-01-31 or 2027-01-31 18:00".to_string();
    if let Ok(date) = NaiveDate::parse_from_str(input, "%Y-%m-%d") {
        return end_of_local_day(date, &zone.tz).ok_or_else(bad);
    }
    for format in [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(local) = NaiveDateTime::parse_from_str(input, format) {
            return resolve_local(local, &zone.tz).ok_or_else(bad);
        }
    }
    Err(bad())
}

/// Checks a whole file. Returns the rows to import and the rows skipped as already present, or
/// every problem found.
struct Checked {
    rows: Vec<Row>,
    skipped: usize,
    ignored_columns: Vec<String>,
}

#[allow(clippy::too_many_lines)] // one pass over the file; splitting it would scatter the rules
async fn check_file(
    tx: &mut TenantTx,
    csv_text: &str,
    zone: &Zone,
    now: DateTime<Utc>,
) -> Result<Result<Checked, ImportReport>, AppError> {
    let tenant = tx.tenant();
    let text = csv_text.strip_prefix('\u{feff}').unwrap_or(csv_text);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut errors: Vec<ImportError> = Vec::new();

    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            push(
                &mut errors,
                1,
                "",
                format!("the file is not readable CSV: {e}"),
            );
            return Ok(Err(report_of(errors, 0)));
        }
    };
    let mut index: HashMap<&'static str, usize> = HashMap::new();
    let mut ignored_columns = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        match column_for(h) {
            Some(c) if index.contains_key(c) => {
                push(
                    &mut errors,
                    1,
                    c,
                    format!("the column \"{h}\" appears twice"),
                );
            }
            Some(c) => {
                index.insert(c, i);
            }
            None if h.trim().is_empty() => {}
            None => ignored_columns.push(h.to_string()),
        }
    }
    for required in ["name", "phone"] {
        if !index.contains_key(required) {
            push(
                &mut errors,
                1,
                required,
                format!(
                    "the header has no \"{required}\" column (columns: {})",
                    COLUMNS.join(", ")
                ),
            );
        }
    }
    if !errors.is_empty() {
        return Ok(Err(report_of(errors, 0)));
    }

    // What already exists: plans by name, customers' account numbers and phones, user names.
    let plans = Plans {
        by_name: sqlx::query!(
            "select id, name, validity_unit, validity_count from plans where tenant_id = $1",
            tenant.0
        )
        .fetch_all(tx.conn())
        .await?
        .into_iter()
        .filter_map(|p| {
            let unit = ValidityUnit::parse(&p.validity_unit).ok()?;
            Some((p.name.to_lowercase(), (p.id, unit, p.validity_count)))
        })
        .collect(),
    };
    let existing = sqlx::query!(
        "select account_number, phone from customers where tenant_id = $1",
        tenant.0
    )
    .fetch_all(tx.conn())
    .await?;
    let existing_accounts: HashSet<String> =
        existing.iter().map(|c| c.account_number.clone()).collect();
    let existing_phones: HashSet<String> = existing.into_iter().map(|c| c.phone).collect();
    let existing_usernames: HashSet<String> = sqlx::query_scalar!(
        "select lower(username) as \"u!\" from services where tenant_id = $1",
        tenant.0
    )
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .collect();

    let mut rows = Vec::new();
    let mut skipped = 0;
    let mut seen_accounts: HashMap<String, u64> = HashMap::new();
    let mut seen_phones: HashMap<String, u64> = HashMap::new();
    let mut seen_usernames: HashMap<String, u64> = HashMap::new();
    let mut count = 0usize;

    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                push(
                    &mut errors,
                    line,
                    "",
                    format!("this line is not readable CSV: {e}"),
                );
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|f| f.trim().is_empty()) {
            continue; // blank lines (often at the end of a spreadsheet export)
        }
        count += 1;
        if count > MAX_ROWS {
            push(
                &mut errors,
                line,
                "",
                format!("a file may hold at most {MAX_ROWS} customers; split it"),
            );
            break;
        }
        let get = |c: &str| {
            index
                .get(c)
                .and_then(|&i| record.get(i))
                .unwrap_or("")
                .to_string()
        };
        let form = CustomerForm {
            name: get("name"),
            phone: get("phone"),
            email: get("email"),
            location: get("location"),
            notes: get("notes"),
            account_number: get("account_number"),
            sms_consent: Some(get("sms_consent")),
            language: match get("language").trim().to_ascii_lowercase().as_str() {
                "english" => "en".to_string(),
                "swahili" | "kiswahili" => "sw".to_string(),
                other => other.to_string(),
            },
        };
        let consent = get("sms_consent").to_ascii_lowercase();
        if !matches!(
            consent.as_str(),
            "" | "yes" | "no" | "y" | "n" | "true" | "false" | "1" | "0"
        ) {
            push(&mut errors, line, "sms_consent", "must be yes or no".into());
        }
        let customer = match form.check() {
            Ok(c) => c,
            Err(AppError::Invalid { field, reason }) => {
                push(&mut errors, line, &field, reason);
                continue;
            }
            Err(e) => return Err(e),
        };

        // Already a customer? Then the row is skipped (see the module notes).
        let present = match &customer.account_number {
            Some(a) => existing_accounts.contains(a),
            None => existing_phones.contains(&customer.phone),
        };
        if present {
            skipped += 1;
            continue;
        }
        if let Some(a) = &customer.account_number {
            if let Some(first) = seen_accounts.insert(a.clone(), line) {
                push(
                    &mut errors,
                    line,
                    "account_number",
                    format!("repeats line {first}'s account number"),
                );
            }
        } else if let Some(first) = seen_phones.insert(customer.phone.clone(), line) {
            push(
                &mut errors,
                line,
                "phone",
                format!("repeats line {first}'s phone number; give each an account number"),
            );
        }

        let plan_name = get("plan");
        let service = if plan_name.is_empty() {
            for c in ["username", "password", "expiry", "status"] {
                if !get(c).is_empty() {
                    push(
                        &mut errors,
                        line,
                        "plan",
                        format!("is needed when {c} is given"),
                    );
                }
            }
            None
        } else {
            let Some(&(plan, unit, count)) = plans.by_name.get(&plan_name.to_lowercase()) else {
                push(
                    &mut errors,
                    line,
                    "plan",
                    format!("no plan is called \"{plan_name}\""),
                );
                continue;
            };
            let form = ServiceForm {
                plan_id: plan.to_string(),
                username: get("username"),
                password: get("password"),
                billing_mode: get("billing_mode").to_ascii_lowercase(),
                billing_day: get("billing_day"),
                // Services are put on routers after the import, from each customer's panel.
                router_id: String::new(),
            };
            let input = match form.check() {
                Ok(s) => s,
                Err(AppError::Invalid { field, reason }) => {
                    push(&mut errors, line, &field, reason);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let expiry = get("expiry");
            let expires_at = if expiry.is_empty() {
                crate::customers::model::add_validity(
                    now,
                    unit,
                    u32::try_from(count).unwrap_or(1),
                    &zone.tz,
                )
            } else {
                match parse_expiry(&expiry, zone) {
                    Ok(at) => Some(at),
                    Err(message) => {
                        push(&mut errors, line, "expiry", message);
                        None
                    }
                }
            };
            let Some(expires_at) = expires_at else {
                continue;
            };
            let status = match get("status").as_str() {
                "" => ServiceStatus::Active,
                s => match ServiceStatus::parse("status", s) {
                    Ok(s) => s,
                    Err(_) => {
                        push(
                            &mut errors,
                            line,
                            "status",
                            "must be active, expired or suspended".into(),
                        );
                        continue;
                    }
                },
            };
            if let Some(u) = &input.username {
                let key = u.to_lowercase();
                if existing_usernames.contains(&key) {
                    push(
                        &mut errors,
                        line,
                        "username",
                        "another service already uses this user name".into(),
                    );
                } else if let Some(first) = seen_usernames.insert(key, line) {
                    push(
                        &mut errors,
                        line,
                        "username",
                        format!("repeats line {first}'s user name"),
                    );
                }
            }
            Some(RowService {
                plan,
                username: input.username,
                password: input.password,
                status,
                billing_mode: input.billing_mode,
                billing_day: input.billing_day,
                expires_at,
            })
        };
        rows.push(Row { customer, service });
    }
    if count == 0 && errors.is_empty() {
        push(
            &mut errors,
            2,
            "",
            "the file has a header but no customers".into(),
        );
    }
    if !errors.is_empty() {
        return Ok(Err(report_of(errors, skipped)));
    }
    Ok(Ok(Checked {
        rows,
        skipped,
        ignored_columns,
    }))
}

fn push(errors: &mut Vec<ImportError>, line: u64, column: &str, message: String) {
    errors.push(ImportError {
        line,
        column: column.to_string(),
        message,
    });
}

fn report_of(mut errors: Vec<ImportError>, skipped: usize) -> ImportReport {
    let error_count = errors.len();
    errors.truncate(MAX_REPORTED);
    ImportReport {
        imported: 0,
        skipped,
        error_count,
        errors,
        ignored_columns: Vec::new(),
    }
}

/// Imports a CSV file: all of it in one transaction, or none of it with a report.
#[tracing::instrument(skip_all, fields(bytes = csv_text.len()))]
pub async fn import(
    state: &AppState,
    staff: &Staff,
    csv_text: &str,
    meta: &RequestMeta,
) -> Result<ImportReport, AppError> {
    staff.require(Permission::ManageCustomers)?;
    let tenant = staff.tenant.0;
    let now = state.clock.now();
    let mut tx = state.db.tenant(staff.tenant).await?;
    let zone = service::zone(&mut tx).await?;
    let checked = match check_file(&mut tx, csv_text, &zone, now).await? {
        Ok(c) => c,
        Err(report) => return Ok(report),
    };

    let needs_number = checked
        .rows
        .iter()
        .filter(|r| r.customer.account_number.is_none())
        .count();
    let mut numbers = next_account_numbers(&mut tx, needs_number)
        .await?
        .into_iter();

    // Customers, as columns for one UNNEST insert.
    let n = checked.rows.len();
    let mut ids = Vec::with_capacity(n);
    let mut accounts = Vec::with_capacity(n);
    let (mut names, mut phones, mut emails) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let mut languages: Vec<&str> = Vec::with_capacity(n);
    let (mut locations, mut notes, mut consents) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    // Services, likewise.
    let mut s_ids = Vec::new();
    let mut s_customers = Vec::new();
    let mut s_plans = Vec::new();
    let mut s_usernames = Vec::new();
    let mut s_passwords = Vec::new();
    let mut s_statuses = Vec::new();
    let mut s_modes = Vec::new();
    let mut s_days: Vec<Option<i16>> = Vec::new();
    let mut s_expiries = Vec::new();
    for row in &checked.rows {
        let id = Uuid::new_v4();
        let account = match &row.customer.account_number {
            Some(a) => a.clone(),
            None => numbers.next().ok_or_else(|| {
                AppError::internal(&std::io::Error::other("ran out of account numbers"))
            })?,
        };
        if let Some(s) = &row.service {
            let service_id = Uuid::new_v4();
            let username = s
                .username
                .clone()
                .unwrap_or_else(|| default_username(&account));
            let password = match &s.password {
                Some(p) => p.clone(),
                None => generate_password()?,
            };
            let sealed = state
                .secrets
                .seal(password.as_bytes(), &password_binding(tenant, service_id))
                .map_err(|e| AppError::internal(&e))?;
            s_ids.push(service_id);
            s_customers.push(id);
            s_plans.push(s.plan);
            s_usernames.push(username);
            s_passwords.push(sealed);
            // A service imported as active but already past its expiry is stored as expired.
            s_statuses.push(s.status.effective(s.expires_at, now).as_str().to_string());
            s_modes.push(s.billing_mode.as_str().to_string());
            s_days.push(s.billing_day);
            s_expiries.push(s.expires_at);
        }
        ids.push(id);
        accounts.push(account);
        names.push(row.customer.name.clone());
        phones.push(row.customer.phone.clone());
        emails.push(row.customer.email.clone());
        locations.push(row.customer.location.clone());
        notes.push(row.customer.notes.clone());
        consents.push(row.customer.sms_consent);
        languages.push(row.customer.language.as_str());
    }

    let inserted = sqlx::query!(
        r#"insert into customers (tenant_id, id, account_number, name, phone, email, location, notes,
                                  sms_consent, sms_consent_at, language, created_at, updated_at)
           select $1, u.id, u.account, u.name, u.phone, u.email, u.location, u.notes, u.consent,
                  case when u.consent then $9::timestamptz end, u.language, $9, $9
             from unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                         $8::text[], $10::boolean[], $11::text[])
                  as u(id, account, name, phone, email, location, notes, consent, language)"#,
        tenant,
        &ids,
        &accounts,
        &names,
        &phones,
        &emails as &[Option<String>],
        &locations as &[Option<String>],
        &notes as &[Option<String>],
        now,
        &consents,
        &languages as &[&str]
    )
    .execute(tx.conn())
    .await;
    if let Err(e) = inserted {
        // Two imports at once can race for the same account number; nothing was written.
        if constraint(&e) == Some("customers_tenant_account_key") {
            return Err(AppError::invalid(
                "file",
                "an account number in the file was just taken by another change; import again",
            ));
        }
        return Err(e.into());
    }
    if !s_ids.is_empty() {
        let inserted = sqlx::query!(
            r#"insert into services (tenant_id, id, customer_id, plan_id, username, password_enc,
                                     status, billing_mode, billing_day, starts_at, expires_at,
                                     created_at, updated_at)
               select $1, u.id, u.customer, u.plan, u.username, u.password, u.status, u.mode, u.day,
                      least($10, u.expires - interval '1 second'), u.expires, $10, $10
                 from unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::bytea[], $7::text[],
                             $8::text[], $9::smallint[], $11::timestamptz[])
                      as u(id, customer, plan, username, password, status, mode, day, expires)"#,
            tenant,
            &s_ids,
            &s_customers,
            &s_plans,
            &s_usernames,
            &s_passwords,
            &s_statuses,
            &s_modes,
            &s_days as &[Option<i16>],
            now,
            &s_expiries
        )
        .execute(tx.conn())
        .await;
        if let Err(e) = inserted {
            if constraint(&e) == Some("services_tenant_username_key") {
                return Err(AppError::invalid(
                    "username",
                    "a user name made from an account number is already in use; give those rows a username",
                ));
            }
            return Err(e.into());
        }
    }
    let report = ImportReport {
        imported: n,
        skipped: checked.skipped,
        error_count: 0,
        errors: Vec::new(),
        ignored_columns: checked.ignored_columns,
    };
    record(
        &mut tx,
        Entry {
            at: now,
            actor_user_id: Some(staff.user_id),
            actor_label: &staff.email,
            action: "customers.imported",
            entity: None,
            before: None,
            after: Some(json!({
                "imported": report.imported,
                "services": s_ids.len(),
                "skipped": report.skipped,
            })),
            meta,
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(imported = n, skipped = report.skipped, "customers imported");
    Ok(report)
}

/// The filtered customers list as CSV, with the import's columns (one line per service, or one
/// for a customer without a service). Passwords are never exported.
pub async fn export(
    state: &AppState,
    staff: &Staff,
    filter: &crate::customers::model::CustomerFilter,
) -> Result<String, AppError> {
    let mut tx = state.db.tenant(staff.tenant).await?;
    let tenant = staff.tenant.0;
    let now = state.clock.now();
    let zone = service::zone(&mut tx).await?;
    let rows = service::fetch_rows(&mut tx, filter, now, None).await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let details = sqlx::query!(
        r#"select c.id, c.email, c.location, c.notes, c.sms_consent, c.language, p.name as "plan?",
                  s.username as "username?", s.status as "status?", s.expires_at as "expires_at?",
                  s.billing_mode as "billing_mode?", s.billing_day
             from customers c
             left join services s on s.tenant_id = c.tenant_id and s.customer_id = c.id
             left join plans p on p.tenant_id = s.tenant_id and p.id = s.plan_id
            where c.tenant_id = $1 and c.id = any($2)
            order by s.created_at"#,
        tenant,
        &ids
    )
    .fetch_all(tx.conn())
    .await?;
    tx.commit().await?;
    let mut by_customer: HashMap<Uuid, Vec<_>> = HashMap::new();
    for d in details {
        by_customer.entry(d.id).or_default().push(d);
    }
    let mut out = csv::Writer::from_writer(Vec::new());
    let header = [
        "account_number",
        "name",
        "phone",
        "email",
        "location",
        "notes",
        "sms_consent",
        "plan",
        "username",
        "expiry",
        "status",
        "billing_mode",
        "billing_day",
        "language",
    ];
    let csv_error = |e: csv::Error| AppError::internal(&e);
    out.write_record(header).map_err(csv_error)?;
    for row in &rows {
        for d in by_customer.get(&row.id).into_iter().flatten() {
            let expiry = d
                .expires_at
                .map(|at| {
                    at.with_timezone(&zone.tz)
                        .format("%Y-%m-%d %H:%M")
                        .to_string()
                })
                .unwrap_or_default();
            let status = match (&d.status, d.expires_at) {
                (Some(s), Some(at)) => ServiceStatus::parse("status", s)?
                    .effective(at, now)
                    .as_str(),
                _ => "",
            };
            out.write_record([
                row.account_number.as_str(),
                row.name.as_str(),
                row.phone.as_str(),
                d.email.as_deref().unwrap_or(""),
                d.location.as_deref().unwrap_or(""),
                d.notes.as_deref().unwrap_or(""),
                if d.sms_consent { "yes" } else { "no" },
                d.plan.as_deref().unwrap_or(""),
                d.username.as_deref().unwrap_or(""),
                &expiry,
                status,
                d.billing_mode.as_deref().unwrap_or(""),
                &d.billing_day.map(|d| d.to_string()).unwrap_or_default(),
                d.language.as_str(),
            ])
            .map_err(csv_error)?;
        }
    }
    let bytes = out
        .into_inner()
        .map_err(|e| AppError::internal(&std::io::Error::other(e.to_string())))?;
    String::from_utf8(bytes).map_err(|e| AppError::internal(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_ignoring_case_spacing_and_aliases() {
        assert_eq!(column_for("  Account No "), Some("account_number"));
        assert_eq!(column_for("\u{feff}Name"), Some("name"));
        assert_eq!(column_for("PHONE_NUMBER"), Some("phone"));
        assert_eq!(column_for("Expiry-Date"), Some("expiry"));
        assert_eq!(column_for("balance"), None);
    }
}
