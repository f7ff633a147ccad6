//! AuditService: the audit log for privacy officers (DESIGN.md §4, issue 5).
//!
//! A privacy officer sees only entries in which their own organisation is
//! the actor or a party; another organisation's end-user ids are left out.
//! Asking by BSN works: the hub computes the pseudonym and forgets the BSN.
//! Every query, export and report is itself appended to the log before the
//! answer goes out (fail-closed); checkpoints and consistency proofs carry
//! no entry content and are not.

use std::collections::BTreeSet;
use std::pin::Pin;

use jiff::{Timestamp, ToSpan};
use prost::Message;
use schakel_audit::{
    Action, Entry, Hash, Outcome, consistency_proof_ranges, inclusion_proof_ranges, leaf_hash,
    verify_consistency, verify_inclusion,
};
use schakel_domain::Bsn;
use schakel_proto::v1 as pb;
use schakel_proto::v1::audit_service_server::AuditService;
use schakel_store::{AuditQuery, StoredCheckpoint, StoredEntry};
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::HubState;
use super::exchange::{page_size, require_user};
use crate::caller::Caller;
use crate::caller::RequestContext;
use crate::error::{HubError, Violation, Violations};
use crate::wire::{function_to_pb, ts_from_pb, ts_to_pb};

mod export;
mod justifications;
mod reports;

/// The AuditService handlers.
#[derive(Debug, Clone)]
pub struct AuditApi(pub HubState);

/// Entries are read from the store in pages of this many.
const READ_BATCH: u32 = 500;

/// A report or export covers at most this many entries; narrow the filter
/// or the window for more.
const MAX_REPORT_ENTRIES: usize = 200_000;

/// A checked filter: the store query plus what only the decoded entry can
/// tell (the outcome).
#[derive(Debug, Clone)]
struct Filter {
    query: AuditQuery,
    outcome: pb::AuditOutcome,
}

/// Inclusion proofs one `GetInclusionProofs` call may ask for.
const MAX_PROOFS_PER_CALL: usize = 500;

/// The entry-action names that make up one API action.
fn action_names(a: pb::AuditAction) -> &'static [Action] {
    use pb::AuditAction as A;
    match a {
        A::Unspecified => &[],
        A::AccessDenied => &[
            Action::AuthenticationFailed,
            Action::AuthorisationFailed,
            Action::LookupNotFound,
        ],
        A::ConsentGiven => &[Action::ConsentRecorded],
        A::ConsentRefused => &[Action::ConsentRefused],
        A::ConsentWithdrawn => &[Action::ConsentWithdrawn],
        A::ConsentRead => &[Action::ConsentViewed],
        A::TransferSubmit => &[Action::TransferSubmitted, Action::TransferRefused],
        // Listing metadata is not logged per entry; nothing matches.
        A::TransferRead => &[],
        A::TransferFetch => &[Action::TransferFetched, Action::SentCopyFetched],
        A::TransferAcknowledge => &[Action::TransferAcknowledged],
        A::TransferDecide => &[Action::TransferDecided],
        // Delivery stops and notices are recorded with the withdrawal itself.
        A::TransferWithdraw => &[Action::TransferWithdrawn, Action::ConsentWithdrawn],
        A::WithdrawalAcknowledge => &[Action::WithdrawalNoticeAcknowledged],
        A::ExpertiseRequest => &[Action::ExpertiseRequested],
        A::ExpertiseFetch => &[Action::ExpertiseFetched],
        A::ExpertiseAdvice => &[Action::ExpertiseAdvised],
        A::ExpertiseAdviceRead => &[Action::AdviceFetched],
        A::Purge => &[Action::Purge],
        A::AdminChange => &[Action::AdminChange],
        A::AuditQuery => &[Action::AuditQuery, Action::AuditExport],
        A::AuditReport => &[Action::AuditReport],
        A::HardheidsclausuleDecision => &[Action::HardheidsclausuleDecided],
        A::JustificationsRead => &[Action::JustificationsRead],
        A::MandateChange => &[Action::MandateRecorded, Action::MandateEnded],
        A::RegionalNumbersRead => &[Action::RegionalNumbersRead],
    }
}

