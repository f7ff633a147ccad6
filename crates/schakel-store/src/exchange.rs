//! The exchange at rest: consents, transfers and their sealed groups,
//! expertise requests and advice (issue 4).
//!
//! Nothing here holds a BSN, a name or document content in clear: subjects
//! are pseudonyms, content is age ciphertext, idempotency fingerprints are
//! keyed MACs (all computed by the hub). Every write appends its audit entry
//! in the same transaction (`audited_write!`). State transitions are
//! conditional on the state the caller read, so two hubs (or two requests)
//! racing on one transfer cannot both win: the loser gets
//! [`StoreError::Conflict`] and re-reads.

use std::collections::BTreeSet;

use jiff::Timestamp;
use jiff::civil::Date;
use schakel_audit::{Entry, RowTable};
use schakel_domain::{
    CaseDecision, ConsentGiver, ConsentMethod, ConsentStatus, DeclineReason, ExpertiseState, FieldGroup,
    FunctionKind, Oin, Pseudonym, PurposeId, TransferId, TransferState,
};
use uuid::Uuid;

use crate::audit::audited_write;
use crate::hardheidsclausule::HardheidsclausuleRow;
use crate::records::{
    ConsentRecord, ExpertiseRecord, HardheidsclausuleRecord, SealedRecord, TransferRecord, fetch,
};
use crate::row_commitments::Found;
use crate::{Store, StoreError};

const CONSENT_INSERT: &str = include_str!("../queries/consent_insert.sql");
const CONSENT_SELECT: &str = include_str!("../queries/consent_select.sql");
const CONSENT_BY_KEY: &str = include_str!("../queries/consent_by_key.sql");
const CONSENT_LIST: &str = include_str!("../queries/consent_list.sql");
const CONSENT_WITHDRAW: &str = include_str!("../queries/consent_withdraw.sql");
const TRANSFER_INSERT: &str = include_str!("../queries/transfer_insert.sql");
const TRANSFER_GROUP_INSERT: &str = include_str!("../queries/transfer_group_insert.sql");
const TRANSFER_GROUPS_SELECT: &str = include_str!("../queries/transfer_groups_select.sql");
const TRANSFER_GROUP_NEXT_ORDINAL: &str = include_str!("../queries/transfer_group_next_ordinal.sql");
const TRANSFER_SELECT: &str = include_str!("../queries/transfer_select.sql");
const TRANSFER_BY_KEY: &str = include_str!("../queries/transfer_by_key.sql");
const TRANSFER_BY_NOTICE: &str = include_str!("../queries/transfer_by_notice.sql");
const TRANSFERS_OF_CONSENT: &str = include_str!("../queries/transfers_of_consent.sql");
const TRANSFER_LIST: &str = include_str!("../queries/transfer_list.sql");
const NOTICE_LIST: &str = include_str!("../queries/notice_list.sql");
const TRANSFER_UPDATE: &str = include_str!("../queries/transfer_update.sql");
const EXPERTISE_INSERT: &str = include_str!("../queries/expertise_insert.sql");
const EXPERTISE_GROUP_INSERT: &str = include_str!("../queries/expertise_group_insert.sql");
const EXPERTISE_GROUPS_SELECT: &str = include_str!("../queries/expertise_groups_select.sql");
const EXPERTISE_SELECT: &str = include_str!("../queries/expertise_select.sql");
const EXPERTISE_BY_KEY: &str = include_str!("../queries/expertise_by_key.sql");
const EXPERTISE_BY_ADVICE_KEY: &str = include_str!("../queries/expertise_by_advice_key.sql");
const EXPERTISE_ANSWER: &str = include_str!("../queries/expertise_answer.sql");
const EXPERTISE_LIST: &str = include_str!("../queries/expertise_list.sql");

/// A party: organisation × function (R9).
pub type PartyKey = (Oin, FunctionKind);

/// One sealed unit as stored: age ciphertext to the keys named, holding one
/// group or all groups of a document bound to one purpose (issue 7; the
/// `SealedGroup` contract in common.proto). In the database the names are
/// one space-separated `group_name` value, as older rows with one group
/// already are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedRow {
    /// The group names inside, in order, e.g. `["contact.youth",
    /// "meta.justifications"]`; never empty. One name: the one-group
    /// plaintext form; several: the `{"groups":[…]}` form.
    pub groups: Vec<String>,
    /// The purpose it is bound to.
    pub purpose: PurposeId,
    /// The recipient keys it is sealed to.
    pub key_ids: Vec<Uuid>,
    /// The age ciphertext.
    pub ciphertext: Vec<u8>,
}

impl SealedRow {
    /// Whether the group `name` is in this unit.
    pub fn holds(&self, name: &str) -> bool {
        self.groups.iter().any(|g| g == name)
    }
}

/// An idempotency key with the keyed fingerprint of the request it was
/// first used for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    /// The caller's key (1–128 characters).
    pub key: String,
    /// Keyed MAC of the request (see `schakel_crypto::Pseudonymiser::fingerprint`).
    pub fingerprint: [u8; 32],
}

