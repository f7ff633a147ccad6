//! `schakel audit …`: the privacy officer's (FG) view of the hub's audit
//! log: query, export, subject access report, anomalies, checkpoints, and
//! proofs that the log was not altered (DESIGN.md §4).
//!
//! Every call of the AuditService is itself audited, so these commands need
//! the end user acting (`--user-id`, `--user-role`). The hub answers only
//! with entries in which the officer's own organisation is actor or party.
//!
//! Signatures are checked with a verifier key the officer pinned
//! (`--verifier-key`, or `audit_verifier_key` in profile.toml). Without one,
//! `checkpoint` and `verify` use the key the hub sends and say so loudly
//! (trust on first use); `export` and `report` then leave the signature
//! unchecked and say so.

mod operator;
mod parse;
mod view;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use futures::StreamExt;
use schakel_audit::{Checkpoint, Verifier};
use schakel_client::{
    ProofError, check_consistency, check_inclusion, open_checkpoint, open_optional_checkpoint,
};
use schakel_proto::v1 as pb;
use serde_json::{Value, json};

use self::parse::{OfficeHours, RefusalBurst, TimeArg};
use super::{Outcome, Paging, Session, choice, next_page_hint, pages};
use crate::names;
use crate::output::Out;
use crate::render::print_rows;

/// Inclusion proofs asked for at once by `verify`.
const PROOF_CONCURRENCY: usize = 4;
/// Entries proved per `GetInclusionProofs` call (the hub's maximum).
const PROOFS_PER_CALL: usize = 500;
/// Times one call is retried when the hub's rate limit is reached.
const RATE_LIMITED_ATTEMPTS: u32 = 50;

/// Calls `call` again while the hub answers `RESOURCE_EXHAUSTED`, waiting
/// each time as long as its `google.rpc.RetryInfo` says (at most
/// [`RATE_LIMITED_ATTEMPTS`] times), so a long verification finishes under
/// the default rate limit instead of failing halfway (issue 15).
async fn honouring_rate_limit<T, F, Fut>(mut call: F) -> Result<T, tonic::Status>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, tonic::Status>>,
{
    use tonic_types::StatusExt as _;
    let mut attempt = 0;
    loop {
        match call().await {
            Err(s) if s.code() == tonic::Code::ResourceExhausted && attempt + 1 < RATE_LIMITED_ATTEMPTS => {
                attempt += 1;
                let wait = s
                    .get_details_retry_info()
                    .and_then(|r| r.retry_delay)
                    .unwrap_or(std::time::Duration::from_millis(100));
                tokio::time::sleep(wait.clamp(
                    std::time::Duration::from_millis(5),
                    std::time::Duration::from_secs(10),
                ))
                .await;
            }
            other => return other,
        }
    }
}

/// `schakel audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List the audit entries your organisation may see, filtered, in
    /// sequence order.
    Query(QueryArgs),
    /// Export matching entries as JSON lines (or Logboek Dataverwerkingen
    /// records), with the checkpoint that covers them.
    Export(ExportArgs),
    /// A report for a subject access request (AVG art. 15) about one youth.
    Report(ReportArgs),
    /// Accesses that look wrong in a time window (default: the last 7 days).
    Anomalies(AnomalyArgs),
    /// Open the necessity justifications (R8) of a transfer your
    /// organisation sent or received, sealed to your key, and write them to
    /// DIR/<transfer_id>.json (mode 0600): the proof of the assessment.
    Justifications(JustificationsArgs),
    /// Show the hub's signed checkpoint and check its signature.
    Checkpoint(CheckpointArgs),
    /// Prove the log was not altered: through the hub with inclusion and
    /// consistency proofs, or (operator, --database) over the whole stored
    /// log.
    Verify(VerifyArgs),
}

/// `schakel audit justifications ID --out DIR`.
#[derive(Debug, Args)]
pub struct JustificationsArgs {
    /// The transfer id.
    #[arg(value_parser = super::id)]
    id: uuid::Uuid,
    /// The age identity file (default: the profile's age_identity).
    #[arg(long)]
    identity: Option<std::path::PathBuf>,
    /// Directory to write the opened justifications to.
    #[arg(long)]
    out: std::path::PathBuf,
}

/// `--from` / `--until`.
#[derive(Debug, Clone, Args)]
pub struct WindowArgs {
    /// From this moment: RFC 3339 (2026-03-02T10:00:00Z), or a date
    /// (2026-03-02, from its start) or local time (2026-03-02T11:00) in
    /// Europe/Amsterdam.
    #[arg(long, value_name = "TIME", value_parser = TimeArg::parse)]
    from: Option<TimeArg>,
    /// Until this moment (exclusive); a date means until the end of that
    /// day (Europe/Amsterdam), so --until 2026-03-31 includes 31 March.
    #[arg(long, value_name = "TIME", value_parser = TimeArg::parse)]
    until: Option<TimeArg>,
}

