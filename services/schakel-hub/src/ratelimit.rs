//! A per-organisation rate limit (issue 6): a token bucket per OIN, so one
//! organisation's runaway system cannot starve the others. A call over the
//! limit answers `RESOURCE_EXHAUSTED` with how long to wait; it is not
//! written to the audit log (that would let a flood fill the log), but it
//! is counted in the request metrics and logged once a minute per
//! organisation.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The limit: a sustained rate and a burst.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Calls per second, sustained.
    pub per_second: f64,
    /// Calls allowed at once after a quiet period.
    pub burst: f64,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
    warned: Option<Instant>,
}

/// Buckets of every organisation seen.
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// Most organisations kept; the oldest quiet buckets go first.
const MAX_BUCKETS: usize = 10_000;

impl RateLimiter {
    /// A limiter with `limit` for every organisation.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `oin` at `now`; `Err(wait)` when there is none.
    pub fn check(&self, oin: &str, now: Instant) -> Result<(), Duration> {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(oin) {
            // Full buckets are the same as new ones: drop those.
            let burst = self.limit.burst;
            let per_second = self.limit.per_second;
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * per_second < burst);
        }
        let b = buckets.entry(oin.to_owned()).or_insert(Bucket {
            tokens: self.limit.burst,
            at: now,
            warned: None,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.limit.per_second).min(self.limit.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            return Ok(());
        }
        if b.warned
            .is_none_or(|w| now.saturating_duration_since(w) >= Duration::from_secs(60))
        {
            b.warned = Some(now);
            tracing::warn!(oin, "rate limit reached; calls are refused until the rate drops");
        }
        let wait = (1.0 - b.tokens) / self.limit.per_second;
        Err(Duration::from_secs_f64(wait.max(0.001)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_sustained_rate_per_organisation() {
        let l = RateLimiter::new(RateLimit {
            per_second: 2.0,
            burst: 3.0,
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.check("A", t0).is_ok());
        }
        let wait = l.check("A", t0).unwrap_err();
        assert!(
            wait > Duration::from_millis(400) && wait <= Duration::from_millis(500),
            "{wait:?}"
        );
        // Another organisation has its own bucket.
        assert!(l.check("B", t0).is_ok());
        // Half a second later one token is back, not more.
        let t1 = t0 + Duration::from_millis(500);
        assert!(l.check("A", t1).is_ok());
        assert!(l.check("A", t1).is_err());
        // A long pause refills to the burst, not beyond.
        let t2 = t1 + Duration::from_secs(60);
        for _ in 0..3 {
            assert!(l.check("A", t2).is_ok());
        }
        assert!(l.check("A", t2).is_err());
    }
}
