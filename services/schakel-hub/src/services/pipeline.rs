//! The one write pipeline of a case record (issue 19). Every write RPC that
//! creates a record — RecordConsent, Submit, RequestExpertise, GiveAdvice —
//! takes the same steps, in this order:
//!
//! 1. [`CaseWrite::begin`]: the end user must be named; the time, the
//!    policy's "today" and the request's keyed fingerprint are taken before
//!    the request is read. [`CaseWrite::retry`] says whether its idempotency
//!    key can name an earlier answer (a malformed key is a problem of the
//!    form, reported with the others).
//! 2. The handler reads its request through `crate::wire` (every field by
//!    name, every problem collected) and loads what the decision needs, once
//!    each: the parties, the consent, the keys ([`CaseWrite::keys`]).
//! 3. [`CaseWrite::decide`]: `schakel_policy` decides on the facts, or the
//!    request is refused with every problem at once — the hub's and the
//!    policy's — which `Attempt::settle` (`refuse.rs`) writes to the audit
//!    log before it is answered.
//! 4. [`CaseWrite::seal`]: the content is sealed to the addressee's current
//!    keys and, when the policy decided so (R12), to the sender's own; the
//!    necessity justifications (R8) in a unit of their own, sealed to the
//!    privacy officers of both organisations too — they are the proof that
//!    the assessment happened.
//! 5. [`CaseWrite::commit`]: the row and its audit entry in one transaction;
//!    when a concurrent call with the same key stored first, the handler's
//!    `on_race` says what that means (the first answer, replayed).

use jiff::Timestamp;
use jiff::civil::Date;
use prost::Message;
use schakel_audit::{Action, Entry, Outcome};
use schakel_crypto::Recipient;
use schakel_domain::{FunctionKind, Oin};
use schakel_policy::{BoundGroup, Decision, Facts, Retention, SealingKeys};
use schakel_store::{PartyKey, SealedRow, StoreError};
use uuid::Uuid;

use super::HubState;
use super::exchange::{
    CaseFacts, ToSeal, case_entry, current_keys, is_race, party_of, refusal, require_user, seal_all, today,
};
use crate::caller::{Caller, RequestContext};
use crate::error::{HubError, Violations};
use crate::wire::{FieldIndex, RequestNames, key_problem};

/// A case write under way: who asks, when, and the fingerprint that
/// recognises a retry of the same request.
pub struct CaseWrite<'a> {
    /// The hub.
    pub state: &'a HubState,
    /// The calling party.
    pub caller: &'a Caller,
    /// The request's audit context (end user, trace).
    pub ctx: &'a RequestContext,
    /// When the request is handled; stored as the record's time.
    pub now: Timestamp,
    /// The civil date in Europe/Amsterdam the policy decides on.
    pub on: Date,
    /// Keyed MAC of the whole request (`Pseudonymiser::fingerprint`).
    pub fingerprint: [u8; 32],
}

/// What the policy allowed.
pub struct Allowed {
    /// The groups present, each bound to its purpose.
    pub groups: Vec<BoundGroup>,
    /// How long the content may be kept (R15).
    pub retention: Retention,
    /// Whether the hardheidsclausule was applied (R2).
    pub hardheidsclausule_applied: bool,
    /// Whether the content is also sealed to the sender (R12).
    pub seal_to_sender: bool,
}

/// The current keys of both functions of a case write, read once: whether
/// each exists is a fact of the decision (R9, R12), and the same keys seal.
pub struct CaseKeys {
    /// The addressee's keys.
    pub recipient: Vec<(Uuid, Recipient)>,
    /// The calling function's own keys.
    pub own: Vec<(Uuid, Recipient)>,
}

impl CaseKeys {
    /// Which keys exist, as the policy sees it.
    pub fn facts(&self) -> SealingKeys {
        SealingKeys {
            recipient: !self.recipient.is_empty(),
            sender: !self.own.is_empty(),
        }
    }
}

impl<'a> CaseWrite<'a> {
    /// Begins a write of `kind` (the fingerprint's domain: `submit`,
    /// `consent`, …); refused when the end user is not named.
    pub fn begin(
        state: &'a HubState,
        caller: &'a Caller,
        ctx: &'a RequestContext,
        kind: &str,
        request: &impl Message,
    ) -> Result<Self, HubError> {
        require_user(ctx)?;
        let now = Timestamp::now();
        Ok(Self {
            state,
            caller,
            ctx,
            now,
            on: today(now)?,
            fingerprint: state.pseudonymiser.fingerprint(kind, &request.encode_to_vec()),
        })
    }