impl WindowArgs {
    fn to_proto(&self) -> anyhow::Result<(Option<prost_types::Timestamp>, Option<prost_types::Timestamp>)> {
        parse::window(self.from, self.until).map_err(anyhow::Error::msg)
    }
}

/// Which entries: the filters of `query`, `export` and `verify`.
#[derive(Debug, Clone, Args)]
pub struct FilterArgs {
    /// Only entries about this youth (the hub pseudonymises the BSN); `-`
    /// reads it from standard input.
    #[arg(long)]
    bsn: Option<String>,
    /// Only entries about this transfer.
    #[arg(long, value_parser = super::id)]
    transfer: Option<uuid::Uuid>,
    /// Only entries about this consent.
    #[arg(long, value_parser = super::id)]
    consent: Option<uuid::Uuid>,
    /// Only entries about this expertise request.
    #[arg(long, value_parser = super::id)]
    expertise: Option<uuid::Uuid>,
    /// Only entries by this end user (the id the calling system passed).
    #[arg(long)]
    user: Option<String>,
    /// Only entries under this purpose, e.g. handover.school_to_gemeente.
    #[arg(long)]
    purpose: Option<String>,
    /// Only these actions (repeat or comma-separate), e.g. transfer_fetch.
    #[arg(long = "action", value_name = "ACTION", value_delimiter = ',', value_parser = choice(names::AUDIT_ACTIONS))]
    actions: Vec<i32>,
    /// Only this outcome.
    #[arg(long, value_parser = choice(names::AUDIT_OUTCOMES))]
    outcome: Option<i32>,
    #[command(flatten)]
    window: WindowArgs,
}

impl FilterArgs {
    /// The API filter (reads the BSN from standard input for `--bsn -`).
    fn to_proto(&self) -> anyhow::Result<pb::AuditFilter> {
        let (from, until) = self.window.to_proto()?;
        let id = |u: &Option<uuid::Uuid>| u.map(|u| u.to_string()).unwrap_or_default();
        Ok(pb::AuditFilter {
            bsn: self
                .bsn
                .as_deref()
                .map(super::bsn)
                .transpose()?
                .unwrap_or_default(),
            transfer_id: id(&self.transfer),
            consent_id: id(&self.consent),
            expertise_request_id: id(&self.expertise),
            user_id: self.user.clone().unwrap_or_default(),
            purpose: self.purpose.clone().unwrap_or_default(),
            actions: self.actions.clone(),
            outcome: self.outcome.unwrap_or_default(),
            from,
            until,
        })
    }
}

/// The pinned verifier key.
#[derive(Debug, Clone, Args)]
pub struct KeyArgs {
    /// The hub's audit verifier key NAME+HASH+KEY, checked with the hub
    /// operator out of band (default: audit_verifier_key in profile.toml).
    #[arg(long, env = "SCHAKEL_AUDIT_VERIFIER_KEY", value_name = "KEY", value_parser = parse::verifier_key)]
    verifier_key: Option<Verifier>,
}

/// `schakel audit query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    filter: FilterArgs,
    #[command(flatten)]
    paging: Paging,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One JSON object per line, the fields of an audit entry.
    Jsonl,
    /// One Logboek Dataverwerkingen record per line.
    Logboek,
}

impl From<ExportFormat> for pb::ExportFormat {
    fn from(f: ExportFormat) -> Self {
        match f {
            ExportFormat::Jsonl => Self::Jsonl,
            ExportFormat::Logboek => Self::LogboekDataverwerkingen,
        }
    }
}

/// `schakel audit export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Output format.
    #[arg(long, value_enum)]
    format: ExportFormat,
    #[command(flatten)]
    filter: FilterArgs,
    /// Write to this file (mode 0600) instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    #[command(flatten)]
    key: KeyArgs,
}

/// `schakel audit report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The youth's BSN; `-` reads it from standard input (keeps it out of the
    /// process list and shell history).
    #[arg(long)]
    bsn: String,
    /// A self-contained HTML page instead of plain text.
    #[arg(long)]
    html: bool,
    #[command(flatten)]
    window: WindowArgs,
    /// Write to this file (mode 0600) instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    #[command(flatten)]
    key: KeyArgs,
}

/// `schakel audit anomalies`.
#[derive(Debug, Args)]
pub struct AnomalyArgs {
    #[command(flatten)]
    window: WindowArgs,
    /// Only these kinds (repeat or comma-separate).
    #[arg(long = "kind", value_name = "KIND", value_delimiter = ',', value_parser = choice(names::ANOMALY_KINDS))]
    kinds: Vec<i32>,
    /// Office hours on weekdays, whole hours in Europe/Amsterdam, e.g. 6-19.
    #[arg(long, value_name = "START-END", value_parser = OfficeHours::parse)]
    office_hours: Option<OfficeHours>,
    /// Flag an end user who accessed more distinct subjects in a day.
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..))]
    max_subjects_per_user_per_day: Option<i32>,
    /// Flag a subject read by more distinct end users in the window.
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..))]
    max_users_per_subject: Option<i32>,
    /// Flag COUNT refused submissions by one sender within MINUTES, e.g. 5/10.
    #[arg(long, value_name = "COUNT/MINUTES", value_parser = RefusalBurst::parse)]
    refusal_burst: Option<RefusalBurst>,
}

