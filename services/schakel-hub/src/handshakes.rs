//! TLS handshakes in progress, bounded so that stalled connections cannot
//! keep honest ones out (issue 15).
//!
//! The accept loop never waits: a connection from an address that already
//! has [`PER_ADDRESS`] handshakes running is closed at once, and when
//! [`TOTAL`] run at once the oldest is dropped to make room. A handshake
//! that does not finish within the hub's handshake timeout is dropped too.
//! So 2,000 sockets that connect and send nothing, from one address, hold
//! at most [`PER_ADDRESS`] slots, and a connection from another address is
//! handshaken at once.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::task::AbortHandle;

/// Handshakes one address may have running at once.
pub const PER_ADDRESS: usize = 32;
/// Handshakes running at once in all.
pub const TOTAL: usize = 1024;

#[derive(Debug, Default)]
struct Inner {
    by_address: HashMap<IpAddr, usize>,
    /// Running handshakes, oldest first, with the task to stop when one
    /// must make room (absent until the task is spawned).
    running: BTreeMap<u64, (IpAddr, Option<AbortHandle>)>,
    next: u64,
}

impl Inner {
    fn release(&mut self, id: u64) -> Option<Option<AbortHandle>> {
        let (ip, handle) = self.running.remove(&id)?;
        if let Some(n) = self.by_address.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                self.by_address.remove(&ip);
            }
        }
        Some(handle)
    }
}

/// The handshakes of one listener.
#[derive(Debug)]
pub struct Handshakes {
    inner: Mutex<Inner>,
    per_address: usize,
    total: usize,
}

/// A running handshake's place; it is given back when dropped (the
/// handshake ended, or its task was stopped).
#[derive(Debug)]
pub struct Slot {
    book: Arc<Handshakes>,
    id: u64,
}

impl Handshakes {
    /// Room for `total` handshakes, `per_address` from one address.
    pub fn new(per_address: usize, total: usize) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(Inner::default()),
            per_address,
            total: total.max(1),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for a handshake with `ip`, or `None` when that address has
    /// its share running (close the connection). When all slots are taken,
    /// the oldest handshake is stopped to make room.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let mut inner = self.lock();
        if inner.by_address.get(&ip).copied().unwrap_or(0) >= self.per_address {
            return None;
        }
        while inner.running.len() >= self.total {
            let Some((&oldest, _)) = inner.running.first_key_value() else {
                break;
            };
            if let Some(Some(handle)) = inner.release(oldest) {
                handle.abort();
            }
        }
        let id = inner.next;
        inner.next += 1;
        *inner.by_address.entry(ip).or_default() += 1;
        inner.running.insert(id, (ip, None));
        Some(Slot {
            book: self.clone(),
            id,
        })
    }

    /// Tells the book which task runs `slot`'s handshake, so it can be
    /// stopped to make room; stops it at once if that already happened.
    pub fn attach(&self, slot_id: u64, handle: AbortHandle) {
        let mut inner = self.lock();
        match inner.running.get_mut(&slot_id) {
            Some(entry) => entry.1 = Some(handle),
            None => handle.abort(),
        }
    }

    /// Handshakes running now, and how many of them from `ip`.
    pub fn running(&self, ip: IpAddr) -> (usize, usize) {
        let inner = self.lock();
        (
            inner.running.len(),
            inner.by_address.get(&ip).copied().unwrap_or(0),
        )
    }
}

impl Slot {
    /// Its id, for [`Handshakes::attach`].
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.book.lock().release(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn one_address_gets_its_share_and_others_still_get_in() {
        let book = Handshakes::new(3, 10);
        let held: Vec<Slot> = (0..3).map(|_| book.admit(ip(1)).expect("room")).collect();
        assert!(
            book.admit(ip(1)).is_none(),
            "the fourth from one address is closed"
        );
        assert!(book.admit(ip(2)).is_some(), "another address gets in");
        drop(held);
        assert_eq!(book.running(ip(1)), (0, 0), "slots are given back");
        assert!(book.admit(ip(1)).is_some());
    }

    #[tokio::test]
    async fn when_full_the_oldest_handshake_makes_room() {
        let book = Handshakes::new(10, 4);
        let mut tasks = Vec::new();
        for i in 0..4u8 {
            let slot = book.admit(ip(i)).expect("room");
            let id = slot.id();
            let task = tokio::spawn(async move {
                let _slot = slot;
                std::future::pending::<()>().await;
            });
            book.attach(id, task.abort_handle());
            tasks.push(task);
        }
        let newest = book.admit(ip(9)).expect("room made");
        let first = tasks.remove(0);
        assert!(first.await.unwrap_err().is_cancelled(), "the oldest was stopped");
        assert_eq!(book.running(ip(0)), (4, 0));
        drop(newest);
        for t in tasks {
            t.abort();
            let _ = t.await;
        }
        assert_eq!(book.running(ip(9)).0, 0);
    }
}
