//! The invoice and statement PDFs: billing data laid out as [`pdf::Document`]s. The operator
//! side and the subscriber portal download the same files.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::{
    auth::{identity::Staff, model::Permission},
    billing::{
        model::{credit_note_number, invoice_number},
        pdf::{Document, Party, Table, render},
        queries::{detail_in, history, local_range},
    },
    customers::service::zone,
    db::TenantTx,
    error::AppError,
    money::format_kes,
    phone::display_phone,
    state::AppState,
};

struct Parties {
    issuer: Party,
    recipient: Party,
    tz: chrono_tz::Tz,
    vat_enabled: bool,
}

async fn parties(tx: &mut TenantTx, customer: Uuid) -> Result<Parties, AppError> {
    let tenant = tx.tenant();
    let t = sqlx::query!(
        "select name, address, county, phone, support_email, kra_pin, vat_enabled
           from tenants where id = $1",
        tenant.0
    )
    .fetch_one(tx.conn())
    .await?;
    let c = sqlx::query!(
        "select name, account_number, phone, email, location from customers
          where tenant_id = $1 and id = $2",
        tenant.0,
        customer
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| AppError::NotFound {
        what: "That customer".into(),
    })?;
    let mut issuer = vec![];
    issuer.extend(t.address);
    issuer.extend(t.county.map(|c| format!("{c} County")));
    issuer.extend(t.phone.map(|p| format!("Tel {}", display_phone(&p))));
    issuer.extend(t.support_email);
    issuer.extend(t.kra_pin.map(|p| format!("KRA PIN {p}")));
    let mut recipient = vec![format!("Account {}", c.account_number)];
    recipient.push(display_phone(&c.phone));
    recipient.extend(c.email);
    recipient.extend(c.location);
    Ok(Parties {
        issuer: Party {
            name: t.name,
            lines: issuer,
        },
        recipient: Party {
            name: c.name,
            lines: recipient,
        },
        tz: zone(tx).await?.tz,
        vat_enabled: t.vat_enabled,
    })
}

fn date(at: DateTime<Utc>, tz: &chrono_tz::Tz) -> String {
    at.with_timezone(tz).format("%-d %b %Y").to_string()
}

/// An invoice as a PDF: its lines with VAT per line, totals, credit notes and status.
pub async fn invoice_pdf(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
) -> Result<(String, Vec<u8>), AppError> {
    staff.require(Permission::ViewTransactions)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let file = invoice_document(&mut tx, id, None).await?;
    tx.commit().await?;
    Ok(file)
}

/// A subscriber's own invoice, for the portal: the same file staff download, and "not found"
/// for any invoice that is not theirs.
pub async fn customer_invoice_pdf(
    state: &AppState,
    tenant: crate::db::TenantId,
    customer: Uuid,
    id: Uuid,
) -> Result<(String, Vec<u8>), AppError> {
    let mut tx = state.db.tenant(tenant).await?;
    let file = invoice_document(&mut tx, id, Some(customer)).await?;
    tx.commit().await?;
    Ok(file)
}