impl AnomalyArgs {
    /// The thresholds to send; 0 leaves one to the hub's default.
    fn thresholds(&self) -> pb::AnomalyThresholds {
        pb::AnomalyThresholds {
            office_hours_start: self.office_hours.map_or(0, |h| h.start),
            office_hours_end: self.office_hours.map_or(0, |h| h.end),
            max_subjects_per_user_per_day: self.max_subjects_per_user_per_day.unwrap_or(0),
            max_users_per_subject: self.max_users_per_subject.unwrap_or(0),
            refusal_burst_count: self.refusal_burst.map_or(0, |b| b.count),
            refusal_burst_minutes: self.refusal_burst.map_or(0, |b| b.minutes),
        }
    }
}

/// `schakel audit checkpoint`.
#[derive(Debug, Args)]
pub struct CheckpointArgs {
    /// Have the hub sign a new checkpoint now instead of the latest one.
    #[arg(long)]
    fresh: bool,
    /// Keep the signed note in this file (mode 0600), to prove later with
    /// `audit verify --saved FILE` that the log still extends it.
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    #[command(flatten)]
    key: KeyArgs,
}

/// `schakel audit verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Operator mode: verify the whole stored log in this database
    /// (sqlite:PATH or postgres://…) instead of asking the hub for proofs.
    #[arg(long, value_name = "URL", conflicts_with_all = [
        "bsn", "transfer", "consent", "expertise", "user", "purpose", "actions", "outcome",
        "from", "until", "save",
    ])]
    database: Option<String>,
    /// A checkpoint note saved earlier (`audit checkpoint --save`); the log
    /// must still extend it. Repeatable.
    #[arg(long, value_name = "FILE")]
    saved: Vec<PathBuf>,
    /// With --database: the hub's checkpoint file (`checkpoint_file` in its
    /// configuration), whose checkpoints the log must extend too. Default
    /// for SQLite: the database file's name with `.checkpoints` added, when
    /// it exists.
    #[arg(long, value_name = "FILE", requires = "database")]
    checkpoint_file: Option<PathBuf>,
    /// After a successful verification, keep the new checkpoint's note here.
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    #[command(flatten)]
    filter: FilterArgs,
    #[command(flatten)]
    key: KeyArgs,
}

/// Runs an audit command.
pub async fn run(session: &mut Session, cmd: AuditCommand, out: &mut Out) -> anyhow::Result<Outcome> {
    match cmd {
        AuditCommand::Query(a) => query(session, a, out).await,
        AuditCommand::Export(a) => export(session, a, out).await,
        AuditCommand::Report(a) => report(session, a, out).await,
        AuditCommand::Anomalies(a) => anomalies(session, a, out).await,
        AuditCommand::Justifications(a) => justifications(session, a, out).await,
        AuditCommand::Checkpoint(a) => checkpoint(session, a, out).await,
        AuditCommand::Verify(a) => match &a.database {
            Some(url) => {
                operator::verify(session, url, &a.key, &a.saved, a.checkpoint_file.as_deref(), out).await
            }
            None => verify(session, a, out).await,
        },
    }
}

// --- keys and checkpoints ----------------------------------------------------

/// Where the verifier key that checked a signature came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeySource {
    /// `--verifier-key` (or its environment variable).
    Flag,
    /// `audit_verifier_key` in profile.toml.
    Profile,
    /// The key the hub itself sent: trust on first use.
    Hub,
}

impl KeySource {
    fn text(self) -> &'static str {
        match self {
            Self::Flag => "the pinned key (--verifier-key)",
            Self::Profile => "the pinned key (audit_verifier_key in the profile)",
            Self::Hub => "the key the hub sent (NOT pinned: trust on first use)",
        }
    }

    fn json(self) -> &'static str {
        match self {
            Self::Flag => "flag",
            Self::Profile => "profile",
            Self::Hub => "hub_unpinned",
        }
    }
}

/// The pinned key: `--verifier-key`, else the profile's (when a profile is
/// given; remote commands always have one loaded).
fn pinned(key: &KeyArgs, session: &mut Session) -> anyhow::Result<Option<(Verifier, KeySource)>> {
    if let Some(v) = &key.verifier_key {
        return Ok(Some((v.clone(), KeySource::Flag)));
    }
    if session.profile_dir.is_none() {
        return Ok(None);
    }
    Ok(session
        .profile()?
        .audit_verifier
        .clone()
        .map(|v| (v, KeySource::Profile)))
}