/// A consent record as stored. The subject is a pseudonym (absent for an
/// anonymous refusal, R13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRow {
    /// UUID v7.
    pub consent_id: Uuid,
    /// The party that recorded it.
    pub recorder: PartyKey,
    /// Subject pseudonym.
    pub subject: Option<Pseudonym>,
    /// Given, refused or withdrawn (expiry is derived from `valid_until`).
    pub status: ConsentStatus,
    /// Who gave or refused it.
    pub giver: ConsentGiver,
    /// How it was obtained.
    pub method: ConsentMethod,
    /// The purpose it is for.
    pub purpose: PurposeId,
    /// The receiving party.
    pub recipient: PartyKey,
    /// Groups consented to.
    pub groups: BTreeSet<FieldGroup>,
    /// First valid day.
    pub valid_from: Date,
    /// Last valid day, inclusive.
    pub valid_until: Option<Date>,
    /// When it was recorded.
    pub recorded_at: Timestamp,
    /// The end user who recorded it.
    pub recorded_by_user: String,
    /// When it was withdrawn.
    pub withdrawn_at: Option<Timestamp>,
    /// Who withdrew it.
    pub withdrawn_by: Option<ConsentGiver>,
    /// The caller's own reference.
    pub client_reference: String,
    /// Policy version in force when recorded.
    pub policy_version: String,
}

/// A transfer as stored: clear metadata only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRow {
    /// UUID v7.
    pub transfer_id: TransferId,
    /// The sending party.
    pub sender: PartyKey,
    /// The receiving party.
    pub recipient: PartyKey,
    /// The purpose.
    pub purpose: PurposeId,
    /// Subject pseudonym.
    pub subject: Pseudonym,
    /// The consent it rests on.
    pub consent_id: Option<Uuid>,
    /// The policy version that decided.
    pub policy_version: String,
    /// Whether the hardheidsclausule was applied (R2).
    pub hardheidsclausule: bool,
    /// The sender's judgement on return to education (R6), as a code.
    pub return_to_education: Option<String>,
    /// The sender's own reference.
    pub client_reference: String,
    /// Names of the groups sealed with the submission (including `meta.*`).
    pub groups: Vec<String>,
    /// Life-cycle state.
    pub state: TransferState,
    /// When it was accepted by the hub.
    pub submitted_at: Timestamp,
    /// When the content is to be purged (R15).
    pub retention_until: Timestamp,
    /// First fetch by the recipient.
    pub first_fetched_at: Option<Timestamp>,
    /// Receipt acknowledged.
    pub acknowledged_at: Option<Timestamp>,
    /// The recipient's own case reference.
    pub case_reference: Option<String>,
    /// The recipient's decision.
    pub decision: Option<CaseDecision>,
    /// Why it declined.
    pub decline_reason: Option<DeclineReason>,
    /// When decided.
    pub decided_at: Option<Timestamp>,
    /// The end-user role that decided.
    pub decided_by_role: Option<String>,
    /// When the consent was withdrawn.
    pub withdrawn_at: Option<Timestamp>,
    /// The withdrawal notice, when the recipient had fetched before.
    pub notice_id: Option<Uuid>,
    /// When the recipient acknowledged the notice.
    pub notice_acknowledged_at: Option<Timestamp>,
    /// Whether the recipient confirmed deletion of local copies.
    pub notice_confirmed_deletion: bool,
    /// The mandate it was delivered under (R9): the recipient is then the
    /// mandated organisation's function, acting for the mandating gemeente.
    pub mandate_id: Option<Uuid>,
    /// When the content was purged.
    pub purged_at: Option<Timestamp>,
}

/// A new transfer with its sealed groups.
#[derive(Debug, Clone)]
pub struct NewTransfer {
    /// The metadata (state `submitted`).
    pub row: TransferRow,
    /// Its idempotency key and fingerprint.
    pub idempotency: Idempotency,
    /// The sealed groups, in order.
    pub sealed: Vec<SealedRow>,
}

/// What a state transition sets besides the state. `None` keeps the stored
/// value; the "first time" columns (`first_fetched_at`, `acknowledged_at`,
/// `withdrawn_at`, `notice_id`, `notice_acknowledged_at`) are only set once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransferChange {
    /// First fetch.
    pub fetched_at: Option<Timestamp>,
    /// Receipt acknowledged.
    pub acknowledged_at: Option<Timestamp>,
    /// The recipient's case reference.
    pub case_reference: Option<String>,
    /// The recipient's decision.
    pub decision: Option<CaseDecision>,
    /// Why it declined.
    pub decline_reason: Option<DeclineReason>,
    /// When decided.
    pub decided_at: Option<Timestamp>,
    /// Role that decided.
    pub decided_by_role: Option<String>,
    /// Consent withdrawn at.
    pub withdrawn_at: Option<Timestamp>,
    /// A new withdrawal notice.
    pub notice_id: Option<Uuid>,
    /// Notice acknowledged at.
    pub notice_acknowledged_at: Option<Timestamp>,
    /// Deletion confirmed.
    pub notice_confirmed_deletion: Option<bool>,
}

/// One transfer's transition: from the state read to the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The transfer.
    pub transfer_id: TransferId,
    /// The state the caller read.
    pub from: TransferState,
    /// The state after.
    pub to: TransferState,
    /// What else changes.
    pub change: TransferChange,
}

/// Whose transfers to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Transfers this party sent (newest first).
    Sender,
    /// Transfers addressed to this party (oldest first).
    Recipient,
}

/// Filters of a transfer listing; `None` or empty means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransferFilter {
    /// Only these states.
    pub states: Vec<TransferState>,
    /// Only this purpose.
    pub purpose: Option<PurposeId>,
    /// Only this counterpart organisation.
    pub counterpart_oin: Option<Oin>,
    /// Only this counterpart function.
    pub counterpart_function: Option<FunctionKind>,
    /// Submitted at or after.
    pub submitted_after: Option<Timestamp>,
    /// Submitted before.
    pub submitted_before: Option<Timestamp>,
    /// Resting on this consent.
    pub consent_id: Option<Uuid>,
    /// Only with an open withdrawal notice.
    pub open_notices_only: bool,
    /// Of the transfers delivered under a mandate, only those under these
    /// (the mandates in force for the listing party, R9); `None`: all.
    pub mandates: Option<Vec<Uuid>>,
}

