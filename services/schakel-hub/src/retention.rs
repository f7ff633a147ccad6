//! The retention purge (R15): sealed content whose period has passed is
//! removed, one content-free audit entry per item, by the operator's
//! `AdminService.Purge` and by a job every `purge_interval_secs`.
//!
//! Periods: a transfer's `retention_until` comes from its purpose in the
//! policy (the region's if shorter) when it was submitted; a declined
//! transfer, and one withdrawn before delivery, goes `closed_retention_days`
//! after closing if that is earlier. Expertise requests follow their own
//! `retention_until`.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use schakel_audit::{Action, Entry, Outcome, ProcessingActivity};
use schakel_store::{PurgeCandidate, Store, StoreError};
use tokio::task::JoinHandle;

use crate::caller::Caller;
use crate::caller::RequestContext;

/// Items handled per round of the job (it continues in the next round).
const JOB_BATCH: u32 = 500;

/// The retention settings of a hub.
#[derive(Debug, Clone)]
pub struct RetentionSettings {
    /// How long declined and undelivered-withdrawn transfers are kept.
    pub closed_retention: jiff::SignedDuration,
    /// How often the purge job runs; `None` = only on the operator's request.
    pub interval: Option<Duration>,
    /// When "now" is for deciding what is due.
    pub clock: RetentionClock,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            closed_retention: jiff::SignedDuration::from_hours(30 * 24),
            interval: Some(Duration::from_secs(3600)),
            clock: RetentionClock::default(),
        }
    }
}

/// The time at which the purge decides what is due: the system clock, or
/// one moved ahead of it by [`RetentionClock::advance`], so a test can let
/// a year pass without editing stored rows (which the hub would rightly
/// refuse as tampering). Only *what is due* follows it; the purge itself,
/// its audit entry and `purged_at` carry the real time. The hub's
/// configuration has no setting for it: a running hub uses the system clock.
#[derive(Debug, Clone, Default)]
pub struct RetentionClock(Arc<std::sync::atomic::AtomicI64>);

impl RetentionClock {
    /// Now, as the purge sees it.
    pub fn now(&self) -> Timestamp {
        let ahead = self.0.load(std::sync::atomic::Ordering::Relaxed);
        let now = Timestamp::now();
        now.checked_add(jiff::SignedDuration::from_millis(ahead))
            .unwrap_or(now)
    }

    /// Moves this clock (and every clone of it) `by` further ahead of the
    /// system clock.
    pub fn advance(&self, by: jiff::SignedDuration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.0.fetch_add(ms, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Who purges: the operator through the API, or the hub's own job.
pub enum Purger<'a> {
    /// An operator's `Purge` call.
    Operator(&'a Caller, &'a RequestContext),
    /// The scheduled job.
    Job(&'a RequestContext),
}

/// The content-free audit entry of purging `c`.
fn entry(who: &Purger<'_>, c: &PurgeCandidate, policy_version: &str) -> Entry {
    let parties: Vec<&str> = c.parties.iter().map(String::as_str).collect();
    let mut e = match who {
        Purger::Operator(caller, ctx) => {
            ctx.entry(Some(caller), None, Action::Purge, Outcome::Success, &parties)
        }
        Purger::Job(ctx) => ctx.entry(None, None, Action::Purge, Outcome::Success, &parties),
    };
    e.activity = Some(ProcessingActivity {
        purpose: c.purpose.clone(),
        policy_version: policy_version.to_owned(),
    });
    e.subject = Some(c.subject.clone());
    e.transfer_id = Some(c.id);
    let mut groups = c.groups.clone();
    groups.sort();
    groups.dedup();
    e.groups = groups;
    e
}

/// What is due at `as_of` (at most `limit`), and whether more is.
pub async fn due(
    store: &Store,
    settings: &RetentionSettings,
    as_of: Timestamp,
    limit: u32,
) -> Result<(Vec<PurgeCandidate>, bool), StoreError> {
    let closed_before = as_of
        .checked_sub(settings.closed_retention)
        .unwrap_or(Timestamp::MIN);
    let mut items = store
        .purge_candidates(as_of, closed_before, limit.saturating_add(1))
        .await?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    Ok((items, more))
}

/// Purges `items`; an item whose state changed meanwhile is skipped (it is
/// picked up again next time if still due). Returns those purged.
pub async fn purge(
    store: &Store,
    who: &Purger<'_>,
    policy_version: &str,
    items: Vec<PurgeCandidate>,
) -> Result<Vec<PurgeCandidate>, StoreError> {
    let mut done = Vec::with_capacity(items.len());
    for c in items {
        match store
            .purge(&c, Timestamp::now(), entry(who, &c, policy_version))
            .await
        {
            Ok(()) => done.push(c),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Runs the purge every `settings.interval` until aborted. Failures are
/// logged and retried at the next round.
pub fn spawn(store: Store, settings: RetentionSettings, policy_version: Arc<str>) -> Option<JoinHandle<()>> {
    let interval = settings.interval?;
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Ok(ctx) = RequestContext::internal("schakel-hub-retention") else {
                return;
            };
            let round = async {
                let (items, _) = due(&store, &settings, settings.clock.now(), JOB_BATCH).await?;
                purge(&store, &Purger::Job(&ctx), &policy_version, items).await
            };
            match round.await {
                Ok(done) if done.is_empty() => {}
                Ok(done) => tracing::info!(purged = done.len(), "retention purge"),
                Err(e) => tracing::warn!(error = %e, "retention purge postponed"),
            }
        }
    }))
}
