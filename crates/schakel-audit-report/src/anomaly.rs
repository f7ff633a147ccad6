//! Accesses that look wrong: a privacy officer's starting points, not verdicts.
//!
//! [`detect`] reads decoded entries (already scoped by the hub to the officer's
//! organisation) and reports six patterns:
//!
//! | kind | what | grouped per |
//! |---|---|---|
//! | [`OutsideOfficeHours`](AnomalyKind::OutsideOfficeHours) | an entry about a youth before the start hour, at or after the end hour, or on Saturday or Sunday (Dutch local time) | organisation, function, user, local day |
//! | [`UserVolume`](AnomalyKind::UserVolume) | one user handled more distinct youths in a day than the threshold | organisation, user, local day |
//! | [`ManyUsersOneSubject`](AnomalyKind::ManyUsersOneSubject) | more distinct users read one youth's data than the threshold | subject |
//! | [`FetchOfClosedTransfer`](AnomalyKind::FetchOfClosedTransfer) | a transfer fetched at or after it was declined, withdrawn or purged | transfer, organisation, function, user |
//! | [`RefusalBurst`](AnomalyKind::RefusalBurst) | at least N refused requests from one organisation within M minutes | organisation, maximal burst |
//! | [`ReusedJustification`](AnomalyKind::ReusedJustification) | one sender sealed the same necessity justification (R8: an assessment per youth) for more than one youth | organisation and function, justification mark |
//!
//! Every entry counts whatever its outcome: a refused attempt says as much about
//! behaviour as a successful one. Purges are the hub's own retention job
//! (R15), not an access, and do not count as activity. Public holidays are not
//! known here; an entry on Koningsdag is inside office hours.
//!
//! Output is deterministic: grouping uses ordered maps and the result is sorted
//! by first sighting, then kind, then the remaining fields. Descriptions are
//! plain text naming organisations by OIN and users by their id; they hold no
//! subject pseudonym, no transfer content and never a BSN.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use jiff::civil::{Date, Weekday};
use schakel_audit::{Action, Entry, Outcome};
use uuid::Uuid;

use crate::local_time::{format_hm, format_ms, local_day, zoned};
use crate::text::scrub;

/// At most this many sequence numbers are kept per anomaly; `count` still
/// counts them all.
pub const MAX_SEQUENCES: usize = 100;

/// When something counts as an anomaly. Hours are Dutch local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// First hour of office hours (inclusive), 0–23.
    pub office_hours_start: u8,
    /// Hour office hours end (exclusive: 19 means 19:00 is outside), 0–23.
    pub office_hours_end: u8,
    /// Most distinct youths one user may handle in a local day without notice.
    pub max_subjects_per_user_per_day: u32,
    /// Most distinct users that may read one youth's data without notice.
    pub max_users_per_subject: u32,
    /// This many refusals from one organisation …
    pub refusal_burst_count: u32,
    /// … within this many minutes make a burst.
    pub refusal_burst_minutes: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            office_hours_start: 6,
            office_hours_end: 19,
            max_subjects_per_user_per_day: 40,
            max_users_per_subject: 5,
            refusal_burst_count: 10,
            refusal_burst_minutes: 10,
        }
    }
}