    /// Whether `key` may name an earlier answer: a retry returns the first
    /// answer even if the world changed since. A malformed key names
    /// nothing; the request's reading reports it.
    pub fn retry(key: &str) -> bool {
        key_problem(key).is_none()
    }

    /// The calling party as stored.
    pub fn party(&self) -> PartyKey {
        party_of(self.caller)
    }

    /// The current keys of the addressee (none when it is not known) and of
    /// the caller's own function.
    pub async fn keys(&self, recipient: Option<&PartyKey>) -> Result<CaseKeys, HubError> {
        let recipient = match recipient {
            Some(r) => current_keys(self.state, r, self.now).await?,
            None => Vec::new(),
        };
        Ok(CaseKeys {
            recipient,
            own: current_keys(self.state, &self.party(), self.now).await?,
        })
    }

    /// Asks the policy when the request gave enough to decide (`facts`);
    /// refuses with every problem otherwise — the hub's own in `v` first,
    /// then the policy's at the request's field paths.
    pub fn decide(
        &self,
        facts: Option<Facts>,
        v: Violations,
        index: &FieldIndex,
        names: &RequestNames,
    ) -> Result<Allowed, HubError> {
        let decision = facts.map(|f| super::exchange::decide(&f, &self.state.policy, self.on));
        match decision {
            Some(Decision::Allowed {
                groups,
                retention,
                hardheidsclausule_applied,
                seal_to_sender,
                ..
            }) if v.is_empty() => Ok(Allowed {
                groups,
                retention,
                hardheidsclausule_applied,
                seal_to_sender,
            }),
            d => Err(refusal(
                v,
                d.as_ref().map_or(&[][..], Decision::violations),
                index,
                names,
            )),
        }
    }

    /// Seals `content` for `record`, addressed to `to`, with the keys the
    /// decision allows, and the necessity `justifications` (R8; `purpose`
    /// is the record's) in a `meta.justifications` unit of their own that
    /// the privacy officers of the caller's and `to`'s organisation can open
    /// as well — and those of `acting_for`, the gemeente a mandated `to`
    /// acts for (R9); the group names in order with the sealed units.
    /// Nothing to seal is no unit.
    #[allow(clippy::too_many_arguments)]
    pub async fn seal(
        &self,
        content: Vec<ToSeal>,
        justifications: Option<ToSeal>,
        keys: CaseKeys,
        allowed: &Allowed,
        record: Uuid,
        to: &PartyKey,
        acting_for: Option<&Oin>,
    ) -> Result<(Vec<String>, Vec<SealedRow>), HubError> {
        let mut names: Vec<String> = content.iter().map(|g| g.plain.group.clone()).collect();
        let CaseKeys { mut recipient, own } = keys;
        if allowed.seal_to_sender {
            recipient.extend(own);
        }
        let mut units = Vec::new();
        if let Some(j) = justifications {
            let mut readers = recipient.clone();
            let own = self.caller.party.oin().clone();
            for org in [&own, &to.0].into_iter().chain(acting_for) {
                let officer = (org.clone(), FunctionKind::PrivacyOfficer);
                for k in current_keys(self.state, &officer, self.now).await? {
                    if !readers.iter().any(|(id, _)| *id == k.0) {
                        readers.push(k);
                    }
                }
            }
            names.push(j.plain.group.clone());
            units = seal_all(vec![j], readers, record, to).await?;
        }
        if !content.is_empty() {
            let mut sealed = seal_all(content, recipient, record, to).await?;
            sealed.append(&mut units);
            units = sealed;
        }
        Ok((names, units))
    }

    /// The audit entry of the write that succeeds: `action` on the case
    /// `facts` name, by this caller and end user, in this trace.
    pub fn entry(&self, action: Action, facts: CaseFacts<'_>) -> Entry {
        case_entry(
            self.ctx,
            self.caller,
            &self.state.policy,
            action,
            Outcome::Success,
            facts,
        )
    }

    /// Commits with `write` (the row and its entry, one transaction) and
    /// answers with `answer`; when a concurrent call with the same
    /// idempotency key stored first, answers with `on_race`.
    pub async fn commit<T>(
        &self,
        write: impl Future<Output = Result<(), StoreError>>,
        answer: impl AsyncFnOnce() -> Result<T, HubError>,
        on_race: impl AsyncFnOnce() -> Result<T, HubError>,
    ) -> Result<T, HubError> {
        match write.await {
            Ok(()) => answer().await,
            Err(e) if is_race(&e) => on_race().await,
            Err(e) => Err(e.into()),
        }
    }
}
