//! Counts for the regional numbers (R13, R17), from content-free metadata
//! only: who sent to which gemeente when, which consent decisions were
//! recorded when. No pseudonym, id or text leaves these queries.

use jiff::Timestamp;
use schakel_domain::{FunctionKind, Oin, OrgKind};

use crate::pool::on_pool;
use crate::{Store, StoreError};

const TRANSFERS: &str = include_str!("../queries/regional_transfers.sql");
const CONSENTS: &str = include_str!("../queries/regional_consents.sql");
const DECISIONS: &str = include_str!("../queries/regional_decisions.sql");

/// Transfers to one gemeente from one kind of sender, by where they stood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferCount {
    /// The gemeente (the mandating one for a transfer delivered under a
    /// mandate).
    pub gemeente: Oin,
    /// The sending organisation's kind.
    pub sender_kind: OrgKind,
    /// The sending function.
    pub sender_function: FunctionKind,
    /// Where they stood at the end of the period.
    pub outcome: HandoverOutcome,
    /// How many.
    pub count: u64,
}

/// Where a handover stood at the end of a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HandoverOutcome {
    /// Accepted by the gemeente before the period ended.
    Accepted,
    /// Declined before the period ended.
    Declined,
    /// Its consent withdrawn before the period ended, undecided.
    Withdrawn,
    /// Neither: still to be decided when the period ended.
    Open,
}

/// A consent event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConsentEvent {
    /// Consent given.
    Given,
    /// Consent refused (R13).
    Refused,
    /// Consent withdrawn.
    Withdrawn,
}

/// Consent events for one gemeente.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentCount {
    /// The gemeente named as recipient.
    pub gemeente: Oin,
    /// What happened.
    pub event: ConsentEvent,
    /// How many times.
    pub count: u64,
}

/// Where an expertise request stood when a period ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExpertiseOutcome {
    /// Advised: return to education is possible.
    ReturnPossible,
    /// Advised: return is not possible; the gemeente supports towards work.
    ReturnNotPossible,
    /// Advised: the Doorstroompunt takes over guidance.
    DoorstroompuntTakesOver,
    /// Not answered yet.
    Open,
}

/// Decisions of one gemeente in a period: its expertise requests by
/// outcome, and its hardheidsclausule decisions (`None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionCount {
    /// The gemeente.
    pub gemeente: Oin,
    /// An expertise request's outcome; `None` for a hardheidsclausule
    /// decision.
    pub expertise: Option<ExpertiseOutcome>,
    /// How many.
    pub count: u64,
}

fn parse<T: std::str::FromStr>(s: &str) -> Result<T, StoreError> {
    s.parse().map_err(|_| StoreError::Corrupt("regional count"))
}

fn count(n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::Corrupt("regional count"))
}

impl Store {
    /// Transfers under `purposes` submitted in `[from, until)`, per gemeente
    /// they went to, sender and where they stood when `until` came.
    #[tracing::instrument(name = "store.regional_transfers", skip_all)]
    pub async fn regional_transfers(
        &self,
        from: Timestamp,
        until: Timestamp,
        purposes: &[&str],
    ) -> Result<Vec<TransferCount>, StoreError> {
        let purposes = format!("|{}|", purposes.join("|"));
        let rows: Vec<(String, String, String, Option<String>, i64)> =
            on_pool!(self, p => sqlx::query_as(TRANSFERS)
            .bind(from.as_millisecond())
            .bind(until.as_millisecond())
            .bind(&purposes)
            .fetch_all(p)
            .await)
            .map_err(|e| StoreError::from_sqlx("regional numbers", e))?;
        rows.into_iter()
            .map(|(g, kind, function, outcome, n)| {
                let outcome = match outcome.as_deref() {
                    Some("accept") => HandoverOutcome::Accepted,
                    Some("decline") => HandoverOutcome::Declined,
                    Some("withdrawn") => HandoverOutcome::Withdrawn,
                    Some("open") => HandoverOutcome::Open,
                    _ => return Err(StoreError::Corrupt("regional count")),
                };
                Ok(TransferCount {
                    gemeente: parse(&g)?,
                    sender_kind: parse(&kind)?,
                    sender_function: parse(&function)?,
                    outcome,
                    count: count(n)?,
                })
            })
            .collect()
    }

    /// Expertise requests and hardheidsclausule decisions in `[from,
    /// until)`, per gemeente.
    #[tracing::instrument(name = "store.regional_decisions", skip_all)]
    pub async fn regional_decisions(
        &self,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<DecisionCount>, StoreError> {
        let rows: Vec<(String, String, Option<String>, i64)> = on_pool!(self, p => sqlx::query_as(DECISIONS)
            .bind(from.as_millisecond())
            .bind(until.as_millisecond())
            .fetch_all(p)
            .await)
        .map_err(|e| StoreError::from_sqlx("regional numbers", e))?;
        rows.into_iter()
            .map(|(g, measure, col, n)| {
                let expertise = match (measure.as_str(), col.as_deref()) {
                    ("hardheidsclausule", _) => None,
                    ("expertise", Some("return_possible")) => Some(ExpertiseOutcome::ReturnPossible),
                    ("expertise", Some("return_not_possible")) => Some(ExpertiseOutcome::ReturnNotPossible),
                    ("expertise", Some("doorstroompunt_takes_over")) => {
                        Some(ExpertiseOutcome::DoorstroompuntTakesOver)
                    }
                    ("expertise", Some("open")) => Some(ExpertiseOutcome::Open),
                    _ => return Err(StoreError::Corrupt("regional count")),
                };
                Ok(DecisionCount {
                    gemeente: parse(&g)?,
                    expertise,
                    count: count(n)?,
                })
            })
            .collect()
    }

    /// Consent events in `[from, until)`, per gemeente.
    #[tracing::instrument(name = "store.regional_consents", skip_all)]
    pub async fn regional_consents(
        &self,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<ConsentCount>, StoreError> {
        let rows: Vec<(String, String, i64)> = on_pool!(self, p => sqlx::query_as(CONSENTS)
            .bind(from.as_millisecond())
            .bind(until.as_millisecond())
            .fetch_all(p)
            .await)
        .map_err(|e| StoreError::from_sqlx("regional numbers", e))?;
        rows.into_iter()
            .map(|(g, event, n)| {
                let event = match event.as_str() {
                    "given" => ConsentEvent::Given,
                    "refused" => ConsentEvent::Refused,
                    "withdrawn" => ConsentEvent::Withdrawn,
                    _ => return Err(StoreError::Corrupt("regional count")),
                };
                Ok(ConsentCount {
                    gemeente: parse(&g)?,
                    event,
                    count: count(n)?,
                })
            })
            .collect()
    }
}
