//! The store's rows as the database returns them, and their checked
//! conversion into the records callers see.
//!
//! Each table read has a `#[derive(sqlx::FromRow)]` record of plain column
//! values — the same record for both backends — and a `TryFrom` into the
//! typed row of `exchange`, `model` or `audit`. A value the hub could not
//! have written (an unknown state, a malformed id, a hash of the wrong
//! length) is [`StoreError::Corrupt`] naming the column, never a default:
//! the hub answers `DATA_LOSS` for it (issue 19). Reads go through
//! [`fetch!`], which runs a query on either pool and converts every row.

use std::str::FromStr;

use jiff::Timestamp;
use schakel_audit::Hash;
use schakel_domain::Oin;
use uuid::Uuid;

use crate::StoreError;
use crate::audit::{StoredCheckpoint, StoredEntry};
use crate::exchange::{ConsentRow, ExpertiseRow, Idempotency, PartyKey, SealedRow, TransferRow};
use crate::hardheidsclausule::HardheidsclausuleRow;
use crate::mandates::MandateRow;
use crate::model::{CertificateBinding, Organisation, RecipientKey};

/// Runs `$sql` with its binds on the store's pool and converts what it
/// returns with `TryFrom<$record>`: `fetch_optional` gives `Option<T>`,
/// `fetch_all` gives `Vec<T>`, for the `T` the caller names. `$on` is the
/// store (`on_pool!`) or, with `tx`, an open connection or transaction.
macro_rules! fetch {
    ($store:expr, $mode:ident, $record:ty, $what:literal, $sql:expr, [$($bind:expr),* $(,)?]) => {
        $crate::pool::on_pool!($store, p => sqlx::query_as::<_, $record>($sql)
            $(.bind($bind))*
            .$mode(p)
            .await)
            .map_err(|e| $crate::StoreError::from_sqlx($what, e))
            .and_then($crate::records::Decode::decode)
    };
    (tx $conn:expr, $mode:ident, $record:ty, $what:literal, $sql:expr, [$($bind:expr),* $(,)?]) => {
        sqlx::query_as::<_, $record>($sql)
            $(.bind($bind))*
            .$mode(&mut *$conn)
            .await
            .map_err(|e| $crate::StoreError::from_sqlx($what, e))
            .and_then($crate::records::Decode::decode)
    };
}
pub(crate) use fetch;

/// Converts what a query returned (one record, an optional one, or many)
/// into the typed rows the caller asked for.
pub(crate) trait Decode<T> {
    /// The typed rows, or [`StoreError::Corrupt`].
    fn decode(self) -> Result<T, StoreError>;
}

impl<R, T: TryFrom<R, Error = StoreError>> Decode<Option<T>> for Option<R> {
    fn decode(self) -> Result<Option<T>, StoreError> {
        self.map(T::try_from).transpose()
    }
}

impl<R, T: TryFrom<R, Error = StoreError>> Decode<Vec<T>> for Vec<R> {
    fn decode(self) -> Result<Vec<T>, StoreError> {
        self.into_iter().map(T::try_from).collect()
    }
}

fn parse<T: FromStr>(what: &'static str, s: &str) -> Result<T, StoreError> {
    s.parse().map_err(|_| StoreError::Corrupt(what))
}

fn opt_parse<T: FromStr>(what: &'static str, s: Option<String>) -> Result<Option<T>, StoreError> {
    s.map(|s| parse(what, &s)).transpose()
}

fn ts(what: &'static str, ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms).map_err(|_| StoreError::Corrupt(what))
}

fn opt_ts(what: &'static str, ms: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
    ms.map(|ms| ts(what, ms)).transpose()
}

