//! The exchange's rows, authenticated by the audit log (issue 14).
//!
//! Every write of a consent, a transfer or an expertise request puts a
//! [`RowCommitment`] of each row it wrote into its audit entry: a digest of
//! the row's clear metadata and one of its sealed units, computed from the
//! row as read back inside the writing transaction. Every read compares the
//! row it found with the latest entry that committed to it (found through the
//! `audit_rows` index, migration 0006, whose entry's leaf hash and code are
//! checked), and refuses a difference with [`StoreError::RowChanged`]: a
//! recipient changed in the database, a state reset, sealed units swapped
//! between transfers or an advice replaced are not served.
//!
//! The digests are SHA-256 over a length-prefixed encoding of the stored
//! values (pseudonyms, codes, dates, key ids, ciphertext), each with a label
//! of its own; never over a BSN or plaintext, so a commitment in the log is
//! as content-free as the rest of the entry.

use schakel_audit::{AuditError, Entry, Hash, RowCommitment, RowTable, leaf_hash};
use schakel_domain::Pseudonym;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::audit::StoredEntry;
use crate::directory::CommittedDirectoryRows;
use crate::exchange::{
    CommittedRows, ConsentRow, ExpertisePart, ExpertiseRow, Idempotency, SealedRow, TransferRow,
    expertise_parts,
};
use crate::hardheidsclausule::HardheidsclausuleRow;
use crate::mandates::MandateRow;
use crate::pool::on_pool;
use crate::{RecipientKey, Store, StoreError};

const AUDIT_ROW_LATEST: &str = include_str!("../queries/audit_row_latest.sql");
const ROW_BEFORE_COMMITMENTS: &str = include_str!("../queries/row_before_commitments.sql");
const ROW_IDS: &str = include_str!("../queries/row_ids.sql");

/// A length-prefixed, labelled SHA-256 of stored values.
struct Canon(Sha256);

impl Canon {
    fn new(label: &str) -> Self {
        let mut c = Self(Sha256::new());
        c.bytes(b"schakel row v1");
        c.bytes(label.as_bytes());
        c
    }

    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.0.update((b.len() as u64).to_be_bytes());
        self.0.update(b);
        self
    }

    fn text(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }

    fn opt(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            None => {
                self.0.update([0]);
                self
            }
            Some(s) => {
                self.0.update([1]);
                self.text(s)
            }
        }
    }

    fn ms(&mut self, t: jiff::Timestamp) -> &mut Self {
        self.0.update(t.as_millisecond().to_be_bytes());
        self
    }

    fn opt_ms(&mut self, t: Option<jiff::Timestamp>) -> &mut Self {
        self.opt(t.map(|t| t.as_millisecond().to_string()).as_deref())
    }

    fn list<T: AsRef<str>>(&mut self, items: &[T]) -> &mut Self {
        self.0.update((items.len() as u64).to_be_bytes());
        for i in items {
            self.text(i.as_ref());
        }
        self
    }

    fn finish(&mut self) -> Hash {
        std::mem::take(&mut self.0).finalize().into()
    }
}

fn idempotency(c: &mut Canon, idem: &Idempotency) {
    c.text(&idem.key).bytes(&idem.fingerprint);
}

/// The metadata digest of a consent record.
pub(crate) fn consent_meta(row: &ConsentRow, idem: &Idempotency) -> Hash {
    // Exhaustive: a new column must be added to the digest (or said not to be).
    let ConsentRow {
        consent_id,
        recorder,
        subject,
        status,
        giver,
        method,
        purpose,
        recipient,
        groups,
        valid_from,
        valid_until,
        recorded_at,
        recorded_by_user,
        withdrawn_at,
        withdrawn_by,
        client_reference,
        policy_version,
    } = row;
    let mut c = Canon::new("consent");
    c.text(&consent_id.to_string())
        .text(recorder.0.as_str())
        .text(recorder.1.as_str())
        .opt(subject.as_ref().map(Pseudonym::as_str))
        .text(status.as_str())
        .text(giver.as_str())
        .text(method.as_str())
        .text(purpose.as_str())
        .text(recipient.0.as_str())
        .text(recipient.1.as_str())
        .list(&groups.iter().map(|g| g.as_str()).collect::<Vec<_>>())
        .text(&valid_from.to_string())
        .opt(valid_until.map(|d| d.to_string()).as_deref())
        .ms(*recorded_at)
        .text(recorded_by_user)
        .opt_ms(*withdrawn_at)
        .opt(withdrawn_by.map(|g| g.as_str()))
        .text(client_reference)
        .text(policy_version);
    idempotency(&mut c, idem);
    c.finish()
}

