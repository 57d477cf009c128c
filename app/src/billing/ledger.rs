//! Posting to the ledger. A journal is checked to balance here, written in two statements (the
//! headers, then every entry), and checked again by the database (the `ledger_entries_balanced`
//! trigger); a journal whose idempotency key was already posted is skipped, not posted twice.

use chrono::{DateTime, Utc};
use std::collections::HashMap;
use uuid::Uuid;

use crate::{
    billing::model::{Account, TxKind},
    db::TenantTx,
    error::AppError,
};

/// One entry: debit positive, credit negative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub account: Account,
    /// Set for receivable entries (whose account it is), and only for them.
    pub customer: Option<Uuid>,
    /// The invoice a receivable entry charges or settles; none for unallocated credit.
    pub invoice: Option<Uuid>,
    pub amount: i64,
}

impl Posting {
    pub fn receivable(customer: Uuid, invoice: Option<Uuid>, amount: i64) -> Self {
        Self {
            account: Account::Receivable,
            customer: Some(customer),
            invoice,
            amount,
        }
    }

    pub fn to(account: Account, amount: i64) -> Self {
        Self {
            account,
            customer: None,
            invoice: None,
            amount,
        }
    }
}

/// A journal transaction about to be posted.
#[derive(Debug, Clone)]
pub struct Journal {
    pub id: Uuid,
    pub kind: TxKind,
    /// The document it records: ("invoice" | "credit_note" | "payment", id).
    pub source: (&'static str, Uuid),
    pub key: String,
    pub memo: String,
    pub posted_by: Option<Uuid>,
    pub postings: Vec<Posting>,
}

impl Journal {
    pub fn new(kind: TxKind, source: (&'static str, Uuid), key: String, memo: String) -> Self {
        Self {
            id: Uuid::new_v4(),
            kind,
            source,
            key,
            memo,
            posted_by: None,
            postings: Vec::new(),
        }
    }

    pub fn by(mut self, user: Option<Uuid>) -> Self {
        self.posted_by = user;
        self
    }

    /// Adds a posting; zero amounts are left out (the ledger keeps no empty entries).
    pub fn push(&mut self, posting: Posting) {
        if posting.amount != 0 {
            self.postings.push(posting);
        }
    }

    fn balances(&self) -> bool {
        self.postings.len() >= 2
            && self
                .postings
                .iter()
                .map(|p| i128::from(p.amount))
                .sum::<i128>()
                == 0
    }
}

fn unbalanced(journal: &Journal) -> AppError {
    AppError::internal(&std::io::Error::other(format!(
        "journal {} ({}) does not balance: {:?}",
        journal.key,
        journal.kind.as_str(),
        journal.postings
    )))
}

/// Posts `journals` (each at `at`, in `currency`). Returns the ids of those posted; a journal
/// whose key is already in the ledger is skipped. Journals with no postings at all (a zero
/// invoice) are skipped too.
pub async fn post(
    tx: &mut TenantTx,
    at: DateTime<Utc>,
    currency: &str,
    journals: &[Journal],
) -> Result<Vec<Uuid>, AppError> {
    let journals: Vec<&Journal> = journals.iter().filter(|j| !j.postings.is_empty()).collect();
    if journals.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(bad) = journals.iter().find(|j| !j.balances()) {
        return Err(unbalanced(bad));
    }
    let tenant = tx.tenant();
    let ids: Vec<Uuid> = journals.iter().map(|j| j.id).collect();
    let kinds: Vec<&str> = journals.iter().map(|j| j.kind.as_str()).collect();
    let source_types: Vec<&str> = journals.iter().map(|j| j.source.0).collect();
    let source_ids: Vec<Uuid> = journals.iter().map(|j| j.source.1).collect();
    let keys: Vec<&str> = journals.iter().map(|j| j.key.as_str()).collect();
    let memos: Vec<&str> = journals.iter().map(|j| j.memo.as_str()).collect();
    let by: Vec<Option<Uuid>> = journals.iter().map(|j| j.posted_by).collect();
    let posted = sqlx::query_scalar!(
        r#"insert into ledger_transactions (tenant_id, id, kind, source_type, source_id,
                                            idempotency_key, memo, posted_at, posted_by)
           select $1, u.id, u.kind, u.source_type, u.source_id, u.key, u.memo, $8, u.by
             from unnest($2::uuid[], $3::text[], $4::text[], $5::uuid[], $6::text[], $7::text[],
                         $9::uuid[])
                  as u(id, kind, source_type, source_id, key, memo, by)
           on conflict (tenant_id, idempotency_key) do nothing
           returning id"#,
        tenant.0,
        &ids,
        &kinds as &[&str],
        &source_types as &[&str],
        &source_ids,
        &keys as &[&str],
        &memos as &[&str],
        at,
        &by as &[Option<Uuid>],
    )
    .fetch_all(tx.conn())
    .await?;
    let posted_set: std::collections::HashSet<Uuid> = posted.iter().copied().collect();

