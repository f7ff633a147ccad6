//! Mandates at rest (R9; migration 0008): which gemeente's task (its
//! Participatiewet or Doorstroompunt function) another organisation's
//! function carries out, under which processing agreement, from when to
//! when. The hub delivers that task's data to the mandated function while a
//! mandate holds. Each row is committed to by the audit entry that recorded
//! it, and again by the one that ended it, and is checked on every read: a
//! mandate added or stretched in the database redirects nothing.

use jiff::Timestamp;
use jiff::civil::Date;
use schakel_audit::{Entry, RowTable};
use uuid::Uuid;

use crate::audit::audited_write;
use crate::exchange::PartyKey;
use crate::records::{MandateRecord, fetch};
use crate::row_commitments::Found;
use crate::{Store, StoreError};

const INSERT: &str = include_str!("../queries/mandate_insert.sql");
pub(crate) const SELECT: &str = include_str!("../queries/mandate_select.sql");
const END: &str = include_str!("../queries/mandate_end.sql");
const LIST: &str = include_str!("../queries/mandate_list.sql");

/// A mandate as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MandateRow {
    /// UUID v7.
    pub mandate_id: Uuid,
    /// The mandating gemeente's function: the task.
    pub mandating: PartyKey,
    /// The mandated organisation's function (the same function kind).
    pub mandated: PartyKey,
    /// The processing agreement or mandate decision it rests on, as the
    /// operator named it. Stored, never in the audit log.
    pub agreement_ref: String,
    /// First day it holds.
    pub valid_from: Date,
    /// Last day it holds, as recorded.
    pub valid_until: Date,
    /// The last day it held, when ended early.
    pub ended_on: Option<Date>,
    /// When it was recorded.
    pub recorded_at: Timestamp,
    /// When it was ended.
    pub ended_at: Option<Timestamp>,
}

/// Which mandates to list.
#[derive(Debug, Clone, Copy)]
pub enum MandateFilter<'a> {
    /// Every mandate.
    All,
    /// Those of one gemeente's function (as mandating).
    Of(&'a PartyKey),
    /// Those to one organisation's function (as mandated).
    To(&'a PartyKey),
}

impl Store {
    /// Stores a mandate with its audit entry.
    #[tracing::instrument(name = "store.insert_mandate", skip_all)]
    pub async fn insert_mandate(&self, m: &MandateRow, audit: Entry) -> Result<(), StoreError> {
        audited_write!(self, "mandate", audit, m.recorded_at,
            rows = [(RowTable::MANDATE, m.mandate_id)], tx => sqlx::query(INSERT)
            .bind(m.mandate_id.to_string())
            .bind(m.mandating.0.as_str())
            .bind(m.mandating.1.as_str())
            .bind(m.mandated.0.as_str())
            .bind(&m.agreement_ref)
            .bind(m.valid_from.to_string())
            .bind(m.valid_until.to_string())
            .bind(m.recorded_at.as_millisecond())
            .execute(&mut *tx)
            .await
            .map(|_| ())
            .map_err(|e| StoreError::from_sqlx("mandate", e)));
        Ok(())
    }

    /// Ends a mandate: `last_day` is the last day it holds. A mandate ended
    /// before answers [`StoreError::Conflict`] and is left as it was.
    #[tracing::instrument(name = "store.end_mandate", skip_all)]
    pub async fn end_mandate(
        &self,
        id: Uuid,
        last_day: Date,
        now: Timestamp,
        audit: Entry,
    ) -> Result<(), StoreError> {
        audited_write!(self, "mandate", audit, now,
            rows = [(RowTable::MANDATE, id)], tx => sqlx::query(END)
            .bind(id.to_string())
            .bind(last_day.to_string())
            .bind(now.as_millisecond())
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::from_sqlx("mandate", e))
            .and_then(|r| if r.rows_affected() == 1 { Ok(()) } else { Err(StoreError::Conflict("mandate")) }));
        Ok(())
    }

    /// One mandate by id, checked against its audit entry.
    #[tracing::instrument(name = "store.mandate", skip_all)]
    pub async fn mandate(&self, id: Uuid) -> Result<Option<MandateRow>, StoreError> {
        let found: Option<MandateRow> = fetch!(
            self,
            fetch_optional,
            MandateRecord,
            "mandate",
            SELECT,
            [id.to_string()]
        )?;
        if let Some(m) = &found {
            self.check_rows(vec![Found::mandate(m)]).await?;
        }
        Ok(found)
    }

    /// The mandates `filter` selects, oldest first, each checked against its
    /// audit entry.
    #[tracing::instrument(name = "store.mandates", skip_all)]
    pub async fn mandates(&self, filter: MandateFilter<'_>) -> Result<Vec<MandateRow>, StoreError> {
        let (of, to) = match filter {
            MandateFilter::All => (None, None),
            MandateFilter::Of(p) => (Some(p), None),
            MandateFilter::To(p) => (None, Some(p)),
        };
        let found: Vec<MandateRow> = fetch!(
            self,
            fetch_all,
            MandateRecord,
            "mandate",
            LIST,
            [
                of.map(|p| p.0.as_str()),
                of.map(|p| p.1.as_str()),
                to.map(|p| p.0.as_str()),
                to.map(|p| p.1.as_str())
            ]
        )?;
        self.check_rows(found.iter().map(Found::mandate).collect())
            .await?;
        Ok(found)
    }
}
