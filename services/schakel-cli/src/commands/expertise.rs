//! `schakel expertise …`: the expertise request of art. 7a lid 2
//! Participatiewet (R7). The Participatiewet side asks and reads the advice;
//! the Doorstroompunt fetches requests and gives advice.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Subcommand};
use schakel_proto::v1 as pb;
use serde_json::json;

use super::{Outcome, Paging, Session, choice, next_page_hint, pages};
use crate::document::{self, derive_key};
use crate::names;
use crate::opened;
use crate::output::Out;
use crate::render;

/// `schakel expertise …`.
#[derive(Debug, Subcommand)]
pub enum ExpertiseCommand {
    /// Ask a Doorstroompunt whether a youth can return to education (R7).
    Request(RequestArgs),
    /// Expertise requests asked (Participatiewet) or received (Doorstroompunt).
    List(ListArgs),
    /// Doorstroompunt: fetch a received request, open it locally and write
    /// DIR/<request_id>.json (mode 0600).
    Fetch(OpenArgs),
    /// Doorstroompunt: answer an open request with advice.
    Advise(AdviseArgs),
    /// Participatiewet: read the advice, open it locally and write
    /// DIR/<request_id>.json (mode 0600).
    Advice(OpenArgs),
}

/// `schakel expertise request`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("input").required(true).args(["file", "bsn"])))]
pub struct RequestArgs {
    /// The Doorstroompunt asked: OIN (its doorstroompunt function).
    #[arg(long, value_parser = super::doorstroompunt)]
    doorstroompunt: pb::PartyRef,
    /// A JSON file with subject, groups, question, client_reference and
    /// idempotency_key (docs/document-format.md).
    #[arg(long, conflicts_with_all = ["bsn", "birth_date", "startkwalificatie"])]
    file: Option<PathBuf>,
    /// The youth's BSN (instead of --file); `-` reads it from standard input.
    #[arg(long, requires_all = ["birth_date", "startkwalificatie"])]
    bsn: Option<String>,
    /// The youth's date of birth, YYYY-MM-DD.
    #[arg(long, value_parser = super::date)]
    birth_date: Option<pb::Date>,
    /// Whether the youth has a startkwalificatie (R7: only without).
    #[arg(long, value_parser = choice(names::STARTKWALIFICATIE))]
    startkwalificatie: Option<i32>,
    /// The question (up to 4000 characters; sealed by the hub). Overrides
    /// the file's question.
    #[arg(long)]
    question: Option<String>,
    /// Idempotency key. Default: derived from the request, so running the
    /// same command again is a safe retry.
    #[arg(long)]
    key: Option<String>,
    /// Your own reference; no personal data.
    #[arg(long)]
    reference: Option<String>,
}

/// `schakel expertise list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this state.
    #[arg(long, value_parser = choice(names::EXPERTISE_STATES))]
    state: Option<i32>,
    /// Asked or received (default: by this profile's function).
    #[arg(long, value_parser = choice(names::EXPERTISE_ROLES))]
    role: Option<i32>,
    #[command(flatten)]
    paging: Paging,
}

/// Fetching sealed content and opening it locally.
#[derive(Debug, Args)]
pub struct OpenArgs {
    /// The expertise request id.
    #[arg(value_parser = super::id)]
    id: uuid::Uuid,
    /// The age identity file (default: the profile's age_identity).
    #[arg(long)]
    identity: Option<PathBuf>,
    /// Directory to write the opened content to.
    #[arg(long)]
    out: PathBuf,
}

/// `schakel expertise advise`.
#[derive(Debug, Args)]
pub struct AdviseArgs {
    /// The expertise request id.
    #[arg(value_parser = super::id)]
    id: uuid::Uuid,
    /// The advice (R7).
    #[arg(long, value_parser = choice(names::ADVICE_OUTCOMES))]
    outcome: i32,
    /// The advice text (up to 4000 characters; sealed). Keep it factual.
    #[arg(long)]
    text: String,
    /// A JSON file with attached groups and a necessity justification per
    /// group (R8): {"groups": {...}, "justifications": {"group": "why"}}.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Idempotency key. Default: derived from the advice.
    #[arg(long)]
    key: Option<String>,
}