/// The API action of an entry action.
fn action_to_pb(a: &Action) -> pb::AuditAction {
    use pb::AuditAction as A;
    match a {
        Action::AuthenticationFailed | Action::AuthorisationFailed | Action::LookupNotFound => {
            A::AccessDenied
        }
        Action::ConsentRecorded => A::ConsentGiven,
        Action::ConsentRefused => A::ConsentRefused,
        Action::ConsentWithdrawn => A::ConsentWithdrawn,
        Action::TransferWithdrawn => A::TransferWithdraw,
        Action::ConsentViewed => A::ConsentRead,
        Action::TransferSubmitted | Action::TransferRefused => A::TransferSubmit,
        Action::TransferFetched | Action::SentCopyFetched => A::TransferFetch,
        Action::TransferAcknowledged => A::TransferAcknowledge,
        Action::TransferDecided => A::TransferDecide,
        Action::WithdrawalNoticeAcknowledged => A::WithdrawalAcknowledge,
        Action::ExpertiseRequested => A::ExpertiseRequest,
        Action::ExpertiseFetched => A::ExpertiseFetch,
        Action::ExpertiseAdvised => A::ExpertiseAdvice,
        Action::AdviceFetched => A::ExpertiseAdviceRead,
        Action::Purge => A::Purge,
        Action::AdminChange => A::AdminChange,
        Action::AuditQuery | Action::AuditExport => A::AuditQuery,
        Action::AuditReport => A::AuditReport,
        Action::HardheidsclausuleDecided => A::HardheidsclausuleDecision,
        Action::JustificationsRead => A::JustificationsRead,
        Action::MandateRecorded | Action::MandateEnded => A::MandateChange,
        Action::RegionalNumbersRead => A::RegionalNumbersRead,
        _ => A::Unspecified,
    }
}

/// The actions about an expertise request; their entries carry the request
/// id in `transfer_id`.
const EXPERTISE_ACTIONS: [Action; 4] = [
    Action::ExpertiseRequested,
    Action::ExpertiseFetched,
    Action::ExpertiseAdvised,
    Action::AdviceFetched,
];

fn is_expertise(a: &Action) -> bool {
    EXPERTISE_ACTIONS.contains(a)
}

fn is_denial(a: &Action) -> bool {
    matches!(
        a,
        Action::AuthenticationFailed | Action::AuthorisationFailed | Action::LookupNotFound
    )
}

fn outcome_to_pb(e: &Entry) -> pb::AuditOutcome {
    match &e.outcome {
        Outcome::Success => pb::AuditOutcome::Success,
        _ if is_denial(&e.action) => pb::AuditOutcome::Denied,
        Outcome::Refused { .. } => pb::AuditOutcome::Refused,
        Outcome::Error { .. } => pb::AuditOutcome::Error,
    }
}

/// Whether `viewer` may see `e`: its organisation acted or is a party.
fn visible(e: &Entry, viewer: &str) -> bool {
    e.actor.oin.as_deref() == Some(viewer) || e.parties.iter().any(|p| p == viewer)
}

/// The end user of another organisation is that organisation's detail.
fn own_actor(e: &Entry, viewer: &str) -> bool {
    // Under a mandate the organisation acts for the gemeente, which answers
    // for the action (R9): its privacy officer sees who acted.
    e.actor.oin.as_deref() == Some(viewer) || e.actor.acting_for.as_deref() == Some(viewer)
}

