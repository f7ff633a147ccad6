//! The receiver side: `schakel inbox`, `fetch`, `ack`, `decide`, `notices`.
//! Fetched groups are opened locally with this party's age identity, which
//! never goes to the hub; their content goes only to the file asked for.

use std::path::{Path, PathBuf};

use clap::{ArgGroup, Args, Subcommand};
use schakel_client::{AgeIdentity, OpenError};
use schakel_proto::v1 as pb;
use serde_json::{Value, json};

use super::{Outcome, Paging, Session, choice, next_page_hint, pages};
use crate::names;
use crate::opened;
use crate::output::Out;
use crate::render::{self, Counterpart};

/// `schakel inbox [filters] | inbox show ID`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct InboxArgs {
    #[command(subcommand)]
    command: Option<InboxCommand>,
    #[command(flatten)]
    list: ListArgs,
}

/// Filters of the inbox list.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only these states (repeat or comma-separate), e.g. --state available.
    #[arg(long = "state", value_delimiter = ',', value_parser = choice(names::TRANSFER_STATES))]
    states: Vec<i32>,
    /// Only this purpose.
    #[arg(long)]
    purpose: Option<String>,
    /// Only from this sender: OIN/function.
    #[arg(long, value_parser = sender)]
    sender: Option<pb::PartyRef>,
    #[command(flatten)]
    paging: Paging,
}

fn sender(s: &str) -> Result<pb::PartyRef, String> {
    super::party(s, pb::FunctionKind::School)
}

/// `schakel inbox …` subcommands.
#[derive(Debug, Subcommand)]
pub enum InboxCommand {
    /// Show one transfer's clear metadata and state.
    Show {
        /// The transfer id.
        #[arg(value_parser = super::id)]
        id: uuid::Uuid,
    },
}

/// `schakel fetch`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The transfer id.
    #[arg(value_parser = super::id)]
    id: uuid::Uuid,
    /// The purpose you process the data for, e.g. handover.school_to_gemeente
    /// (R8, R9: only groups bound to it are delivered).
    #[arg(long)]
    purpose: String,
    /// The age identity file (default: the profile's age_identity).
    #[arg(long)]
    identity: Option<PathBuf>,
    /// Directory to write DIR/<transfer_id>.json to (mode 0600).
    #[arg(long)]
    out: PathBuf,
}

/// `schakel ack`.
#[derive(Debug, Args)]
pub struct AckArgs {
    /// The transfer id.
    #[arg(value_parser = super::id)]
    id: uuid::Uuid,
    /// Your own case reference (shown to nobody else; no personal data).
    #[arg(long)]
    case_reference: Option<String>,
}

/// `schakel decide`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("decision").required(true).args(["accept", "decline"])))]
pub struct DecideArgs {
    /// The transfer id.
    #[arg(value_parser = super::id)]
    id: uuid::Uuid,
    /// Take the youth into support.
    #[arg(long)]
    accept: bool,
    /// Decline, with a reason.
    #[arg(long, value_name = "REASON", value_parser = choice(names::DECLINE_REASONS))]
    decline: Option<i32>,
    /// Explanation for the sender (up to 2000 characters; sealed by the hub).
    /// Keep it factual.
    #[arg(long)]
    text: Option<String>,
}

/// `schakel notices [--open] | notices ack NOTICE_ID`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct NoticesArgs {
    #[command(subcommand)]
    command: Option<NoticesCommand>,
    /// Only notices not yet acknowledged.
    #[arg(long)]
    open: bool,
    #[command(flatten)]
    paging: Paging,
}

/// `schakel notices …` subcommands.
#[derive(Debug, Subcommand)]
pub enum NoticesCommand {
    /// Acknowledge a withdrawal notice.
    Ack {
        /// The notice id.
        #[arg(value_parser = super::id)]
        id: uuid::Uuid,
        /// Confirm that local copies of the transfer were deleted.
        #[arg(long)]
        deleted: bool,
    },
}

fn transfer_out(out: &mut Out, t: Option<&pb::Transfer>) {
    let Some(t) = t else { return };
    if out.is_json() {
        out.set(render::transfer_json(t));
    } else {
        render::transfer_text(t, None);
    }
}

/// Runs `inbox`.
pub async fn inbox(session: &mut Session, args: InboxArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let hub = session.case_hub().await?;
    if let Some(InboxCommand::Show { id }) = args.command {
        let r = hub
            .inbox()
            .get_inbox_transfer(pb::GetInboxTransferRequest {
                transfer_id: id.to_string(),
            })
            .await;
        return Ok(match r {
            Ok(r) => {
                transfer_out(out, r.into_inner().transfer.as_ref());
                Outcome::Done
            }
            Err(s) => Outcome::Refused(s),
        });
    }
    let a = args.list;
    let base = pb::ListInboxRequest {
        states: a.states,
        purpose: a.purpose.unwrap_or_default(),
        sender: a.sender,
        ..Default::default()
    };
    let r = pages(&a.paging, |page_token, page_size| {
        let mut client = hub.inbox();
        let req = pb::ListInboxRequest {
            page_token,
            page_size,
            ..base.clone()
        };
        async move {
            let r = client.list_inbox(req).await?.into_inner();
            Ok((r.transfers, r.next_page_token))
        }
    })
    .await;
    Ok(match r {
        Ok((transfers, next)) => {
            if out.is_json() {
                out.set(json!({
                    "transfers": transfers.iter().map(render::transfer_json).collect::<Vec<_>>(),
                    "next_page_token": next,
                }));
            } else {
                render::transfers_text(&transfers, Counterpart::Sender);
                next_page_hint(&next);
            }
            Outcome::Done
        }
        Err(s) => Outcome::Refused(s),
    })
}