const PIN_HINT: &str = "check it with the hub operator out of band, then pin it with --verifier-key KEY \
                        or audit_verifier_key = \"KEY\" in profile.toml";

/// The key to check a checkpoint with: the pinned one, or (trust on first
/// use, with a warning) the one the hub sent.
fn key_for(pinned: Option<(Verifier, KeySource)>, hub_key: &str) -> Result<(Verifier, KeySource), String> {
    let hub_key = hub_key.trim();
    match pinned {
        Some((v, source)) => {
            if !hub_key.is_empty() && hub_key != v.vkey() {
                eprintln!("warning: the hub presents another verifier key than the pinned one: {hub_key}");
            }
            Ok((v, source))
        }
        None => {
            let v = parse::verifier_key(hub_key).map_err(|e| format!("the hub's verifier key: {e}"))?;
            eprintln!(
                "warning: no verifier key is pinned, so the signature was checked with the key the hub \
                 itself sent (trust on first use):\n  {}\n  {PIN_HINT}",
                v.vkey()
            );
            Ok((v, KeySource::Hub))
        }
    }
}

/// Whether the checkpoint that covers an export or report is signed.
enum Covered {
    Verified(KeySource),
    NotChecked,
    Failed(ProofError),
}

fn check_covering(cp: Option<&pb::Checkpoint>, pinned: Option<&(Verifier, KeySource)>) -> Covered {
    match pinned {
        None => Covered::NotChecked,
        Some((v, source)) => match open_optional_checkpoint(cp, v) {
            Ok(_) => Covered::Verified(*source),
            Err(e) => Covered::Failed(e),
        },
    }
}

impl Covered {
    fn text(&self) -> String {
        match self {
            Self::Verified(source) => format!("verified with {}", source.text()),
            Self::NotChecked => {
                "NOT checked: no verifier key pinned (give --verifier-key, or audit_verifier_key in \
                 profile.toml)"
                    .into()
            }
            Self::Failed(e) => format!("FAILED: {e}"),
        }
    }

    fn json(&self) -> Value {
        match self {
            Self::Verified(source) => json!({ "verified": true, "key": source.json() }),
            Self::NotChecked => json!({ "verified": null }),
            Self::Failed(e) => json!({ "verified": false, "error": e.to_string() }),
        }
    }

    fn outcome(&self) -> Outcome {
        match self {
            Self::Failed(_) => Outcome::Failed,
            _ => Outcome::Done,
        }
    }
}

/// Reports a verification that failed (exit 1).
fn failed(out: &mut Out, what: &str, mut detail: Value) -> Outcome {
    eprintln!("verification FAILED: {what}");
    if out.is_json() {
        if let Value::Object(m) = &mut detail {
            m.insert("verified".into(), json!(false));
            m.insert("error".into(), json!(what));
        }
        out.set(detail);
    }
    Outcome::Failed
}

// --- files -------------------------------------------------------------------

/// A file written with mode 0600 through a temporary file beside it and
/// renamed into place by [`PrivateFile::commit`]: a failed or incomplete
/// export never leaves a partial file under the name asked for.
struct PrivateFile {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<std::io::BufWriter<std::fs::File>>,
}

impl PrivateFile {
    fn create(path: &Path) -> anyhow::Result<Self> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("{} is not a file name", path.display()))?;
        let tmp = path.with_file_name(format!(".{name}.tmp"));
        // A stale temporary file of an interrupted run.
        match std::fs::remove_file(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", tmp.display())),
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options
            .open(&tmp)
            .with_context(|| format!("creating {}", path.display()))?;
        Ok(Self {
            path: path.to_owned(),
            tmp,
            file: Some(std::io::BufWriter::new(file)),
        })
    }

    fn commit(mut self) -> anyhow::Result<()> {
        let path = self.path.clone();
        let result = (|| -> std::io::Result<()> {
            if let Some(f) = self.file.take() {
                let f = f.into_inner().map_err(|e| e.into_error())?;
                f.sync_all()?;
            }
            std::fs::rename(&self.tmp, &self.path)
        })();
        result.with_context(|| format!("writing {}", path.display()))
    }
}

impl Write for PrivateFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(std::io::Error::other("file already closed")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for PrivateFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

fn write_private_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut f = PrivateFile::create(path)?;
    f.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    f.commit()
}

// --- query -------------------------------------------------------------------

async fn query(session: &mut Session, a: QueryArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let filter = a.filter.to_proto()?;
    let hub = session.audit_hub().await?;
    let r = pages(&a.paging, |page_token, page_size| {
        let mut client = hub.audit();
        let req = pb::QueryAuditRequest {
            filter: Some(filter.clone()),
            page_size,
            page_token,
        };
        async move {
            let r = client.query_audit(req).await?.into_inner();
            Ok((r.entries, r.next_page_token))
        }
    })
    .await;
    Ok(match r {
        Ok((entries, next)) => {
            if out.is_json() {
                out.set(json!({
                    "entries": entries.iter().map(view::entry_json).collect::<Vec<_>>(),
                    "next_page_token": next,
                }));
            } else {
                out!("{}", view::entries_table(&entries));
                next_page_hint(&next);
            }
            Outcome::Done
        }
        Err(s) => Outcome::Refused(s),
    })
}