fn party(what: &'static str, oin: &str, function: &str) -> Result<PartyKey, StoreError> {
    Ok((parse::<Oin>(what, oin)?, parse(what, function)?))
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

fn hash(what: &'static str, bytes: &[u8]) -> Result<Hash, StoreError> {
    bytes.try_into().map_err(|_| StoreError::Corrupt(what))
}

fn seq(what: &'static str, v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(what))
}

fn idempotency(what: &'static str, key: String, fingerprint: &[u8]) -> Result<Idempotency, StoreError> {
    Ok(Idempotency {
        key,
        fingerprint: hash(what, fingerprint)?,
    })
}

/// A row of `consents`.
#[derive(sqlx::FromRow)]
pub(crate) struct ConsentRecord {
    consent_id: String,
    recorder_oin: String,
    recorder_function: String,
    idempotency_key: String,
    fingerprint: Vec<u8>,
    subject: Option<String>,
    status: String,
    giver: String,
    method: String,
    purpose: String,
    recipient_oin: String,
    recipient_function: String,
    groups: String,
    valid_from: String,
    valid_until: Option<String>,
    recorded_at: i64,
    recorded_by_user: String,
    withdrawn_at: Option<i64>,
    withdrawn_by: Option<String>,
    client_reference: String,
    policy_version: String,
}

impl TryFrom<ConsentRecord> for (ConsentRow, Idempotency) {
    type Error = StoreError;
    fn try_from(r: ConsentRecord) -> Result<Self, StoreError> {
        let row = ConsentRow {
            consent_id: parse("consent id", &r.consent_id)?,
            recorder: party("consent recorder", &r.recorder_oin, &r.recorder_function)?,
            subject: opt_parse("consent subject", r.subject)?,
            status: parse("consent status", &r.status)?,
            giver: parse("consent giver", &r.giver)?,
            method: parse("consent method", &r.method)?,
            purpose: parse("consent purpose", &r.purpose)?,
            recipient: party("consent recipient", &r.recipient_oin, &r.recipient_function)?,
            groups: r
                .groups
                .split_whitespace()
                .map(|g| parse("consent groups", g))
                .collect::<Result<_, _>>()?,
            valid_from: parse("consent valid_from", &r.valid_from)?,
            valid_until: opt_parse("consent valid_until", r.valid_until)?,
            recorded_at: ts("consent recorded_at", r.recorded_at)?,
            recorded_by_user: r.recorded_by_user,
            withdrawn_at: opt_ts("consent withdrawn_at", r.withdrawn_at)?,
            withdrawn_by: opt_parse("consent withdrawn_by", r.withdrawn_by)?,
            client_reference: r.client_reference,
            policy_version: r.policy_version,
        };
        Ok((
            row,
            idempotency("consent fingerprint", r.idempotency_key, &r.fingerprint)?,
        ))
    }
}

/// A row of `hardheidsclausule_decisions`.
#[derive(sqlx::FromRow)]
pub(crate) struct HardheidsclausuleRecord {
    decision_id: String,
    gemeente_oin: String,
    gemeente_function: String,
    idempotency_key: String,
    fingerprint: Vec<u8>,
    subject: String,
    basis_transfer_id: Option<String>,
    valid_from: String,
    valid_until: String,
    decided_at: i64,
    decided_by_user: String,
    policy_version: String,
    sealed_key_ids: String,
    sealed: Vec<u8>,
}

impl TryFrom<HardheidsclausuleRecord> for (HardheidsclausuleRow, Idempotency) {
    type Error = StoreError;
    fn try_from(r: HardheidsclausuleRecord) -> Result<Self, StoreError> {
        let row = HardheidsclausuleRow {
            decision_id: parse("hardheidsclausule decision id", &r.decision_id)?,
            gemeente: party(
                "hardheidsclausule gemeente",
                &r.gemeente_oin,
                &r.gemeente_function,
            )?,
            subject: parse("hardheidsclausule subject", &r.subject)?,
            basis_transfer_id: opt_parse("hardheidsclausule basis_transfer_id", r.basis_transfer_id)?,
            valid_from: parse("hardheidsclausule valid_from", &r.valid_from)?,
            valid_until: parse("hardheidsclausule valid_until", &r.valid_until)?,
            decided_at: ts("hardheidsclausule decided_at", r.decided_at)?,
            decided_by_user: r.decided_by_user,
            policy_version: r.policy_version,
            sealed_key_ids: r
                .sealed_key_ids
                .split_whitespace()
                .map(|k| parse("hardheidsclausule sealed_key_ids", k))
                .collect::<Result<_, _>>()?,
            sealed: r.sealed,
        };
        Ok((
            row,
            idempotency("hardheidsclausule fingerprint", r.idempotency_key, &r.fingerprint)?,
        ))
    }
}

/// A row of `mandates`.
#[derive(sqlx::FromRow)]
pub(crate) struct MandateRecord {
    mandate_id: String,
    mandating_oin: String,
    function: String,
    mandated_oin: String,
    agreement_ref: String,
    valid_from: String,
    valid_until: String,
    ended_on: Option<String>,
    recorded_at: i64,
    ended_at: Option<i64>,
}

impl TryFrom<MandateRecord> for MandateRow {
    type Error = StoreError;
    fn try_from(r: MandateRecord) -> Result<Self, StoreError> {
        Ok(MandateRow {
            mandate_id: parse("mandate id", &r.mandate_id)?,
            mandating: party("mandating function", &r.mandating_oin, &r.function)?,
            mandated: party("mandated function", &r.mandated_oin, &r.function)?,
            agreement_ref: r.agreement_ref,
            valid_from: parse("mandate valid_from", &r.valid_from)?,
            valid_until: parse("mandate valid_until", &r.valid_until)?,
            ended_on: opt_parse("mandate ended_on", r.ended_on)?,
            recorded_at: ts("mandate recorded_at", r.recorded_at)?,
            ended_at: opt_ts("mandate ended_at", r.ended_at)?,
        })
    }
}

/// A row of `transfers`.
#[derive(sqlx::FromRow)]
pub(crate) struct TransferRecord {
    transfer_id: String,
    sender_oin: String,
    sender_function: String,
    idempotency_key: String,
    fingerprint: Vec<u8>,
    recipient_oin: String,
    recipient_function: String,
    purpose: String,
    subject: String,
    consent_id: Option<String>,
    policy_version: String,
    hardheidsclausule: bool,
    return_to_education: Option<String>,
    client_reference: String,
    groups: String,
    state: String,
    submitted_at: i64,
    retention_until: i64,
    first_fetched_at: Option<i64>,
    acknowledged_at: Option<i64>,
    case_reference: Option<String>,
    decision: Option<String>,
    decline_reason: Option<String>,
    decided_at: Option<i64>,
    decided_by_role: Option<String>,
    withdrawn_at: Option<i64>,
    notice_id: Option<String>,
    notice_acknowledged_at: Option<i64>,
    notice_confirmed_deletion: Option<bool>,
    purged_at: Option<i64>,
    mandate_id: Option<String>,
}

impl TryFrom<TransferRecord> for (TransferRow, Idempotency) {
    type Error = StoreError;
    fn try_from(r: TransferRecord) -> Result<Self, StoreError> {
        let row = TransferRow {
            transfer_id: parse("transfer id", &r.transfer_id)?,
            sender: party("transfer sender", &r.sender_oin, &r.sender_function)?,
            recipient: party("transfer recipient", &r.recipient_oin, &r.recipient_function)?,
            purpose: parse("transfer purpose", &r.purpose)?,
            subject: parse("transfer subject", &r.subject)?,
            consent_id: opt_parse("transfer consent", r.consent_id)?,
            policy_version: r.policy_version,
            hardheidsclausule: r.hardheidsclausule,
            return_to_education: r.return_to_education,
            client_reference: r.client_reference,
            groups: words(&r.groups),
            state: parse("transfer state", &r.state)?,
            submitted_at: ts("transfer submitted_at", r.submitted_at)?,
            retention_until: ts("transfer retention_until", r.retention_until)?,
            first_fetched_at: opt_ts("transfer first_fetched_at", r.first_fetched_at)?,
            acknowledged_at: opt_ts("transfer acknowledged_at", r.acknowledged_at)?,
            case_reference: r.case_reference,
            decision: opt_parse("transfer decision", r.decision)?,
            decline_reason: opt_parse("transfer decline_reason", r.decline_reason)?,
            decided_at: opt_ts("transfer decided_at", r.decided_at)?,
            decided_by_role: r.decided_by_role,
            withdrawn_at: opt_ts("transfer withdrawn_at", r.withdrawn_at)?,
            notice_id: opt_parse("transfer notice", r.notice_id)?,
            notice_acknowledged_at: opt_ts("transfer notice_acknowledged_at", r.notice_acknowledged_at)?,
            notice_confirmed_deletion: r.notice_confirmed_deletion.unwrap_or(false),
            purged_at: opt_ts("transfer purged_at", r.purged_at)?,
            mandate_id: opt_parse("transfer mandate", r.mandate_id)?,
        };
        Ok((
            row,
            idempotency("transfer fingerprint", r.idempotency_key, &r.fingerprint)?,
        ))
    }
}

/// A row of `expertise_requests`.
#[derive(sqlx::FromRow)]
pub(crate) struct ExpertiseRecord {
    request_id: String,
    requester_oin: String,
    requester_function: String,
    idempotency_key: String,
    fingerprint: Vec<u8>,
    dp_oin: String,
    dp_function: String,
    subject: String,
    state: String,
    groups: String,
    requested_at: i64,
    policy_version: String,
    retention_until: i64,
    client_reference: String,
    answered_at: Option<i64>,
    outcome: Option<String>,
    advice_groups: Option<String>,
    advice_policy_version: Option<String>,
    advice_key: Option<String>,
    advice_fingerprint: Option<Vec<u8>>,
}

impl TryFrom<ExpertiseRecord> for (ExpertiseRow, Idempotency) {
    type Error = StoreError;
    fn try_from(r: ExpertiseRecord) -> Result<Self, StoreError> {
        let advice_idempotency = match (r.advice_key, r.advice_fingerprint) {
            (Some(key), Some(fp)) => Some(idempotency("advice fingerprint", key, &fp)?),
            (None, None) => None,
            _ => return Err(StoreError::Corrupt("advice idempotency key")),
        };
        let row = ExpertiseRow {
            request_id: parse("expertise id", &r.request_id)?,
            requester: party("expertise requester", &r.requester_oin, &r.requester_function)?,
            doorstroompunt: party("expertise doorstroompunt", &r.dp_oin, &r.dp_function)?,
            subject: parse("expertise subject", &r.subject)?,
            state: parse("expertise state", &r.state)?,
            groups: words(&r.groups),
            requested_at: ts("expertise requested_at", r.requested_at)?,
            policy_version: r.policy_version,
            retention_until: ts("expertise retention_until", r.retention_until)?,
            client_reference: r.client_reference,
            answered_at: opt_ts("expertise answered_at", r.answered_at)?,
            outcome: r.outcome,
            advice_groups: r.advice_groups.as_deref().map(words).unwrap_or_default(),
            advice_policy_version: r.advice_policy_version,
            advice_idempotency,
        };
        Ok((
            row,
            idempotency("expertise fingerprint", r.idempotency_key, &r.fingerprint)?,
        ))
    }
}

/// A row of `transfer_groups` or `expertise_groups`: one sealed unit.
#[derive(sqlx::FromRow)]
pub(crate) struct SealedRecord {
    group_name: String,
    purpose: String,
    key_ids: String,
    ciphertext: Vec<u8>,
}

impl TryFrom<SealedRecord> for SealedRow {
    type Error = StoreError;
    fn try_from(r: SealedRecord) -> Result<Self, StoreError> {
        let groups = words(&r.group_name);
        if groups.is_empty() {
            return Err(StoreError::Corrupt("sealed group names"));
        }
        Ok(SealedRow {
            groups,
            purpose: parse("sealed purpose", &r.purpose)?,
            key_ids: r
                .key_ids
                .split_whitespace()
                .map(|k| parse::<Uuid>("sealed key id", k))
                .collect::<Result<_, _>>()?,
            ciphertext: r.ciphertext,
        })
    }
}

/// A row of `organisations` (its functions are read apart).
#[derive(sqlx::FromRow)]
pub(crate) struct OrganisationRecord {
    oin: String,
    kind: String,
    name: String,
    brin: Option<String>,
    gemeentecode: Option<String>,
    doorstroompunt_regio: Option<String>,
    arbeidsmarktregio: Option<String>,
    active: bool,
}

impl TryFrom<OrganisationRecord> for Organisation {
    type Error = StoreError;
    fn try_from(r: OrganisationRecord) -> Result<Self, StoreError> {
        Ok(Organisation {
            oin: parse("organisation oin", &r.oin)?,
            kind: parse("organisation kind", &r.kind)?,
            name: r.name,
            brin: opt_parse("organisation brin", r.brin)?,
            gemeentecode: opt_parse("organisation gemeentecode", r.gemeentecode)?,
            doorstroompunt_regio: r.doorstroompunt_regio,
            arbeidsmarktregio: r.arbeidsmarktregio,
            active: r.active,
            functions: Vec::new(),
        })
    }
}

/// A row of `recipient_keys`.
#[derive(sqlx::FromRow)]
pub(crate) struct RecipientRecord {
    key_id: String,
    oin: String,
    function: String,
    age_recipient: String,
    valid_from: i64,
    valid_until: Option<i64>,
    revoked_at: Option<i64>,
}

impl TryFrom<RecipientRecord> for RecipientKey {
    type Error = StoreError;
    fn try_from(r: RecipientRecord) -> Result<Self, StoreError> {
        Ok(RecipientKey {
            key_id: parse("recipient key id", &r.key_id)?,
            oin: parse("recipient oin", &r.oin)?,
            function: parse("recipient function", &r.function)?,
            age_recipient: r.age_recipient,
            valid_from: ts("recipient valid_from", r.valid_from)?,
            valid_until: opt_ts("recipient valid_until", r.valid_until)?,
            revoked_at: opt_ts("recipient revoked_at", r.revoked_at)?,
        })
    }
}

/// A row of `certificate_bindings`.
#[derive(sqlx::FromRow)]
pub(crate) struct BindingRecord {
    sha256: String,
    oin: String,
    function: String,
    not_after: i64,
}

impl TryFrom<BindingRecord> for CertificateBinding {
    type Error = StoreError;
    fn try_from(r: BindingRecord) -> Result<Self, StoreError> {
        Ok(CertificateBinding {
            sha256: r.sha256,
            oin: parse("certificate oin", &r.oin)?,
            function: parse("certificate function", &r.function)?,
            not_after: ts("certificate not_after", r.not_after)?,
        })
    }
}

/// A row of `audit_log`.
#[derive(sqlx::FromRow)]
pub(crate) struct EntryRecord {
    seq: i64,
    entry: Vec<u8>,
    leaf_hash: Vec<u8>,
    leaf_mac: Option<Vec<u8>>,
}

impl TryFrom<EntryRecord> for StoredEntry {
    type Error = StoreError;
    fn try_from(r: EntryRecord) -> Result<Self, StoreError> {
        Ok(StoredEntry {
            seq: seq("audit seq", r.seq)?,
            bytes: r.entry,
            leaf_hash: hash("audit leaf hash", &r.leaf_hash)?,
            leaf_mac: r.leaf_mac.map(|m| hash("audit leaf code", &m)).transpose()?,
        })
    }
}

/// A row of `audit_checkpoints`.
#[derive(sqlx::FromRow)]
pub(crate) struct CheckpointRecord {
    size: i64,
    root: Vec<u8>,
    frontier: Vec<u8>,
    note: String,
    created_at: i64,
}

impl TryFrom<CheckpointRecord> for StoredCheckpoint {
    type Error = StoreError;
    fn try_from(r: CheckpointRecord) -> Result<Self, StoreError> {
        if !r.frontier.len().is_multiple_of(32) {
            return Err(StoreError::Corrupt("checkpoint frontier"));
        }
        Ok(StoredCheckpoint {
            size: seq("checkpoint size", r.size)?,
            root: hash("checkpoint root", &r.root)?,
            frontier: r
                .frontier
                .chunks_exact(32)
                .map(|c| hash("checkpoint frontier", c))
                .collect::<Result<_, _>>()?,
            note: r.note,
            created_at: ts("checkpoint time", r.created_at)?,
        })
    }
}
