//! Refused and probing calls in the audit log, bounded (issue 15).
//!
//! A privacy officer must learn that someone tried: a certificate the hub
//! does not accept, an organisation calling what its function may not, an
//! organisation asking for transfer ids that are not its own. But the log is
//! permanent, and a client that can open TCP connections must not be able to
//! fill it. So refusals are tallied per *source* (a certificate that chains
//! to the CA — its organisation's, which the entry names — otherwise the
//! peer's address), *method* (one
//! the hub serves, or `other`) and *reason*:
//! the first refusal of a source and reason is written at once, the ones
//! after it within [`RefusalBook::interval`] are only counted, and the count
//! is written as one entry carrying `attempts` when the interval has passed
//! (by [`spawn`]'s rounds, or at shutdown). The log then grows by at most
//! two entries per source, method and reason per interval, however hard it
//! is flooded, and the sum of `attempts` is the number of attempts.
//!
//! At most [`MAX_SOURCES`] sources are tallied at once; beyond that, new
//! sources share one tally per reason (counted, without a source).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use schakel_audit::Entry;
use schakel_store::Store;
use tokio::task::JoinHandle;

/// How many sources are tallied separately at once.
pub const MAX_SOURCES: usize = 10_000;

/// Who a refusal is attributed to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    /// A certificate that chains to the CA (hex SHA-256): one of an
    /// organisation's, which the CA issued, so their number is bounded.
    Certificate(String),
    /// The peer's address (no verified certificate).
    Address(IpAddr),
    /// Unknown, or one of too many sources.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    source: Source,
    /// The method label (`crate::telemetry::method_label`): bounded.
    method: &'static str,
    /// The entry's action, e.g. `authentication_failed`.
    action: String,
    /// Why: the refusal's own message (`the certificate has expired`), a
    /// text of the hub's, never the client's.
    reason: String,
}

#[derive(Debug)]
struct Tally {
    /// When this source and reason last got an entry.
    written_at: Instant,
    /// Attempts since then, not yet written.
    pending: u64,
    /// The latest of them, to write with their count.
    latest: Option<Entry>,
}

/// The tallies of one hub.
#[derive(Debug)]
pub struct RefusalBook {
    interval: Duration,
    tallies: Mutex<HashMap<Key, Tally>>,
}

impl RefusalBook {
    /// A book that writes each source and reason at most once per `interval`
    /// (plus the count of the rest).
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            tallies: Mutex::new(HashMap::new()),
        }
    }

    /// The interval.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Notes one refused attempt by `source` at `method` for `reason` (the
    /// hub's own words for it), described by `entry`. Returns the entry to
    /// write now, or `None` when it is only counted.
    pub fn note(
        &self,
        source: Source,
        method: &'static str,
        reason: &str,
        entry: Entry,
        now: Instant,
    ) -> Option<Entry> {
        let mut key = Key {
            source,
            method,
            action: entry.action.as_str().to_owned(),
            reason: reason.to_owned(),
        };
        let mut tallies = self
            .tallies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !tallies.contains_key(&key) && tallies.len() >= MAX_SOURCES {
            key.source = Source::Other;
        }
        match tallies.get_mut(&key) {
            None => {
                tallies.insert(
                    key,
                    Tally {
                        written_at: now,
                        pending: 0,
                        latest: None,
                    },
                );
                Some(entry)
            }
            Some(t) if now.saturating_duration_since(t.written_at) >= self.interval => {
                let n = t.pending + 1;
                t.written_at = now;
                t.pending = 0;
                t.latest = None;
                Some(with_attempts(entry, n))
            }
            Some(t) => {
                t.pending += 1;
                t.latest = Some(entry);
                None
            }
        }
    }

    /// The entries that summarise attempts counted and not yet written, of
    /// every tally whose interval has passed at `now` (all of them when
    /// `all`, at shutdown). Tallies idle for two intervals are forgotten.
    pub fn due(&self, now: Instant, all: bool) -> Vec<Entry> {
        let mut tallies = self
            .tallies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = Vec::new();
        tallies.retain(|_, t| {
            let age = now.saturating_duration_since(t.written_at);
            if t.pending > 0 && (all || age >= self.interval) {
                if let Some(latest) = t.latest.take() {
                    out.push(with_attempts(latest, t.pending));
                }
                t.pending = 0;
                t.written_at = now;
                return true;
            }
            t.pending > 0 || age < 2 * self.interval
        });
        out
    }
}

/// `entry` standing for `n` attempts (the encoding has no count for one).
fn with_attempts(mut entry: Entry, n: u64) -> Entry {
    entry.attempts = (n >= 2).then_some(n);
    entry
}

