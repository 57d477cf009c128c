//! The customer CSV import and export: all or nothing, every bad row reported by line and
//! column, 10,000 rows at once, no duplicates on a second run, and an export that re-imports.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use axum::http::StatusCode;
use serde_json::Value;
use support::{TestDb, client::Client, fresh_database};

struct Isp {
    db: TestDb,
    owner: Client,
    tenant: app::db::TenantId,
}

async fn isp() -> Isp {
    let db = fresh_database().await;
    let (tenant, _) = db.tenant("alpha-net", "Alpha Net").await;
    let mut owner = Client::new(db.state());
    owner
        .sign_in("owner@alpha-net.test", "alpha-net-password")
        .await;
    for (name, unit) in [("Home 10", "months"), ("Daily", "days")] {
        let reply = owner
            .call(
                "/api/plans/create",
                &[
                    ("form[name]", name),
                    ("form[kind]", "pppoe"),
                    ("form[price]", "2500"),
                    ("form[validity_count]", "1"),
                    ("form[validity_unit]", unit),
                    ("form[download_mbps]", "10"),
                    ("form[upload_mbps]", "5"),
                    ("form[burst_download_mbps]", ""),
                    ("form[burst_upload_mbps]", ""),
                    ("form[data_cap_gb]", ""),
                    ("form[shared_users]", ""),
                ],
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    Isp { db, owner, tenant }
}

impl Isp {
    async fn import(&mut self, csv: &str) -> Value {
        let reply = self
            .owner
            .call("/api/customers/import", &[("csv", csv)])
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.json()
    }

    async fn counts(&self) -> (i64, i64) {
        let mut tx = self.db.db().tenant(self.tenant).await.unwrap();
        sqlx::query_as("select (select count(*) from customers), (select count(*) from services)")
            .fetch_one(tx.conn())
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_file_with_bad_rows_imports_nothing_and_reports_each_one() {
    let mut isp = isp().await;
    let csv = "\
name,phone,account_number,plan,expiry,status,sms_consent
Achieng Odhiambo,0712345678,1001,Home 10,2027-01-31,active,yes
,0712345679,1002,Home 10,,,
Kamau Mwangi,0812345678,1003,,,,
Njeri Wambui,0712345680,1004,Gold 100,,,
Otieno Ouma,0712345681,1005,Home 10,31/01/2027,,
Wanjiru Kariuki,0712345682,1001,,,,
Chebet Korir,0712345683,1006,Home 10,,happy,maybe
Mutua Musyoka,0712345684,1007,,2027-01-31,,
Good Row,0712345685,1008,Daily,,,no
";
    let report = isp.import(csv).await;
    assert_eq!(report["imported"], 0);
    let errors: Vec<(u64, String)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["column"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: Vec<(u64, String)> = [
        (3, "name"),
        (4, "phone"),
        (5, "plan"),
        (6, "expiry"),
        (7, "account_number"),
        (8, "sms_consent"),
        (8, "status"),
        (9, "plan"),
    ]
    .into_iter()
    .map(|(l, c)| (l, c.to_string()))
    .collect();
    assert_eq!(errors, expected, "{report}");
    assert_eq!(report["error_count"], 8);
    assert_eq!(isp.counts().await, (0, 0), "nothing was written");
    let message = report["errors"][0]["message"].as_str().unwrap();
    assert!(!message.is_empty());

    // A file without a phone column is refused at its header.
    let headerless = isp.import("name,email\nA,a@b.test\n").await;
    assert_eq!(headerless["errors"][0]["line"], 1);
    assert_eq!(headerless["errors"][0]["column"], "phone");
}

/// `rows` customers with plans, account numbers from 5001, mixed states.
fn big_file(rows: usize) -> String {
    // A byte-order mark and header names as a spreadsheet might write them.
    let mut csv = String::from(
        "\u{feff}Full Name, PHONE number ,Account No,Plan,Expiry Date,Status,Username\r\n",
    );
    for i in 0..rows {
        let status = ["active", "active", "active", "suspended", "expired"][i % 5];
        csv.push_str(&format!(
            "Customer {i},07{:08},{},{},2027-{:02}-{:02},{status},user{i}\r\n",
            i,
            5001 + i,
            if i % 3 == 0 { "Daily" } else { "home 10" },
            1 + i % 12,
            1 + i % 28,
        ));
    }
    csv
}

#[tokio::test]
async fn ten_thousand_rows_import_at_once_and_a_second_run_adds_nobody() {
    let mut isp = isp().await;
    let csv = big_file(10_000);
    let first = isp.import(&csv).await;
    assert_eq!(first["error_count"], 0, "{}", first["errors"]);
    assert_eq!(first["imported"], 10_000, "{first}");
    assert_eq!(isp.counts().await, (10_000, 10_000));

    let second = isp.import(&csv).await;
    assert_eq!(second["imported"], 0);
    assert_eq!(second["skipped"], 10_000);
    assert_eq!(isp.counts().await, (10_000, 10_000), "no duplicates");

    // Statuses and user names arrived as written; the import is one audit entry.
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    let suspended: i64 =
        sqlx::query_scalar("select count(*) from services where status = 'suspended'")
            .fetch_one(tx.conn())
            .await
            .unwrap();
    assert_eq!(suspended, 2_000);
    let user: String = sqlx::query_scalar(
        "select s.username from services s join customers c on c.id = s.customer_id
          where c.account_number = '5042'",
    )
    .fetch_one(tx.conn())
    .await
    .unwrap();
    assert_eq!(user, "user41");
    let audits: Vec<Value> = sqlx::query_scalar(
        "select after from audit_log where action = 'customers.imported' order by at, id",
    )
    .fetch_all(tx.conn())
    .await
    .unwrap();
    assert_eq!(audits.len(), 2);
    assert_eq!(audits[0]["imported"], 10_000);
}

#[tokio::test]
async fn rows_without_account_numbers_match_on_phone_and_get_numbers() {
    let mut isp = isp().await;
    let csv = "name,phone\nAchieng,0712000001\nKamau,+254712000002\n";
    let first = isp.import(csv).await;
    assert_eq!(first["imported"], 2);
    let again = isp.import(csv).await;
    assert_eq!(
        (again["imported"].as_u64(), again["skipped"].as_u64()),
        (Some(0), Some(2))
    );
    let repeated = isp.import("name,phone\nA,0712000003\nB,0712000003\n").await;
    assert_eq!(repeated["errors"][0]["line"], 3);
    assert_eq!(repeated["errors"][0]["column"], "phone");
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    let numbers: Vec<String> =
        sqlx::query_scalar("select account_number from customers order by account_number")
            .fetch_all(tx.conn())
            .await
            .unwrap();
    assert_eq!(numbers, ["1001", "1002"]);
}

#[tokio::test]
async fn the_message_language_is_imported_in_words_or_codes_and_exported() {
    let mut isp = isp().await;
    let bad = isp
        .import("name,phone,language\nA,0712000009,French\n")
        .await;
    assert_eq!(bad["errors"][0]["column"], "language");
    let csv = "name,phone,Language\nAchieng,0712000001,Kiswahili\nKamau,0712000002,sw\n\
               Otieno,0712000003,English\nWanjiku,0712000004,\n";
    assert_eq!(isp.import(csv).await["imported"], 4);
    let mut tx = isp.db.db().tenant(isp.tenant).await.unwrap();
    let languages: Vec<(String, String)> =
        sqlx::query_as("select name, language from customers order by phone")
            .fetch_all(tx.conn())
            .await
            .unwrap();
    tx.commit().await.unwrap();
    let expected = [
        ("Achieng", "sw"),
        ("Kamau", "sw"),
        ("Otieno", "en"),
        ("Wanjiku", "en"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(n, l)| (n.to_string(), l.to_string()))
        .collect();
    assert_eq!(languages, expected);
    let export = isp.owner.get("/app/customers/export.csv").await;
    let mut reader = csv::Reader::from_reader(export.body.as_bytes());
    let column = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "language")
        .unwrap();
    let mut exported: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[column].to_string())
        .collect();
    exported.sort();
    assert_eq!(exported, ["en", "en", "sw", "sw"]);
}

#[tokio::test]
async fn the_export_has_the_import_columns_follows_the_filter_and_re_imports_as_is() {
    let mut isp = isp().await;
    isp.import(&big_file(30)).await;
    let reply = isp.owner.get("/app/customers/export.csv").await;
    assert_eq!(reply.status, StatusCode::OK);
    let mut reader = csv::Reader::from_reader(reply.body.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(&header[..3], ["account_number", "name", "phone"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 30);
    assert!(
        !reply.body.contains("password"),
        "passwords are never exported"
    );

    let suspended = isp
        .owner
        .get("/app/customers/export.csv?status=suspended")
        .await;
    assert_eq!(suspended.body.lines().count(), 1 + 6);

    let again = isp.import(&reply.body).await;
    assert_eq!(
        (again["imported"].as_u64(), again["skipped"].as_u64()),
        (Some(0), Some(30))
    );

    let mut anonymous = Client::new(isp.db.state());
    let refused = anonymous.get("/app/customers/export.csv").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
}