/// Filters of a consent listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsentFilter {
    /// Only this subject pseudonym.
    pub subject: Option<Pseudonym>,
    /// Only this purpose.
    pub purpose: Option<PurposeId>,
    /// Only this stored status.
    pub status: Option<ConsentStatus>,
    /// Only this recipient organisation.
    pub recipient_oin: Option<Oin>,
    /// Only this recipient function.
    pub recipient_function: Option<FunctionKind>,
    /// Recorded at or after.
    pub recorded_after: Option<Timestamp>,
    /// Recorded before.
    pub recorded_before: Option<Timestamp>,
}

/// An expertise request (R7) and, once answered, its advice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpertiseRow {
    /// UUID v7.
    pub request_id: Uuid,
    /// The asking Participatiewet function.
    pub requester: PartyKey,
    /// The asked Doorstroompunt function.
    pub doorstroompunt: PartyKey,
    /// Subject pseudonym.
    pub subject: Pseudonym,
    /// `open`, `answered` or `purged`.
    pub state: ExpertiseState,
    /// Groups sealed with the request.
    pub groups: Vec<String>,
    /// When asked.
    pub requested_at: Timestamp,
    /// Policy version that decided the request.
    pub policy_version: String,
    /// When the content is to be purged (R15).
    pub retention_until: Timestamp,
    /// The requester's own reference.
    pub client_reference: String,
    /// When answered.
    pub answered_at: Option<Timestamp>,
    /// Advice outcome code.
    pub outcome: Option<String>,
    /// Groups sealed with the advice.
    pub advice_groups: Vec<String>,
    /// Policy version that decided the advice.
    pub advice_policy_version: Option<String>,
    /// The advice's idempotency key and fingerprint.
    pub advice_idempotency: Option<Idempotency>,
}

/// Filters of an expertise listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpertiseFilter {
    /// Requests the party asked (`true`) or received.
    pub asked: bool,
    /// Only this state.
    pub state: Option<ExpertiseState>,
    /// Asked at or after.
    pub requested_after: Option<Timestamp>,
    /// Asked before.
    pub requested_before: Option<Timestamp>,
}

/// The advice that answers a request.
#[derive(Debug, Clone)]
pub struct NewAdvice {
    /// When given.
    pub answered_at: Timestamp,
    /// Outcome code.
    pub outcome: String,
    /// Policy version that decided.
    pub policy_version: String,
    /// Its idempotency key.
    pub idempotency: Idempotency,
    /// Sealed groups (advice text, attachments, justifications).
    pub sealed: Vec<SealedRow>,
}

/// Which part of an expertise exchange sealed groups belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpertisePart {
    /// Sealed to the Doorstroompunt with the request.
    Request,
    /// Sealed to the requester with the advice.
    Advice,
}

impl ExpertisePart {
    fn as_str(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Advice => "advice",
        }
    }
}

// ---- encoding helpers ----

fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

fn opt_ms(t: Option<Timestamp>) -> Option<i64> {
    t.map(ms)
}

fn join<T: AsRef<str>>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|s| s.as_ref().to_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn limit(n: u32) -> i64 {
    i64::from(n)
}

/// Inserts sealed groups of one part of an expertise exchange in `$tx`.
macro_rules! insert_expertise_groups {
    ($tx:ident, $id:expr, $part:expr, $sealed:expr) => {
        for (i, g) in $sealed.iter().enumerate() {
            sqlx::query(EXPERTISE_GROUP_INSERT)
                .bind($id)
                .bind($part.as_str())
                .bind(i as i64)
                .bind(join(&g.groups))
                .bind(g.purpose.as_str())
                .bind(join(g.key_ids.iter().map(|k| k.to_string())))
                .bind(&g.ciphertext[..])
                .execute(&mut *$tx)
                .await
                .map_err(|e| StoreError::from_sqlx("expertise request", e))?;
        }
    };
}

/// Binds a [`Transition`] to `transfer_update.sql`.
macro_rules! bind_transition {
    ($q:expr, $t:expr) => {{
        let t: &Transition = $t;
        let c = &t.change;
        $q.bind(t.transfer_id.to_string())
            .bind(t.from.as_str())
            .bind(t.to.as_str())
            .bind(opt_ms(c.fetched_at))
            .bind(opt_ms(c.acknowledged_at))
            .bind(c.case_reference.as_deref())
            .bind(c.decision.map(|d| d.as_str()))
            .bind(c.decline_reason.map(|r| r.as_str()))
            .bind(opt_ms(c.decided_at))
            .bind(c.decided_by_role.as_deref())
            .bind(opt_ms(c.withdrawn_at))
            .bind(c.notice_id.map(|n| n.to_string()))
            .bind(opt_ms(c.notice_acknowledged_at))
            .bind(c.notice_confirmed_deletion)
    }};
}

fn states_filter(states: &[TransferState]) -> Option<String> {
    if states.is_empty() {
        None
    } else {
        Some(format!(
            "|{}|",
            states.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("|")
        ))
    }
}