// --- export ------------------------------------------------------------------

/// Where exported lines go.
enum Sink {
    Stdout(std::io::BufWriter<std::io::Stdout>),
    File(PrivateFile),
}

impl Sink {
    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Self::Stdout(w) => w,
            Self::File(f) => f,
        }
    }
}

async fn export(session: &mut Session, a: ExportArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    use pb::export_audit_response::Part;

    let filter = a.filter.to_proto()?;
    let hub = session.audit_hub().await?;
    let pinned = pinned(&a.key, session)?;
    let req = pb::ExportAuditRequest {
        filter: Some(filter),
        format: pb::ExportFormat::from(a.format).into(),
    };
    let mut stream = match hub.audit().export_audit(req).await {
        Ok(r) => r.into_inner(),
        Err(s) => return Ok(Outcome::Refused(s)),
    };
    let mut sink = match &a.out {
        Some(path) => Sink::File(PrivateFile::create(path)?),
        None => Sink::Stdout(std::io::BufWriter::new(std::io::stdout())),
    };
    let mut lines = 0u64;
    let mut trailer = None;
    let mut after_trailer = false;
    loop {
        let message = match stream.message().await {
            Ok(Some(m)) => m,
            Ok(None) => break,
            Err(s) => {
                let _ = sink.writer().flush();
                eprintln!("the export broke off after {lines} lines; it is incomplete");
                return Ok(Outcome::Refused(s));
            }
        };
        match message.part {
            Some(Part::Lines(bytes)) => {
                after_trailer |= trailer.is_some();
                lines += bytes.iter().filter(|b| **b == b'\n').count() as u64;
                sink.writer().write_all(&bytes).context("writing the export")?;
            }
            Some(Part::Trailer(t)) => {
                after_trailer |= trailer.is_some();
                trailer = Some(t);
            }
            None => {}
        }
    }
    sink.writer().flush().context("writing the export")?;
    let Some(trailer) = trailer.filter(|_| !after_trailer) else {
        // The file (if any) is dropped uncommitted: no partial export.
        return Ok(failed(
            out,
            "the export did not end with exactly one trailer: it is incomplete",
            json!({ "lines": lines }),
        ));
    };
    if trailer.entry_count != lines {
        return Ok(failed(
            out,
            &format!(
                "the trailer counts {} entries but {lines} lines arrived",
                trailer.entry_count
            ),
            json!({ "lines": lines, "entry_count": trailer.entry_count }),
        ));
    }
    if let Sink::File(f) = sink {
        f.commit()?;
    }
    // The checkpoint that covers the export goes beside the file, as the
    // signed note `audit verify --saved` takes: the two are kept together.
    let checkpoint_file = match (&a.out, &trailer.checkpoint) {
        (Some(path), Some(cp)) if !cp.note.is_empty() => {
            let mut name = path.clone().into_os_string();
            name.push(".checkpoint");
            let note_path = PathBuf::from(name);
            write_private_file(&note_path, cp.note.as_bytes())?;
            Some(note_path)
        }
        _ => None,
    };
    let covered = check_covering(trailer.checkpoint.as_ref(), pinned.as_ref());
    let cp = trailer.checkpoint.clone().unwrap_or_default();
    if out.is_json() {
        let v = json!({
            "entry_count": trailer.entry_count,
            "format": a.format.to_possible_value().map(|v| v.get_name().to_owned()),
            "file": a.out.as_ref().map(|p| p.display().to_string()),
            "checkpoint_file": checkpoint_file.as_ref().map(|p| p.display().to_string()),
            "checkpoint": trailer.checkpoint.as_ref().map(view::checkpoint_json),
            "signature": covered.json(),
        });
        // Standard output carries the export itself unless --out is given.
        if a.out.is_some() {
            out.set(v);
        } else {
            eprintln!("{v}");
        }
    } else {
        let to = a
            .out
            .as_ref()
            .map(|p| format!(" to {}", p.display()))
            .unwrap_or_default();
        eprintln!("exported {}{to}", entries(trailer.entry_count));
        eprintln!("checkpoint  {}", view::checkpoint_line(&cp));
        if let Some(p) = &checkpoint_file {
            eprintln!("            saved to {}", p.display());
        }
        eprintln!("signature   {}", covered.text());
    }
    Ok(covered.outcome())
}

// --- report ------------------------------------------------------------------