/// The metadata digest of a transfer.
pub(crate) fn transfer_meta(row: &TransferRow, idem: &Idempotency) -> Hash {
    let TransferRow {
        transfer_id,
        sender,
        recipient,
        purpose,
        subject,
        consent_id,
        policy_version,
        hardheidsclausule,
        return_to_education,
        client_reference,
        groups,
        state,
        submitted_at,
        retention_until,
        first_fetched_at,
        acknowledged_at,
        case_reference,
        decision,
        decline_reason,
        decided_at,
        decided_by_role,
        withdrawn_at,
        notice_id,
        notice_acknowledged_at,
        notice_confirmed_deletion,
        purged_at,
        mandate_id,
    } = row;
    let mut c = Canon::new("transfer");
    c.text(&transfer_id.to_string())
        .text(sender.0.as_str())
        .text(sender.1.as_str())
        .text(recipient.0.as_str())
        .text(recipient.1.as_str())
        .text(purpose.as_str())
        .text(subject.as_str())
        .opt(consent_id.map(|u| u.to_string()).as_deref())
        .text(policy_version)
        .bytes(&[u8::from(*hardheidsclausule)])
        .opt(return_to_education.as_deref())
        .text(client_reference)
        .list(groups)
        .text(state.as_str())
        .ms(*submitted_at)
        .ms(*retention_until)
        .opt_ms(*first_fetched_at)
        .opt_ms(*acknowledged_at)
        .opt(case_reference.as_deref())
        .opt(decision.map(|d| d.as_str()))
        .opt(decline_reason.map(|r| r.as_str()))
        .opt_ms(*decided_at)
        .opt(decided_by_role.as_deref())
        .opt_ms(*withdrawn_at)
        .opt(notice_id.map(|u| u.to_string()).as_deref())
        .opt_ms(*notice_acknowledged_at)
        .bytes(&[u8::from(*notice_confirmed_deletion)])
        .opt_ms(*purged_at);
    // Only when present, so transfers stored before mandates keep their digest.
    if let Some(m) = mandate_id {
        c.text("mandate").text(&m.to_string());
    }
    idempotency(&mut c, idem);
    c.finish()
}

/// The metadata digest of an expertise request and its advice.
pub(crate) fn expertise_meta(row: &ExpertiseRow, idem: &Idempotency) -> Hash {
    let ExpertiseRow {
        request_id,
        requester,
        doorstroompunt,
        subject,
        state,
        groups,
        requested_at,
        policy_version,
        retention_until,
        client_reference,
        answered_at,
        outcome,
        advice_groups,
        advice_policy_version,
        advice_idempotency,
    } = row;
    let mut c = Canon::new("expertise");
    c.text(&request_id.to_string())
        .text(requester.0.as_str())
        .text(requester.1.as_str())
        .text(doorstroompunt.0.as_str())
        .text(doorstroompunt.1.as_str())
        .text(subject.as_str())
        .text(state.as_str())
        .list(groups)
        .ms(*requested_at)
        .text(policy_version)
        .ms(*retention_until)
        .text(client_reference)
        .opt_ms(*answered_at)
        .opt(outcome.as_deref())
        .list(advice_groups)
        .opt(advice_policy_version.as_deref());
    idempotency(&mut c, idem);
    match advice_idempotency {
        None => c.opt(None),
        Some(a) => {
            c.opt(Some("advice"));
            idempotency(&mut c, a);
            &mut c
        }
    };
    c.finish()
}

/// The metadata digest of an age recipient key.
pub(crate) fn recipient_key_meta(key: &RecipientKey) -> Hash {
    let RecipientKey {
        key_id,
        oin,
        function,
        age_recipient,
        valid_from,
        valid_until,
        revoked_at,
    } = key;
    let mut c = Canon::new("recipient_key");
    c.text(&key_id.to_string())
        .text(oin.as_str())
        .text(function.as_str())
        .text(age_recipient)
        .ms(*valid_from)
        .opt_ms(*valid_until)
        .opt_ms(*revoked_at);
    c.finish()
}

