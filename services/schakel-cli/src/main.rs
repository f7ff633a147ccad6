//! `schakel`: the command line of the schakel hub for schools, gemeenten,
//! privacy officers and the hub operator. Human-readable output by default,
//! `--json` for scripts. Exit codes: 0 success, 1 refused or failed call,
//! 2 usage or local problem.
//!
//! Case data commands send the end user acting (`--user-id`, `--user-role`
//! or the profile's `user_id`, `user_role`) with every call. Fetched
//! content is opened locally with the party's age identity and written only
//! to the file asked for (`--out DIR`); errors never show a BSN, a name or
//! document content.
#![forbid(unsafe_code)]

/// `println!` for the CLI's standard output, through
/// [`output::write_stdout`]: a reader that went away (`schakel … | head`)
/// ends the program quietly instead of with a panic.
macro_rules! outln {
    () => {
        $crate::output::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` through [`output::write_stdout`] (see [`outln!`]).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!($($arg)*))
    };
}

mod commands;
mod document;
mod names;
mod opened;
mod output;
mod render;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use commands::admin::AdminCommand;
use commands::audit::AuditCommand;
use commands::consent::ConsentCommand;
use commands::directory::Kind;
use commands::expertise::ExpertiseCommand;
use commands::inbox::{AckArgs, DecideArgs, FetchArgs, HardheidsclausuleArgs, InboxArgs, NoticesArgs};
use commands::push::PushArgs;
use commands::sent::SentArgs;
use commands::{Outcome, Session};
use output::{Out, status_message};

/// Talk to a schakel hub.
#[derive(Debug, Parser)]
#[command(name = "schakel", version, about)]
struct Cli {
    /// Profile directory (profile.toml, certificate, key, CA).
    #[arg(long, env = "SCHAKEL_PROFILE", global = true)]
    profile: Option<PathBuf>,
    /// Override the hub address of the profile, e.g. https://localhost:7443.
    #[arg(long, env = "SCHAKEL_HUB", global = true)]
    hub: Option<String>,
    /// The end user acting: an opaque id in your own user administration
    /// (never a BSN or a name). Overrides the profile's user_id.
    #[arg(long, env = "SCHAKEL_USER_ID", global = true)]
    user_id: Option<String>,
    /// The end user's role, e.g. loopbaanbegeleider, werkcoach,
    /// doorstroomcoach. Overrides the profile's user_role.
    #[arg(long, env = "SCHAKEL_USER_ROLE", global = true)]
    user_role: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show who this profile's certificate is: organisation, function, keys.
    Whoami,
    /// Look up an organisation by OIN, gemeentecode or BRIN.
    Org {
        /// OIN (20 digits), gemeentecode (GM0363) or BRIN (01AB).
        key: String,
    },
    /// List registered organisations (the public directory).
    Orgs {
        /// Only this kind.
        #[arg(long, value_enum)]
        kind: Option<Kind>,
        /// Also deactivated organisations.
        #[arg(long)]
        include_inactive: bool,
    },
    /// Show the arbeidsmarktregio and Doorstroompuntregio of a gemeente;
    /// `region stats --period 2026/27`: the region's numbers (regional
    /// partners).
    #[command(args_conflicts_with_subcommands = true)]
    Region {
        /// Gemeentecode, e.g. GM0014.
        gemeentecode: Option<String>,
        /// `stats`: the numbers of your region (R13, R17).
        #[command(subcommand)]
        command: Option<RegionCommand>,
    },
    /// Consent of the youth or a parent/guardian (schools; R4, R13).
    #[command(subcommand)]
    Consent(ConsentCommand),
    /// Submit overgangsdocumenten: one JSON document, JSON lines or CSV.
    Push(PushArgs),
    /// Transfers this sender submitted; `sent show ID`, `sent copy ID`.
    Sent(SentArgs),
    /// Transfers addressed to this gemeente function; `inbox show ID`.
    Inbox(InboxArgs),
    /// Fetch a transfer, open it locally and write DIR/<transfer_id>.json.
    Fetch(FetchArgs),
    /// Acknowledge receipt of a fetched transfer.
    Ack(AckArgs),
    /// Accept or decline the youth for support.
    Decide(DecideArgs),
    /// Record the gemeente's own hardheidsclausule decision for a youth it
    /// supports (art. 7a lid 7, R2): transfers for that youth then reach it
    /// past the 27th birthday, for the period given.
    Hardheidsclausule(HardheidsclausuleArgs),
    /// Withdrawal notices for fetched transfers; `notices ack NOTICE_ID`.
    Notices(NoticesArgs),
    /// Expertise requests to the Doorstroompunt and its advice (R7).
    #[command(subcommand)]
    Expertise(ExpertiseCommand),
    /// The audit log, for privacy officers (FG): query, export, reports,
    /// anomalies, checkpoints and proofs; `audit verify --database` for the
    /// operator.
    #[command(subcommand)]
    Audit(Box<AuditCommand>),
    /// Hub operator commands (the admin profile only).
    #[command(subcommand)]
    Admin(AdminCommand),
}

/// `schakel region …`.
#[derive(Debug, clap::Subcommand)]
enum RegionCommand {
    /// The numbers of your Doorstroompuntregio for a school year or quarter:
    /// counts only, small ones hidden (regional partners; R13, R17).
    Stats(commands::region::StatsArgs),
}

/// Runs the command.
async fn run(cli: Cli, out: &mut Out) -> anyhow::Result<Outcome> {
    let mut s = Session::new(cli.profile, cli.hub, cli.user_id, cli.user_role);
    Ok(match cli.command {
        Command::Whoami => commands::directory::whoami(&s.hub().await?, out).await.into(),
        Command::Org { key } => commands::directory::org(&s.hub().await?, key, out).await.into(),
        Command::Region {
            command: Some(RegionCommand::Stats(args)),
            ..
        } => commands::region::stats(&s.hub().await?, args, out).await.into(),
        Command::Region {
            gemeentecode: Some(gemeentecode),
            command: None,
        } => commands::directory::region(&s.hub().await?, gemeentecode, out)
            .await
            .into(),
        Command::Region { .. } => {
            anyhow::bail!("give a gemeentecode (schakel region GM0014) or `stats --period 2026/27`")
        }
        Command::Orgs {
            kind,
            include_inactive,
        } => commands::directory::orgs(&s.hub().await?, kind, include_inactive, out)
            .await
            .into(),
        Command::Consent(cmd) => commands::consent::run(&mut s, cmd, out).await?,
        Command::Push(args) => commands::push::run(&mut s, args, out).await?,
        Command::Sent(args) => commands::sent::run(&mut s, args, out).await?,
        Command::Inbox(args) => commands::inbox::inbox(&mut s, args, out).await?,
        Command::Fetch(args) => commands::inbox::fetch(&mut s, args, out).await?,
        Command::Ack(args) => commands::inbox::ack(&mut s, args, out).await?,
        Command::Decide(args) => commands::inbox::decide(&mut s, args, out).await?,
        Command::Hardheidsclausule(args) => commands::inbox::hardheidsclausule(&mut s, args, out).await?,
        Command::Notices(args) => commands::inbox::notices(&mut s, args, out).await?,
        Command::Expertise(cmd) => commands::expertise::run(&mut s, cmd, out).await?,
        Command::Audit(cmd) => commands::audit::run(&mut s, *cmd, out).await?,
        Command::Admin(cmd) => commands::admin::run(&s.hub().await?, cmd, out).await?.into(),
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = Out::new(cli.json);
    match run(cli, &mut out).await {
        Ok(Outcome::Done) => {
            out.flush();
            ExitCode::SUCCESS
        }
        Ok(Outcome::Refused(status)) => {
            // With --json a script reads the refusal as it reads an answer:
            // one JSON object on standard output (code, message and every
            // field violation with its rule), whatever the command.
            if out.is_json() {
                out.set(serde_json::json!({ "error": output::status_json(&status) }));
                out.flush();
            } else {
                eprint!("{}", status_message(&status));
            }
            ExitCode::from(1)
        }
        Ok(Outcome::Failed) => {
            out.flush();
            ExitCode::from(1)
        }
        Err(e) => {
            if out.is_json() {
                out.set(serde_json::json!({
                    "error": { "code": "CLIENT", "message": format!("{e:#}"), "violations": [] }
                }));
                out.flush();
            } else {
                eprintln!("schakel: {e:#}");
            }
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    /// Parses a command line (arguments separated by single spaces).
    fn parse(line: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("schakel").chain(line.split(' ')))
    }

    const ID: &str = "0190f1c2-7d3e-7a00-8000-000000000001";

    /// A well-formed note verifier key.
    fn verifier_key() -> String {
        schakel_audit::Signer::from_seed("schakel.test/log", &[5; 32])
            .unwrap()
            .verifier()
            .vkey()
    }

    #[test]
    fn command_shapes_parse() {
        for line in [
            "consent record --bsn 999990019 --birth-date 2007-05-14 --giver youth \
             --purpose handover.school_to_gemeente --recipient 00000001999990014000 \
             --groups identity,contact.youth --method written",
            "consent record --refused --giver parent --purpose handover.school_to_gemeente \
             --recipient 00000001999990014000/participatiewet --method verbal",
            "consent withdraw ID --by youth",
            "consent show ID",
            "consent list --status given --purpose handover.school_to_gemeente --all",
            "push docs.csv --concurrency 4",
            "push --check docs.jsonl",
            "sent --state available,fetched --page-size 10",
            "sent show ID",
            "sent copy ID --identity key.txt --out out",
            "inbox --state available --all",
            "inbox show ID",
            "fetch ID --purpose handover.school_to_gemeente --out out",
            "ack ID --case-reference ZAAK-1",
            "decide ID --accept",
            "decide ID --decline not_resident --text kort",
            "notices --open",
            "notices ack ID --deleted",
            "expertise request --doorstroompunt 00000001999990014000 --bsn - --birth-date 2005-01-01 \
             --startkwalificatie not_achieved --question q",
            "expertise request --doorstroompunt 00000001999990014000 --file r.json",
            "expertise list --state open",
            "expertise fetch ID --out out",
            "expertise advise ID --outcome return_not_possible --text t",
            "expertise advice ID --out out",
            "--user-id u-1 --user-role werkcoach inbox",
            "audit query --bsn - --action transfer_fetch,transfer_read --action purge \
             --outcome refused --from 2026-03-01 --until 2026-03-31T12:00:00Z --all",
            "audit query --transfer ID --consent ID --expertise ID --user u-1 \
             --purpose handover.school_to_gemeente --page-size 100",
            "audit export --format jsonl --out audit.jsonl --bsn 999990019",
            "audit export --format logboek --from 2026-03-01T08:00 --verifier-key KEY",
            "audit report --bsn - --html --from 2026-01-01 --out report.html",
            "audit anomalies --from 2026-03-01 --kind user_volume,refusal_burst --kind outside_office_hours \
             --office-hours 7-18 --max-subjects-per-user-per-day 40 --max-users-per-subject 5 \
             --refusal-burst 5/10",
            "audit checkpoint --fresh --save cp.note",
            "audit verify --saved cp1.note --saved cp2.note --save cp3.note --bsn - --action transfer_fetch",
            "audit verify --database sqlite:hub.db --verifier-key KEY --saved cp.note",
            "audit verify --database sqlite:hub.db --verifier-key KEY --checkpoint-file hub.db.checkpoints",
            // One name for the function everywhere (issue 22); the old CLI
            // spelling still works.
            "admin add-function --oin 00000001999990014000 --function privacy_officer",
            "admin add-function --oin 00000001999990014000 --function privacy-officer",
        ] {
            let line = line.replace("ID", ID).replace("KEY", &verifier_key());
            let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
            if let Err(e) = parse(&line) {
                panic!("{line}: {e}");
            }
        }
    }

    #[test]
    fn malformed_command_lines_are_usage_errors() {
        for line in [
            "decide ID",
            "decide ID --accept --decline other",
            "decide ID --decline because",
            "fetch not-a-uuid --purpose p --out o",
            "consent withdraw ID --by mentor",
            "consent record --refused --giver parent --purpose p --recipient 00000001999990014000",
            "expertise request --doorstroompunt 00000001999990014000 --question q",
            "sent --page-token t --all",
            "audit query --action fetch",
            "audit query --action TRANSFER_FETCH",
            "audit query --outcome ok",
            "audit query --from 01-03-2026",
            "audit query --transfer not-a-uuid",
            "audit export --out x.jsonl",
            "audit export --format csv",
            "audit report --html",
            "audit anomalies --office-hours 19-6",
            "audit anomalies --refusal-burst 5",
            "audit anomalies --max-users-per-subject 0",
            "audit anomalies --kind weekend",
            "audit checkpoint --verifier-key not-a-key",
            "audit verify --database sqlite:hub.db --bsn 999990019",
            "audit verify --database sqlite:hub.db --save cp.note",
            "audit verify --checkpoint-file hub.db.checkpoints",
        ] {
            let line = line.replace("ID", ID);
            assert!(parse(&line).is_err(), "{line} parsed");
        }
    }
}