    let mut e_tx = Vec::new();
    let mut e_line = Vec::new();
    let mut e_account = Vec::new();
    let mut e_customer = Vec::new();
    let mut e_invoice = Vec::new();
    let mut e_amount = Vec::new();
    for journal in journals.iter().filter(|j| posted_set.contains(&j.id)) {
        for (line, posting) in journal.postings.iter().enumerate() {
            e_tx.push(journal.id);
            e_line.push(i16::try_from(line + 1).unwrap_or(i16::MAX));
            e_account.push(posting.account.code());
            e_customer.push(posting.customer);
            e_invoice.push(posting.invoice);
            e_amount.push(posting.amount);
        }
    }
    if !e_tx.is_empty() {
        sqlx::query!(
            r#"insert into ledger_entries (tenant_id, transaction_id, line, account, customer_id,
                                           invoice_id, amount_minor, currency)
               select $1, u.tx, u.line, u.account, u.customer, u.invoice, u.amount, $8
                 from unnest($2::uuid[], $3::smallint[], $4::text[], $5::uuid[], $6::uuid[],
                             $7::bigint[])
                      as u(tx, line, account, customer, invoice, amount)"#,
            tenant.0,
            &e_tx,
            &e_line,
            &e_account as &[&str],
            &e_customer as &[Option<Uuid>],
            &e_invoice as &[Option<Uuid>],
            &e_amount,
            currency,
        )
        .execute(tx.conn())
        .await?;
    }
    Ok(posted)
}

/// Each customer's unallocated credit (receivable entries naming no invoice, sign flipped:
/// positive is money the customer has with the ISP).
pub async fn credits(
    tx: &mut TenantTx,
    customers: &[Uuid],
) -> Result<HashMap<Uuid, i64>, AppError> {
    let tenant = tx.tenant();
    let rows = sqlx::query!(
        r#"select customer_id as "customer_id!", -sum(amount_minor)::bigint as "credit!"
             from ledger_entries
            where tenant_id = $1 and customer_id = any($2) and invoice_id is null
            group by customer_id"#,
        tenant.0,
        customers
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.customer_id, r.credit.max(0)))
        .collect())
}

/// What a customer owes in all (negative: in credit): the sum of their receivable entries.
pub async fn balance(tx: &mut TenantTx, customer: Uuid) -> Result<i64, AppError> {
    let tenant = tx.tenant();
    Ok(sqlx::query_scalar!(
        r#"select coalesce(sum(amount_minor), 0)::bigint as "balance!"
             from ledger_entries where tenant_id = $1 and customer_id = $2"#,
        tenant.0,
        customer
    )
    .fetch_one(tx.conn())
    .await?)
}

/// Splits `amount` over open invoices in the order given (each `(id, still owed)`), returning
/// what each receives and what is left over.
pub fn allocate(amount: i64, open: &[(Uuid, i64)]) -> (Vec<(Uuid, i64)>, i64) {
    let mut left = amount.max(0);
    let mut taken = Vec::new();
    for (id, owed) in open {
        if left == 0 {
            break;
        }
        let part = left.min((*owed).max(0));
        if part > 0 {
            taken.push((*id, part));
            left -= part;
        }
    }
    (taken, left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_fills_the_oldest_first_and_keeps_the_rest() {
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let open = [(a, 500), (b, 0), (c, 300)];
        assert_eq!(allocate(600, &open), (vec![(a, 500), (c, 100)], 0));
        assert_eq!(allocate(1_000, &open), (vec![(a, 500), (c, 300)], 200));
        assert_eq!(allocate(0, &open), (vec![], 0));
    }

    #[test]
    fn a_journal_must_balance_with_two_entries() {
        let mut j = Journal::new(
            TxKind::Adjustment,
            ("invoice", Uuid::nil()),
            "k".into(),
            String::new(),
        );
        j.push(Posting::to(Account::WriteOff, 100));
        assert!(!j.balances());
        j.push(Posting::receivable(Uuid::nil(), None, -100));
        assert!(j.balances());
        j.push(Posting::to(Account::VatPayable, 0));
        assert_eq!(j.postings.len(), 2, "zero postings are left out");
    }
}