/// Writes the book's due summaries every interval until aborted.
pub fn spawn(book: Arc<RefusalBook>, store: Store) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(book.interval());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            write(&store, book.due(Instant::now(), false)).await;
        }
    })
}

/// Appends summaries; one that cannot be written is logged (the counts of a
/// refusal flood are not worth failing anything for).
pub async fn write(store: &Store, entries: Vec<Entry>) {
    for entry in entries {
        if let Err(err) = store.append_audit(entry, jiff::Timestamp::now()).await {
            tracing::warn!(error = %err, "could not audit a count of refused calls");
        }
    }
}

#[cfg(test)]
mod tests {
    use schakel_audit::{Action, Outcome};

    use super::*;

    fn refused(action: Action) -> Entry {
        let ctx = crate::caller::RequestContext::internal("test").expect("context");
        ctx.entry(
            None,
            None,
            action,
            Outcome::Error {
                code: "unauthenticated".into(),
            },
            &[],
        )
    }

    const M: &str = "/schakel.v1.TransferService/Submit";

    fn attempts(e: &Entry) -> u64 {
        e.attempts.unwrap_or(1)
    }

    #[test]
    fn a_flood_is_one_entry_and_a_count_per_interval() {
        let book = RefusalBook::new(Duration::from_secs(60));
        let t0 = Instant::now();
        let peer = Source::Address("192.0.2.7".parse().unwrap());
        let mut written = Vec::new();
        for i in 0..5000u64 {
            let now = t0 + Duration::from_millis(i);
            written.extend(book.note(peer.clone(), M, "why", refused(Action::AuthenticationFailed), now));
        }
        assert_eq!(written.len(), 1, "the first at once, the rest counted");
        assert!(
            book.due(t0 + Duration::from_secs(59), false).is_empty(),
            "not yet"
        );
        let summary = book.due(t0 + Duration::from_secs(61), false);
        assert_eq!(summary.len(), 1);
        assert_eq!(summary[0].attempts, Some(4999));
        assert!(
            book.due(t0 + Duration::from_secs(62), false).is_empty(),
            "written once"
        );
        // Another peer and another reason are tallied apart.
        let other = Source::Address("192.0.2.8".parse().unwrap());
        assert!(
            book.note(other, M, "why", refused(Action::AuthenticationFailed), t0)
                .is_some()
        );
        assert!(
            book.note(peer.clone(), M, "why", refused(Action::AuthorisationFailed), t0)
                .is_some()
        );
        // After the interval the next one is written at once, and the one
        // after the next interval with what came since.
        let later = t0 + Duration::from_secs(200);
        assert!(
            book.note(
                peer.clone(),
                M,
                "why",
                refused(Action::AuthenticationFailed),
                later
            )
            .is_some()
        );
        let counted = later + Duration::from_secs(1);
        assert!(
            book.note(
                peer.clone(),
                M,
                "why",
                refused(Action::AuthenticationFailed),
                counted
            )
            .is_none()
        );
        let e = book
            .note(
                peer,
                M,
                "why",
                refused(Action::AuthenticationFailed),
                later + Duration::from_secs(61),
            )
            .expect("written");
        assert_eq!(attempts(&e), 2);
    }

    #[test]
    fn at_shutdown_every_count_is_written_and_nothing_is_lost() {
        let book = RefusalBook::new(Duration::from_secs(3600));
        let t0 = Instant::now();
        let mut total = 0;
        for i in 0..300u64 {
            let source = Source::Certificate(format!("{:064}", i % 3));
            total += book
                .note(source, M, "why", refused(Action::AuthorisationFailed), t0)
                .map_or(0, |e| attempts(&e));
        }
        let rest = book.due(t0, true);
        assert_eq!(rest.len(), 3);
        total += rest.iter().map(attempts).sum::<u64>();
        assert_eq!(total, 300, "the counts add up to the attempts");
    }

    #[test]
    fn too_many_sources_share_one_tally() {
        let book = RefusalBook::new(Duration::from_secs(60));
        let t0 = Instant::now();
        let mut written = 0;
        for i in 0..(MAX_SOURCES as u32 + 500) {
            let source = Source::Address(IpAddr::from(i.to_be_bytes()));
            written += usize::from(
                book.note(source, M, "why", refused(Action::AuthenticationFailed), t0)
                    .is_some(),
            );
        }
        assert_eq!(written, MAX_SOURCES + 1, "one per source, then one shared");
        let rest = book.due(t0, true);
        assert_eq!(rest.iter().map(attempts).sum::<u64>(), 499);
    }
}
