//! `schakel push FILE`: submit one overgangsdocument or a batch
//! (docs/document-format.md), with bounded concurrency, a progress bar on a
//! terminal, and a summary that groups refusals by rule id.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use futures::StreamExt;
use schakel_proto::v1 as pb;
use serde_json::{Value, json};

use super::{Outcome, Session, is_transient};
use crate::document::{self, Format, Submission};
use crate::names;
use crate::output::{self, Out};
use crate::render;

/// Most parse problems listed before the rest are summarised.
const MAX_LISTED_PROBLEMS: usize = 50;

/// Attempts per document when the hub is unreachable (the idempotency key
/// makes a retry safe).
const ATTEMPTS: u32 = 3;

/// Attempts per document while the hub says this organisation is over its
/// rate limit (nothing was stored; the hub says how long to wait).
const RATE_LIMITED_ATTEMPTS: u32 = 100;

/// `schakel push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The document file: .json (one document), .jsonl (one per line) or
    /// .csv (one per row). See docs/document-format.md.
    file: PathBuf,
    /// The format, when the file name does not end in .json, .jsonl or .csv.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Documents submitted at the same time.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    concurrency: u16,
    /// Only check the file; send nothing.
    #[arg(long)]
    check: bool,
}

/// What became of one document.
struct Result1 {
    line: Option<usize>,
    location: String,
    idempotency_key: String,
    derived_key: bool,
    result: Result<pb::SubmitResponse, tonic::Status>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Accepted,
    Replayed,
    Refused,
    Failed,
}

impl Result1 {
    fn kind(&self) -> Kind {
        match &self.result {
            Ok(r) if r.replayed => Kind::Replayed,
            Ok(_) => Kind::Accepted,
            Err(s) if is_transient(s) || s.code() == tonic::Code::Internal => Kind::Failed,
            Err(_) => Kind::Refused,
        }
    }
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Replayed => "replayed",
            Self::Refused => "refused",
            Self::Failed => "failed",
        }
    }
}

/// Runs `push`.
pub async fn run(session: &mut Session, args: PushArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let format = match args.format {
        Some(f) => f,
        None => Format::from_extension(&args.file).with_context(|| {
            format!(
                "cannot tell the format of {}: name it .json, .jsonl or .csv, or give --format",
                args.file.display()
            )
        })?,
    };
    let text = document::read_text(&args.file)?;
    let docs = match document::parse_submissions(&text, format) {
        Ok(d) => d,
        Err(problems) => {
            let mut msg = format!(
                "{}: {} problem{}; nothing was sent",
                args.file.display(),
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
            for p in problems.iter().take(MAX_LISTED_PROBLEMS) {
                msg.push_str(&format!("\n  {p}"));
            }
            if problems.len() > MAX_LISTED_PROBLEMS {
                msg.push_str(&format!(
                    "\n  … and {} more",
                    problems.len() - MAX_LISTED_PROBLEMS
                ));
            }
            anyhow::bail!(msg);
        }
    };
    drop(text);
    if args.check {
        if out.is_json() {
            out.set(
                json!({ "file": args.file.display().to_string(), "documents": docs.len(), "valid": true }),
            );
        } else {
            outln!(
                "{}: {} document{}, all well-formed (nothing sent; the hub checks the rules)",
                args.file.display(),
                docs.len(),
                if docs.len() == 1 { "" } else { "s" }
            );
        }
        return Ok(Outcome::Done);
    }

    let hub = session.case_hub().await?;
    let total = docs.len();
    let mut progress = Progress::new(total, total > 1 && std::io::stderr().is_terminal());
    let mut results: Vec<(usize, Result1)> = Vec::with_capacity(total);
    let mut stream = futures::stream::iter(docs.into_iter().enumerate())
        .map(|(i, doc)| {
            let client = hub.transfer();
            async move { (i, submit(client, doc).await) }
        })
        .buffer_unordered(usize::from(args.concurrency));
    while let Some((i, r)) = stream.next().await {
        progress.tick(r.kind());
        results.push((i, r));
    }
    progress.finish();
    results.sort_by_key(|(i, _)| *i);
    let results: Vec<Result1> = results.into_iter().map(|(_, r)| r).collect();

    if total == 1 && !out.is_json() {
        return Ok(single(results.into_iter().next()));
    }
    let any_bad = results
        .iter()
        .any(|r| matches!(r.kind(), Kind::Refused | Kind::Failed));
    if out.is_json() {
        out.set(report_json(&results));
    } else {
        report_text(&results);
    }
    Ok(if any_bad { Outcome::Failed } else { Outcome::Done })
}

/// Submits one document, retrying while the hub is unreachable. The
/// request (the youth's data) is dropped when this returns.
async fn submit(
    mut client: schakel_proto::v1::transfer_service_client::TransferServiceClient<schakel_client::HubChannel>,
    doc: Submission,
) -> Result1 {
    let location = doc.location();
    let (mut attempt, mut limited) = (0, 0);
    let result = loop {
        match client.submit(doc.request.clone()).await {
            Ok(r) => break Ok(r.into_inner()),
            Err(s) if s.code() == tonic::Code::Unavailable && attempt + 1 < ATTEMPTS => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
            }
            Err(s) if s.code() == tonic::Code::ResourceExhausted && limited + 1 < RATE_LIMITED_ATTEMPTS => {
                limited += 1;
                use tonic_types::StatusExt as _;
                let wait = s
                    .get_details_retry_info()
                    .and_then(|r| r.retry_delay)
                    .unwrap_or(Duration::from_millis(100));
                tokio::time::sleep(wait.clamp(Duration::from_millis(5), Duration::from_secs(10))).await;
            }
            Err(s) => break Err(s),
        }
    };
    Result1 {
        line: doc.line,
        location,
        idempotency_key: doc.request.idempotency_key.clone(),
        derived_key: doc.derived_key,
        result,
    }
}