fn problems(path: &std::path::Path, errors: Vec<document::DocError>) -> anyhow::Error {
    let mut msg = format!("{}: {} problem(s)", path.display(), errors.len());
    for e in errors {
        msg.push_str(&format!("\n  {e}"));
    }
    anyhow::anyhow!(msg)
}

/// Runs an expertise command.
pub async fn run(session: &mut Session, cmd: ExpertiseCommand, out: &mut Out) -> anyhow::Result<Outcome> {
    match cmd {
        ExpertiseCommand::Request(a) => request(session, a, out).await,
        ExpertiseCommand::List(a) => list(session, a, out).await,
        ExpertiseCommand::Fetch(a) => {
            let identities = opened::identities(a.identity.as_deref(), session.profile()?)?;
            let hub = session.case_hub().await?;
            let r = hub
                .expertise()
                .fetch_expertise_request(pb::FetchExpertiseRequestRequest {
                    request_id: a.id.to_string(),
                })
                .await;
            let r = match r {
                Ok(r) => r.into_inner(),
                Err(s) => return Ok(Outcome::Refused(s)),
            };
            let meta = json!({ "expertise_request": r.request.as_ref().map(render::expertise_json) });
            let to = r.request.as_ref().and_then(|q| q.doorstroompunt.as_ref());
            super::inbox::write_opened(out, &a.out, &a.id, to, meta, &r.groups, &identities)
        }
        ExpertiseCommand::Advise(a) => advise(session, a, out).await,
        ExpertiseCommand::Advice(a) => {
            let identities = opened::identities(a.identity.as_deref(), session.profile()?)?;
            let hub = session.case_hub().await?;
            let r = hub
                .expertise()
                .get_advice(pb::GetAdviceRequest {
                    request_id: a.id.to_string(),
                })
                .await;
            let r = match r {
                Ok(r) => r.into_inner(),
                Err(s) => return Ok(Outcome::Refused(s)),
            };
            let meta = json!({ "advice": r.advice.as_ref().map(render::advice_json) });
            // The advice answer does not name its addressee (the asking
            // function): the record is checked, not the addressee.
            super::inbox::write_opened(out, &a.out, &a.id, None, meta, &r.groups, &identities)
        }
    }
}