/// The sealed units of an expertise exchange, each with its part, in the
/// order their digest takes them (`row_commitments`).
pub(crate) fn expertise_parts<'a>(
    request: &'a [SealedRow],
    advice: &'a [SealedRow],
) -> impl Iterator<Item = (&'a str, &'a SealedRow)> {
    let request = request.iter().map(|u| (ExpertisePart::Request.as_str(), u));
    request.chain(advice.iter().map(|u| (ExpertisePart::Advice.as_str(), u)))
}

/// Reads, inside a write transaction, of the rows an audit entry commits to
/// (`row_commitments::commitments_in_tx`): the same queries and decoding as
/// the reads that later check them.
pub(crate) trait CommittedRows {
    /// A consent with its idempotency key.
    async fn consent_in_tx(&mut self, id: Uuid) -> Result<Option<(ConsentRow, Idempotency)>, StoreError>;
    /// A transfer with its idempotency key and sealed units.
    async fn transfer_in_tx(
        &mut self,
        id: Uuid,
    ) -> Result<Option<(TransferRow, Idempotency, Vec<SealedRow>)>, StoreError>;
    /// An expertise request with its idempotency key and the sealed units of
    /// its request and advice.
    #[allow(clippy::type_complexity)]
    async fn expertise_in_tx(
        &mut self,
        id: Uuid,
    ) -> Result<Option<(ExpertiseRow, Idempotency, Vec<SealedRow>, Vec<SealedRow>)>, StoreError>;
    /// A hardheidsclausule decision with its idempotency key.
    async fn hardheidsclausule_in_tx(
        &mut self,
        id: Uuid,
    ) -> Result<Option<(HardheidsclausuleRow, Idempotency)>, StoreError>;
}

macro_rules! committed_rows_for {
    ($conn:ty) => {
        impl CommittedRows for $conn {
            async fn consent_in_tx(
                &mut self,
                id: Uuid,
            ) -> Result<Option<(ConsentRow, Idempotency)>, StoreError> {
                fetch!(tx self, fetch_optional, ConsentRecord, "consent", CONSENT_SELECT, [id.to_string()])
            }

            async fn transfer_in_tx(
                &mut self,
                id: Uuid,
            ) -> Result<Option<(TransferRow, Idempotency, Vec<SealedRow>)>, StoreError> {
                let found: Option<(TransferRow, Idempotency)> =
                    fetch!(tx self, fetch_optional, TransferRecord, "transfer", TRANSFER_SELECT, [id.to_string()])?;
                let Some((t, idem)) = found else { return Ok(None) };
                let units: Vec<SealedRow> =
                    fetch!(tx self, fetch_all, SealedRecord, "transfer", TRANSFER_GROUPS_SELECT, [id.to_string()])?;
                Ok(Some((t, idem, units)))
            }

            async fn expertise_in_tx(
                &mut self,
                id: Uuid,
            ) -> Result<Option<(ExpertiseRow, Idempotency, Vec<SealedRow>, Vec<SealedRow>)>, StoreError> {
                let found: Option<(ExpertiseRow, Idempotency)> = fetch!(
                    tx self,
                    fetch_optional,
                    ExpertiseRecord,
                    "expertise request",
                    EXPERTISE_SELECT,
                    [id.to_string()]
                )?;
                let Some((e, idem)) = found else { return Ok(None) };
                let mut parts: [Vec<SealedRow>; 2] = [Vec::new(), Vec::new()];
                for (part, units) in [ExpertisePart::Request, ExpertisePart::Advice]
                    .into_iter()
                    .zip(&mut parts)
                {
                    *units = fetch!(
                        tx self,
                        fetch_all,
                        SealedRecord,
                        "expertise request",
                        EXPERTISE_GROUPS_SELECT,
                        [id.to_string(), part.as_str()]
                    )?;
                }
                let [request, advice] = parts;
                Ok(Some((e, idem, request, advice)))
            }

            async fn hardheidsclausule_in_tx(
                &mut self,
                id: Uuid,
            ) -> Result<Option<(HardheidsclausuleRow, Idempotency)>, StoreError> {
                fetch!(
                    tx self,
                    fetch_optional,
                    HardheidsclausuleRecord,
                    "hardheidsclausule decision",
                    crate::hardheidsclausule::SELECT,
                    [id.to_string()]
                )
            }
        }
    };
}
committed_rows_for!(sqlx::SqliteConnection);
committed_rows_for!(sqlx::PgConnection);

impl Store {
    // ---- consents ----

    /// Stores a new consent record (given or refused) with its audit entry.
    /// A reused idempotency key answers [`StoreError::Conflict`]; the caller
    /// then looks the first record up with [`Store::consent_by_key`].
    #[tracing::instrument(name = "store.insert_consent", skip_all)]
    pub async fn insert_consent(
        &self,
        c: &ConsentRow,
        idem: &Idempotency,
        now: Timestamp,
        audit: Entry,
    ) -> Result<(), StoreError> {
        audited_write!(self, "consent", audit, now, rows = [(RowTable::CONSENT, c.consent_id)], tx => sqlx::query(CONSENT_INSERT)
            .bind(c.consent_id.to_string())
            .bind(c.recorder.0.as_str())
            .bind(c.recorder.1.as_str())
            .bind(&idem.key)
            .bind(&idem.fingerprint[..])
            .bind(c.subject.as_ref().map(Pseudonym::as_str))
            .bind(c.status.as_str())
            .bind(c.giver.as_str())
            .bind(c.method.as_str())
            .bind(c.purpose.as_str())
            .bind(c.recipient.0.as_str())
            .bind(c.recipient.1.as_str())
            .bind(join(c.groups.iter().map(|g| g.as_str())))
            .bind(c.valid_from.to_string())
            .bind(c.valid_until.map(|d| d.to_string()))
            .bind(ms(c.recorded_at))
            .bind(&c.recorded_by_user)
            .bind(opt_ms(c.withdrawn_at))
            .bind(c.withdrawn_by.map(|g| g.as_str()))
            .bind(&c.client_reference)
            .bind(&c.policy_version)
            .execute(&mut *tx)
            .await
            .map(|_| ())
            .map_err(|e| StoreError::from_sqlx("consent", e)));
        Ok(())
    }