/// An entry as `viewer` sees it.
fn entry_to_pb(e: &Entry, leaf: &Hash, viewer: &str) -> pb::AuditEntry {
    let own = own_actor(e, viewer);
    let id = e.transfer_id.map(|u| u.to_string()).unwrap_or_default();
    let (transfer_id, expertise_request_id) = if is_expertise(&e.action) {
        (String::new(), id)
    } else {
        (id, String::new())
    };
    pb::AuditEntry {
        sequence: e.seq,
        time: Timestamp::from_millisecond(i64::try_from(e.time_ms).unwrap_or(i64::MAX))
            .ok()
            .map(ts_to_pb),
        actor: Some(pb::AuditActor {
            party: e.actor.oin.as_ref().map(|oin| pb::PartyRef {
                oin: oin.clone(),
                function: e
                    .actor
                    .function
                    .as_deref()
                    .and_then(|f| f.parse().ok())
                    .map_or(pb::FunctionKind::Unspecified, function_to_pb) as i32,
            }),
            user_id: if own {
                e.actor.user_id.clone().unwrap_or_default()
            } else {
                String::new()
            },
            user_role: e.actor.user_role.clone().unwrap_or_default(),
            acting_for: e.actor.acting_for.clone().unwrap_or_default(),
        }),
        action: action_to_pb(&e.action) as i32,
        outcome: outcome_to_pb(e) as i32,
        refusal_rules: match &e.outcome {
            Outcome::Refused { rules } => rules.clone(),
            _ => Vec::new(),
        },
        counterparty: e
            .parties
            .iter()
            .find(|p| Some(p.as_str()) != e.actor.oin.as_deref())
            .map(|oin| pb::PartyRef {
                oin: oin.clone(),
                function: pb::FunctionKind::Unspecified as i32,
            }),
        purpose: e.activity.as_ref().map(|a| a.purpose.clone()).unwrap_or_default(),
        policy_version: e
            .activity
            .as_ref()
            .map(|a| a.policy_version.clone())
            .unwrap_or_default(),
        legal_basis: e.legal_basis.clone().unwrap_or_default(),
        subject_pseudonym: e.subject.clone().unwrap_or_default(),
        transfer_id,
        consent_id: e.consent_id.map(|u| u.to_string()).unwrap_or_default(),
        expertise_request_id,
        groups: e.groups.clone(),
        trace_id: hex::encode(e.trace.trace_id.as_bytes()),
        span_id: hex::encode(e.trace.span_id.as_bytes()),
        leaf_hash: leaf.to_vec(),
        attempts: e.attempts.unwrap_or(1),
        flags: e.flags.clone(),
        justification_marks: e.justification_marks.clone(),
    }
}

fn checkpoint_to_pb(cp: &StoredCheckpoint, origin: &str) -> pb::Checkpoint {
    pb::Checkpoint {
        note: cp.note.clone(),
        origin: origin.to_owned(),
        tree_size: cp.size,
        root_hash: cp.root.to_vec(),
        time: Some(ts_to_pb(cp.created_at)),
    }
}

/// Decodes a stored entry; a row that does not decode is corruption.
fn decode(stored: &StoredEntry) -> Result<Entry, HubError> {
    Entry::decode(&stored.bytes).map_err(|e| {
        tracing::error!(seq = stored.seq, error = %e, "stored audit entry does not decode");
        HubError::DataLoss(format!(
            "the stored audit entry at position {} does not decode",
            stored.seq
        ))
    })
}

/// Optional id filter: empty = none; anything else must be a UUID.
fn uuid_filter(v: &mut Violations, field: &str, s: &str) -> Option<Uuid> {
    if s.is_empty() {
        return None;
    }
    let id = Uuid::parse_str(s).ok();
    if id.is_none() {
        v.format(field, "must be a UUID");
    }
    id
}

/// Optional text filter: a bounded, printable token.
fn token_filter(v: &mut Violations, field: &str, s: &str) -> Option<String> {
    if s.is_empty() {
        return None;
    }
    if s.len() > 128 || !s.bytes().all(|b| b.is_ascii_graphic()) {
        v.format(field, "at most 128 printable characters without spaces");
        return None;
    }
    Some(s.to_owned())
}

