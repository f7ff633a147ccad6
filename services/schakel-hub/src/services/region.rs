//! RegionService: a Doorstroompuntregio's numbers for its regional partners
//! (R13, R17). Counted from content-free metadata (`schakel-store`'s
//! `regional`), laid out as one gemeente-by-column table per measure, and
//! published through `schakel-disclosure` so that no count below the
//! threshold can be read or worked out. The two handover tables (by kind of
//! sender, by outcome) count the same handovers, so their row totals are the
//! same counts: they are protected together as a linked pair. Support
//! requests, take-overs, expertise requests, hardheidsclausule decisions
//! and consent decisions are other records, each a table of its own that no
//! sum links to another.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use schakel_audit::{Action, Outcome};
use schakel_disclosure::{Published, Shown, Table};
use schakel_domain::{FunctionKind, Oin, OrgKind};
use schakel_policy::{Period, REGIONAL_THRESHOLD, RuleId};
use schakel_proto::v1 as pb;
use schakel_proto::v1::region_service_server::RegionService;
use schakel_store::{ConsentEvent, ExpertiseOutcome, HandoverOutcome, OrgFilter, Organisation};
use tonic::{Request, Response, Status};

use super::HubState;
use super::exchange::{end_of_day, today};
use crate::caller::Caller;
use crate::error::{HubError, Violation};
use crate::wire::date_to_pb;

/// The RegionService handlers.
#[derive(Debug, Clone)]
pub struct RegionApi(pub HubState);

/// The columns of the handovers table: the kind of sender.
const SENDERS: [&str; 4] = ["pro", "vso", "mbo", "doorstroompunt"];
/// The purposes of a handover to the gemeente's Participatiewet function
/// (R4, R5, R8).
const HANDOVER_PURPOSES: [&str; 2] = [
    "handover.school_to_gemeente",
    "handover.doorstroompunt_to_gemeente",
];
/// A school's request for support during school (R10).
const SUPPORT_PURPOSE: &str = "support.during_school";
/// The gemeente's take-over to the Doorstroompunt (R7).
const TAKEOVER_PURPOSE: &str = "handover.gemeente_to_doorstroompunt";
/// The columns of the support table: the kind of school.
const SCHOOLS: [&str; 3] = ["pro", "vso", "mbo"];
/// The one column of the take-over table.
const TAKEOVERS: [&str; 1] = ["takeovers"];

/// The columns of the expertise table: the advice, or still open.
const ADVICE: [&str; 4] = [
    "return_possible",
    "return_not_possible",
    "doorstroompunt_takes_over",
    "open",
];
/// The one column of the hardheidsclausule table.
const HARDHEIDSCLAUSULE: [&str; 1] = ["decisions"];

/// The columns of the outcome table: where each handover stood when the
/// period ended.
const OUTCOMES: [&str; 4] = ["accepted", "declined", "withdrawn", "open"];
/// The columns of the consent table: what was decided.
const CONSENT_EVENTS: [&str; 3] = ["given", "refused", "withdrawn"];

/// The most gemeenten listed for one region.
const MAX_GEMEENTEN: u32 = 500;

/// The legal basis the audit entry of a read names.
const LEGAL_BASIS: &str = "Wet van school naar duurzaam werk: regionale analyse en effectrapportage";

/// The start of `d` in Europe/Amsterdam.
fn start_of(d: Date) -> Result<Timestamp, HubError> {
    d.yesterday().map(end_of_day).map_err(|_| HubError::Internal)
}

/// A count as the API shows it.
fn count_pb(s: Shown) -> pb::Count {
    let (status, value) = match s {
        Shown::Value(v) => (pb::CellStatus::Shown, v),
        Shown::Small => (pb::CellStatus::Small, 0),
        Shown::Suppressed => (pb::CellStatus::Suppressed, 0),
    };
    pb::Count {
        status: status as i32,
        value,
    }
}

/// One measure: counts per gemeente (rows, in `gemeenten` order) and column.
struct Measure {
    id: &'static str,
    title: &'static str,
    columns: &'static [&'static str],
    counts: Vec<u64>,
}