    /// One consent by id.
    #[tracing::instrument(name = "store.consent", skip_all)]
    pub async fn consent(&self, id: Uuid) -> Result<Option<ConsentRow>, StoreError> {
        let found: Option<(ConsentRow, Idempotency)> = fetch!(
            self,
            fetch_optional,
            ConsentRecord,
            "consent",
            CONSENT_SELECT,
            [id.to_string()]
        )?;
        if let Some((c, idem)) = &found {
            self.check_row(Found::consent(c, idem)).await?;
        }
        Ok(found.map(|(c, _)| c))
    }

    /// The consent a party recorded under an idempotency key.
    #[tracing::instrument(name = "store.consent_by_key", skip_all)]
    pub async fn consent_by_key(
        &self,
        recorder: &PartyKey,
        key: &str,
    ) -> Result<Option<(ConsentRow, Idempotency)>, StoreError> {
        let found: Option<(ConsentRow, Idempotency)> = fetch!(
            self,
            fetch_optional,
            ConsentRecord,
            "consent",
            CONSENT_BY_KEY,
            [recorder.0.as_str(), recorder.1.as_str(), key]
        )?;
        if let Some((c, idem)) = &found {
            self.check_row(Found::consent(c, idem)).await?;
            self.vouch_for_replay().await?;
        }
        Ok(found)
    }

    /// Consents a party recorded, newest first, after the cursor `before` (exclusive).
    #[tracing::instrument(name = "store.list_consents", skip_all)]
    pub async fn list_consents(
        &self,
        recorder: &PartyKey,
        f: &ConsentFilter,
        before: Option<Uuid>,
        max: u32,
    ) -> Result<Vec<ConsentRow>, StoreError> {
        let rows: Vec<(ConsentRow, Idempotency)> = fetch!(
            self,
            fetch_all,
            ConsentRecord,
            "consent",
            CONSENT_LIST,
            [
                recorder.0.as_str(),
                recorder.1.as_str(),
                before.map(|u| u.to_string()),
                f.subject.as_ref().map(Pseudonym::as_str),
                f.purpose.as_ref().map(|p| p.as_str().to_owned()),
                f.status.map(|s| s.as_str()),
                f.recipient_oin.as_ref().map(|o| o.as_str().to_owned()),
                f.recipient_function.map(|x| x.as_str()),
                opt_ms(f.recorded_after),
                opt_ms(f.recorded_before),
                limit(max)
            ]
        )?;
        let found: Vec<_> = rows.iter().map(|(c, idem)| Found::consent(c, idem)).collect();
        self.check_rows(found).await?;
        Ok(rows.into_iter().map(|(c, _)| c).collect())
    }