/// The subject pseudonym of a BSN given in a request; the BSN itself goes
/// no further than this function.
fn subject_of(state: &HubState, v: &mut Violations, field: &str, bsn: &str) -> Option<String> {
    v.parse::<Bsn>(field, bsn)
        .map(|b| state.pseudonymiser.pseudonym(&b).into())
}

/// A time window from optional bounds; `until` must not lie before `from`.
fn window(
    v: &mut Violations,
    from: Option<&prost_types::Timestamp>,
    until: Option<&prost_types::Timestamp>,
) -> (Option<Timestamp>, Option<Timestamp>) {
    let mut read = |field: &str, t: Option<&prost_types::Timestamp>| {
        let t = t?;
        let parsed = ts_from_pb(t);
        if parsed.is_none() {
            v.format(field, "not a valid timestamp");
        }
        parsed
    };
    let (from, until) = (read("from", from), read("until", until));
    if let (Some(f), Some(u)) = (from, until)
        && u < f
    {
        v.format("until", "must not lie before `from`");
    }
    (from, until)
}

impl AuditApi {
    fn filter(&self, caller: &Caller, f: Option<&pb::AuditFilter>, v: &mut Violations) -> Filter {
        let state = &self.0;
        let default = pb::AuditFilter::default();
        let f = f.unwrap_or(&default);
        let subject = (!f.bsn.is_empty())
            .then(|| subject_of(state, v, "filter.bsn", &f.bsn))
            .flatten();
        let transfer = uuid_filter(v, "filter.transfer_id", &f.transfer_id);
        let expertise = uuid_filter(v, "filter.expertise_request_id", &f.expertise_request_id);
        if transfer.is_some() && expertise.is_some() && transfer != expertise {
            v.format(
                "filter.expertise_request_id",
                "give a transfer id or an expertise request id, not both",
            );
        }
        let mut actions: BTreeSet<&str> = BTreeSet::new();
        for (i, a) in f.actions.iter().enumerate() {
            match pb::AuditAction::try_from(*a) {
                Ok(pb::AuditAction::Unspecified) | Err(_) => {
                    v.format(format!("filter.actions[{i}]"), "must be a known action");
                }
                Ok(a) => actions.extend(action_names(a).iter().map(Action::as_str)),
            }
        }
        if expertise.is_some() {
            // The request id is stored in the transfer column of expertise entries.
            let expertise_actions = &EXPERTISE_ACTIONS;
            if actions.is_empty() {
                actions.extend(expertise_actions.iter().map(Action::as_str));
            } else {
                actions.retain(|a| expertise_actions.iter().any(|e| e.as_str() == *a));
                if actions.is_empty() {
                    v.format(
                        "filter.actions",
                        "no expertise action chosen with an expertise request id",
                    );
                }
            }
        }
        let outcome = pb::AuditOutcome::try_from(f.outcome).unwrap_or_else(|_| {
            v.format("filter.outcome", "must be a known outcome");
            pb::AuditOutcome::Unspecified
        });
        let (from, until) = window(v, f.from.as_ref(), f.until.as_ref());
        Filter {
            query: AuditQuery {
                visible_to: caller.party.oin().to_string(),
                subject,
                transfer_id: transfer.or(expertise),
                consent_id: uuid_filter(v, "filter.consent_id", &f.consent_id),
                user_id: token_filter(v, "filter.user_id", &f.user_id),
                purpose: token_filter(v, "filter.purpose", &f.purpose),
                actions: actions.into_iter().map(str::to_owned).collect(),
                from,
                until,
                before_seq: None,
            },
            outcome,
        }
    }