/// The metadata digest of a hardheidsclausule decision.
pub(crate) fn hardheidsclausule_meta(row: &HardheidsclausuleRow, idem: &Idempotency) -> Hash {
    let HardheidsclausuleRow {
        decision_id,
        gemeente,
        subject,
        basis_transfer_id,
        valid_from,
        valid_until,
        decided_at,
        decided_by_user,
        policy_version,
        sealed_key_ids: _,
        sealed: _,
    } = row;
    let mut c = Canon::new("hardheidsclausule");
    c.text(&decision_id.to_string())
        .text(gemeente.0.as_str())
        .text(gemeente.1.as_str())
        .text(subject.as_str())
        .opt(basis_transfer_id.map(|t| t.to_string()).as_deref())
        .text(&valid_from.to_string())
        .text(&valid_until.to_string())
        .ms(*decided_at)
        .text(decided_by_user)
        .text(policy_version);
    idempotency(&mut c, idem);
    c.finish()
}

/// The metadata digest of a mandate.
pub(crate) fn mandate_meta(row: &MandateRow) -> Hash {
    let MandateRow {
        mandate_id,
        mandating,
        mandated,
        agreement_ref,
        valid_from,
        valid_until,
        ended_on,
        recorded_at,
        ended_at,
    } = row;
    let mut c = Canon::new("mandate");
    c.text(&mandate_id.to_string())
        .text(mandating.0.as_str())
        .text(mandating.1.as_str())
        .text(mandated.0.as_str())
        .text(mandated.1.as_str())
        .text(agreement_ref)
        .text(&valid_from.to_string())
        .text(&valid_until.to_string())
        .opt(ended_on.map(|d| d.to_string()).as_deref())
        .ms(*recorded_at)
        .opt_ms(*ended_at);
    c.finish()
}

/// The digest of a decision's sealed justification: its keys and ciphertext.
fn hardheidsclausule_units(row: &HardheidsclausuleRow) -> Hash {
    let mut c = Canon::new("hardheidsclausule units");
    c.list(&row.sealed_key_ids.iter().map(Uuid::to_string).collect::<Vec<_>>())
        .bytes(&Sha256::digest(&row.sealed));
    c.finish()
}

/// The digest of sealed units, in order, each with the part it belongs to
/// (`transfer`, or an expertise exchange's `request` and `advice`).
pub(crate) fn units_digest<'a>(units: impl IntoIterator<Item = (&'a str, &'a SealedRow)>) -> Hash {
    let mut c = Canon::new("units");
    for (part, u) in units {
        c.text(part)
            .list(&u.groups)
            .text(u.purpose.as_str())
            .list(&u.key_ids.iter().map(|k| k.to_string()).collect::<Vec<_>>())
            .bytes(&Sha256::digest(&u.ciphertext));
    }
    c.finish()
}

fn transfer_units(units: &[SealedRow]) -> Hash {
    units_digest(units.iter().map(|u| ("transfer", u)))
}