async fn report(session: &mut Session, a: ReportArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let bsn = super::bsn(&a.bsn)?;
    let (from, until) = a.window.to_proto()?;
    let hub = session.audit_hub().await?;
    let pinned = pinned(&a.key, session)?;
    let format = if a.html {
        pb::ReportFormat::Html
    } else {
        pb::ReportFormat::Text
    };
    let r = hub
        .audit()
        .subject_access_report(pb::SubjectAccessReportRequest {
            bsn,
            format: format.into(),
            from,
            until,
        })
        .await;
    let r = match r {
        Ok(r) => r.into_inner(),
        Err(s) => return Ok(Outcome::Refused(s)),
    };
    if let Some(path) = &a.out {
        write_private_file(path, r.report.as_bytes())?;
    }
    let covered = check_covering(r.checkpoint.as_ref(), pinned.as_ref());
    if out.is_json() {
        let mut v = json!({
            "content_type": r.content_type,
            "entry_count": r.entry_count,
            "generated_at": crate::render::ts(&r.generated_at),
            "checkpoint": r.checkpoint.as_ref().map(view::checkpoint_json),
            "signature": covered.json(),
        });
        if let Value::Object(m) = &mut v {
            match &a.out {
                Some(p) => m.insert("file".into(), json!(p.display().to_string())),
                None => m.insert("report".into(), json!(r.report)),
            };
        }
        out.set(v);
        return Ok(covered.outcome());
    }
    let cp = r.checkpoint.clone().unwrap_or_default();
    let mut rows = Vec::new();
    if let Some(p) = &a.out {
        rows.push(("report", format!("{} ({})", p.display(), r.content_type)));
    }
    rows.push(("entries", r.entry_count.to_string()));
    rows.push((
        "generated",
        format!("{} (Europe/Amsterdam)", view::local_time(&r.generated_at)),
    ));
    rows.push(("checkpoint", view::checkpoint_line(&cp)));
    rows.push(("signature", covered.text()));
    if a.out.is_some() {
        print_rows(&rows);
    } else {
        // The report goes to standard output, what it rests on to stderr.
        out!("{}", r.report);
        if !r.report.ends_with('\n') {
            outln!();
        }
        let width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
        for (label, value) in rows {
            eprintln!("{label:<width$}  {value}");
        }
    }
    Ok(covered.outcome())
}

// --- anomalies ---------------------------------------------------------------

async fn justifications(
    session: &mut Session,
    a: JustificationsArgs,
    out: &mut Out,
) -> anyhow::Result<Outcome> {
    let identities = crate::opened::identities(a.identity.as_deref(), session.profile()?)?;
    let hub = session.audit_hub().await?;
    let r = hub
        .audit()
        .get_justifications(pb::GetJustificationsRequest {
            transfer_id: a.id.to_string(),
        })
        .await;
    let r = match r {
        Ok(r) => r.into_inner(),
        Err(s) => return Ok(Outcome::Refused(s)),
    };
    let meta = json!({
        "transfer_id": r.transfer_id,
        "purpose": r.purpose,
        "sender": crate::render::party_text(&r.sender),
        "recipient": crate::render::party_text(&r.recipient),
    });
    super::inbox::write_opened(
        out,
        &a.out,
        &a.id,
        r.recipient.as_ref(),
        meta,
        &r.groups,
        &identities,
    )
}

async fn anomalies(session: &mut Session, a: AnomalyArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let (from, until) = a.window.to_proto()?;
    let hub = session.audit_hub().await?;
    let r = hub
        .audit()
        .anomaly_report(pb::AnomalyReportRequest {
            from,
            until,
            kinds: a.kinds.clone(),
            thresholds: Some(a.thresholds()),
        })
        .await;
    let r = match r {
        Ok(r) => r.into_inner(),
        Err(s) => return Ok(Outcome::Refused(s)),
    };
    if out.is_json() {
        out.set(json!({
            "from": crate::render::ts(&from),
            "until": crate::render::ts(&until),
            "entries_examined": r.entries_examined,
            "anomalies": r.anomalies.iter().map(view::anomaly_json).collect::<Vec<_>>(),
            "thresholds": r.thresholds.as_ref().map(view::thresholds_json),
        }));
    } else {
        let bound = |t: &Option<prost_types::Timestamp>, default: &str| {
            if t.is_some() {
                view::local_time(t)
            } else {
                default.to_owned()
            }
        };
        outln!(
            "window: {} to {} (Europe/Amsterdam)",
            bound(&from, "7 days before the end"),
            bound(&until, "now")
        );
        out!("{}", view::anomalies_text(&r));
    }
    Ok(Outcome::Done)
}

// --- checkpoint --------------------------------------------------------------

