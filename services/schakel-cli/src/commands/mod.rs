//! The command families of `schakel`, and what they share: the session
//! (profile and lazily opened connection), the outcome of a command,
//! paging, and parsers for option values.

pub mod admin;
pub mod audit;
pub mod consent;
pub mod directory;
pub mod expertise;
pub mod inbox;
pub mod push;
pub mod region;
pub mod sent;

use std::future::Future;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use schakel_client::{Hub, Profile};
use schakel_proto::v1 as pb;

use crate::names::{self, Table};

/// How a command ended.
pub enum Outcome {
    /// It did what was asked.
    Done,
    /// The hub refused the call; main prints the status (exit 1).
    Refused(tonic::Status),
    /// A partial failure the command has already reported (exit 1), e.g.
    /// a batch with refused documents.
    Failed,
}

impl From<Result<(), tonic::Status>> for Outcome {
    fn from(r: Result<(), tonic::Status>) -> Self {
        match r {
            Ok(()) => Self::Done,
            Err(s) => Self::Refused(s),
        }
    }
}

/// Where the CLI talks to: the profile (loaded on first use) and the
/// connection (opened on first use, so local checks need neither).
pub struct Session {
    /// `--profile`.
    pub profile_dir: Option<PathBuf>,
    /// `--hub`.
    pub hub_url: Option<String>,
    /// `--user-id`.
    pub user_id: Option<String>,
    /// `--user-role`.
    pub user_role: Option<String>,
    profile: Option<Profile>,
    hub: Option<Hub>,
}

impl Session {
    /// A session; nothing is loaded yet.
    pub fn new(
        profile_dir: Option<PathBuf>,
        hub_url: Option<String>,
        user_id: Option<String>,
        user_role: Option<String>,
    ) -> Self {
        Self {
            profile_dir,
            hub_url,
            user_id,
            user_role,
            profile: None,
            hub: None,
        }
    }

    /// The profile, with `--hub`, `--user-id` and `--user-role` applied.
    pub fn profile(&mut self) -> anyhow::Result<&Profile> {
        if self.profile.is_none() {
            let dir = self
                .profile_dir
                .as_ref()
                .context("give --profile DIR (or set SCHAKEL_PROFILE)")?;
            let mut profile =
                Profile::load(dir)?.with_user_overrides(self.user_id.clone(), self.user_role.clone());
            if let Some(hub) = &self.hub_url {
                profile = profile.with_hub(hub.clone());
            }
            self.profile = Some(profile);
        }
        self.profile.as_ref().context("profile not loaded")
    }

    /// The connection.
    pub async fn hub(&mut self) -> anyhow::Result<Hub> {
        if let Some(hub) = &self.hub {
            return Ok(hub.clone());
        }
        let profile = self.profile()?;
        // A half-given end user is a local mistake: say how to give both.
        if let Err(e) = profile.end_user() {
            let half = profile.user.user_id.is_none() || profile.user.user_role.is_none();
            if half {
                anyhow::bail!(
                    "{e}: give both --user-id and --user-role (or user_id and user_role in profile.toml)"
                );
            }
            anyhow::bail!("{e}");
        }
        let hub = profile.connect().await?;
        self.hub = Some(hub.clone());
        Ok(hub)
    }

    /// The connection for a command that touches case data: the hub
    /// requires the end user acting, so a missing one is a local mistake.
    pub async fn case_hub(&mut self) -> anyhow::Result<Hub> {
        self.hub_with_user("this command touches case data").await
    }

    /// The connection for an audit command: the hub audits every call of a
    /// privacy officer too, naming the end user, so one is required.
    pub async fn audit_hub(&mut self) -> anyhow::Result<Hub> {
        self.hub_with_user("the hub audits the privacy officer's own queries")
            .await
    }

    async fn hub_with_user(&mut self, why: &str) -> anyhow::Result<Hub> {
        // A malformed end user is reported by `hub()`, naming the problem.
        let has_user = self.profile()?.end_user().map_or(true, |u| u.is_some());
        anyhow::ensure!(
            has_user,
            "{why}: say who acts with --user-id and --user-role \
             (or SCHAKEL_USER_ID and SCHAKEL_USER_ROLE, or user_id and user_role in profile.toml)"
        );
        self.hub().await
    }
}

/// Paging options of list commands.
#[derive(Debug, Clone, Args)]
pub struct Paging {
    /// Results per page (the hub's default is 50, its maximum 500).
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..=500))]
    pub page_size: Option<i32>,
    /// Continue from this token (printed after a page).
    #[arg(long)]
    pub page_token: Option<String>,
    /// Fetch every page.
    #[arg(long, conflicts_with = "page_token")]
    pub all: bool,
}

