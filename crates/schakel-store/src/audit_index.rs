//! The query columns of the audit log (`audit_log.actor_oin`, `action`, …,
//! and the rows of `audit_parties` and `audit_rows`) are copies of fields of each entry, kept
//! so a privacy officer's query reads an index instead of decoding every
//! entry. They are not covered by the Merkle tree, yet they decide who sees
//! an entry: a changed `actor_oin` or a deleted party row hides an entry from
//! the organisation it concerns, an added one shows it to another. So they
//! are written from one function ([`IndexRow::of`]) and checked against the
//! decoded entries by that same function — by the checkpointer before it
//! signs, and by `verify_audit_log` for the whole log (issue 14).

use std::collections::{BTreeMap, BTreeSet};

use schakel_audit::{AuditError, Entry};
use sqlx::Row;

use crate::audit::{StoredEntry, to_i64};
use crate::pool::on_pool;
use crate::{Store, StoreError};

const AUDIT_INDEX_RANGE: &str = include_str!("../queries/audit_index_range.sql");
const AUDIT_PARTIES_RANGE: &str = include_str!("../queries/audit_parties_range.sql");
const AUDIT_ROWS_RANGE: &str = include_str!("../queries/audit_rows_range.sql");

/// The query columns of one entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct IndexRow {
    pub(crate) time_ms: i64,
    pub(crate) actor_oin: Option<String>,
    pub(crate) action: String,
    pub(crate) subject: Option<String>,
    pub(crate) transfer_id: Option<String>,
    pub(crate) consent_id: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) purpose: Option<String>,
    pub(crate) parties: BTreeSet<String>,
    /// The rows the entry commits to, as (`row_table`, `row_id`) of
    /// `audit_rows` (migration 0006).
    pub(crate) rows: BTreeSet<(String, String)>,
}

impl IndexRow {
    /// The columns `entry` is stored with.
    pub(crate) fn of(entry: &Entry) -> Self {
        Self {
            time_ms: i64::try_from(entry.time_ms).unwrap_or(i64::MAX),
            actor_oin: entry.actor.oin.clone(),
            action: entry.action.as_str().to_owned(),
            subject: entry.subject.clone(),
            transfer_id: entry.transfer_id.map(|u| u.to_string()),
            consent_id: entry.consent_id.map(|u| u.to_string()),
            user_id: entry.actor.user_id.clone(),
            purpose: entry.activity.as_ref().map(|a| a.purpose.as_str().to_owned()),
            parties: entry.parties.iter().cloned().collect(),
            rows: entry
                .rows
                .iter()
                .map(|r| {
                    (
                        crate::row_commitments::table_name(r.table).to_owned(),
                        r.id.to_string(),
                    )
                })
                .collect(),
        }
    }

    /// The first column in which `found` differs from `self`.
    fn first_difference(&self, found: &Self) -> Option<&'static str> {
        [
            ("time_ms", self.time_ms == found.time_ms),
            ("actor_oin", self.actor_oin == found.actor_oin),
            ("action", self.action == found.action),
            ("subject", self.subject == found.subject),
            ("transfer_id", self.transfer_id == found.transfer_id),
            ("consent_id", self.consent_id == found.consent_id),
            ("user_id", self.user_id == found.user_id),
            ("purpose", self.purpose == found.purpose),
            ("parties", self.parties == found.parties),
            ("rows", self.rows == found.rows),
        ]
        .into_iter()
        .find_map(|(column, same)| (!same).then_some(column))
    }
}