async fn request(session: &mut Session, a: RequestArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let mut req = pb::RequestExpertiseRequest {
        doorstroompunt: Some(a.doorstroompunt),
        ..Default::default()
    };
    if let Some(path) = &a.file {
        let text = document::read_text(path)?;
        let f = document::parse_expertise_request(&text).map_err(|e| problems(path, e))?;
        req.subject = Some(f.subject);
        req.groups = f.groups;
        req.question = f.question.unwrap_or_default();
        req.client_reference = f.client_reference;
        req.idempotency_key = f.idempotency_key;
    } else if let Some(bsn) = &a.bsn {
        let bsn = super::bsn(bsn)?;
        let birth = a.birth_date;
        // The identity group is required; from flags it carries what the
        // subject facts already say.
        let mut identity = vec![pb::Field {
            key: "bsn".into(),
            value: bsn.clone(),
        }];
        if let Some(d) = &birth {
            identity.push(pb::Field {
                key: "date_of_birth".into(),
                value: format!("{:04}-{:02}-{:02}", d.year, d.month, d.day),
            });
        }
        req.subject = Some(pb::SubjectFacts {
            bsn,
            date_of_birth: birth,
            startkwalificatie: a.startkwalificatie.unwrap_or_default(),
            ..Default::default()
        });
        req.groups = vec![pb::FieldGroup {
            name: "identity".into(),
            fields: identity,
        }];
    }
    if let Some(q) = a.question {
        req.question = q;
    }
    anyhow::ensure!(
        !req.question.trim().is_empty(),
        "give the question with --question (or in the file)"
    );
    anyhow::ensure!(
        req.question.chars().count() <= 4000,
        "the question is longer than 4000 characters"
    );
    if let Some(r) = a.reference {
        req.client_reference = r;
    }
    if let Some(k) = a.key {
        req.idempotency_key = k;
    }
    if req.idempotency_key.is_empty() {
        req.idempotency_key = derive_key("schakel-expertise-request-v1", &req);
    }
    let hub = session.case_hub().await?;
    let key = req.idempotency_key.clone();
    Ok(match hub.expertise().request_expertise(req).await {
        Ok(r) => {
            let r = r.into_inner();
            if out.is_json() {
                out.set(json!({
                    "request": r.request.as_ref().map(render::expertise_json),
                    "replayed": r.replayed,
                    "idempotency_key": key,
                }));
            } else {
                let mut rows = r.request.as_ref().map(render::expertise_rows).unwrap_or_default();
                rows.push(("idempotency_key", key));
                rows.push(("replayed", if r.replayed { "yes" } else { "no" }.into()));
                render::print_rows(&rows);
            }
            Outcome::Done
        }
        Err(s) => Outcome::Refused(s),
    })
}

async fn list(session: &mut Session, a: ListArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let hub = session.case_hub().await?;
    let (role, state) = (a.role.unwrap_or_default(), a.state.unwrap_or_default());
    let r = pages(&a.paging, |page_token, page_size| {
        let mut client = hub.expertise();
        let req = pb::ListExpertiseRequestsRequest {
            role,
            state,
            page_size,
            page_token,
            ..Default::default()
        };
        async move {
            let r = client.list_expertise_requests(req).await?.into_inner();
            Ok((r.requests, r.next_page_token))
        }
    })
    .await;
    Ok(match r {
        Ok((requests, next)) => {
            if out.is_json() {
                out.set(json!({
                    "requests": requests.iter().map(render::expertise_json).collect::<Vec<_>>(),
                    "next_page_token": next,
                }));
            } else {
                render::expertise_list_text(&requests);
                next_page_hint(&next);
            }
            Outcome::Done
        }
        Err(s) => Outcome::Refused(s),
    })
}

async fn advise(session: &mut Session, a: AdviseArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    anyhow::ensure!(
        a.text.chars().count() <= 4000,
        "the advice text is longer than 4000 characters"
    );
    let mut req = pb::GiveAdviceRequest {
        idempotency_key: String::new(),
        request_id: a.id.to_string(),
        outcome: a.outcome,
        advice_text: a.text,
        groups: Vec::new(),
        justifications: Vec::new(),
    };
    if let Some(path) = &a.file {
        let text = document::read_text(path)?;
        let f = document::parse_advice(&text).map_err(|e| problems(path, e))?;
        req.groups = f.groups;
        req.justifications = f.justifications;
    }
    req.idempotency_key = match a.key {
        Some(k) => k,
        None => derive_key("schakel-advice-v1", &req),
    };
    let hub = session.case_hub().await?;
    Ok(match hub.expertise().give_advice(req).await {
        Ok(r) => {
            let r = r.into_inner();
            if out.is_json() {
                out.set(json!({
                    "advice": r.advice.as_ref().map(render::advice_json),
                    "request": r.request.as_ref().map(render::expertise_json),
                    "replayed": r.replayed,
                }));
            } else {
                let mut rows = r.advice.as_ref().map(render::advice_rows).unwrap_or_default();
                rows.push(("replayed", if r.replayed { "yes" } else { "no" }.into()));
                render::print_rows(&rows);
            }
            Outcome::Done
        }
        Err(s) => Outcome::Refused(s),
    })
}
