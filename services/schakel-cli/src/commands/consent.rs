//! `schakel consent …`: record, withdraw, show and list consents (R4, R13).

use clap::{Args, Subcommand};
use schakel_proto::v1 as pb;
use serde_json::json;

use super::{Outcome, Paging, Session, choice, next_page_hint, pages};
use crate::names;
use crate::output::Out;
use crate::render;

/// `schakel consent …`.
#[derive(Debug, Subcommand)]
pub enum ConsentCommand {
    /// Record a consent given (or, with --refused, refused) for a transfer.
    Record(RecordArgs),
    /// Withdraw a given consent; transfers resting on it stop or get a notice.
    Withdraw {
        /// The consent id.
        #[arg(value_parser = super::id)]
        id: uuid::Uuid,
        /// Who withdraws it.
        #[arg(long, value_parser = choice(names::CONSENT_GIVERS))]
        by: i32,
    },
    /// Show one consent.
    Show {
        /// The consent id.
        #[arg(value_parser = super::id)]
        id: uuid::Uuid,
    },
    /// List consents this organisation function recorded, newest first.
    List(ListArgs),
}

/// `schakel consent record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The youth's BSN; `-` reads it from standard input (keeps it out of the
    /// process list and shell history). Required unless --refused.
    #[arg(long)]
    bsn: Option<String>,
    /// The youth's date of birth, YYYY-MM-DD. Required unless --refused.
    #[arg(long, value_parser = super::date)]
    birth_date: Option<pb::Date>,
    /// Who gives (or refuses) consent: the youth from 18, a parent or
    /// guardian under 18, the representative (curator or mentor) of an adult
    /// under curatele or mentorschap (R4). The youth can refuse at any age.
    #[arg(long, value_parser = choice(names::CONSENT_GIVERS))]
    giver: i32,
    /// The purpose, e.g. handover.school_to_gemeente.
    #[arg(long)]
    purpose: String,
    /// The recipient: OIN, optionally /function (default participatiewet).
    #[arg(long, value_parser = super::recipient)]
    recipient: pb::PartyRef,
    /// Field groups consented to, comma-separated (e.g. identity,contact.youth).
    #[arg(long, value_delimiter = ',')]
    groups: Vec<String>,
    /// How consent was obtained (or how the refusal was expressed).
    #[arg(long, value_parser = choice(names::CONSENT_METHODS))]
    method: i32,
    /// Record a refusal (R13): no content, only that it happened. With the
    /// youth's BSN and date of birth it also outweighs an earlier consent for
    /// that youth (R4).
    #[arg(long)]
    refused: bool,
    /// First valid day, YYYY-MM-DD (default: today).
    #[arg(long, value_parser = super::date)]
    valid_from: Option<pb::Date>,
    /// Last valid day, YYYY-MM-DD (default: open-ended within the R4 window).
    #[arg(long, value_parser = super::date)]
    valid_until: Option<pb::Date>,
    /// Idempotency key (1-128 characters). Default: a new random key, printed
    /// with the answer; give the same key to retry safely.
    #[arg(long)]
    key: Option<String>,
    /// Your own reference (e.g. a case number); no personal data.
    #[arg(long)]
    reference: Option<String>,
}

/// `schakel consent list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this status.
    #[arg(long, value_parser = choice(names::CONSENT_STATUSES))]
    status: Option<i32>,
    /// Only this purpose.
    #[arg(long)]
    purpose: Option<String>,
    /// Only this recipient: OIN[/function].
    #[arg(long, value_parser = super::recipient)]
    recipient: Option<pb::PartyRef>,
    /// Only this youth; `-` reads the BSN from standard input.
    #[arg(long)]
    bsn: Option<String>,
    #[command(flatten)]
    paging: Paging,
}

/// Runs a consent command.
pub async fn run(session: &mut Session, cmd: ConsentCommand, out: &mut Out) -> anyhow::Result<Outcome> {
    match cmd {
        ConsentCommand::Record(args) => record(session, args, out).await,
        ConsentCommand::Withdraw { id, by } => {
            let hub = session.case_hub().await?;
            let r = hub
                .consent()
                .withdraw_consent(pb::WithdrawConsentRequest {
                    consent_id: id.to_string(),
                    withdrawn_by: by,
                })
                .await;
            Ok(match r {
                Ok(r) => {
                    let r = r.into_inner();
                    withdrawn(out, &r);
                    Outcome::Done
                }
                Err(s) => Outcome::Refused(s),
            })
        }
        ConsentCommand::Show { id } => {
            let hub = session.case_hub().await?;
            let r = hub
                .consent()
                .get_consent(pb::GetConsentRequest {
                    consent_id: id.to_string(),
                })
                .await;
            Ok(match r {
                Ok(r) => {
                    if let Some(c) = r.into_inner().consent {
                        if out.is_json() {
                            out.set(render::consent_json(&c));
                        } else {
                            render::consent_text(&c);
                        }
                    }
                    Outcome::Done
                }
                Err(s) => Outcome::Refused(s),
            })
        }
        ConsentCommand::List(args) => list(session, args, out).await,
    }
}

