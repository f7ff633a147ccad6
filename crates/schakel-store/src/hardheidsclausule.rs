//! The gemeente's hardheidsclausule decisions at rest (Participatiewet art. 7a
//! lid 7, R2; migration 0007): which Participatiewet function decided, for
//! which youth (pseudonym), on what support (a transfer it accepted, or its
//! own case reference, sealed), for which period. The justification is age
//! ciphertext to the function's own keys. Like every row of the exchange,
//! a decision is committed to by its audit entry and checked on every read,
//! so a decision slipped into the database lets nothing through.

use jiff::Timestamp;
use jiff::civil::Date;
use schakel_audit::{Entry, RowTable};
use schakel_domain::{Pseudonym, TransferId};
use uuid::Uuid;

use crate::audit::audited_write;
use crate::exchange::{Idempotency, PartyKey};
use crate::records::{HardheidsclausuleRecord, fetch};
use crate::row_commitments::Found;
use crate::{Store, StoreError};

const INSERT: &str = include_str!("../queries/hardheidsclausule_insert.sql");
pub(crate) const SELECT: &str = include_str!("../queries/hardheidsclausule_select.sql");
const BY_KEY: &str = include_str!("../queries/hardheidsclausule_by_key.sql");
const IN_FORCE: &str = include_str!("../queries/hardheidsclausule_in_force.sql");

/// A gemeente's hardheidsclausule decision as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HardheidsclausuleRow {
    /// UUID v7.
    pub decision_id: Uuid,
    /// The deciding Participatiewet function.
    pub gemeente: PartyKey,
    /// The youth's pseudonym.
    pub subject: Pseudonym,
    /// The accepted transfer the support rests on; `None` when the gemeente
    /// named its own case reference (sealed with the justification).
    pub basis_transfer_id: Option<TransferId>,
    /// First day the decision holds.
    pub valid_from: Date,
    /// Last day the decision holds, inclusive.
    pub valid_until: Date,
    /// When it was recorded.
    pub decided_at: Timestamp,
    /// The end user who recorded it.
    pub decided_by_user: String,
    /// Policy version in force when recorded.
    pub policy_version: String,
    /// The function's keys the justification is sealed to.
    pub sealed_key_ids: Vec<Uuid>,
    /// The justification (and case reference), age ciphertext.
    pub sealed: Vec<u8>,
}

impl Store {
    /// Both digests of a decision read whole against its audit entry.
    async fn check_decision(&self, d: &HardheidsclausuleRow, idem: &Idempotency) -> Result<(), StoreError> {
        self.check_rows(vec![
            Found::hardheidsclausule(d, idem),
            Found::hardheidsclausule_units(d),
        ])
        .await
    }

    /// Stores a decision with its audit entry. A reused idempotency key
    /// answers [`StoreError::Conflict`]; the caller then looks the first
    /// decision up with [`Store::hardheidsclausule_by_key`].
    #[tracing::instrument(name = "store.insert_hardheidsclausule", skip_all)]
    pub async fn insert_hardheidsclausule(
        &self,
        d: &HardheidsclausuleRow,
        idem: &Idempotency,
        audit: Entry,
    ) -> Result<(), StoreError> {
        let keys = d
            .sealed_key_ids
            .iter()
            .map(Uuid::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        audited_write!(self, "hardheidsclausule decision", audit, d.decided_at,
            rows = [(RowTable::HARDHEIDSCLAUSULE, d.decision_id)], tx => sqlx::query(INSERT)
            .bind(d.decision_id.to_string())
            .bind(d.gemeente.0.as_str())
            .bind(d.gemeente.1.as_str())
            .bind(&idem.key)
            .bind(&idem.fingerprint[..])
            .bind(d.subject.as_str())
            .bind(d.basis_transfer_id.map(|t| t.to_string()))
            .bind(d.valid_from.to_string())
            .bind(d.valid_until.to_string())
            .bind(d.decided_at.as_millisecond())
            .bind(&d.decided_by_user)
            .bind(&d.policy_version)
            .bind(keys)
            .bind(&d.sealed[..])
            .execute(&mut *tx)
            .await
            .map(|_| ())
            .map_err(|e| StoreError::from_sqlx("hardheidsclausule decision", e)));
        Ok(())
    }

    /// One decision by id, checked against its audit entry.
    #[tracing::instrument(name = "store.hardheidsclausule", skip_all)]
    pub async fn hardheidsclausule(&self, id: Uuid) -> Result<Option<HardheidsclausuleRow>, StoreError> {
        let found: Option<(HardheidsclausuleRow, Idempotency)> = fetch!(
            self,
            fetch_optional,
            HardheidsclausuleRecord,
            "hardheidsclausule decision",
            SELECT,
            [id.to_string()]
        )?;
        if let Some((d, idem)) = &found {
            self.check_decision(d, idem).await?;
        }
        Ok(found.map(|(d, _)| d))
    }

    /// The decision a function recorded under an idempotency key.
    #[tracing::instrument(name = "store.hardheidsclausule_by_key", skip_all)]
    pub async fn hardheidsclausule_by_key(
        &self,
        gemeente: &PartyKey,
        key: &str,
    ) -> Result<Option<(HardheidsclausuleRow, Idempotency)>, StoreError> {
        let found: Option<(HardheidsclausuleRow, Idempotency)> = fetch!(
            self,
            fetch_optional,
            HardheidsclausuleRecord,
            "hardheidsclausule decision",
            BY_KEY,
            [gemeente.0.as_str(), gemeente.1.as_str(), key]
        )?;
        if let Some((d, idem)) = &found {
            self.check_decision(d, idem).await?;
        }
        Ok(found)
    }

    /// The decision of `gemeente` that holds for `subject` on `on`, if any:
    /// the earliest recorded of those in force. Every candidate is checked
    /// against its audit entry, so a row added or stretched in the database
    /// is [`StoreError::RowChanged`], never a pass of the age limit.
    #[tracing::instrument(name = "store.hardheidsclausule_in_force", skip_all)]
    pub async fn hardheidsclausule_in_force(
        &self,
        gemeente: &PartyKey,
        subject: &Pseudonym,
        on: Date,
    ) -> Result<Option<HardheidsclausuleRow>, StoreError> {
        let found: Vec<(HardheidsclausuleRow, Idempotency)> = fetch!(
            self,
            fetch_all,
            HardheidsclausuleRecord,
            "hardheidsclausule decision",
            IN_FORCE,
            [
                gemeente.0.as_str(),
                gemeente.1.as_str(),
                subject.as_str(),
                on.to_string()
            ]
        )?;
        for (d, idem) in &found {
            self.check_decision(d, idem).await?;
        }
        Ok(found.into_iter().next().map(|(d, _)| d))
    }
}
