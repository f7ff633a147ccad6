//! A privacy officer reads the necessity justifications (R8) of a transfer
//! its organisation sent or received: the proof that the sender assessed
//! this youth's case. The hub seals them to both organisations' privacy
//! officers as well (`pipeline::CaseWrite::seal`); the officer opens them
//! with its own age identity, and the reading is audited.

use jiff::Timestamp;
use schakel_audit::{Action, Outcome};
use schakel_policy::RuleId;
use schakel_proto::v1 as pb;
use schakel_store::SealedRow;

use super::AuditApi;
use crate::caller::{Caller, RequestContext};
use crate::error::{HubError, Violation};
use crate::services::exchange::{CaseFacts, case_entry, own_key_ids};
use crate::wire::{id_or_not_found, party_to_pb, sealed_to_pb};

/// The group the justifications are sealed in.
const JUSTIFICATIONS: &str = "meta.justifications";

/// The `meta.justifications` units of the transfer sealed to the caller.
pub(super) async fn get(
    api: &AuditApi,
    caller: &Caller,
    ctx: &RequestContext,
    r: pb::GetJustificationsRequest,
) -> Result<pb::GetJustificationsResponse, HubError> {
    let state = &api.0;
    let pb::GetJustificationsRequest { transfer_id } = r;
    let id = id_or_not_found(&transfer_id, "transfer")?;
    let own = caller.party.oin();
    // Another organisation's transfer answers like one that does not exist;
    // one delivered under a mandate is the mandating gemeente's too (R9).
    let found = state.store.transfer(id.into()).await?;
    let mandating = match found.as_ref().and_then(|t| t.mandate_id) {
        Some(m) => state.store.mandate(m).await?.map(|m| m.mandating.0),
        None => None,
    };
    let t = match found {
        Some(t) if t.sender.0 == *own || t.recipient.0 == *own || mandating.as_ref() == Some(own) => t,
        _ => return Err(HubError::NotFound("transfer")),
    };
    let mine = own_key_ids(state, caller).await?;
    let units: Vec<SealedRow> = state
        .store
        .transfer_groups(t.transfer_id)
        .await?
        .into_iter()
        .filter(|u| u.holds(JUSTIFICATIONS) && u.key_ids.iter().any(|k| mine.contains(k)))
        .collect();
    if units.is_empty() {
        return Err(HubError::Precondition(vec![Violation::rule(
            "transfer_id",
            RuleId::R8,
            "no necessity justification of this transfer is sealed to your keys: it carries none, or it was \
             sent before your function registered a key",
        )]));
    }
    let entry = case_entry(
        ctx,
        caller,
        &state.policy,
        Action::JustificationsRead,
        Outcome::Success,
        CaseFacts {
            purpose: Some(&t.purpose),
            subject: Some(&t.subject),
            transfer_id: Some(t.transfer_id.uuid()),
            groups: vec![JUSTIFICATIONS.to_owned()],
            parties: [&t.sender.0, &t.recipient.0]
                .into_iter()
                .chain(&mandating)
                .collect(),
            ..CaseFacts::default()
        },
    );
    // Audited before it answers, like every read of the log's subjects.
    state.store.append_audit(entry, Timestamp::now()).await?;
    Ok(pb::GetJustificationsResponse {
        transfer_id: t.transfer_id.to_string(),
        purpose: t.purpose.as_str().to_owned(),
        sender: Some(party_to_pb(&t.sender)),
        recipient: Some(party_to_pb(&t.recipient)),
        groups: units.iter().map(sealed_to_pb).collect(),
    })
}