async fn invoice_document(
    tx: &mut TenantTx,
    id: Uuid,
    only_for: Option<Uuid>,
) -> Result<(String, Vec<u8>), AppError> {
    let d = detail_in(tx, id).await?;
    if only_for.is_some_and(|customer| customer != d.row.customer_id) {
        return Err(AppError::NotFound {
            what: "That invoice".into(),
        });
    }
    let p = parties(tx, d.row.customer_id).await?;
    let number = invoice_number(d.row.number);
    let show_vat = p.vat_enabled || d.vat_minor > 0;
    let mut headers = vec!["Description", "Period", "Qty", "Unit price"];
    if show_vat {
        headers.extend(["Net", "VAT 16%"]);
    }
    headers.push("Amount");
    let rows = d
        .lines
        .iter()
        .map(|l| {
            let mut row = vec![
                l.description.clone(),
                format!(
                    "{} - {}",
                    date(l.period_start, &p.tz),
                    date(l.period_end, &p.tz)
                ),
                l.quantity.to_string(),
                format_kes(l.unit_price_minor),
            ];
            if show_vat {
                row.push(format_kes(l.net_minor));
                row.push(format_kes(l.vat_minor));
            }
            row.push(format_kes(l.total_minor));
            row
        })
        .collect();
    let count = headers.len();
    let mut totals = vec![("Subtotal".to_string(), format_kes(d.subtotal_minor), false)];
    if show_vat {
        totals.push(("VAT (16%)".to_string(), format_kes(d.vat_minor), false));
    }
    totals.push(("Total".to_string(), format_kes(d.row.total_minor), true));
    for c in &d.credit_notes {
        totals.push((
            format!("Credit note {}", credit_note_number(c.number)),
            format!("-{}", format_kes(c.amount_minor)),
            false,
        ));
    }
    totals.push((
        "Amount due".to_string(),
        format_kes(d.row.balance_minor.max(0)),
        true,
    ));
    let mut notes = Vec::new();
    if let Some(reason) = &d.closed_reason {
        notes.push(format!("{}: {reason}", d.row.status.label()));
    }
    notes.push(format!(
        "Pay by M-Pesa using account number {} as the reference.",
        d.row.account_number
    ));
    let doc = Document {
        title: "INVOICE".into(),
        reference: number.clone(),
        issuer: p.issuer,
        recipient: p.recipient,
        facts: vec![
            ("Date".into(), date(d.row.issued_at, &p.tz)),
            ("Due".into(), date(d.row.due_at, &p.tz)),
            ("Status".into(), d.row.status.label().into()),
        ],
        table: Table {
            headers: headers.into_iter().map(String::from).collect(),
            rows,
            right_aligned: (2..count).collect(),
            widths: if show_vat {
                vec![3.0, 2.6, 0.6, 1.4, 1.4, 1.3, 1.4]
            } else {
                vec![3.6, 2.8, 0.6, 1.6, 1.6]
            },
        },
        totals,
        notes,
        footer: format!("{number} · issued with Jasiyo"),
    };
    Ok((format!("{number}.pdf"), render(&doc)))
}

/// A customer's statement between two local dates: balance brought forward, every transaction
/// with its running balance, and the closing balance.
pub async fn statement_pdf(
    state: &AppState,
    staff: &Staff,
    customer: Uuid,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<(String, Vec<u8>), AppError> {
    staff.require(Permission::ViewTransactions)?;
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(AppError::invalid(
            "from",
            "must be on or before the end date",
        ));
    }
    let mut tx = state.db.tenant(staff.tenant).await?;
    let p = parties(&mut tx, customer).await?;
    let (start, end) = local_range(&mut tx, from, to).await?;
    let (opening, lines) = history(&mut tx, customer, start, end).await?;
    tx.commit().await?;
    let closing = lines.last().map(|l| l.balance_minor).unwrap_or(opening);
    let signed = |amount: i64| {
        if amount < 0 {
            format!("-{}", format_kes(-amount))
        } else {
            format_kes(amount)
        }
    };
    let rows = lines
        .iter()
        .map(|l| {
            vec![
                date(l.posted_at, &p.tz),
                l.kind.label().to_string(),
                l.memo.clone(),
                signed(l.amount_minor),
                signed(l.balance_minor),
            ]
        })
        .collect();
    let period = match (from, to) {
        (Some(f), Some(t)) => format!("{} to {}", f.format("%-d %b %Y"), t.format("%-d %b %Y")),
        (Some(f), None) => format!("From {}", f.format("%-d %b %Y")),
        (None, Some(t)) => format!("Up to {}", t.format("%-d %b %Y")),
        (None, None) => "All time".into(),
    };
    let doc = Document {
        title: "STATEMENT".into(),
        reference: String::new(),
        issuer: p.issuer,
        recipient: p.recipient,
        facts: vec![
            ("Period".into(), period),
            ("Printed".into(), date(state.clock.now(), &p.tz)),
        ],
        table: Table {
            headers: ["Date", "Type", "Details", "Amount", "Balance"]
                .map(String::from)
                .to_vec(),
            rows,
            right_aligned: vec![3, 4],
            widths: vec![1.3, 1.2, 4.0, 1.5, 1.5],
        },
        totals: vec![
            ("Brought forward".into(), signed(opening), false),
            ("Closing balance".into(), signed(closing), true),
        ],
        notes: vec!["A negative balance is credit held for your next invoice.".into()],
        footer: "Statement issued with Jasiyo".into(),
    };
    Ok(("statement.pdf".into(), render(&doc)))
}