impl Thresholds {
    /// Checks the values; on failure names every bad field with its problem.
    pub fn validate(&self) -> Result<(), Vec<(&'static str, String)>> {
        let mut problems = Vec::new();
        for (field, hour) in [
            ("office_hours_start", self.office_hours_start),
            ("office_hours_end", self.office_hours_end),
        ] {
            if hour > 23 {
                problems.push((field, format!("must be an hour from 0 to 23, not {hour}")));
            }
        }
        if self.office_hours_start >= self.office_hours_end {
            problems.push((
                "office_hours_start",
                format!(
                    "must be before office_hours_end ({} is not before {})",
                    self.office_hours_start, self.office_hours_end
                ),
            ));
        }
        for (field, n) in [
            (
                "max_subjects_per_user_per_day",
                self.max_subjects_per_user_per_day,
            ),
            ("max_users_per_subject", self.max_users_per_subject),
            ("refusal_burst_count", self.refusal_burst_count),
            ("refusal_burst_minutes", self.refusal_burst_minutes),
        ] {
            if n < 1 {
                problems.push((field, "must be at least 1".to_owned()));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// The patterns [`detect`] looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AnomalyKind {
    /// Activity about a youth outside office hours or at the weekend.
    OutsideOfficeHours,
    /// One user handled many youths in one day.
    UserVolume,
    /// Many users read one youth's data.
    ManyUsersOneSubject,
    /// A transfer was fetched after it was declined, withdrawn or purged.
    FetchOfClosedTransfer,
    /// Many refusals from one organisation in a short time.
    RefusalBurst,
    /// One sender used the same necessity justification for several youths
    /// (R8 asks an assessment per youth).
    ReusedJustification,
}

impl AnomalyKind {
    /// Every kind, in a stable order.
    pub const ALL: [AnomalyKind; 6] = [
        Self::OutsideOfficeHours,
        Self::UserVolume,
        Self::ManyUsersOneSubject,
        Self::FetchOfClosedTransfer,
        Self::RefusalBurst,
        Self::ReusedJustification,
    ];

    /// The stable text form, e.g. `outside_office_hours`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::OutsideOfficeHours => "outside_office_hours",
            Self::UserVolume => "user_volume",
            Self::ManyUsersOneSubject => "many_users_one_subject",
            Self::FetchOfClosedTransfer => "fetch_of_closed_transfer",
            Self::RefusalBurst => "refusal_burst",
            Self::ReusedJustification => "reused_justification",
        }
    }

    /// The kind with this text form, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a transfer was closed, after which nobody should fetch it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Closure {
    /// The recipient declined it.
    Declined,
    /// The consent it relied on was withdrawn (R4).
    Withdrawn,
    /// Its content was removed at the end of the retention period (R15).
    Purged,
}

impl Closure {
    /// The stable text form: `declined`, `withdrawn`, `purged`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Declined => "declined",
            Self::Withdrawn => "withdrawn",
            Self::Purged => "purged",
        }
    }

    fn phrase(self) -> &'static str {
        match self {
            Self::Declined => "it was declined",
            Self::Withdrawn => "consent for it was withdrawn",
            Self::Purged => "its content was purged",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anomaly {
    /// Which pattern.
    pub kind: AnomalyKind,
    /// One plain-text sentence for a privacy officer; no personal data of the youth.
    pub description: String,
    /// OIN of the organisation concerned, when the finding is about one.
    pub party_oin: Option<String>,
    /// Its function (e.g. `participatiewet`), when there is exactly one.
    pub party_function: Option<String>,
    /// The end-user id concerned, when the finding is about one user.
    pub user_id: Option<String>,
    /// The subject pseudonym concerned, when the finding is about one youth.
    pub subject: Option<String>,
    /// How many: entries (office hours, closed transfers, bursts), distinct
    /// subjects (user volume) or distinct users (many users, one subject).
    pub count: u64,
    /// Time of the first entry involved (ms since the Unix epoch).
    pub first_seen_ms: u64,
    /// Time of the last entry involved (ms since the Unix epoch).
    pub last_seen_ms: u64,
    /// Sequence numbers of the entries involved, ascending, at most
    /// [`MAX_SEQUENCES`] (the first ones).
    pub sequences: Vec<u64>,
}

/// Finds anomalies of the given kinds (all kinds when `kinds` is empty).
///
/// `closed` names the transfers that were closed, how, and when (ms since the
/// Unix epoch). Validate `t` with [`Thresholds::validate`] first; with invalid
/// values the result is still deterministic but not meaningful. Entries whose
/// time cannot be placed on a calendar are left out of the per-day rules.
pub fn detect(
    entries: &[Entry],
    closed: &HashMap<Uuid, (Closure, u64)>,
    t: &Thresholds,
    kinds: &[AnomalyKind],
) -> Vec<Anomaly> {
    let wanted = |k: AnomalyKind| kinds.is_empty() || kinds.contains(&k);
    let mut found = Vec::new();
    if wanted(AnomalyKind::OutsideOfficeHours) {
        outside_office_hours(entries, t, &mut found);
    }
    if wanted(AnomalyKind::UserVolume) {
        user_volume(entries, t, &mut found);
    }
    if wanted(AnomalyKind::ManyUsersOneSubject) {
        many_users_one_subject(entries, t, &mut found);
    }
    if wanted(AnomalyKind::FetchOfClosedTransfer) {
        fetch_of_closed_transfer(entries, closed, &mut found);
    }
    if wanted(AnomalyKind::RefusalBurst) {
        refusal_bursts(entries, t, &mut found);
    }
    if wanted(AnomalyKind::ReusedJustification) {
        reused_justifications(entries, &mut found);
    }
    found.sort_by(|a, b| {
        (
            a.first_seen_ms,
            a.kind,
            &a.party_oin,
            &a.party_function,
            &a.user_id,
            &a.subject,
            &a.sequences,
        )
            .cmp(&(
                b.first_seen_ms,
                b.kind,
                &b.party_oin,
                &b.party_function,
                &b.user_id,
                &b.subject,
                &b.sequences,
            ))
    });
    found
}

// ---- the rules ----

/// Activity about a youth: an entry with a subject, except the hub's own purge.
fn about_a_youth(e: &Entry) -> bool {
    e.subject.is_some() && e.action != Action::Purge
}

type ActorKey = (Option<String>, Option<String>, Option<String>);

fn actor_key(e: &Entry) -> ActorKey {
    (
        e.actor.oin.clone(),
        e.actor.function.clone(),
        e.actor.user_id.clone(),
    )
}

/// Rule (a): before the start hour, at or after the end hour, or at the weekend.
fn outside_office_hours(entries: &[Entry], t: &Thresholds, found: &mut Vec<Anomaly>) {
    let mut groups: BTreeMap<(ActorKey, Date), Vec<&Entry>> = BTreeMap::new();
    for e in entries.iter().filter(|e| about_a_youth(e)) {
        let Some(z) = zoned(e.time_ms) else { continue };
        let hour = z.hour();
        let weekend = matches!(z.weekday(), Weekday::Saturday | Weekday::Sunday);
        let outside = weekend
            || hour < i8::try_from(t.office_hours_start).unwrap_or(i8::MAX)
            || hour >= i8::try_from(t.office_hours_end).unwrap_or(i8::MAX);
        if outside {
            groups.entry((actor_key(e), z.date())).or_default().push(e);
        }
    }
    for (((oin, function, user), day), group) in groups {
        let subjects = distinct_subjects(&group);
        let (first, last) = span_of(&group);
        let description = format!(
            "{} was active outside office hours on {}: {} about {} {} (office hours {:02}:00–{:02}:00, Monday to Friday)",
            who(oin.as_deref(), function.as_deref(), user.as_deref()),
            day_name(day),
            plural(group.len(), "entry", "entries"),
            plural(subjects.len(), "subject", "subjects"),
            if first == last {
                format!("at {}", format_hm(first))
            } else {
                format!("between {} and {}", format_hm(first), format_hm(last))
            },
            t.office_hours_start,
            t.office_hours_end,
        );
        found.push(Anomaly {
            kind: AnomalyKind::OutsideOfficeHours,
            description,
            party_oin: oin,
            party_function: function,
            user_id: user,
            subject: only(subjects),
            count: group.len() as u64,
            first_seen_ms: first,
            last_seen_ms: last,
            sequences: sequences(&group),
        });
    }
}

/// Rule (b): one user, one local day, more distinct subjects than the threshold.
fn user_volume(entries: &[Entry], t: &Thresholds, found: &mut Vec<Anomaly>) {
    type Key = (Option<String>, Option<String>, Date);
    let mut groups: BTreeMap<Key, Vec<&Entry>> = BTreeMap::new();
    for e in entries.iter().filter(|e| about_a_youth(e)) {
        let Some(day) = local_day(e.time_ms) else { continue };
        groups
            .entry((e.actor.oin.clone(), e.actor.user_id.clone(), day))
            .or_default()
            .push(e);
    }
    for ((oin, user, day), group) in groups {
        let subjects = distinct_subjects(&group);
        if subjects.len() as u64 <= u64::from(t.max_subjects_per_user_per_day) {
            continue;
        }
        let function = only(group.iter().filter_map(|e| e.actor.function.clone()).collect());
        let (first, last) = span_of(&group);
        let description = format!(
            "{} accessed {} subjects on {} (threshold {})",
            who(oin.as_deref(), None, user.as_deref()),
            subjects.len(),
            day,
            t.max_subjects_per_user_per_day,
        );
        found.push(Anomaly {
            kind: AnomalyKind::UserVolume,
            description,
            party_oin: oin,
            party_function: function,
            user_id: user,
            subject: None,
            count: subjects.len() as u64,
            first_seen_ms: first,
            last_seen_ms: last,
            sequences: sequences(&group),
        });
    }
}

/// Actions that show a youth's data to the caller.
fn is_read(action: &Action) -> bool {
    matches!(
        action,
        Action::TransferFetched
            | Action::SentCopyFetched
            | Action::ConsentViewed
            | Action::ExpertiseFetched
            | Action::AdviceFetched
    )
}

/// Rule (c): more distinct (organisation, user) pairs read one subject than the
/// threshold, over all entries given.
fn many_users_one_subject(entries: &[Entry], t: &Thresholds, found: &mut Vec<Anomaly>) {
    let mut groups: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    for e in entries.iter().filter(|e| is_read(&e.action)) {
        if let Some(s) = &e.subject {
            groups.entry(s).or_default().push(e);
        }
    }
    for (subject, group) in groups {
        let users: BTreeSet<(Option<&str>, Option<&str>)> = group
            .iter()
            .map(|e| (e.actor.oin.as_deref(), e.actor.user_id.as_deref()))
            .collect();
        if users.len() as u64 <= u64::from(t.max_users_per_subject) {
            continue;
        }
        let orgs: BTreeSet<Option<&str>> = users.iter().map(|(o, _)| *o).collect();
        let (first, last) = span_of(&group);
        let org_list: Vec<String> = orgs
            .iter()
            .map(|o| o.map_or_else(|| "unidentified".to_owned(), scrub))
            .collect();
        let description = format!(
            "{} different users from {} ({}) read data about the same subject {} (threshold {})",
            users.len(),
            plural(orgs.len(), "organisation", "organisations"),
            org_list.join(", "),
            between(first, last),
            t.max_users_per_subject,
        );
        let party_oin = match orgs.iter().collect::<Vec<_>>().as_slice() {
            [Some(one)] => Some((*one).to_owned()),
            _ => None,
        };
        found.push(Anomaly {
            kind: AnomalyKind::ManyUsersOneSubject,
            description,
            party_oin,
            party_function: None,
            user_id: None,
            subject: Some(subject.to_owned()),
            count: users.len() as u64,
            first_seen_ms: first,
            last_seen_ms: last,
            sequences: sequences(&group),
        });
    }
}

/// Rule (d): a fetch at or after the moment a transfer was closed.
fn fetch_of_closed_transfer(
    entries: &[Entry],
    closed: &HashMap<Uuid, (Closure, u64)>,
    found: &mut Vec<Anomaly>,
) {
    let mut groups: BTreeMap<(Uuid, ActorKey), Vec<&Entry>> = BTreeMap::new();
    for e in entries {
        if !matches!(e.action, Action::TransferFetched | Action::SentCopyFetched) {
            continue;
        }
        let Some(id) = e.transfer_id else { continue };
        if let Some((_, at)) = closed.get(&id)
            && e.time_ms >= *at
        {
            groups.entry((id, actor_key(e))).or_default().push(e);
        }
    }
    for ((id, (oin, function, user)), group) in groups {
        let Some((how, at)) = closed.get(&id) else {
            continue;
        };
        let (first, last) = span_of(&group);
        let succeeded = group.iter().filter(|e| e.outcome == Outcome::Success).count();
        let result = match (group.len(), succeeded) {
            (1, 1) => "which succeeded".to_owned(),
            (1, _) => "which did not succeed".to_owned(),
            (_, n) => format!("{n} of which succeeded"),
        };
        let description = format!(
            "{} fetched transfer {id} after {} at {}: {} {}, {result}",
            who(oin.as_deref(), function.as_deref(), user.as_deref()),
            how.phrase(),
            format_ms(*at),
            plural(group.len(), "fetch", "fetches"),
            between(first, last),
        );
        found.push(Anomaly {
            kind: AnomalyKind::FetchOfClosedTransfer,
            description,
            party_oin: oin,
            party_function: function,
            user_id: user,
            subject: only(distinct_subjects(&group)),
            count: group.len() as u64,
            first_seen_ms: first,
            last_seen_ms: last,
            sequences: sequences(&group),
        });
    }
}

/// Rule (e): at least `refusal_burst_count` refusals from one organisation
/// within `refusal_burst_minutes` (a window `[t, t + minutes)`). Overlapping
/// qualifying windows are merged, so each maximal burst is reported once.
fn refusal_bursts(entries: &[Entry], t: &Thresholds, found: &mut Vec<Anomaly>) {
    let mut per_org: BTreeMap<Option<&str>, Vec<&Entry>> = BTreeMap::new();
    for e in entries {
        if matches!(e.outcome, Outcome::Refused { .. }) {
            per_org.entry(e.actor.oin.as_deref()).or_default().push(e);
        }
    }
    let window = u64::from(t.refusal_burst_minutes).saturating_mul(60_000);
    let need = usize::try_from(t.refusal_burst_count.max(1)).unwrap_or(usize::MAX);
    for (oin, mut refusals) in per_org {
        refusals.sort_by_key(|e| (e.time_ms, e.seq));
        // Every qualifying window starts at some refusal: for each start, the
        // furthest refusal still inside the window.
        let mut bursts: Vec<(usize, usize)> = Vec::new();
        let mut end = 0;
        for start in 0..refusals.len() {
            end = end.max(start);
            while end + 1 < refusals.len() && refusals[end + 1].time_ms - refusals[start].time_ms < window {
                end += 1;
            }
            if end + 1 - start >= need {
                match bursts.last_mut() {
                    Some((_, last_end)) if start <= *last_end => *last_end = end,
                    _ => bursts.push((start, end)),
                }
            }
        }
        for (start, end) in bursts {
            let group = &refusals[start..=end];
            let (first, last) = span_of(group);
            let function = only(group.iter().filter_map(|e| e.actor.function.clone()).collect());
            let user = only(group.iter().filter_map(|e| e.actor.user_id.clone()).collect());
            let rules: BTreeSet<&str> = group
                .iter()
                .flat_map(|e| match &e.outcome {
                    Outcome::Refused { rules } => rules.iter().map(String::as_str).collect(),
                    _ => Vec::new(),
                })
                .collect();
            let rules: Vec<&str> = rules.into_iter().collect();
            let by = match &user {
                Some(u) => format!(", all by user {},", scrub(u)),
                None => String::new(),
            };
            let description = format!(
                "{} refused requests from {}{by} {} (threshold {} within {} minutes); rules: {}",
                group.len(),
                organisation(oin, function.as_deref()),
                between(first, last),
                t.refusal_burst_count,
                t.refusal_burst_minutes,
                if rules.is_empty() {
                    "none given".to_owned()
                } else {
                    scrub(&rules.join(", "))
                },
            );
            found.push(Anomaly {
                kind: AnomalyKind::RefusalBurst,
                description,
                party_oin: oin.map(str::to_owned),
                party_function: function,
                user_id: user,
                subject: None,
                count: group.len() as u64,
                first_seen_ms: first,
                last_seen_ms: last,
                sequences: sequences(group),
            });
        }
    }
}

// ---- helpers ----

/// Rule (f): one sending organisation function sealed a necessity
/// justification with the same mark (the same text, up to case and spacing)
/// in transfers about more than one youth. The mark is a keyed MAC: equal
/// marks mean equal texts, and neither the report nor the log holds the text.
fn reused_justifications(entries: &[Entry], found: &mut Vec<Anomaly>) {
    type Key<'a> = (Option<&'a str>, Option<&'a str>, &'a str);
    let mut groups: BTreeMap<Key<'_>, Vec<&Entry>> = BTreeMap::new();
    let sent = entries
        .iter()
        .filter(|e| e.action == Action::TransferSubmitted && e.outcome == Outcome::Success);
    for e in sent {
        for mark in &e.justification_marks {
            groups
                .entry((e.actor.oin.as_deref(), e.actor.function.as_deref(), mark))
                .or_default()
                .push(e);
        }
    }
    for ((oin, function, _), group) in groups {
        let subjects = distinct_subjects(&group);
        if subjects.len() < 2 {
            continue;
        }
        let (first, last) = span_of(&group);
        let description = format!(
            "{} sent the same necessity justification for {} different youths {} (R8: each justification is \
             written for one youth)",
            organisation(oin, function),
            subjects.len(),
            between(first, last),
        );
        found.push(Anomaly {
            kind: AnomalyKind::ReusedJustification,
            description,
            party_oin: oin.map(str::to_owned),
            party_function: function.map(str::to_owned),
            user_id: None,
            subject: None,
            count: subjects.len() as u64,
            first_seen_ms: first,
            last_seen_ms: last,
            sequences: sequences(&group),
        });
    }
}

