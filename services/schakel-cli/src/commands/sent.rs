//! `schakel sent …`: what this sender submitted, its state and the
//! recipient's decision, and the sender's own sealed copy (R12: show the
//! youth exactly what was sent).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use schakel_proto::v1 as pb;
use serde_json::json;

use super::{Outcome, Paging, Session, choice, next_page_hint, pages};
use crate::names;
use crate::opened;
use crate::output::Out;
use crate::render::{self, Counterpart};

/// `schakel sent [filters] | sent show ID | sent copy ID`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SentArgs {
    #[command(subcommand)]
    command: Option<SentCommand>,
    #[command(flatten)]
    list: ListArgs,
}

/// Filters of the sent list.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only these states (repeat or comma-separate).
    #[arg(long = "state", value_delimiter = ',', value_parser = choice(names::TRANSFER_STATES))]
    states: Vec<i32>,
    /// Only this purpose.
    #[arg(long)]
    purpose: Option<String>,
    /// Only this recipient: OIN[/function].
    #[arg(long, value_parser = super::recipient)]
    recipient: Option<pb::PartyRef>,
    /// Only transfers resting on this consent.
    #[arg(long, value_parser = super::id)]
    consent: Option<uuid::Uuid>,
    /// Only transfers with an open withdrawal notice.
    #[arg(long)]
    open_notices: bool,
    #[command(flatten)]
    paging: Paging,
}

/// `schakel sent …` subcommands.
#[derive(Debug, Subcommand)]
pub enum SentCommand {
    /// Show one sent transfer: state, decision, withdrawal.
    Show {
        /// The transfer id.
        #[arg(value_parser = super::id)]
        id: uuid::Uuid,
    },
    /// Fetch the sender's own sealed copy, open it locally and write
    /// DIR/<transfer_id>.json (mode 0600), to show the youth what was sent.
    Copy {
        /// The transfer id.
        #[arg(value_parser = super::id)]
        id: uuid::Uuid,
        /// The age identity file (default: the profile's age_identity).
        #[arg(long)]
        identity: Option<PathBuf>,
        /// Directory to write the opened document to.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Runs `sent`.
pub async fn run(session: &mut Session, args: SentArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    match args.command {
        None => list(session, args.list, out).await,
        Some(SentCommand::Show { id }) => {
            let hub = session.case_hub().await?;
            let r = hub
                .transfer()
                .get_sent(pb::GetSentRequest {
                    transfer_id: id.to_string(),
                })
                .await;
            Ok(match r {
                Ok(r) => {
                    let r = r.into_inner();
                    if let Some(t) = &r.transfer {
                        if out.is_json() {
                            out.set(json!({
                                "transfer": render::transfer_json(t),
                                "client_reference": r.client_reference,
                            }));
                        } else {
                            render::transfer_text(t, Some(&r.client_reference));
                        }
                    }
                    Outcome::Done
                }
                Err(s) => Outcome::Refused(s),
            })
        }
        Some(SentCommand::Copy {
            id,
            identity,
            out: dir,
        }) => {
            let identities = opened::identities(identity.as_deref(), session.profile()?)?;
            let hub = session.case_hub().await?;
            let r = hub
                .transfer()
                .fetch_sent_copy(pb::FetchSentCopyRequest {
                    transfer_id: id.to_string(),
                })
                .await;
            let r = match r {
                Ok(r) => r.into_inner(),
                Err(s) => return Ok(Outcome::Refused(s)),
            };
            let meta = json!({ "transfer": r.transfer.as_ref().map(render::transfer_json) });
            let recipient = r.transfer.as_ref().and_then(|t| t.recipient.as_ref());
            super::inbox::write_opened(out, &dir, &id, recipient, meta, &r.groups, &identities)
        }
    }
}

async fn list(session: &mut Session, a: ListArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let hub = session.case_hub().await?;
    let base = pb::ListSentRequest {
        states: a.states,
        purpose: a.purpose.unwrap_or_default(),
        recipient: a.recipient,
        open_withdrawal_notices_only: a.open_notices,
        consent_id: a.consent.map(|c| c.to_string()).unwrap_or_default(),
        ..Default::default()
    };
    let r = pages(&a.paging, |page_token, page_size| {
        let mut client = hub.transfer();
        let req = pb::ListSentRequest {
            page_token,
            page_size,
            ..base.clone()
        };
        async move {
            let r = client.list_sent(req).await?.into_inner();
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
                render::transfers_text(&transfers, Counterpart::Recipient);
                next_page_hint(&next);
            }
            Outcome::Done
        }
        Err(s) => Outcome::Refused(s),
    })
}
