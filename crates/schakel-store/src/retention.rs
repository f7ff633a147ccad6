//! Retention (R15): which sealed content has to go, and removing it with a
//! content-free audit entry in the same transaction. The metadata rows stay
//! (state `purged`, `purged_at`), so the audit trail and the sender's and
//! recipient's listings still show that something was exchanged and when it
//! was removed.

use jiff::Timestamp;
use schakel_audit::Entry;
use sqlx::Row;
use uuid::Uuid;

use crate::audit::audited_write;
use crate::pool::on_pool;
use crate::{Store, StoreError};

const TRANSFER_CANDIDATES: &str = include_str!("../queries/purge_transfer_candidates.sql");
const EXPERTISE_CANDIDATES: &str = include_str!("../queries/purge_expertise_candidates.sql");
const PURGE_TRANSFER: &str = include_str!("../queries/purge_transfer.sql");
const PURGE_TRANSFER_GROUPS: &str = include_str!("../queries/purge_transfer_groups.sql");
const PURGE_EXPERTISE: &str = include_str!("../queries/purge_expertise.sql");
const PURGE_EXPERTISE_GROUPS: &str = include_str!("../queries/purge_expertise_groups.sql");

/// What is purged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgeKind {
    /// A transfer's sealed groups.
    Transfer,
    /// An expertise request's and its advice's sealed groups.
    Expertise,
}

/// Why it is purged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgeReason {
    /// The purpose's retention period ended.
    RetentionExpired,
    /// Declined, and the period kept after closing ended.
    Declined,
    /// Withdrawn before delivery, and the period kept after closing ended.
    Withdrawn,
}

/// One item whose sealed content has to go. Content-free.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeCandidate {
    /// Transfer or expertise request.
    pub kind: PurgeKind,
    /// Its id.
    pub id: Uuid,
    /// The state read (the purge happens only if it is still this).
    pub state: String,
    /// The purpose it was made under (`expertise.request` for expertise).
    pub purpose: String,
    /// Why.
    pub reason: PurgeReason,
    /// When its period ended.
    pub expired_at: Timestamp,
    /// Names of the sealed groups that go.
    pub groups: Vec<String>,
    /// The youth's pseudonym.
    pub subject: String,
    /// OINs of the organisations involved (sender/requester, recipient/Doorstroompunt).
    pub parties: Vec<String>,
}

fn corrupt(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |_| StoreError::Corrupt(what)
}

fn ts(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms).map_err(|_| StoreError::Corrupt("purge time"))
}