impl Measure {
    fn new(id: &'static str, title: &'static str, columns: &'static [&'static str], rows: usize) -> Self {
        Self {
            id,
            title,
            columns,
            counts: vec![0; rows * columns.len()],
        }
    }

    fn add(&mut self, row: usize, col: usize, n: u64) {
        let i = row * self.columns.len() + col;
        self.counts[i] = self.counts[i].saturating_add(n);
    }

    fn table(&self, rows: usize) -> Result<Table, HubError> {
        Table::new(rows, self.columns.len(), self.counts.clone()).map_err(|_| HubError::Internal)
    }

    /// Nothing of the table: every count hidden.
    fn withheld(&self, rows: usize) -> Published {
        Published {
            cells: vec![Shown::Suppressed; self.counts.len()],
            row_totals: vec![Shown::Suppressed; rows],
            col_totals: vec![Shown::Suppressed; self.columns.len()],
            total: Shown::Suppressed,
        }
    }

    /// The table as published, or — when even hiding every count would
    /// leave one determined — nothing of it.
    fn publish(&self, rows: usize) -> Result<Published, HubError> {
        Ok(
            schakel_disclosure::protect(&self.table(rows)?, REGIONAL_THRESHOLD)
                .unwrap_or_else(|_| self.withheld(rows)),
        )
    }

    /// `self` and `other`, which count the same records per row, published
    /// together (or nothing of either).
    fn publish_linked(&self, other: &Measure, rows: usize) -> Result<(Published, Published), HubError> {
        let (a, b) = (self.table(rows)?, other.table(rows)?);
        // Both are built from the same rows of the store: a difference in a
        // row's total is a bug here, never something to publish.
        let linked =
            schakel_disclosure::protect_linked(&a, &b, REGIONAL_THRESHOLD).map_err(|_| HubError::Internal)?;
        Ok(linked.unwrap_or_else(|| (self.withheld(rows), other.withheld(rows))))
    }

    fn to_pb(&self, gemeenten: &[Organisation], p: &Published) -> pb::NumbersTable {
        let cols = self.columns.len();
        pb::NumbersTable {
            measure: self.id.to_owned(),
            title: self.title.to_owned(),
            columns: self.columns.iter().map(|c| (*c).to_owned()).collect(),
            rows: gemeenten
                .iter()
                .enumerate()
                .map(|(r, g)| pb::NumbersRow {
                    gemeentecode: g
                        .gemeentecode
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    name: g.name.clone(),
                    cells: p.cells[r * cols..(r + 1) * cols]
                        .iter()
                        .copied()
                        .map(count_pb)
                        .collect(),
                    total: Some(count_pb(p.row_totals[r])),
                })
                .collect(),
            column_totals: p.col_totals.iter().copied().map(count_pb).collect(),
            total: Some(count_pb(p.total)),
        }
    }
}

/// The column of a handover's sender, if it is one the table counts.
fn sender_column(kind: OrgKind, function: FunctionKind) -> Option<usize> {
    match (kind, function) {
        (_, FunctionKind::Doorstroompunt) => Some(3),
        (OrgKind::ProSchool, FunctionKind::School) => Some(0),
        (OrgKind::VsoSchool, FunctionKind::School) => Some(1),
        (OrgKind::MboSchool, FunctionKind::School) => Some(2),
        _ => None,
    }
}