async fn record(session: &mut Session, a: RecordArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let status = if a.refused {
        pb::ConsentStatus::Refused
    } else {
        pb::ConsentStatus::Given
    };
    if !a.refused {
        let mut missing = Vec::new();
        if a.bsn.is_none() {
            missing.push("--bsn");
        }
        if a.birth_date.is_none() {
            missing.push("--birth-date");
        }
        anyhow::ensure!(
            missing.is_empty(),
            "a given consent needs {} (or record a refusal with --refused)",
            missing.join(", ")
        );
    }
    let bsn = match &a.bsn {
        Some(b) => super::bsn(b)?,
        None => String::new(),
    };
    let explicit_key = a.key.is_some();
    let key = a.key.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let req = pb::RecordConsentRequest {
        idempotency_key: key.clone(),
        status: status.into(),
        subject: Some(pb::ConsentSubject {
            bsn,
            date_of_birth: a.birth_date,
        }),
        giver: a.giver,
        scope: Some(pb::ConsentScope {
            purpose: a.purpose,
            recipient: Some(a.recipient),
            groups: a.groups,
        }),
        method: a.method,
        valid_from: a.valid_from,
        valid_until: a.valid_until,
        client_reference: a.reference.unwrap_or_default(),
    };
    let hub = session.case_hub().await?;
    match hub.consent().record_consent(req).await {
        Ok(r) => {
            let r = r.into_inner();
            if out.is_json() {
                out.set(json!({
                    "consent": r.consent.as_ref().map(render::consent_json),
                    "replayed": r.replayed,
                    "idempotency_key": key,
                }));
            } else {
                let mut rows = r.consent.as_ref().map(render::consent_rows).unwrap_or_default();
                rows.push(("idempotency_key", key));
                rows.push(("replayed", if r.replayed { "yes" } else { "no" }.into()));
                render::print_rows(&rows);
            }
            Ok(Outcome::Done)
        }
        Err(s) => {
            // A random key is lost with this process: say how to retry
            // without recording the consent twice.
            if super::is_transient(&s) && !explicit_key {
                eprintln!("the consent may or may not be recorded; to retry safely add --key {key}");
            }
            Ok(Outcome::Refused(s))
        }
    }
}

fn withdrawn(out: &mut Out, r: &pb::WithdrawConsentResponse) {
    let effects: Vec<_> = r
        .transfers
        .iter()
        .map(|t| {
            (
                t.transfer_id.clone(),
                names::name(names::WITHDRAWAL_EFFECTS, t.effect),
            )
        })
        .collect();
    if out.is_json() {
        out.set(json!({
            "consent": r.consent.as_ref().map(render::consent_json),
            "transfers": effects.iter().map(|(id, e)| json!({"transfer_id": id, "effect": e})).collect::<Vec<_>>(),
        }));
        return;
    }
    if let Some(c) = &r.consent {
        render::consent_text(c);
    }
    if effects.is_empty() {
        outln!("no transfers rest on this consent");
    }
    for (id, effect) in effects {
        outln!("transfer {id}  {effect}");
    }
}

async fn list(session: &mut Session, a: ListArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let bsn = match &a.bsn {
        Some(b) => super::bsn(b)?,
        None => String::new(),
    };
    let hub = session.case_hub().await?;
    let base = pb::ListConsentsRequest {
        bsn,
        purpose: a.purpose.unwrap_or_default(),
        status: a.status.unwrap_or_default(),
        recipient: a.recipient,
        ..Default::default()
    };
    let r = pages(&a.paging, |page_token, page_size| {
        let mut client = hub.consent();
        let req = pb::ListConsentsRequest {
            page_token,
            page_size,
            ..base.clone()
        };
        async move {
            let r = client.list_consents(req).await?.into_inner();
            Ok((r.consents, r.next_page_token))
        }
    })
    .await;
    Ok(match r {
        Ok((consents, next)) => {
            if out.is_json() {
                out.set(json!({
                    "consents": consents.iter().map(render::consent_json).collect::<Vec<_>>(),
                    "next_page_token": next,
                }));
            } else {
                render::consents_text(&consents);
                next_page_hint(&next);
            }
            Outcome::Done
        }
        Err(s) => Outcome::Refused(s),
    })
}