fn names(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

impl Store {
    /// Items to purge at `as_of`: transfers and expertise requests whose
    /// retention period ended, and transfers declined or withdrawn at or
    /// before `closed_before`. At most `limit` of each kind, oldest first.
    #[tracing::instrument(name = "store.purge_candidates", skip_all)]
    pub async fn purge_candidates(
        &self,
        as_of: Timestamp,
        closed_before: Timestamp,
        limit: u32,
    ) -> Result<Vec<PurgeCandidate>, StoreError> {
        let mut out = Vec::new();
        let (as_of_ms, closed_ms) = (as_of.as_millisecond(), closed_before.as_millisecond());
        on_pool!(self, p => {
            let rows = sqlx::query(TRANSFER_CANDIDATES)
                .bind(as_of_ms)
                .bind(closed_ms)
                .bind(i64::from(limit))
                .fetch_all(p)
                .await
                .map_err(|e| StoreError::from_sqlx("transfer", e))?;
            for r in rows {
                let state: String = r.try_get("state").map_err(corrupt("transfer state"))?;
                let retention: i64 = r.try_get("retention_until").map_err(corrupt("transfer retention"))?;
                let decided: Option<i64> = r.try_get("decided_at").map_err(corrupt("transfer decided_at"))?;
                let withdrawn: Option<i64> = r.try_get("withdrawn_at").map_err(corrupt("transfer withdrawn_at"))?;
                let (reason, expired) = match (state.as_str(), decided, withdrawn) {
                    _ if retention <= as_of_ms => (PurgeReason::RetentionExpired, retention),
                    ("declined", Some(at), _) => (PurgeReason::Declined, at),
                    ("withdrawn", _, Some(at)) => (PurgeReason::Withdrawn, at),
                    _ => return Err(StoreError::Corrupt("transfer purge candidate")),
                };
                let id: String = r.try_get("transfer_id").map_err(corrupt("transfer id"))?;
                let groups: String = r.try_get("groups").map_err(corrupt("transfer groups"))?;
                out.push(PurgeCandidate {
                    kind: PurgeKind::Transfer,
                    id: Uuid::parse_str(&id).map_err(|_| StoreError::Corrupt("transfer id"))?,
                    state,
                    purpose: r.try_get("purpose").map_err(corrupt("transfer purpose"))?,
                    reason,
                    expired_at: ts(expired)?,
                    groups: names(&groups),
                    subject: r.try_get("subject").map_err(corrupt("transfer subject"))?,
                    parties: vec![
                        r.try_get("sender_oin").map_err(corrupt("transfer sender"))?,
                        r.try_get("recipient_oin").map_err(corrupt("transfer recipient"))?,
                    ],
                });
            }
            let rows = sqlx::query(EXPERTISE_CANDIDATES)
                .bind(as_of_ms)
                .bind(i64::from(limit))
                .fetch_all(p)
                .await
                .map_err(|e| StoreError::from_sqlx("expertise request", e))?;
            for r in rows {
                let id: String = r.try_get("request_id").map_err(corrupt("expertise id"))?;
                let mut groups = names(&r.try_get::<String, _>("groups").map_err(corrupt("expertise groups"))?);
                let advice: Option<String> = r.try_get("advice_groups").map_err(corrupt("advice groups"))?;
                groups.extend(advice.as_deref().map(names).unwrap_or_default());
                out.push(PurgeCandidate {
                    kind: PurgeKind::Expertise,
                    id: Uuid::parse_str(&id).map_err(|_| StoreError::Corrupt("expertise id"))?,
                    state: r.try_get("state").map_err(corrupt("expertise state"))?,
                    purpose: "expertise.request".to_owned(),
                    reason: PurgeReason::RetentionExpired,
                    expired_at: ts(r.try_get("retention_until").map_err(corrupt("expertise retention"))?)?,
                    groups,
                    subject: r.try_get("subject").map_err(corrupt("expertise subject"))?,
                    parties: vec![
                        r.try_get("requester_oin").map_err(corrupt("expertise requester"))?,
                        r.try_get("dp_oin").map_err(corrupt("expertise doorstroompunt"))?,
                    ],
                });
            }
            Ok::<(), StoreError>(())
        })?;
        out.sort_by_key(|c| (c.expired_at, c.id));
        out.truncate(limit as usize);
        Ok(out)
    }

    /// Removes `c`'s sealed groups and marks it purged, with its audit entry,
    /// in one transaction. [`StoreError::Conflict`] when its state changed
    /// since it was read (nothing is removed then).
    #[tracing::instrument(name = "store.purge", skip_all)]
    pub async fn purge(&self, c: &PurgeCandidate, now: Timestamp, audit: Entry) -> Result<(), StoreError> {
        let id = c.id.to_string();
        let (mark, groups) = match c.kind {
            PurgeKind::Transfer => (PURGE_TRANSFER, PURGE_TRANSFER_GROUPS),
            PurgeKind::Expertise => (PURGE_EXPERTISE, PURGE_EXPERTISE_GROUPS),
        };
        // Purging commits to the row as it then is: check it first, so a row
        // changed in the database is refused, not laundered into the log.
        match c.kind {
            PurgeKind::Transfer => self.transfer(c.id.into()).await.map(|_| ())?,
            PurgeKind::Expertise => self.expertise(c.id).await.map(|_| ())?,
        }
        let table = match c.kind {
            PurgeKind::Transfer => schakel_audit::RowTable::TRANSFER,
            PurgeKind::Expertise => schakel_audit::RowTable::EXPERTISE,
        };
        audited_write!(self, "purge", audit, now, rows = [(table, c.id)], tx => async {
            let n = sqlx::query(mark)
                .bind(&id)
                .bind(&c.state)
                .bind(now.as_millisecond())
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::from_sqlx("purge", e))?
                .rows_affected();
            if n != 1 {
                return Err(StoreError::Conflict("purge state"));
            }
            sqlx::query(groups)
                .bind(&id)
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::from_sqlx("purge", e))?;
            Ok::<(), StoreError>(())
        }.await);
        Ok(())
    }
}