/// Opens `groups` of record `id` addressed to `recipient`, writes the file
/// and reports it. Nothing opened at all is a failure (wrong identity?), and
/// so is any unit sealed for another record or addressee (the hub's
/// database was changed): then no file is written.
pub fn write_opened(
    out: &mut Out,
    dir: &Path,
    id: &uuid::Uuid,
    recipient: Option<&pb::PartyRef>,
    metadata: Value,
    groups: &[pb::SealedGroup],
    identities: &[AgeIdentity],
) -> anyhow::Result<Outcome> {
    let o = opened::open(&id.to_string(), recipient, groups, identities);
    let moved: Vec<&str> = o
        .unopened
        .iter()
        .filter(|u| matches!(u.error, OpenError::BindingMismatch | OpenError::Unbound))
        .map(|u| u.group.as_str())
        .collect();
    if !moved.is_empty() {
        eprintln!(
            "refused: the sealed content of {} does not belong to {id} ({}); the hub's stored \
             data was changed — nothing written. Tell the hub's operator and your privacy officer.",
            moved.join(", "),
            OpenError::BindingMismatch
        );
        return Ok(Outcome::Failed);
    }
    if !groups.is_empty() && o.opened.is_empty() {
        eprintln!(
            "none of the {} groups could be opened with the given identity; nothing written",
            o.unopened.len()
        );
        // Groups sealed to the same keys fail the same way: one line each.
        let mut seen: Vec<(&[String], String, Vec<&str>)> = Vec::new();
        for u in &o.unopened {
            let error = u.error.to_string();
            match seen
                .iter_mut()
                .find(|(k, e, _)| *k == u.key_ids.as_slice() && *e == error)
            {
                Some((_, _, groups)) => groups.push(&u.group),
                None => seen.push((&u.key_ids, error, vec![&u.group])),
            }
        }
        for (key_ids, error, groups) in seen {
            eprintln!(
                "  {}: {error} [key ids: {}]",
                groups.join(", "),
                key_ids.join(", ")
            );
        }
        return Ok(Outcome::Failed);
    }
    let path = opened::write(dir, id, &metadata, &o)?;
    opened::report(out, &path, &o, metadata);
    Ok(Outcome::Done)
}

/// Runs `fetch`.
pub async fn fetch(session: &mut Session, a: FetchArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let identities = opened::identities(a.identity.as_deref(), session.profile()?)?;
    let hub = session.case_hub().await?;
    let r = hub
        .inbox()
        .fetch(pb::FetchRequest {
            transfer_id: a.id.to_string(),
            purpose: a.purpose,
        })
        .await;
    let r = match r {
        Ok(r) => r.into_inner(),
        Err(s) => return Ok(Outcome::Refused(s)),
    };
    let meta = json!({ "transfer": r.transfer.as_ref().map(render::transfer_json) });
    let recipient = r.transfer.as_ref().and_then(|t| t.recipient.as_ref());
    write_opened(out, &a.out, &a.id, recipient, meta, &r.groups, &identities)
}

/// Runs `ack`.
pub async fn ack(session: &mut Session, a: AckArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let hub = session.case_hub().await?;
    let r = hub
        .inbox()
        .acknowledge(pb::AcknowledgeRequest {
            transfer_id: a.id.to_string(),
            case_reference: a.case_reference.unwrap_or_default(),
        })
        .await;
    Ok(match r {
        Ok(r) => {
            transfer_out(out, r.into_inner().transfer.as_ref());
            Outcome::Done
        }
        Err(s) => Outcome::Refused(s),
    })
}

/// Runs `decide`.
pub async fn decide(session: &mut Session, a: DecideArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let (decision, reason) = match a.decline {
        Some(reason) => (pb::DecisionKind::Decline, reason),
        None => (pb::DecisionKind::Accept, 0),
    };
    let text = a.text.unwrap_or_default();
    anyhow::ensure!(
        text.chars().count() <= 2000,
        "--text is longer than 2000 characters"
    );
    let hub = session.case_hub().await?;
    let r = hub
        .inbox()
        .decide(pb::DecideRequest {
            transfer_id: a.id.to_string(),
            decision: decision.into(),
            reason,
            reason_text: text,
        })
        .await;
    Ok(match r {
        Ok(r) => {
            transfer_out(out, r.into_inner().transfer.as_ref());
            Outcome::Done
        }
        Err(s) => Outcome::Refused(s),
    })
}