/// One document, in text: the answer, or the refusal as for any call.
fn single(r: Option<Result1>) -> Outcome {
    let Some(r) = r else { return Outcome::Done };
    match r.result {
        Ok(resp) => {
            accepted_text(&resp, &r.idempotency_key);
            Outcome::Done
        }
        Err(s) => {
            if is_transient(&s) {
                eprintln!(
                    "the document may or may not have been stored; pushing the same file again is a safe retry"
                );
            }
            Outcome::Refused(s)
        }
    }
}

fn accepted_text(r: &pb::SubmitResponse, key: &str) {
    render::print_rows(&[
        ("transfer_id", r.transfer_id.clone()),
        ("state", names::name(names::TRANSFER_STATES, r.state).to_owned()),
        ("accepted_groups", r.accepted_groups.join(", ")),
        (
            "submitted_at",
            r.submitted_at
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        ),
        (
            "retention_until",
            r.retention_until
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        ),
        ("policy_version", r.policy_version.clone()),
        ("idempotency_key", key.to_owned()),
        ("replayed", if r.replayed { "yes" } else { "no" }.into()),
    ]);
}

/// The keys a refusal counts under: every rule id of its violations (once
/// each), or its status code when it has none.
fn rule_keys(s: &tonic::Status) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for (_, description) in output::violations(s) {
        let k = output::rule_id(&description).unwrap_or("other").to_owned();
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    if keys.is_empty() {
        keys.push(output::code(s));
    }
    keys
}

struct Summary {
    counts: BTreeMap<&'static str, usize>,
    by_rule: BTreeMap<String, usize>,
}

fn summary(results: &[Result1]) -> Summary {
    let mut counts: BTreeMap<&'static str, usize> = ["accepted", "replayed", "refused", "failed"]
        .into_iter()
        .map(|k| (k, 0))
        .collect();
    let mut by_rule = BTreeMap::new();
    for r in results {
        *counts.entry(r.kind().name()).or_default() += 1;
        if let (Kind::Refused, Err(s)) = (r.kind(), &r.result) {
            for k in rule_keys(s) {
                *by_rule.entry(k).or_default() += 1;
            }
        }
    }
    Summary { counts, by_rule }
}