impl Store {
    /// Checks the query columns and party rows of the consecutive entries
    /// `batch` against the entries themselves. `Ok(Err(..))` names the first
    /// entry whose columns differ (an entry that does not decode is the
    /// Merkle verifier's to report, and is skipped here).
    pub async fn check_audit_index(
        &self,
        batch: &[StoredEntry],
    ) -> Result<Result<(), AuditError>, StoreError> {
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            return Ok(Ok(()));
        };
        let (from, to) = (to_i64(first.seq)?, to_i64(last.seq + 1)?);
        let mut found: BTreeMap<u64, IndexRow> = BTreeMap::new();
        on_pool!(self, p => {
            let rows = sqlx::query(AUDIT_INDEX_RANGE)
                .bind(from)
                .bind(to)
                .fetch_all(p)
                .await
                .map_err(|e| StoreError::from_sqlx("audit log", e))?;
            for r in rows {
                let seq: i64 = r.try_get("seq").map_err(|_| StoreError::Corrupt("audit seq"))?;
                let row = IndexRow {
                    time_ms: r.try_get("time_ms").map_err(|_| StoreError::Corrupt("audit time"))?,
                    actor_oin: r.try_get("actor_oin").map_err(|_| StoreError::Corrupt("audit actor"))?,
                    action: r.try_get("action").map_err(|_| StoreError::Corrupt("audit action"))?,
                    subject: r.try_get("subject").map_err(|_| StoreError::Corrupt("audit subject"))?,
                    transfer_id: r.try_get("transfer_id").map_err(|_| StoreError::Corrupt("audit transfer id"))?,
                    consent_id: r.try_get("consent_id").map_err(|_| StoreError::Corrupt("audit consent id"))?,
                    user_id: r.try_get("user_id").map_err(|_| StoreError::Corrupt("audit user id"))?,
                    purpose: r.try_get("purpose").map_err(|_| StoreError::Corrupt("audit purpose"))?,
                    parties: BTreeSet::new(),
                    rows: BTreeSet::new(),
                };
                found.insert(crate::audit::seq_from("audit seq", seq)?, row);
            }
            let parties = sqlx::query(AUDIT_PARTIES_RANGE)
                .bind(from)
                .bind(to)
                .fetch_all(p)
                .await
                .map_err(|e| StoreError::from_sqlx("audit log", e))?;
            for r in parties {
                let seq: i64 = r.try_get("seq").map_err(|_| StoreError::Corrupt("audit seq"))?;
                let oin: String = r.try_get("oin").map_err(|_| StoreError::Corrupt("audit party"))?;
                let seq = crate::audit::seq_from("audit seq", seq)?;
                match found.get_mut(&seq) {
                    Some(row) => {
                        row.parties.insert(oin);
                    }
                    // A party row of an entry outside the batch's rows.
                    None => {
                        return Ok(Err(AuditError::IndexMismatch {
                            position: seq,
                            column: "parties",
                        }));
                    }
                }
            }
            let committed = sqlx::query(AUDIT_ROWS_RANGE)
                .bind(from)
                .bind(to)
                .fetch_all(p)
                .await
                .map_err(|e| StoreError::from_sqlx("audit log", e))?;
            for r in committed {
                let seq: i64 = r.try_get("seq").map_err(|_| StoreError::Corrupt("audit seq"))?;
                let table: String = r.try_get("row_table").map_err(|_| StoreError::Corrupt("audit row"))?;
                let id: String = r.try_get("row_id").map_err(|_| StoreError::Corrupt("audit row"))?;
                let seq = crate::audit::seq_from("audit seq", seq)?;
                match found.get_mut(&seq) {
                    Some(row) => {
                        row.rows.insert((table, id));
                    }
                    None => {
                        return Ok(Err(AuditError::IndexMismatch {
                            position: seq,
                            column: "rows",
                        }));
                    }
                }
            }
            Ok::<(), StoreError>(())
        })?;
        for stored in batch {
            let Ok(entry) = Entry::decode(&stored.bytes) else {
                continue;
            };
            let expected = IndexRow::of(&entry);
            let column = match found.get(&stored.seq) {
                Some(row) => expected.first_difference(row),
                None => Some("seq"),
            };
            if let Some(column) = column {
                return Ok(Err(AuditError::IndexMismatch {
                    position: stored.seq,
                    column,
                }));
            }
        }
        Ok(Ok(()))
    }
}