/// The commitments to `rows` as they are now inside the open transaction
/// `conn`: what the action's audit entry carries. Sorted by table and id,
/// without duplicates, as the entry encoding requires.
pub(crate) async fn commitments_in_tx<C: CommittedRows + CommittedDirectoryRows + Send>(
    conn: &mut C,
    rows: &[(RowTable, Uuid)],
) -> Result<Vec<RowCommitment>, StoreError> {
    let mut rows = rows.to_vec();
    rows.sort();
    rows.dedup();
    let mut out = Vec::with_capacity(rows.len());
    for (table, id) in rows {
        let missing = StoreError::Corrupt("row written by the action");
        let (meta, units) = match table {
            RowTable::CONSENT => {
                let (row, idem) = conn.consent_in_tx(id).await?.ok_or(missing)?;
                (consent_meta(&row, &idem), units_digest([]))
            }
            RowTable::TRANSFER => {
                let (row, idem, units) = conn.transfer_in_tx(id).await?.ok_or(missing)?;
                (transfer_meta(&row, &idem), transfer_units(&units))
            }
            RowTable::EXPERTISE => {
                let (row, idem, request, advice) = conn.expertise_in_tx(id).await?.ok_or(missing)?;
                (
                    expertise_meta(&row, &idem),
                    units_digest(expertise_parts(&request, &advice)),
                )
            }
            RowTable::RECIPIENT_KEY => {
                let key = conn.recipient_key_in_tx(id).await?.ok_or(missing)?;
                (recipient_key_meta(&key), units_digest([]))
            }
            RowTable::MANDATE => {
                let row = conn.mandate_in_tx(id).await?.ok_or(missing)?;
                (mandate_meta(&row), units_digest([]))
            }
            RowTable::HARDHEIDSCLAUSULE => {
                let (row, idem) = conn.hardheidsclausule_in_tx(id).await?.ok_or(missing)?;
                (hardheidsclausule_meta(&row, &idem), hardheidsclausule_units(&row))
            }
            _ => return Err(StoreError::Corrupt("row table")),
        };
        out.push(RowCommitment {
            table,
            id,
            meta,
            units,
        });
    }
    Ok(out)
}

/// What a read found, to compare with the row's commitment.
pub(crate) enum Found {
    /// The row's metadata digest.
    Meta(Hash),
    /// The digest of the row's sealed units.
    Units(Hash),
}

impl Found {
    pub(crate) fn consent(row: &ConsentRow, idem: &Idempotency) -> (RowTable, Uuid, Self) {
        (
            RowTable::CONSENT,
            row.consent_id,
            Self::Meta(consent_meta(row, idem)),
        )
    }

    pub(crate) fn transfer(row: &TransferRow, idem: &Idempotency) -> (RowTable, Uuid, Self) {
        (
            RowTable::TRANSFER,
            row.transfer_id.uuid(),
            Self::Meta(transfer_meta(row, idem)),
        )
    }

    pub(crate) fn expertise(row: &ExpertiseRow, idem: &Idempotency) -> (RowTable, Uuid, Self) {
        (
            RowTable::EXPERTISE,
            row.request_id,
            Self::Meta(expertise_meta(row, idem)),
        )
    }

    pub(crate) fn recipient_key(key: &RecipientKey) -> (RowTable, Uuid, Self) {
        (
            RowTable::RECIPIENT_KEY,
            key.key_id,
            Self::Meta(recipient_key_meta(key)),
        )
    }

    /// A decision is read whole, so both its digests are compared: the
    /// metadata here, the sealed justification by [`Found::hardheidsclausule_units`].
    pub(crate) fn hardheidsclausule(
        row: &HardheidsclausuleRow,
        idem: &Idempotency,
    ) -> (RowTable, Uuid, Self) {
        (
            RowTable::HARDHEIDSCLAUSULE,
            row.decision_id,
            Self::Meta(hardheidsclausule_meta(row, idem)),
        )
    }

    pub(crate) fn mandate(row: &MandateRow) -> (RowTable, Uuid, Self) {
        (RowTable::MANDATE, row.mandate_id, Self::Meta(mandate_meta(row)))
    }

    pub(crate) fn hardheidsclausule_units(row: &HardheidsclausuleRow) -> (RowTable, Uuid, Self) {
        (
            RowTable::HARDHEIDSCLAUSULE,
            row.decision_id,
            Self::Units(hardheidsclausule_units(row)),
        )
    }

    pub(crate) fn transfer_units(id: Uuid, units: &[SealedRow]) -> (RowTable, Uuid, Self) {
        (RowTable::TRANSFER, id, Self::Units(transfer_units(units)))
    }

    pub(crate) fn expertise_units(
        id: Uuid,
        request: &[SealedRow],
        advice: &[SealedRow],
    ) -> (RowTable, Uuid, Self) {
        (
            RowTable::EXPERTISE,
            id,
            Self::Units(units_digest(expertise_parts(request, advice))),
        )
    }
}

