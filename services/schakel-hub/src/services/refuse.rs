//! The one way a write RPC is refused: whatever the reason — a malformed
//! request, a rule of the policy, the state of the transfer, a missing key —
//! the refusal is written to the audit log before it is answered, with what
//! the use case had learned of the case by then (issue 19). A privacy
//! officer then sees every attempt, not only the ones a handler remembered to
//! log.
//!
//! A write handler makes an [`Attempt`], lets the use case fill it in as it
//! learns (the purpose, the youth's pseudonym, the transfer), and passes the
//! answer through [`Attempt::settle`]:
//!
//! ```text
//! let mut attempt = Attempt::new(Action::TransferRefused);
//! let answer = self.submit(&caller, &ctx, request, &mut attempt).await;
//! attempt.settle(&self.0, &caller, &ctx, answer).await
//! ```

use jiff::Timestamp;
use schakel_audit::{Action, Outcome};
use schakel_domain::{Oin, Pseudonym, PurposeId};
use schakel_store::TransferRow;
use uuid::Uuid;

use super::HubState;
use super::exchange::{CaseFacts, case_entry};
use crate::caller::Caller;
use crate::caller::RequestContext;
use crate::error::{HubError, audit_rules};

/// What a write attempt concerned, as far as the use case got.
#[derive(Debug)]
pub struct Attempt {
    /// The action a refusal is written as (`transfer_refused`, or the
    /// action the write would have been, with outcome `refused`).
    action: Action,
    /// The purpose it served.
    pub purpose: Option<PurposeId>,
    /// The youth's pseudonym, once the BSN was read.
    pub subject: Option<Pseudonym>,
    /// The transfer or expertise request concerned.
    pub transfer_id: Option<Uuid>,
    /// The consent concerned.
    pub consent_id: Option<Uuid>,
    /// The other organisations party to it.
    pub parties: Vec<Oin>,
}

impl Attempt {
    /// An attempt whose refusal is audited as `action`.
    pub fn new(action: Action) -> Self {
        Self {
            action,
            purpose: None,
            subject: None,
            transfer_id: None,
            consent_id: None,
            parties: Vec::new(),
        }
    }

    /// The attempt concerns the stored transfer `t`.
    pub fn transfer(&mut self, t: &TransferRow) {
        self.purpose = Some(t.purpose.clone());
        self.subject = Some(t.subject.clone());
        self.transfer_id = Some(t.transfer_id.uuid());
        self.consent_id = t.consent_id;
        self.parties = vec![t.sender.0.clone(), t.recipient.0.clone()];
    }

    /// Passes `answer` through; a refusal (`INVALID_ARGUMENT` or
    /// `FAILED_PRECONDITION` with its violations) is first counted by rule
    /// (`schakel.policy.refusals`) and written to the audit log with the
    /// rules it names. When that entry cannot be written
    /// the answer is `UNAVAILABLE`: no refusal goes unrecorded.
    pub async fn settle<T>(
        self,
        state: &HubState,
        caller: &Caller,
        ctx: &RequestContext,
        answer: Result<T, HubError>,
    ) -> Result<T, HubError> {
        let violations = match &answer {
            Err(HubError::InvalidArgument(v) | HubError::Precondition(v)) => v,
            _ => return answer,
        };
        crate::telemetry::record_refusals(violations.iter().filter_map(|v| v.rule.policy()));
        let entry = case_entry(
            ctx,
            caller,
            &state.policy,
            self.action,
            Outcome::Refused {
                rules: audit_rules(violations),
            },
            CaseFacts {
                purpose: self.purpose.as_ref(),
                subject: self.subject.as_ref(),
                transfer_id: self.transfer_id,
                consent_id: self.consent_id,
                groups: Vec::new(),
                parties: self.parties.iter().collect(),
            },
        );
        state.store.append_audit(entry, Timestamp::now()).await?;
        answer
    }
}
