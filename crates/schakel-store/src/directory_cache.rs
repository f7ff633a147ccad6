//! A short-lived cache of the directory reads every call makes (issue 7):
//! the caller's organisation and certificate binding (authentication), the
//! recipient's organisation, and both functions' recipient keys (sealing).
//! Without it a submission read the directory nine times.
//!
//! Correctness:
//! - A directory change made through this store (an admin call on this hub)
//!   empties the cache when it commits, and a read that began before the
//!   change cannot put its older answer back (a generation counter), so
//!   this hub sees its own changes at once.
//! - A change made elsewhere — another hub on the same PostgreSQL, or
//!   `schakel-hub --register-operator` on the database — is seen within
//!   the time to live (`StoreOptions::directory_cache_ttl`, default 2 s).
//!   That bounds how long another hub honours a certificate binding, an
//!   organisation's active flag or an age key after it was revoked there;
//!   set the TTL to zero to read the directory on every call.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::{CertificateBinding, Organisation, RecipientKey};

/// Entries per kind before the cache starts over (a directory has a few
/// thousand organisations at most; this only bounds memory).
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug)]
pub(crate) struct DirectoryCache {
    ttl: Duration,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
pub(crate) struct Inner {
    generation: u64,
    organisations: HashMap<String, (Instant, Option<Organisation>)>,
    bindings: HashMap<String, (Instant, Option<CertificateBinding>)>,
    recipients: HashMap<String, (Instant, Vec<RecipientKey>)>,
}

/// A cached answer of one kind.
pub(crate) trait Cached: Clone {
    fn map(inner: &mut Inner) -> &mut HashMap<String, (Instant, Self)>;
}

impl Cached for Option<Organisation> {
    fn map(inner: &mut Inner) -> &mut HashMap<String, (Instant, Self)> {
        &mut inner.organisations
    }
}

impl Cached for Option<CertificateBinding> {
    fn map(inner: &mut Inner) -> &mut HashMap<String, (Instant, Self)> {
        &mut inner.bindings
    }
}

impl Cached for Vec<RecipientKey> {
    fn map(inner: &mut Inner) -> &mut HashMap<String, (Instant, Self)> {
        &mut inner.recipients
    }
}

impl DirectoryCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves at worst a stale map; start over.
        self.inner.lock().unwrap_or_else(|poisoned| {
            let mut g = poisoned.into_inner();
            g.clear();
            g
        })
    }

    /// The cached answer for `key`, if fresh.
    pub(crate) fn get<T: Cached>(&self, key: &str) -> Option<T> {
        if self.ttl.is_zero() {
            return None;
        }
        let mut inner = self.lock();
        match T::map(&mut inner).get(key) {
            Some((at, v)) if at.elapsed() < self.ttl => Some(v.clone()),
            _ => None,
        }
    }

    /// The generation to pass to [`DirectoryCache::put`] for a read that
    /// starts now.
    pub(crate) fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Keeps `value`, read from the database since `generation` was taken,
    /// unless the directory changed in between.
    pub(crate) fn put<T: Cached>(&self, generation: u64, key: &str, value: T) {
        if self.ttl.is_zero() {
            return;
        }
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        let map = T::map(&mut inner);
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key.to_owned(), (Instant::now(), value));
    }

    /// Forgets everything: the directory changed.
    pub(crate) fn invalidate(&self) {
        self.lock().clear();
    }

    /// For a directory write: forgets everything when dropped, i.e. once
    /// the write has committed (or failed).
    pub(crate) fn changing(&self) -> Changing<'_> {
        Changing(self)
    }
}

/// See [`DirectoryCache::changing`].
pub(crate) struct Changing<'a>(&'a DirectoryCache);

impl Drop for Changing<'_> {
    fn drop(&mut self) {
        self.0.invalidate();
    }
}

impl Inner {
    fn clear(&mut self) {
        self.generation += 1;
        self.organisations.clear();
        self.bindings.clear();
        self.recipients.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_that_began_before_a_change_is_not_kept() {
        let c = DirectoryCache::new(Duration::from_secs(60));
        let g = c.generation();
        c.invalidate(); // a change commits while the read runs
        c.put::<Vec<RecipientKey>>(g, "oin", Vec::new());
        assert!(c.get::<Vec<RecipientKey>>("oin").is_none());
        let g = c.generation();
        c.put::<Vec<RecipientKey>>(g, "oin", Vec::new());
        assert!(c.get::<Vec<RecipientKey>>("oin").is_some());
        c.invalidate();
        assert!(
            c.get::<Vec<RecipientKey>>("oin").is_none(),
            "a change empties the cache"
        );
    }

    #[test]
    fn entries_expire_and_a_zero_ttl_caches_nothing() {
        let c = DirectoryCache::new(Duration::from_millis(30));
        c.put::<Option<Organisation>>(c.generation(), "oin", None);
        assert!(matches!(c.get::<Option<Organisation>>("oin"), Some(None)));
        std::thread::sleep(Duration::from_millis(40));
        assert!(c.get::<Option<Organisation>>("oin").is_none(), "expired");
        let off = DirectoryCache::new(Duration::ZERO);
        off.put::<Option<Organisation>>(off.generation(), "oin", None);
        assert!(off.get::<Option<Organisation>>("oin").is_none());
    }
}