impl Store {
    /// Compares what a read found with the commitment of the latest entry
    /// that wrote the row. [`StoreError::RowChanged`] when they differ, when
    /// that entry is not authentic (its leaf hash or code does not match), or
    /// when no entry committed to a row written since commitments exist.
    pub(crate) async fn check_row(
        &self,
        (table, id, found): (RowTable, Uuid, Found),
    ) -> Result<(), StoreError> {
        let name = table_name(table);
        let changed = |position| StoreError::RowChanged {
            table: name,
            position,
        };
        let latest: Option<StoredEntry> = crate::records::fetch!(
            self,
            fetch_optional,
            crate::records::EntryRecord,
            "audit log",
            AUDIT_ROW_LATEST,
            [name, id.to_string()]
        )?;
        let Some(stored) = latest else {
            let before: i64 = on_pool!(self, p => sqlx::query_scalar(ROW_BEFORE_COMMITMENTS)
                .bind(name)
                .bind(id.to_string())
                .fetch_one(p)
                .await
                .map_err(|e| StoreError::from_sqlx("audit log", e)))?;
            return match before {
                1.. => Ok(()),
                _ => {
                    tracing::error!(table = name, "a stored row has no audit entry that wrote it");
                    Err(changed(None))
                }
            };
        };
        let position = Some(stored.seq);
        let leaf = leaf_hash(&stored.bytes);
        let authentic = leaf == stored.leaf_hash
            && match (self.leaf_key.as_deref(), stored.leaf_mac) {
                (Some(key), Some(mac)) => key.verify(stored.seq, &leaf, &mac),
                (Some(_), None) => false,
                (None, _) => true,
            };
        let commitment = Entry::decode(&stored.bytes)
            .ok()
            .filter(|_| authentic)
            .and_then(|e| e.rows.into_iter().find(|r| r.table == table && r.id == id));
        let matches = commitment.is_some_and(|c| match found {
            Found::Meta(h) => c.meta == h,
            Found::Units(h) => c.units == h,
        });
        if matches {
            Ok(())
        } else {
            tracing::error!(
                table = name,
                position = stored.seq,
                authentic,
                "a stored row does not match the audit entry that last wrote it"
            );
            Err(changed(position))
        }
    }

    /// Checks every consent, transfer and expertise request, with its sealed
    /// units, against the entry that last wrote it (`audit verify
    /// --database`). `Ok(Err(..))` names the first row that does not match;
    /// `Ok(Ok(n))` is the number of rows checked.
    pub async fn verify_rows(&self) -> Result<Result<u64, AuditError>, StoreError> {
        let ids: Vec<(String, String)> = on_pool!(self, p => sqlx::query_as(ROW_IDS)
            .fetch_all(p)
            .await
            .map_err(|e| StoreError::from_sqlx("exchange rows", e)))?;
        let mut checked = 0;
        for (table, id) in ids {
            let Ok(id) = id.parse::<Uuid>() else {
                return Err(StoreError::Corrupt("row id"));
            };
            let read = match table.as_str() {
                "consent" => self.consent(id).await.map(|_| ()),
                "recipient_key" => self.recipient_key(id).await.map(|_| ()),
                "hardheidsclausule" => self.hardheidsclausule(id).await.map(|_| ()),
                "mandate" => self.mandate(id).await.map(|_| ()),
                "transfer" => match self.transfer(id.into()).await {
                    Ok(_) => self.transfer_groups(id.into()).await.map(|_| ()),
                    Err(e) => Err(e),
                },
                _ => match self.expertise(id).await {
                    Ok(_) => self
                        .expertise_groups(id, ExpertisePart::Request)
                        .await
                        .map(|_| ()),
                    Err(e) => Err(e),
                },
            };
            match read {
                Ok(()) => checked += 1,
                Err(StoreError::RowChanged { table, position }) => {
                    return Ok(Err(AuditError::RowMismatch { table, id, position }));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(Ok(checked))
    }

    /// [`Store::check_row`] for each of several reads.
    pub(crate) async fn check_rows(&self, found: Vec<(RowTable, Uuid, Found)>) -> Result<(), StoreError> {
        for f in found {
            self.check_row(f).await?;
        }
        Ok(())
    }
}

/// The name the `audit_rows` index and errors use for a table.
pub(crate) fn table_name(table: RowTable) -> &'static str {
    table.known_name().unwrap_or("unknown")
}