async fn checkpoint(session: &mut Session, a: CheckpointArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let hub = session.audit_hub().await?;
    let pinned = pinned(&a.key, session)?;
    let r = hub
        .audit()
        .get_checkpoint(pb::GetCheckpointRequest { fresh: a.fresh })
        .await;
    let r = match r {
        Ok(r) => r.into_inner(),
        Err(s) => return Ok(Outcome::Refused(s)),
    };
    let Some(cp) = r.checkpoint else {
        return Ok(failed(out, "the hub sent no checkpoint", json!({})));
    };
    let (verifier, source) = match key_for(pinned, &r.verifier_key) {
        Ok(k) => k,
        Err(e) => {
            return Ok(failed(
                out,
                &e,
                json!({ "checkpoint": view::checkpoint_json(&cp) }),
            ));
        }
    };
    if let Err(e) = open_checkpoint(&cp, &verifier) {
        return Ok(failed(
            out,
            &format!("checkpoint: {e}"),
            json!({ "checkpoint": view::checkpoint_json(&cp), "verifier_key": verifier.vkey() }),
        ));
    }
    if let Some(path) = &a.save {
        write_private_file(path, cp.note.as_bytes())?;
    }
    if out.is_json() {
        out.set(json!({
            "checkpoint": view::checkpoint_json(&cp),
            "verified": true,
            "key": source.json(),
            "verifier_key": verifier.vkey(),
            "hub_verifier_key": r.verifier_key,
            "saved": a.save.as_ref().map(|p| p.display().to_string()),
        }));
    } else {
        let mut rows = view::checkpoint_rows(&cp);
        rows.push(("signature", format!("verified with {}", source.text())));
        rows.push(("key", verifier.vkey()));
        if let Some(p) = &a.save {
            rows.push(("saved", p.display().to_string()));
        }
        print_rows(&rows);
    }
    Ok(Outcome::Done)
}

// --- verify (remote) ---------------------------------------------------------