    /// Withdraws a given consent and applies the transitions of the
    /// transfers resting on it (delivery stopped, or a withdrawal notice), in
    /// one transaction with an entry per transfer (`transfer_entries`, in the
    /// order of `transitions`) and then the consent's own entry, which
    /// commits to every row changed. [`StoreError::Conflict`] when the consent
    /// or a transfer changed since it was read.
    #[tracing::instrument(name = "store.withdraw_consent", skip_all)]
    pub async fn withdraw_consent(
        &self,
        consent_id: Uuid,
        withdrawn_at: Timestamp,
        by: ConsentGiver,
        transitions: &[Transition],
        transfer_entries: Vec<Entry>,
        audit: Entry,
    ) -> Result<(), StoreError> {
        let rows: Vec<(RowTable, Uuid)> = std::iter::once((RowTable::CONSENT, consent_id))
            .chain(
                transitions
                    .iter()
                    .map(|t| (RowTable::TRANSFER, t.transfer_id.uuid())),
            )
            .collect();
        audited_write!(self, "consent", audit, withdrawn_at, rows = rows[..], tx => async {
            let n = sqlx::query(CONSENT_WITHDRAW)
                .bind(consent_id.to_string())
                .bind(ms(withdrawn_at))
                .bind(by.as_str())
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::from_sqlx("consent", e))?
                .rows_affected();
            if n != 1 {
                return Err(StoreError::Conflict("consent state"));
            }
            for t in transitions {
                let n = bind_transition!(sqlx::query(TRANSFER_UPDATE), t)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| StoreError::from_sqlx("transfer", e))?
                    .rows_affected();
                if n != 1 {
                    return Err(StoreError::Conflict("transfer state"));
                }
            }
            for entry in transfer_entries {
                crate::audit::append_audit_in_tx!(tx, entry, withdrawn_at, self.leaf_key.as_deref());
            }
            Ok::<(), StoreError>(())
        }.await);
        Ok(())
    }

    // ---- transfers ----

    /// Stores a new transfer, its sealed groups and its audit entry in one
    /// transaction. A reused idempotency key answers [`StoreError::Conflict`].
    #[tracing::instrument(name = "store.insert_transfer", skip_all)]
    pub async fn insert_transfer(
        &self,
        t: &NewTransfer,
        now: Timestamp,
        audit: Entry,
    ) -> Result<(), StoreError> {
        let r = &t.row;
        let id = r.transfer_id.to_string();
        audited_write!(self, "transfer", audit, now, rows = [(RowTable::TRANSFER, r.transfer_id.uuid())], tx => async {
            sqlx::query(TRANSFER_INSERT)
                .bind(&id)
                .bind(r.sender.0.as_str())
                .bind(r.sender.1.as_str())
                .bind(&t.idempotency.key)
                .bind(&t.idempotency.fingerprint[..])
                .bind(r.recipient.0.as_str())
                .bind(r.recipient.1.as_str())
                .bind(r.purpose.as_str())
                .bind(r.subject.as_str())
                .bind(r.consent_id.map(|c| c.to_string()))
                .bind(&r.policy_version)
                .bind(r.hardheidsclausule)
                .bind(r.return_to_education.as_deref())
                .bind(&r.client_reference)
                .bind(join(&r.groups))
                .bind(r.state.as_str())
                .bind(ms(r.submitted_at))
                .bind(ms(r.retention_until))
                .bind(r.mandate_id.map(|m| m.to_string()))
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::from_sqlx("transfer", e))?;
            for (i, g) in t.sealed.iter().enumerate() {
                sqlx::query(TRANSFER_GROUP_INSERT)
                    .bind(&id)
                    .bind(i as i64)
                    .bind(join(&g.groups))
                    .bind(g.purpose.as_str())
                    .bind(join(g.key_ids.iter().map(|k| k.to_string())))
                    .bind(&g.ciphertext[..])
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| StoreError::from_sqlx("transfer", e))?;
            }
            Ok::<(), StoreError>(())
        }.await);
        Ok(())
    }

    /// One transfer by id.
    #[tracing::instrument(name = "store.transfer", skip_all)]
    pub async fn transfer(&self, id: TransferId) -> Result<Option<TransferRow>, StoreError> {
        let found: Option<(TransferRow, Idempotency)> = fetch!(
            self,
            fetch_optional,
            TransferRecord,
            "transfer",
            TRANSFER_SELECT,
            [id.to_string()]
        )?;
        if let Some((t, idem)) = &found {
            self.check_row(Found::transfer(t, idem)).await?;
        }
        Ok(found.map(|(t, _)| t))
    }

    /// The transfer a sender submitted under an idempotency key.
    #[tracing::instrument(name = "store.transfer_by_key", skip_all)]
    pub async fn transfer_by_key(
        &self,
        sender: &PartyKey,
        key: &str,
    ) -> Result<Option<(TransferRow, Idempotency)>, StoreError> {
        let found: Option<(TransferRow, Idempotency)> = fetch!(
            self,
            fetch_optional,
            TransferRecord,
            "transfer",
            TRANSFER_BY_KEY,
            [sender.0.as_str(), sender.1.as_str(), key]
        )?;
        if let Some((t, idem)) = &found {
            self.check_row(Found::transfer(t, idem)).await?;
            self.vouch_for_replay().await?;
        }
        Ok(found)
    }

    /// The transfer a withdrawal notice belongs to.
    #[tracing::instrument(name = "store.transfer_by_notice", skip_all)]
    pub async fn transfer_by_notice(&self, notice_id: Uuid) -> Result<Option<TransferRow>, StoreError> {
        let found: Option<(TransferRow, Idempotency)> = fetch!(
            self,
            fetch_optional,
            TransferRecord,
            "transfer",
            TRANSFER_BY_NOTICE,
            [notice_id.to_string()]
        )?;
        if let Some((t, idem)) = &found {
            self.check_row(Found::transfer(t, idem)).await?;
        }
        Ok(found.map(|(t, _)| t))
    }

    /// Every transfer resting on a consent.
    #[tracing::instrument(name = "store.transfers_of_consent", skip_all)]
    pub async fn transfers_of_consent(&self, consent_id: Uuid) -> Result<Vec<TransferRow>, StoreError> {
        let rows: Vec<(TransferRow, Idempotency)> = fetch!(
            self,
            fetch_all,
            TransferRecord,
            "transfer",
            TRANSFERS_OF_CONSENT,
            [consent_id.to_string()]
        )?;
        let found: Vec<_> = rows.iter().map(|(t, idem)| Found::transfer(t, idem)).collect();
        self.check_rows(found).await?;
        Ok(rows.into_iter().map(|(t, _)| t).collect())
    }

    /// The sealed groups of a transfer, in order.
    #[tracing::instrument(name = "store.transfer_groups", skip_all)]
    pub async fn transfer_groups(&self, id: TransferId) -> Result<Vec<SealedRow>, StoreError> {
        let units: Vec<SealedRow> = fetch!(
            self,
            fetch_all,
            SealedRecord,
            "transfer",
            TRANSFER_GROUPS_SELECT,
            [id.to_string()]
        )?;
        self.check_row(Found::transfer_units(id.uuid(), &units)).await?;
        Ok(units)
    }

    /// One party's transfers: sent ones newest first, received ones oldest
    /// first, after the cursor `after` (exclusive, in listing order).
    #[tracing::instrument(name = "store.list_transfers", skip_all)]
    pub async fn list_transfers(
        &self,
        party: &PartyKey,
        side: Side,
        f: &TransferFilter,
        after: Option<Uuid>,
        max: u32,
    ) -> Result<Vec<TransferRow>, StoreError> {
        let (side, order) = match side {
            Side::Sender => ("sender", "desc"),
            Side::Recipient => ("recipient", "asc"),
        };
        let rows: Vec<(TransferRow, Idempotency)> = fetch!(
            self,
            fetch_all,
            TransferRecord,
            "transfer",
            TRANSFER_LIST,
            [
                party.0.as_str(),
                party.1.as_str(),
                after.map(|u| u.to_string()),
                order,
                states_filter(&f.states),
                f.purpose.as_ref().map(|p| p.as_str().to_owned()),
                f.counterpart_oin.as_ref().map(|o| o.as_str().to_owned()),
                f.counterpart_function.map(|x| x.as_str()),
                opt_ms(f.submitted_after),
                opt_ms(f.submitted_before),
                f.consent_id.map(|c| c.to_string()),
                side,
                i64::from(f.open_notices_only),
                limit(max),
                f.mandates.as_ref().map(|ids| {
                    let mut s = String::from("|");
                    for id in ids {
                        s.push_str(&id.to_string());
                        s.push('|');
                    }
                    s
                })
            ]
        )?;
        let found: Vec<_> = rows.iter().map(|(t, idem)| Found::transfer(t, idem)).collect();
        self.check_rows(found).await?;
        Ok(rows.into_iter().map(|(t, _)| t).collect())
    }

    /// Transfers with a withdrawal notice addressed to a recipient, by
    /// notice id (oldest first), after the cursor `after`.
    #[tracing::instrument(name = "store.list_notices", skip_all)]
    pub async fn list_notices(
        &self,
        recipient: &PartyKey,
        open_only: bool,
        after: Option<Uuid>,
        max: u32,
    ) -> Result<Vec<TransferRow>, StoreError> {
        let rows: Vec<(TransferRow, Idempotency)> = fetch!(
            self,
            fetch_all,
            TransferRecord,
            "transfer",
            NOTICE_LIST,
            [
                recipient.0.as_str(),
                recipient.1.as_str(),
                after.map(|u| u.to_string()),
                i64::from(open_only),
                limit(max)
            ]
        )?;
        let found: Vec<_> = rows.iter().map(|(t, idem)| Found::transfer(t, idem)).collect();
        self.check_rows(found).await?;
        Ok(rows.into_iter().map(|(t, _)| t).collect())
    }

    /// Applies one transition (possibly to the same state: a repeated fetch)
    /// with extra sealed groups (e.g. `meta.decision`) and its audit entry, in
    /// one transaction. [`StoreError::Conflict`] when the state changed since
    /// it was read.
    #[tracing::instrument(name = "store.transition_transfer", skip_all)]
    pub async fn transition_transfer(
        &self,
        t: &Transition,
        extra: &[SealedRow],
        now: Timestamp,
        audit: Entry,
    ) -> Result<(), StoreError> {
        let id = t.transfer_id.to_string();
        audited_write!(self, "transfer", audit, now, rows = [(RowTable::TRANSFER, t.transfer_id.uuid())], tx => async {
            let n = bind_transition!(sqlx::query(TRANSFER_UPDATE), t)
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::from_sqlx("transfer", e))?
                .rows_affected();
            if n != 1 {
                return Err(StoreError::Conflict("transfer state"));
            }
            if !extra.is_empty() {
                let next: i64 = sqlx::query_scalar(TRANSFER_GROUP_NEXT_ORDINAL)
                    .bind(&id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| StoreError::from_sqlx("transfer", e))?;
                for (i, g) in extra.iter().enumerate() {
                    sqlx::query(TRANSFER_GROUP_INSERT)
                        .bind(&id)
                        .bind(next + i as i64)
                        .bind(join(&g.groups))
                        .bind(g.purpose.as_str())
                        .bind(join(g.key_ids.iter().map(|k| k.to_string())))
                        .bind(&g.ciphertext[..])
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| StoreError::from_sqlx("transfer", e))?;
                }
            }
            Ok::<(), StoreError>(())
        }.await);
        Ok(())
    }

    // ---- expertise ----

    /// Stores a new expertise request with its sealed groups and audit entry.
    /// A reused idempotency key answers [`StoreError::Conflict`].
    #[tracing::instrument(name = "store.insert_expertise", skip_all)]
    pub async fn insert_expertise(
        &self,
        r: &ExpertiseRow,
        idem: &Idempotency,
        sealed: &[SealedRow],
        now: Timestamp,
        audit: Entry,
    ) -> Result<(), StoreError> {
        let id = r.request_id.to_string();
        audited_write!(self, "expertise request", audit, now, rows = [(RowTable::EXPERTISE, r.request_id)], tx => async {
            sqlx::query(EXPERTISE_INSERT)
                .bind(&id)
                .bind(r.requester.0.as_str())
                .bind(r.requester.1.as_str())
                .bind(&idem.key)
                .bind(&idem.fingerprint[..])
                .bind(r.doorstroompunt.0.as_str())
                .bind(r.doorstroompunt.1.as_str())
                .bind(r.subject.as_str())
                .bind(join(&r.groups))
                .bind(ms(r.requested_at))
                .bind(&r.policy_version)
                .bind(ms(r.retention_until))
                .bind(&r.client_reference)
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::from_sqlx("expertise request", e))?;
            insert_expertise_groups!(tx, &id, ExpertisePart::Request, sealed);
            Ok::<(), StoreError>(())
        }.await);
        Ok(())
    }

    /// One expertise request by id.
    #[tracing::instrument(name = "store.expertise", skip_all)]
    pub async fn expertise(&self, id: Uuid) -> Result<Option<ExpertiseRow>, StoreError> {
        let found: Option<(ExpertiseRow, Idempotency)> = fetch!(
            self,
            fetch_optional,
            ExpertiseRecord,
            "expertise request",
            EXPERTISE_SELECT,
            [id.to_string()]
        )?;
        if let Some((e, idem)) = &found {
            self.check_row(Found::expertise(e, idem)).await?;
        }
        Ok(found.map(|(e, _)| e))
    }

    /// The request a party asked under an idempotency key.
    #[tracing::instrument(name = "store.expertise_by_key", skip_all)]
    pub async fn expertise_by_key(
        &self,
        requester: &PartyKey,
        key: &str,
    ) -> Result<Option<(ExpertiseRow, Idempotency)>, StoreError> {
        let found: Option<(ExpertiseRow, Idempotency)> = fetch!(
            self,
            fetch_optional,
            ExpertiseRecord,
            "expertise request",
            EXPERTISE_BY_KEY,
            [requester.0.as_str(), requester.1.as_str(), key]
        )?;
        if let Some((e, idem)) = &found {
            self.check_row(Found::expertise(e, idem)).await?;
            self.vouch_for_replay().await?;
        }
        Ok(found)
    }

    /// The request a Doorstroompunt answered under an advice idempotency key.
    #[tracing::instrument(name = "store.expertise_by_advice_key", skip_all)]
    pub async fn expertise_by_advice_key(
        &self,
        doorstroompunt: &PartyKey,
        key: &str,
    ) -> Result<Option<ExpertiseRow>, StoreError> {
        let found: Option<(ExpertiseRow, Idempotency)> = fetch!(
            self,
            fetch_optional,
            ExpertiseRecord,
            "expertise request",
            EXPERTISE_BY_ADVICE_KEY,
            [doorstroompunt.0.as_str(), doorstroompunt.1.as_str(), key]
        )?;
        if let Some((e, idem)) = &found {
            self.check_row(Found::expertise(e, idem)).await?;
            self.vouch_for_replay().await?;
        }
        Ok(found.map(|(e, _)| e))
    }

    /// Sealed groups of one part of an expertise exchange.
    #[tracing::instrument(name = "store.expertise_groups", skip_all)]
    pub async fn expertise_groups(
        &self,
        id: Uuid,
        part: ExpertisePart,
    ) -> Result<Vec<SealedRow>, StoreError> {
        // The commitment covers both parts: read both, serve one.
        let mut parts: [Vec<SealedRow>; 2] = [Vec::new(), Vec::new()];
        for (p, units) in [ExpertisePart::Request, ExpertisePart::Advice]
            .into_iter()
            .zip(&mut parts)
        {
            *units = fetch!(
                self,
                fetch_all,
                SealedRecord,
                "expertise request",
                EXPERTISE_GROUPS_SELECT,
                [id.to_string(), p.as_str()]
            )?;
        }
        let [request, advice] = parts;
        self.check_row(Found::expertise_units(id, &request, &advice))
            .await?;
        Ok(match part {
            ExpertisePart::Request => request,
            ExpertisePart::Advice => advice,
        })
    }

    /// A party's expertise requests, newest first: those it asked
    /// (`asked = true`) or received.
    #[tracing::instrument(name = "store.list_expertise", skip_all)]
    pub async fn list_expertise(
        &self,
        party: &PartyKey,
        f: &ExpertiseFilter,
        before: Option<Uuid>,
        max: u32,
    ) -> Result<Vec<ExpertiseRow>, StoreError> {
        let rows: Vec<(ExpertiseRow, Idempotency)> = fetch!(
            self,
            fetch_all,
            ExpertiseRecord,
            "expertise request",
            EXPERTISE_LIST,
            [
                party.0.as_str(),
                party.1.as_str(),
                if f.asked { "asked" } else { "received" },
                before.map(|u| u.to_string()),
                f.state.map(|s| s.as_str()),
                opt_ms(f.requested_after),
                opt_ms(f.requested_before),
                limit(max)
            ]
        )?;
        let found: Vec<_> = rows.iter().map(|(e, idem)| Found::expertise(e, idem)).collect();
        self.check_rows(found).await?;
        Ok(rows.into_iter().map(|(e, _)| e).collect())
    }

    /// Answers an open request (R7) with its advice, sealed groups and audit
    /// entry. [`StoreError::Conflict`] when it is no longer open, or the
    /// advice idempotency key was used before.
    #[tracing::instrument(name = "store.answer_expertise", skip_all)]
    pub async fn answer_expertise(
        &self,
        request_id: Uuid,
        advice: &NewAdvice,
        audit: Entry,
    ) -> Result<(), StoreError> {
        let id = request_id.to_string();
        audited_write!(self, "expertise request", audit, advice.answered_at, rows = [(RowTable::EXPERTISE, request_id)], tx => async {
            let n = sqlx::query(EXPERTISE_ANSWER)
                .bind(&id)
                .bind(ms(advice.answered_at))
                .bind(&advice.outcome)
                .bind(join(advice.sealed.iter().flat_map(|g| g.groups.iter())))
                .bind(&advice.policy_version)
                .bind(&advice.idempotency.key)
                .bind(&advice.idempotency.fingerprint[..])
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::from_sqlx("expertise request", e))?
                .rows_affected();
            if n != 1 {
                return Err(StoreError::Conflict("expertise request state"));
            }
            insert_expertise_groups!(tx, &id, ExpertisePart::Advice, &advice.sealed);
            Ok::<(), StoreError>(())
        }.await);
        Ok(())
    }
}