/// Runs `notices`.
pub async fn notices(session: &mut Session, a: NoticesArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let hub = session.case_hub().await?;
    if let Some(NoticesCommand::Ack { id, deleted }) = a.command {
        let r = hub
            .inbox()
            .acknowledge_withdrawal(pb::AcknowledgeWithdrawalRequest {
                notice_id: id.to_string(),
                confirmed_deletion: deleted,
            })
            .await;
        return Ok(match r {
            Ok(r) => {
                if let Some(n) = r.into_inner().notice {
                    if out.is_json() {
                        out.set(render::notice_json(&n));
                    } else {
                        render::notice_text(&n);
                    }
                }
                Outcome::Done
            }
            Err(s) => Outcome::Refused(s),
        });
    }
    let open_only = a.open;
    let r = pages(&a.paging, |page_token, page_size| {
        let mut client = hub.inbox();
        let req = pb::ListWithdrawalNoticesRequest {
            open_only,
            page_size,
            page_token,
        };
        async move {
            let r = client.list_withdrawal_notices(req).await?.into_inner();
            Ok((r.notices, r.next_page_token))
        }
    })
    .await;
    Ok(match r {
        Ok((notices, next)) => {
            if out.is_json() {
                out.set(json!({
                    "notices": notices.iter().map(render::notice_json).collect::<Vec<_>>(),
                    "next_page_token": next,
                }));
            } else {
                render::notices_text(&notices);
                next_page_hint(&next);
            }
            Outcome::Done
        }
        Err(s) => Outcome::Refused(s),
    })
}

/// `schakel hardheidsclausule`: the gemeente's own decision (art. 7a lid 7,
/// R2) for a youth it already supports.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("support").required(true).args(["transfer", "case_reference"])))]
pub struct HardheidsclausuleArgs {
    /// The youth's BSN; `-` reads it from standard input (keeps it out of the
    /// process list and shell history).
    #[arg(long)]
    bsn: String,
    /// The youth's date of birth, YYYY-MM-DD.
    #[arg(long, value_parser = super::date)]
    birth_date: pb::Date,
    /// A transfer for this youth that your function accepted.
    #[arg(long, value_parser = super::id)]
    transfer: Option<uuid::Uuid>,
    /// Your own case reference for the youth (sealed; no personal data).
    #[arg(long)]
    case_reference: Option<String>,
    /// The legitimate interest in continuing past 27 (at least 20
    /// characters; sealed to your own keys).
    #[arg(long)]
    justification: String,
    /// First day the decision holds (default: today).
    #[arg(long, value_parser = super::date)]
    from: Option<pb::Date>,
    /// Last day the decision holds (at most 24 months after the first).
    #[arg(long, value_parser = super::date)]
    until: pb::Date,
    /// Idempotency key (default: a new random one).
    #[arg(long)]
    key: Option<String>,
}

/// Runs `hardheidsclausule`.
pub async fn hardheidsclausule(
    session: &mut Session,
    a: HardheidsclausuleArgs,
    out: &mut Out,
) -> anyhow::Result<Outcome> {
    use pb::decide_hardheidsclausule_request::Support;
    let support = match (a.transfer, a.case_reference) {
        (Some(t), _) => Support::AcceptedTransferId(t.to_string()),
        (None, Some(r)) => Support::CaseReference(r),
        (None, None) => anyhow::bail!("give --transfer or --case-reference"),
    };
    let explicit_key = a.key.is_some();
    let key = a.key.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let hub = session.case_hub().await?;
    let r = hub
        .inbox()
        .decide_hardheidsclausule(pb::DecideHardheidsclausuleRequest {
            idempotency_key: key.clone(),
            bsn: super::bsn(&a.bsn)?,
            date_of_birth: Some(a.birth_date),
            support: Some(support),
            justification: a.justification,
            valid_from: a.from,
            valid_until: Some(a.until),
        })
        .await;
    Ok(match r {
        Ok(r) => {
            let r = r.into_inner();
            let day = |d: Option<&pb::Date>| d.map(render::date_text).unwrap_or_default();
            if out.is_json() {
                out.set(json!({
                    "decision_id": r.decision_id,
                    "valid_from": day(r.valid_from.as_ref()),
                    "valid_until": day(r.valid_until.as_ref()),
                    "replayed": r.replayed,
                    "idempotency_key": key,
                }));
            } else {
                render::print_rows(&[
                    ("decision_id", r.decision_id.clone()),
                    ("valid_from", day(r.valid_from.as_ref())),
                    ("valid_until", day(r.valid_until.as_ref())),
                    ("idempotency_key", key),
                    ("replayed", if r.replayed { "yes" } else { "no" }.into()),
                ]);
            }
            Outcome::Done
        }
        Err(s) => {
            if super::is_transient(&s) && !explicit_key {
                eprintln!("the decision may or may not be recorded; to retry safely add --key {key}");
            }
            Outcome::Refused(s)
        }
    })
}