    /// Up to `limit` visible entries matching `f` from sequence `from_seq`
    /// on, and whether more follow.
    async fn read(
        &self,
        f: &Filter,
        mut from_seq: u64,
        limit: usize,
    ) -> Result<(Vec<(Entry, Hash)>, Option<u64>), HubError> {
        let mut out = Vec::new();
        loop {
            let mark = self.0.store.read_mark();
            let batch = self.0.store.audit_query(&f.query, from_seq, READ_BATCH).await?;
            // Group commit: entries may be visible a flush before they are
            // durable. An export streams them after the answer has started,
            // past the barrier in the auth layer, so each batch waits here.
            self.0.store.flush_commits(&mark).await?;
            let exhausted = batch.len() < READ_BATCH as usize;
            for stored in &batch {
                let e = decode(stored)?;
                from_seq = stored.seq + 1;
                let outcome_ok = f.outcome == pb::AuditOutcome::Unspecified || outcome_to_pb(&e) == f.outcome;
                // Re-checked on the decoded entry: the index columns are copies.
                let wanted = outcome_ok
                    && visible(&e, &f.query.visible_to)
                    && (f.query.actions.is_empty() || f.query.actions.iter().any(|a| a == e.action.as_str()));
                if !wanted {
                    continue;
                }
                if out.len() == limit {
                    return Ok((out, Some(stored.seq)));
                }
                out.push((e, stored.leaf_hash));
            }
            if exhausted {
                return Ok((out, None));
            }
        }
    }

    /// Every visible entry matching `f`, refusing more than a report may hold.
    async fn read_all(&self, f: &Filter) -> Result<Vec<(Entry, Hash)>, HubError> {
        let (entries, more) = self.read(f, 0, MAX_REPORT_ENTRIES).await?;
        if more.is_some() {
            return Err(HubError::FailedPrecondition(format!(
                "more than {MAX_REPORT_ENTRIES} entries match; narrow the filter or the time window"
            )));
        }
        Ok(entries)
    }

    /// Appends the entry that records a privacy officer's query.
    async fn log_query(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        action: Action,
        f: &AuditQuery,
    ) -> Result<(), HubError> {
        let mut e = ctx.entry(Some(caller), None, action, Outcome::Success, &[]);
        e.subject = f.subject.clone();
        e.transfer_id = f.transfer_id;
        e.consent_id = f.consent_id;
        self.0.store.append_audit(e, Timestamp::now()).await?;
        Ok(())
    }

    /// The stored entry at `seq` when `viewer` may see it; `NOT_FOUND`
    /// otherwise (also for a position beyond the log).
    async fn visible_entry(&self, seq: u64, viewer: &str) -> Result<(StoredEntry, Entry), HubError> {
        let stored = self
            .0
            .store
            .audit_entry(seq)
            .await?
            .ok_or(HubError::NotFound("audit entry"))?;
        let entry = decode(&stored)?;
        if !visible(&entry, viewer) {
            return Err(HubError::NotFound("audit entry"));
        }
        Ok((stored, entry))
    }

    /// The tree size a proof of entries up to `highest` is made against:
    /// `asked`, or the latest checkpoint (a new one when that does not cover
    /// `highest`).
    async fn proof_tree_size(&self, asked: u64, highest: u64) -> Result<u64, HubError> {
        let state = &self.0;
        let tree_size = match asked {
            0 => {
                let latest = state.checkpointer.latest().await?;
                if latest.size > highest {
                    latest.size
                } else {
                    state.checkpointer.checkpoint_now().await?.size
                }
            }
            n => n,
        };
        let current = state.store.audit_size().await?;
        let mut v = Violations::default();
        if tree_size <= highest {
            v.format("tree_size", "must be greater than the entry's sequence number");
        } else if tree_size > current {
            v.format("tree_size", format!("must not exceed the log's size ({current})"));
        }
        v.finish()?;
        Ok(tree_size)
    }