/// Sorts rule ids as a person expects: R2 before R10, then the rest.
fn rule_order(a: &str, b: &str) -> std::cmp::Ordering {
    let num = |s: &str| s.strip_prefix('R').and_then(|n| n.parse::<u32>().ok());
    match (num(a), num(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

fn report_json(results: &[Result1]) -> Value {
    let s = summary(results);
    let documents: Vec<Value> = results
        .iter()
        .map(|r| {
            let mut v = json!({
                "line": r.line,
                "idempotency_key": r.idempotency_key,
                "idempotency_key_derived": r.derived_key,
                "outcome": r.kind().name(),
            });
            if let Value::Object(m) = &mut v {
                match &r.result {
                    Ok(resp) => {
                        m.insert("transfer_id".into(), json!(resp.transfer_id));
                        m.insert(
                            "state".into(),
                            json!(names::name(names::TRANSFER_STATES, resp.state)),
                        );
                        m.insert("accepted_groups".into(), json!(resp.accepted_groups));
                        m.insert("submitted_at".into(), render::ts(&resp.submitted_at));
                        m.insert("retention_until".into(), render::ts(&resp.retention_until));
                        m.insert("policy_version".into(), json!(resp.policy_version));
                    }
                    Err(status) => {
                        m.insert("error".into(), output::status_json(status));
                    }
                }
            }
            v
        })
        .collect();
    let mut rules: Vec<(&String, &usize)> = s.by_rule.iter().collect();
    rules.sort_by(|a, b| rule_order(a.0, b.0));
    json!({
        "documents": documents,
        "summary": {
            "total": results.len(),
            "accepted": s.counts["accepted"],
            "replayed": s.counts["replayed"],
            "refused": s.counts["refused"],
            "failed": s.counts["failed"],
            "refusals_by_rule": rules.into_iter().map(|(k, n)| json!({"rule": k, "documents": n})).collect::<Vec<_>>(),
        },
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "document" } else { "documents" }
}

fn report_text(results: &[Result1]) {
    let width = results.iter().map(|r| r.location.len()).max().unwrap_or(0);
    for r in results {
        if let Ok(resp) = &r.result {
            outln!(
                "{:<width$}  {:<8}  {}  ({} groups)",
                r.location,
                r.kind().name(),
                resp.transfer_id,
                resp.accepted_groups.len()
            );
        }
    }
    let s = summary(results);
    if results.iter().any(|r| r.result.is_ok()) {
        outln!();
    }
    outln!(
        "{} {}: {} accepted, {} replayed, {} refused, {} failed",
        results.len(),
        plural(results.len()),
        s.counts["accepted"],
        s.counts["replayed"],
        s.counts["refused"],
        s.counts["failed"]
    );
    if !s.by_rule.is_empty() {
        outln!();
        outln!("refusals by rule:");
        let mut rules: Vec<(&String, &usize)> = s.by_rule.iter().collect();
        rules.sort_by(|a, b| rule_order(a.0, b.0));
        let w = rules.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (rule, n) in rules {
            outln!("  {rule:<w$}  {n} {}", plural(*n));
        }
    }
    let bad: Vec<&Result1> = results
        .iter()
        .filter(|r| matches!(r.kind(), Kind::Refused | Kind::Failed))
        .collect();
    if !bad.is_empty() {
        outln!();
        outln!("refused or failed documents:");
        for r in bad {
            if let Err(status) = &r.result {
                outln!(
                    "  {}  {} ({}): {}",
                    r.location,
                    r.kind().name(),
                    output::code(status),
                    output::headline(status)
                );
                for (field, description) in output::violations(status) {
                    outln!("    - {field}: {description}");
                }
            }
        }
        if results.iter().any(|r| r.kind() == Kind::Failed) {
            outln!();
            outln!("failed documents may be retried: push the same file again (accepted ones replay).");
        }
    }
}

/// A progress bar on stderr, redrawn at most ten times a second.
struct Progress {
    total: usize,
    done: usize,
    refused: usize,
    enabled: bool,
    last: Option<Instant>,
}

impl Progress {
    fn new(total: usize, enabled: bool) -> Self {
        Self {
            total,
            done: 0,
            refused: 0,
            enabled,
            last: None,
        }
    }

    fn tick(&mut self, kind: Kind) {
        self.done += 1;
        if matches!(kind, Kind::Refused | Kind::Failed) {
            self.refused += 1;
        }
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if self.done < self.total && self.last.is_some_and(|t| now - t < Duration::from_millis(100)) {
            return;
        }
        self.last = Some(now);
        const WIDTH: usize = 30;
        let filled = WIDTH * self.done / self.total.max(1);
        eprint!(
            "\r\x1b[2K[{}{}] {}/{} documents, {} refused or failed",
            "=".repeat(filled),
            " ".repeat(WIDTH - filled),
            self.done,
            self.total,
            self.refused
        );
    }

    fn finish(&self) {
        if self.enabled {
            eprint!("\r\x1b[2K");
        }
    }
}

#[cfg(test)]
mod tests {
    use tonic_types::{ErrorDetails, StatusExt};

    use super::*;

    fn refused(violations: &[(&str, &str)]) -> tonic::Status {
        let mut d = ErrorDetails::new();
        for (f, desc) in violations {
            d.add_bad_request_violation(*f, *desc);
        }
        tonic::Status::with_error_details(tonic::Code::FailedPrecondition, "submission refused", d)
    }

    fn result(line: usize, r: Result<pb::SubmitResponse, tonic::Status>) -> Result1 {
        Result1 {
            line: Some(line),
            location: format!("line {line}"),
            idempotency_key: format!("k{line}"),
            derived_key: true,
            result: r,
        }
    }

    #[test]
    fn refusals_are_counted_per_rule_once_per_document() {
        let results = vec![
            result(1, Ok(pb::SubmitResponse::default())),
            result(
                2,
                Ok(pb::SubmitResponse {
                    replayed: true,
                    ..Default::default()
                }),
            ),
            result(
                3,
                Err(refused(&[
                    ("subject.diploma_date", "R4: window passed"),
                    ("consent_id", "R4: no consent"),
                    ("subject.date_of_birth", "R2: 27 or older"),
                ])),
            ),
            result(4, Err(refused(&[("groups[1].name", "R14: forbidden group")]))),
            result(5, Err(tonic::Status::permission_denied("not a school"))),
            result(6, Err(tonic::Status::unavailable("down"))),
        ];
        let v = report_json(&results);
        let s = &v["summary"];
        assert_eq!(
            (&s["accepted"], &s["replayed"], &s["refused"], &s["failed"]),
            (&json!(1), &json!(1), &json!(3), &json!(1))
        );
        assert_eq!(
            s["refusals_by_rule"],
            json!([
                {"rule": "R2", "documents": 1},
                {"rule": "R4", "documents": 1},
                {"rule": "R14", "documents": 1},
                {"rule": "PERMISSION_DENIED", "documents": 1},
            ])
        );
        let doc3 = &v["documents"][2];
        assert_eq!(doc3["line"], 3);
        assert_eq!(doc3["error"]["violations"][0]["field"], "subject.diploma_date");
        assert_eq!(doc3["error"]["violations"][0]["rule"], "R4");
    }
}