impl RegionApi {
    async fn numbers(
        &self,
        caller: &Caller,
        period: &str,
    ) -> Result<(pb::GetRegionalNumbersResponse, String), HubError> {
        let state = &self.0;
        let period: Period = period.parse().map_err(|e: schakel_policy::NotAPeriod| {
            HubError::InvalidArgument(vec![Violation::rule("period", RuleId::R17, e.to_string())])
        })?;
        let on = today(Timestamp::now())?;
        if !period.started(on) {
            return Err(HubError::Precondition(vec![Violation::state(
                "period",
                "the period has not started; it has no numbers yet",
            )]));
        }
        let own = state
            .store
            .get_organisation(caller.party.oin())
            .await?
            .ok_or(HubError::NotFound("organisation"))?;
        let Some(region) = own.doorstroompunt_regio.clone() else {
            return Err(HubError::Precondition(vec![Violation::state(
                "caller",
                "your organisation has no Doorstroompuntregio in the directory; ask the operator to set it",
            )]));
        };
        let mut gemeenten = state
            .store
            .list_organisations(
                &OrgFilter {
                    kind: Some(OrgKind::Gemeente),
                    doorstroompunt_regio: Some(region.clone()),
                    ..OrgFilter::default()
                },
                None,
                MAX_GEMEENTEN,
            )
            .await?;
        gemeenten.sort_by(|a, b| {
            let code = |o: &Organisation| o.gemeentecode.as_ref().map(ToString::to_string);
            code(a).cmp(&code(b)).then(a.oin.cmp(&b.oin))
        });
        let row_of: BTreeMap<&Oin, usize> = gemeenten.iter().enumerate().map(|(i, g)| (&g.oin, i)).collect();
        let rows = gemeenten.len();
        let (from, until) = (start_of(period.first_day())?, start_of(period.end())?);

        let mut handovers = Measure::new(
            "handovers_submitted",
            "Handovers to the gemeente's Participatiewet function, by kind of sender",
            &SENDERS,
            rows,
        );
        let mut outcomes = Measure::new(
            "handover_outcomes",
            "The same handovers by where they stood when the period ended: accepted, declined, consent \
             withdrawn before a decision, or still open",
            &OUTCOMES,
            rows,
        );
        for h in state
            .store
            .regional_transfers(from, until, &HANDOVER_PURPOSES)
            .await?
        {
            if let (Some(&r), Some(c)) = (
                row_of.get(&h.gemeente),
                sender_column(h.sender_kind, h.sender_function),
            ) {
                handovers.add(r, c, h.count);
                let o = match h.outcome {
                    HandoverOutcome::Accepted => 0,
                    HandoverOutcome::Declined => 1,
                    HandoverOutcome::Withdrawn => 2,
                    HandoverOutcome::Open => 3,
                };
                outcomes.add(r, o, h.count);
            }
        }
        // R10: a school asks the gemeente for support while the youth is
        // still at school — other transfers, so a table of their own.
        let mut support = Measure::new(
            "support_requests",
            "Requests for support during school (R10), by kind of school",
            &SCHOOLS,
            rows,
        );
        for h in state
            .store
            .regional_transfers(from, until, &[SUPPORT_PURPOSE])
            .await?
        {
            if let (Some(&r), Some(c)) = (
                row_of.get(&h.gemeente),
                sender_column(h.sender_kind, h.sender_function).filter(|&c| c < SCHOOLS.len()),
            ) {
                support.add(r, c, h.count);
            }
        }
        // R7: the gemeente hands a youth to its Doorstroompunt for guidance
        // back to school.
        let mut takeovers = Measure::new(
            "takeovers",
            "Youths the gemeente handed to the Doorstroompunt for guidance back to school (R7)",
            &TAKEOVERS,
            rows,
        );
        for h in state
            .store
            .regional_transfers(from, until, &[TAKEOVER_PURPOSE])
            .await?
        {
            if let Some(&r) = row_of.get(&h.gemeente) {
                takeovers.add(r, 0, h.count);
            }
        }
        // R7 and R2: the gemeente's expertise requests by outcome, and its
        // hardheidsclausule decisions — each its own records and table.
        let mut expertise = Measure::new(
            "expertise_requests",
            "Expertise requests to the Doorstroompunt (R7) by the advice, or still open when the period ended",
            &ADVICE,
            rows,
        );
        let mut hardheidsclausule = Measure::new(
            "hardheidsclausule_decisions",
            "The gemeente's hardheidsclausule decisions: support continued past 27 (R2)",
            &HARDHEIDSCLAUSULE,
            rows,
        );
        for d in state.store.regional_decisions(from, until).await? {
            let Some(&r) = row_of.get(&d.gemeente) else {
                continue;
            };
            match d.expertise {
                None => hardheidsclausule.add(r, 0, d.count),
                Some(o) => {
                    let c = match o {
                        ExpertiseOutcome::ReturnPossible => 0,
                        ExpertiseOutcome::ReturnNotPossible => 1,
                        ExpertiseOutcome::DoorstroompuntTakesOver => 2,
                        ExpertiseOutcome::Open => 3,
                    };
                    expertise.add(r, c, d.count);
                }
            }
        }
        let mut consents = Measure::new(
            "consent_decisions",
            "Consent decisions recorded (given, refused) and withdrawals, for handovers to the gemeente",
            &CONSENT_EVENTS,
            rows,
        );
        for c in state.store.regional_consents(from, until).await? {
            let col = match c.event {
                ConsentEvent::Given => 0,
                ConsentEvent::Refused => 1,
                ConsentEvent::Withdrawn => 2,
            };
            if let Some(&r) = row_of.get(&c.gemeente) {
                consents.add(r, col, c.count);
            }
        }

        let mut tables = Vec::new();
        let mut consent_published = None;
        if rows > 0 {
            let (by_sender, by_outcome) = handovers.publish_linked(&outcomes, rows)?;
            tables.push(handovers.to_pb(&gemeenten, &by_sender));
            tables.push(outcomes.to_pb(&gemeenten, &by_outcome));
            for m in [&support, &takeovers, &expertise, &hardheidsclausule] {
                tables.push(m.to_pb(&gemeenten, &m.publish(rows)?));
            }
            let p = consents.publish(rows)?;
            tables.push(consents.to_pb(&gemeenten, &p));
            consent_published = Some(p);
        }
        // R13: the share of refusals among decisions, only where both counts show.
        let refusal_shares = consent_published
            .map(|p| {
                gemeenten
                    .iter()
                    .enumerate()
                    .map(|(r, g)| {
                        let (given, refused) = (p.cells[r * 3], p.cells[r * 3 + 1]);
                        let share = match (given, refused) {
                            (Shown::Value(g), Shown::Value(f)) if g + f > 0 => {
                                Some(f as f64 / (g + f) as f64)
                            }
                            _ => None,
                        };
                        pb::RefusalShare {
                            gemeentecode: g
                                .gemeentecode
                                .as_ref()
                                .map(ToString::to_string)
                                .unwrap_or_default(),
                            share: share.unwrap_or(0.0),
                            shown: share.is_some(),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let region_name = state.regions.rmc_name(&region).unwrap_or_default().to_owned();
        Ok((
            pb::GetRegionalNumbersResponse {
                region_code: region.clone(),
                region_name,
                period: period.to_string(),
                first_day: Some(date_to_pb(period.first_day())),
                last_day: Some(date_to_pb(period.last_day())),
                provisional: period.provisional(on),
                threshold: REGIONAL_THRESHOLD,
                tables,
                refusal_shares,
            },
            region,
        ))
    }
}

#[tonic::async_trait]
impl RegionService for RegionApi {
    async fn get_regional_numbers(
        &self,
        req: Request<pb::GetRegionalNumbersRequest>,
    ) -> Result<Response<pb::GetRegionalNumbersResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        let period = req.into_inner().period;
        let (answer, region) = self.numbers(&caller, &period).await?;
        // Audited before it answers: who read which region's numbers, for
        // which period (R17).
        let mut entry = ctx.entry(
            Some(&caller),
            None,
            Action::RegionalNumbersRead,
            Outcome::Success,
            &[],
        );
        entry.legal_basis = Some(LEGAL_BASIS.to_owned());
        let mut groups = vec![format!("period:{}", answer.period), format!("region:{region}")];
        groups.sort();
        entry.groups = groups;
        self.0
            .store
            .append_audit(entry, Timestamp::now())
            .await
            .map_err(HubError::from)?;
        Ok(Response::new(answer))
    }
}