    /// The inclusion proof of `stored` in the tree of `tree_size`, checked
    /// against the signed checkpoint of that size when there is one.
    async fn prove(
        &self,
        stored: &StoredEntry,
        entry: &Entry,
        tree_size: u64,
        viewer: &str,
    ) -> Result<pb::GetInclusionProofResponse, HubError> {
        let state = &self.0;
        let seq = stored.seq;
        // O(log n): the stored subtree hashes the proof is made of, not every
        // leaf of the tree.
        let ranges = inclusion_proof_ranges(seq, tree_size).map_err(|e| {
            tracing::error!(error = %e, "inclusion proof failed");
            HubError::Internal
        })?;
        let hashes = state.store.audit_subtree_hashes(&ranges).await?;
        let stored_cp = exact_stored_checkpoint(state, tree_size).await?;
        if let Some(cp) = &stored_cp {
            // Never hand out a proof that fails against our own signed root.
            verify_inclusion(&leaf_hash(&stored.bytes), seq, tree_size, &hashes, &cp.root).map_err(|e| {
                tracing::error!(error = %e, tree_size, "inclusion proof does not match the signed checkpoint");
                HubError::DataLoss(format!(
                    "the inclusion proof of the entry at position {seq} contradicts the signed checkpoint at size {tree_size} ({e}): the stored log or its subtree hashes were changed"
                ))
            })?;
        }
        let checkpoint = stored_cp.map(|cp| checkpoint_to_pb(&cp, state.checkpointer.origin()));
        Ok(pb::GetInclusionProofResponse {
            entry: Some(entry_to_pb(entry, &stored.leaf_hash, viewer)),
            leaf_index: seq,
            tree_size,
            hashes: hashes.iter().map(|h| h.to_vec()).collect(),
            checkpoint,
        })
    }

    fn viewer(caller: &Caller) -> String {
        caller.party.oin().to_string()
    }
}

/// The page token of a query: the next sequence number to read and the
/// query's end, bound to the filter (a token used with another filter is
/// refused). The pair travels in the 16 bytes the shared token helper
/// carries.
fn page_token(state: &HubState, next: u64, bound: u64, filters: &[u8]) -> String {
    super::exchange::page_token(state, Uuid::from_u64_pair(bound, next), filters)
}

/// `(next, bound)` from a page token; `None` for the first page.
fn read_page_token(state: &HubState, v: &mut Violations, token: &str, filters: &[u8]) -> Option<(u64, u64)> {
    super::exchange::read_page_token(state, v, token, filters).map(|u| {
        let (bound, next) = u.as_u64_pair();
        (next, bound)
    })
}

type ExportStream = Pin<Box<dyn Stream<Item = Result<pb::ExportAuditResponse, Status>> + Send>>;