/// Runs `verify` through the hub: a fresh checkpoint, consistency with every
/// saved one, and an inclusion proof of every matching entry.
async fn verify(session: &mut Session, a: VerifyArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let filter = a.filter.to_proto()?;
    let saved = read_saved(&a.saved)?;
    let hub = session.audit_hub().await?;
    let pinned = pinned(&a.key, session)?;

    // 1. A fresh checkpoint, its signature checked.
    let r = hub
        .audit()
        .get_checkpoint(pb::GetCheckpointRequest { fresh: true })
        .await;
    let r = match r {
        Ok(r) => r.into_inner(),
        Err(s) => return Ok(Outcome::Refused(s)),
    };
    let Some(cp) = r.checkpoint else {
        return Ok(failed(out, "the hub sent no checkpoint", json!({})));
    };
    let (verifier, source) = match key_for(pinned, &r.verifier_key) {
        Ok(k) => k,
        Err(e) => return Ok(failed(out, &e, json!({}))),
    };
    let new = match open_checkpoint(&cp, &verifier) {
        Ok(c) => c,
        Err(e) => {
            return Ok(failed(
                out,
                &format!("the fresh checkpoint: {e}"),
                json!({ "checkpoint": view::checkpoint_json(&cp) }),
            ));
        }
    };

    // 2. The log still extends every checkpoint saved earlier.
    let mut consistent = Vec::new();
    for (path, note) in &saved {
        let shown = path.display();
        let old = match Checkpoint::open(note, &verifier) {
            Ok(c) => c,
            Err(e) => {
                return Ok(failed(
                    out,
                    &format!("saved checkpoint {shown}: {e}"),
                    json!({ "saved": shown.to_string() }),
                ));
            }
        };
        if old.size > new.size {
            return Ok(failed(
                out,
                &format!(
                    "saved checkpoint {shown} covers {} entries but the log now has {}: entries were removed",
                    old.size, new.size
                ),
                json!({ "saved": shown.to_string(), "saved_size": old.size, "size": new.size }),
            ));
        }
        let proof = hub
            .audit()
            .get_consistency_proof(pb::GetConsistencyProofRequest {
                first_size: old.size,
                second_size: new.size,
            })
            .await;
        let proof = match proof {
            Ok(p) => p.into_inner(),
            Err(s) => {
                eprintln!("consistency proof from size {} to {}:", old.size, new.size);
                return Ok(Outcome::Refused(s));
            }
        };
        if let Err(e) = check_consistency(&proof, &old, &new) {
            return Ok(failed(
                out,
                &format!(
                    "the log does not extend saved checkpoint {shown} (size {}): {e}",
                    old.size
                ),
                json!({ "saved": shown.to_string(), "saved_size": old.size, "size": new.size }),
            ));
        }
        consistent.push((shown.to_string(), old.size));
    }

    // 3. Every matching entry is in the signed tree. Entries logged after
    //    the checkpoint (this run's own queries among them) are not in it yet.
    let all = Paging {
        page_size: None,
        page_token: None,
        all: true,
    };
    let listed = pages(&all, |page_token, page_size| {
        let mut client = hub.audit();
        let req = pb::QueryAuditRequest {
            filter: Some(filter.clone()),
            page_size,
            page_token,
        };
        async move {
            let r = client.query_audit(req).await?.into_inner();
            Ok((r.entries, r.next_page_token))
        }
    })
    .await;
    let listed = match listed {
        Ok((entries, _)) => entries,
        Err(s) => return Ok(Outcome::Refused(s)),
    };
    let (covered, later): (Vec<_>, Vec<_>) = listed.into_iter().partition(|e| e.sequence < new.size);
    let tree_size = new.size;
    // In batches of 500 (a million visible entries are 2,000 calls), a few
    // at once, waiting as the hub says when its rate limit is reached.
    let mut batches = futures::stream::iter(covered.chunks(PROOFS_PER_CALL).map(|batch| {
        let hub = hub.clone();
        let req = pb::GetInclusionProofsRequest {
            sequences: batch.iter().map(|e| e.sequence).collect(),
            tree_size,
        };
        async move {
            let answer = honouring_rate_limit(|| {
                let mut client = hub.audit();
                let req = req.clone();
                async move { client.get_inclusion_proofs(req).await }
            })
            .await;
            (batch, answer)
        }
    }))
    .buffered(PROOF_CONCURRENCY);
    let mut proved = 0u64;
    while let Some((batch, answer)) = batches.next().await {
        let proofs = match answer {
            Ok(a) => a.into_inner().proofs,
            Err(s) => {
                eprintln!(
                    "inclusion proofs of entries {} to {}:",
                    batch.first().map_or(0, |e| e.sequence),
                    batch.last().map_or(0, |e| e.sequence)
                );
                return Ok(Outcome::Refused(s));
            }
        };
        if proofs.len() != batch.len() {
            return Ok(failed(
                out,
                &format!(
                    "the hub answered {} proofs for {} entries",
                    proofs.len(),
                    batch.len()
                ),
                json!({ "size": new.size }),
            ));
        }
        for (entry, answer) in batch.iter().zip(&proofs) {
            let listed_leaf = Some(entry.leaf_hash.as_slice()).filter(|h| !h.is_empty());
            if let Err(e) = check_inclusion(answer, &new, entry.sequence, listed_leaf) {
                return Ok(failed(
                    out,
                    &format!("entry {}: {e}", entry.sequence),
                    json!({ "first_bad_sequence": entry.sequence, "size": new.size }),
                ));
            }
            proved += 1;
        }
    }

    if let Some(path) = &a.save {
        write_private_file(path, cp.note.as_bytes())?;
    }
    let range = match (covered.first(), covered.last()) {
        (Some(f), Some(l)) => Some((f.sequence, l.sequence)),
        _ => None,
    };
    if out.is_json() {
        out.set(json!({
            "verified": true,
            "checkpoint": view::checkpoint_json(&cp),
            "key": source.json(),
            "verifier_key": verifier.vkey(),
            "consistent_with": consistent.iter().map(|(file, size)| json!({ "file": file, "size": size })).collect::<Vec<_>>(),
            "entries_proved": proved,
            "first_sequence": range.map(|r| r.0),
            "last_sequence": range.map(|r| r.1),
            "entries_after_checkpoint": later.len(),
            "saved": a.save.as_ref().map(|p| p.display().to_string()),
        }));
        return Ok(Outcome::Done);
    }
    let mut rows = vec![
        ("checkpoint", format!("{} size {}", new.origin, new.size)),
        ("root", hex::encode(new.root)),
        ("signature", format!("verified with {}", source.text())),
    ];
    for (file, size) in &consistent {
        rows.push((
            "consistent",
            format!("extends saved checkpoint {file} (size {size})"),
        ));
    }
    rows.push((
        "included",
        match range {
            Some((first, last)) => format!(
                "{} proved in the tree of size {} (sequences {first}-{last})",
                entries(proved),
                new.size
            ),
            None => "no matching entries to prove".into(),
        },
    ));
    if !later.is_empty() {
        rows.push((
            "not yet",
            format!(
                "{} matching this filter logged after the checkpoint; verify again later",
                entries(later.len() as u64)
            ),
        ));
    }
    if let Some(p) = &a.save {
        rows.push(("saved", p.display().to_string()));
    }
    print_rows(&rows);
    outln!("verified");
    Ok(Outcome::Done)
}

/// `1 entry`, `2 entries`.
fn entries(n: u64) -> String {
    if n == 1 {
        "1 entry".into()
    } else {
        format!("{n} entries")
    }
}

/// Reads saved checkpoint notes (a missing file is a local problem).
fn read_saved(paths: &[PathBuf]) -> anyhow::Result<Vec<(PathBuf, String)>> {
    paths
        .iter()
        .map(|p| {
            std::fs::read_to_string(p)
                .with_context(|| format!("reading the saved checkpoint {}", p.display()))
                .map(|note| (p.clone(), note))
        })
        .collect()
}

#[cfg(test)]
mod tests;