/// One page, or every page with `--all`: the items and the next page token
/// (empty after the last page). `call(token, size)` fetches one page.
pub async fn pages<T, F, Fut>(paging: &Paging, mut call: F) -> Result<(Vec<T>, String), tonic::Status>
where
    F: FnMut(String, i32) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, String), tonic::Status>>,
{
    let size = paging.page_size.unwrap_or(if paging.all { 500 } else { 0 });
    let mut token = paging.page_token.clone().unwrap_or_default();
    let mut all = Vec::new();
    loop {
        let (items, next) = call(token, size).await?;
        all.extend(items);
        if !paging.all || next.is_empty() {
            return Ok((all, next));
        }
        token = next;
    }
}

/// Prints the next page hint (text mode) after a list.
pub fn next_page_hint(next: &str) {
    if !next.is_empty() {
        outln!("(more: --page-token {next}, or --all)");
    }
}

/// A value parser for an enum name table, yielding the wire value.
pub fn choice<T>(table: Table<T>) -> impl TypedValueParser<Value = i32>
where
    T: Copy + Into<i32> + Send + Sync + 'static,
{
    PossibleValuesParser::new(table.iter().map(|(n, _)| *n))
        .try_map(move |s: String| names::parse(table, &s).map(Into::into).ok_or("unknown value"))
}

/// A UUID (any case), in canonical lower-case form.
pub fn id(s: &str) -> Result<uuid::Uuid, String> {
    uuid::Uuid::parse_str(s).map_err(|_| "not a UUID (e.g. 0190f1c2-7d3e-7a00-8000-000000000000)".to_owned())
}

/// A calendar date `YYYY-MM-DD`.
pub fn date(s: &str) -> Result<pb::Date, String> {
    crate::document::parse_date(s).ok_or_else(|| "not a valid date (expected YYYY-MM-DD)".to_owned())
}

/// A party `OIN[/function]`; the function defaults to `default`.
pub fn party(s: &str, default: pb::FunctionKind) -> Result<pb::PartyRef, String> {
    let (oin, function) = match s.split_once('/') {
        Some((oin, f)) => (
            oin,
            names::parse(names::FUNCTIONS, f).ok_or_else(|| {
                format!(
                    "unknown function (expected one of: {})",
                    names::list(names::FUNCTIONS)
                )
            })?,
        ),
        None => (s, default),
    };
    if oin.len() != 20 || !oin.bytes().all(|b| b.is_ascii_digit()) {
        return Err("an OIN is 20 digits".into());
    }
    Ok(pb::PartyRef {
        oin: oin.to_owned(),
        function: function.into(),
    })
}

/// A recipient `OIN[/function]`, by default the Participatiewet function.
pub fn recipient(s: &str) -> Result<pb::PartyRef, String> {
    party(s, pb::FunctionKind::Participatiewet)
}

/// A Doorstroompunt `OIN[/function]`.
pub fn doorstroompunt(s: &str) -> Result<pb::PartyRef, String> {
    party(s, pb::FunctionKind::Doorstroompunt)
}

/// A BSN option: the value itself, or `-` to read it from the first line
/// of standard input (so it does not show in the process list or the shell
/// history).
pub fn bsn(value: &str) -> anyhow::Result<String> {
    if value != "-" {
        return Ok(value.to_owned());
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the BSN from standard input")?;
    let bsn = line.trim().to_owned();
    anyhow::ensure!(!bsn.is_empty(), "no BSN on standard input");
    Ok(bsn)
}

/// Whether a status means the call may not have reached the hub (or its
/// answer did not reach us): retrying with the same idempotency key is safe.
pub fn is_transient(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        tonic::Code::Unavailable
            | tonic::Code::Unknown
            | tonic::Code::DeadlineExceeded
            | tonic::Code::Cancelled
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parties_default_their_function() {
        let p = recipient("00000001999990014000").unwrap();
        assert_eq!(p.function, pb::FunctionKind::Participatiewet as i32);
        let p = recipient("00000001999990014000/doorstroompunt").unwrap();
        assert_eq!(p.function, pb::FunctionKind::Doorstroompunt as i32);
        assert!(recipient("123").is_err());
        assert!(recipient("00000001999990014000/werk").is_err());
    }

    #[test]
    fn ids_are_uuids() {
        assert!(id("0190f1c2-7d3e-7a00-8000-000000000000").is_ok());
        assert!(id("../../etc/passwd").is_err());
    }
}