#[tonic::async_trait]
impl AuditService for AuditApi {
    async fn query_audit(
        &self,
        req: Request<pb::QueryAuditRequest>,
    ) -> Result<Response<pb::QueryAuditResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        require_user(&ctx)?;
        let mut r = req.into_inner();
        let mut v = Violations::default();
        let mut f = self.filter(&caller, r.filter.as_ref(), &mut v);
        let token = std::mem::take(&mut r.page_token);
        let size = page_size(r.page_size);
        r.page_size = 0;
        let filters = r.encode_to_vec();
        let cursor = read_page_token(&self.0, &mut v, &token, &filters);
        v.finish()?;
        self.log_query(&ctx, &caller, Action::AuditQuery, &f.query)
            .await?;
        // The pages of one query end where the log ended at its first page
        // (this query's own entry included), so they do not chase entries
        // appended meanwhile.
        let (from_seq, bound) = match cursor {
            Some(c) => c,
            None => (0, self.0.store.audit_size().await.map_err(HubError::from)?),
        };
        f.query.before_seq = Some(bound);
        let (entries, next) = self.read(&f, from_seq, size as usize).await?;
        let viewer = Self::viewer(&caller);
        Ok(Response::new(pb::QueryAuditResponse {
            entries: entries.iter().map(|(e, h)| entry_to_pb(e, h, &viewer)).collect(),
            next_page_token: next
                .map(|n| page_token(&self.0, n, bound, &filters))
                .unwrap_or_default(),
        }))
    }

    async fn export_audit(
        &self,
        req: Request<pb::ExportAuditRequest>,
    ) -> Result<Response<ExportStream>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        require_user(&ctx)?;
        let r = req.into_inner();
        let mut v = Violations::default();
        let f = self.filter(&caller, r.filter.as_ref(), &mut v);
        let format = match pb::ExportFormat::try_from(r.format) {
            Ok(pb::ExportFormat::Unspecified) | Err(_) => {
                v.format(
                    "format",
                    "must be EXPORT_FORMAT_JSONL or EXPORT_FORMAT_LOGBOEK_DATAVERWERKINGEN",
                );
                pb::ExportFormat::Unspecified
            }
            Ok(f) => f,
        };
        v.finish()?;
        self.log_query(&ctx, &caller, Action::AuditExport, &f.query)
            .await?;
        let (tx, rx) = mpsc::channel(8);
        let api = self.clone();
        let viewer = Self::viewer(&caller);
        tokio::spawn(async move {
            if let Err(e) = export::run(&api, &f, format, &viewer, &tx).await {
                let _ = tx.send(Err(e.into())).await;
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx)) as ExportStream))
    }

    async fn get_checkpoint(
        &self,
        req: Request<pb::GetCheckpointRequest>,
    ) -> Result<Response<pb::GetCheckpointResponse>, Status> {
        let (_caller, _ctx) = Caller::with_context(&req)?;
        let cp = &self.0.checkpointer;
        let stored = if req.get_ref().fresh {
            cp.checkpoint_now().await
        } else {
            cp.latest().await
        }
        .map_err(HubError::from)?;
        Ok(Response::new(pb::GetCheckpointResponse {
            checkpoint: Some(checkpoint_to_pb(&stored, cp.origin())),
            verifier_key: cp.verifier_key(),
        }))
    }

    async fn get_inclusion_proof(
        &self,
        req: Request<pb::GetInclusionProofRequest>,
    ) -> Result<Response<pb::GetInclusionProofResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        require_user(&ctx)?;
        let r = req.into_inner();
        let viewer = Self::viewer(&caller);
        let (stored, entry) = self.visible_entry(r.sequence, &viewer).await?;
        let tree_size = self.proof_tree_size(r.tree_size, r.sequence).await?;
        let q = AuditQuery {
            transfer_id: entry.transfer_id,
            consent_id: entry.consent_id,
            subject: entry.subject.clone(),
            ..AuditQuery::default()
        };
        self.log_query(&ctx, &caller, Action::AuditQuery, &q).await?;
        Ok(Response::new(
            self.prove(&stored, &entry, tree_size, &viewer).await?,
        ))
    }

    async fn get_inclusion_proofs(
        &self,
        req: Request<pb::GetInclusionProofsRequest>,
    ) -> Result<Response<pb::GetInclusionProofsResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        require_user(&ctx)?;
        let r = req.into_inner();
        if r.sequences.is_empty() || r.sequences.len() > MAX_PROOFS_PER_CALL {
            return Err(HubError::InvalidArgument(vec![Violation::format(
                "sequences",
                format!("give 1 to {MAX_PROOFS_PER_CALL} sequence numbers"),
            )])
            .into());
        }
        let viewer = Self::viewer(&caller);
        let mut found = Vec::with_capacity(r.sequences.len());
        for &seq in &r.sequences {
            found.push(self.visible_entry(seq, &viewer).await?);
        }
        let highest = r.sequences.iter().copied().max().unwrap_or(0);
        let tree_size = self.proof_tree_size(r.tree_size, highest).await?;
        // One entry for the batch: a verification of entries the officer
        // already sees, not a search.
        self.log_query(&ctx, &caller, Action::AuditQuery, &AuditQuery::default())
            .await?;
        let mut proofs = Vec::with_capacity(found.len());
        for (stored, entry) in &found {
            proofs.push(self.prove(stored, entry, tree_size, &viewer).await?);
        }
        Ok(Response::new(pb::GetInclusionProofsResponse { proofs }))
    }

    async fn get_consistency_proof(
        &self,
        req: Request<pb::GetConsistencyProofRequest>,
    ) -> Result<Response<pb::GetConsistencyProofResponse>, Status> {
        let (_caller, _ctx) = Caller::with_context(&req)?;
        let r = req.into_inner();
        let state = &self.0;
        let second = match r.second_size {
            0 => state.checkpointer.latest().await.map_err(HubError::from)?.size,
            n => n,
        };
        let current = state.store.audit_size().await.map_err(HubError::from)?;
        let mut v = Violations::default();
        if r.first_size > second {
            v.format("first_size", "must not exceed second_size");
        }
        if second > current {
            v.format(
                "second_size",
                format!("must not exceed the log's size ({current})"),
            );
        }
        v.finish()?;
        let ranges = consistency_proof_ranges(r.first_size, second).map_err(|e| {
            tracing::error!(error = %e, "consistency proof failed");
            HubError::Internal
        })?;
        let hashes = state
            .store
            .audit_subtree_hashes(&ranges)
            .await
            .map_err(HubError::from)?;
        let stored_cp = exact_stored_checkpoint(state, second).await?;
        if let Some(cp) = &stored_cp
            && let Some(first) = exact_stored_checkpoint(state, r.first_size).await?
        {
            // Never hand out a proof that fails between our own signed roots.
            verify_consistency(r.first_size, second, &first.root, &cp.root, &hashes).map_err(|e| {
                tracing::error!(error = %e, first_size = r.first_size, second_size = second, "consistency proof does not match the signed checkpoints");
                HubError::DataLoss(format!(
                    "the consistency proof contradicts the signed checkpoints at sizes {} and {second} ({e}): the stored log or its subtree hashes were changed",
                    r.first_size
                ))
            })?;
        }
        Ok(Response::new(pb::GetConsistencyProofResponse {
            first_size: r.first_size,
            second_size: second,
            hashes: hashes.iter().map(|h| h.to_vec()).collect(),
            checkpoint: stored_cp.map(|cp| checkpoint_to_pb(&cp, state.checkpointer.origin())),
        }))
    }

    async fn subject_access_report(
        &self,
        req: Request<pb::SubjectAccessReportRequest>,
    ) -> Result<Response<pb::SubjectAccessReportResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        require_user(&ctx)?;
        Ok(Response::new(
            reports::subject_access(self, &caller, &ctx, req.into_inner()).await?,
        ))
    }

    async fn get_justifications(
        &self,
        req: Request<pb::GetJustificationsRequest>,
    ) -> Result<Response<pb::GetJustificationsResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        require_user(&ctx)?;
        Ok(Response::new(
            justifications::get(self, &caller, &ctx, req.into_inner()).await?,
        ))
    }

    async fn anomaly_report(
        &self,
        req: Request<pb::AnomalyReportRequest>,
    ) -> Result<Response<pb::AnomalyReportResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        require_user(&ctx)?;
        Ok(Response::new(
            reports::anomalies(self, &caller, &ctx, req.into_inner()).await?,
        ))
    }
}

/// The stored checkpoint of exactly `size`, if one was made.
async fn exact_stored_checkpoint(state: &HubState, size: u64) -> Result<Option<StoredCheckpoint>, HubError> {
    Ok(state
        .store
        .checkpoint_covering(size)
        .await?
        .filter(|cp| cp.size == size))
}

/// Seven days before `until`, the default anomaly window.
fn week_before(until: Timestamp) -> Timestamp {
    until.checked_sub(168.hours()).unwrap_or(until)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every action the hub writes is shown as an API action, and a filter
    /// on that API action finds it: a new action cannot vanish from the
    /// privacy officer's queries (the per-transfer `transfer_withdrawn`).
    #[test]
    fn every_action_is_shown_and_found_by_its_api_action() {
        for action in Action::KNOWN {
            let shown = action_to_pb(action);
            assert_ne!(shown, pb::AuditAction::Unspecified, "{action:?}");
            assert!(action_names(shown).contains(action), "{action:?} as {shown:?}");
        }
    }
}