fn distinct_subjects(group: &[&Entry]) -> BTreeSet<String> {
    group.iter().filter_map(|e| e.subject.clone()).collect()
}

/// The single value of a set, if it has exactly one.
fn only(set: BTreeSet<String>) -> Option<String> {
    if set.len() == 1 {
        set.into_iter().next()
    } else {
        None
    }
}

fn span_of(group: &[&Entry]) -> (u64, u64) {
    let first = group.iter().map(|e| e.time_ms).min().unwrap_or(0);
    let last = group.iter().map(|e| e.time_ms).max().unwrap_or(0);
    (first, last)
}

fn sequences(group: &[&Entry]) -> Vec<u64> {
    let set: BTreeSet<u64> = group.iter().map(|e| e.seq).collect();
    set.into_iter().take(MAX_SEQUENCES).collect()
}

/// `user u-1 of 00000001002220647000 (participatiewet)`.
fn who(oin: Option<&str>, function: Option<&str>, user: Option<&str>) -> String {
    let Some(oin) = oin else {
        return "an unidentified caller".to_owned();
    };
    let org = organisation(Some(oin), function);
    match user {
        Some(u) => format!("user {} of {org}", scrub(u)),
        None => format!("a user without id of {org}"),
    }
}

/// `00000001002220647000 (participatiewet)`.
fn organisation(oin: Option<&str>, function: Option<&str>) -> String {
    let Some(oin) = oin else {
        return "unidentified callers".to_owned();
    };
    match function {
        Some(f) => format!("{} ({})", scrub(oin), scrub(f)),
        None => scrub(oin),
    }
}

/// `between 21:30 and 22:10 on 2026-03-02`, or with both dates across midnight.
fn between(first: u64, last: u64) -> String {
    match (local_day(first), local_day(last)) {
        (Some(a), Some(b)) if a == b && first == last => {
            format!("at {} on {a}", format_hm(first))
        }
        (Some(a), Some(b)) if a == b => {
            format!("between {} and {} on {a}", format_hm(first), format_hm(last))
        }
        (Some(a), Some(b)) => format!("between {a} {} and {b} {}", format_hm(first), format_hm(last)),
        _ => format!("between {} and {}", format_ms(first), format_ms(last)),
    }
}

fn day_name(day: Date) -> String {
    let name = match day.weekday() {
        Weekday::Monday => "Monday",
        Weekday::Tuesday => "Tuesday",
        Weekday::Wednesday => "Wednesday",
        Weekday::Thursday => "Thursday",
        Weekday::Friday => "Friday",
        Weekday::Saturday => "Saturday",
        Weekday::Sunday => "Sunday",
    };
    format!("{name} {day}")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}
