//! Signed checkpoints of the audit log (DESIGN.md §4): the hub extends the
//! tree from the latest stored checkpoint's compact range, re-checking every
//! new entry on the way (it decodes, sits at its own position, hashes to its
//! stored leaf hash), signs a C2SP checkpoint and stores it. It runs every
//! `checkpoint_interval` and on demand (`GetCheckpoint { fresh: true }`).
//!
//! Several hubs on one database may checkpoint at once: a checkpoint of a
//! size that exists already is not stored twice, and both signed the same
//! root because the entries below that size are the same.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use schakel_audit::{Checkpoint, CompactRange, LogVerifier, Signer, VerifyConfig, leaf_hash};
use schakel_store::{Store, StoreError, StoredCheckpoint};
use tokio::task::JoinHandle;

use crate::error::HubError;

/// Entries are read in batches of this many while the tree is extended.
const BATCH: u64 = 10_000;

/// Why no checkpoint was made.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored log or the latest checkpoint does not verify: the hub
    /// refuses to sign over it. The error names the position.
    #[error("the audit log does not verify: {0}")]
    Integrity(#[from] schakel_audit::AuditError),
}

impl From<CheckpointError> for HubError {
    fn from(e: CheckpointError) -> Self {
        match e {
            CheckpointError::Store(e) => e.into(),
            CheckpointError::Integrity(e) => {
                tracing::error!(error = %e, "audit log integrity check failed; no checkpoint signed");
                HubError::DataLoss(format!(
                    "the audit log does not verify ({e}); no checkpoint was signed"
                ))
            }
        }
    }
}

/// Makes, signs and stores checkpoints of one store's log.
#[derive(Debug, Clone)]
pub struct Checkpointer {
    store: Store,
    signer: Arc<Signer>,
    /// One checkpoint at a time per hub.
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl Checkpointer {
    /// A checkpointer signing with `signer` (its name is the log origin).
    pub fn new(store: Store, signer: Arc<Signer>) -> Self {
        Self {
            store,
            signer,
            lock: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// The note verifier key auditors pin (`<origin>+<hash>+<key>`).
    pub fn verifier_key(&self) -> String {
        self.signer.verifier().vkey()
    }

    /// The log origin.
    pub fn origin(&self) -> &str {
        self.signer.name()
    }

    /// The latest stored checkpoint, or a new one when there is none yet.
    pub async fn latest(&self) -> Result<StoredCheckpoint, CheckpointError> {
        match self.store.latest_checkpoint().await? {
            Some(cp) => Ok(cp),
            None => self.checkpoint_now().await,
        }
    }

    /// Extends the tree to the current log size, signs and stores a
    /// checkpoint of that size (or returns the stored one when nothing was
    /// appended since).
    pub async fn checkpoint_now(&self) -> Result<StoredCheckpoint, CheckpointError> {
        let _one_at_a_time = self.lock.lock().await;
        let verifier = self.signer.verifier();
        let latest = self.store.latest_checkpoint().await?;
        let mut range = match &latest {
            Some(stored) => {
                // Resume only from a checkpoint this key signed and whose
                // compact range gives its root.
                let signed = Checkpoint::open(&stored.note, &verifier)?;
                let range = CompactRange::from_parts(stored.size, stored.frontier.clone())?;
                if signed.size != stored.size || signed.root != stored.root || range.root() != stored.root {
                    return Err(schakel_audit::AuditError::RootMismatch {
                        size: stored.size,
                        after: 0,
                    }
                    .into());
                }
                range
            }
            None => CompactRange::new(),
        };
        let size = self.store.audit_size().await?;
        if let Some(stored) = latest.filter(|s| s.size >= size) {
            crate::telemetry::record_checkpoint(size, stored.created_at.as_millisecond());
            return Ok(stored);
        }
        // Times are not checked here: entries from hubs with slightly
        // different clocks are no reason to stop signing. Integrity is the
        // sequence numbers and the hashes.
        let config = VerifyConfig {
            max_time_regression_ms: None,
        };
        let mut check = LogVerifier::resume(range.clone(), None, config);
        while range.size() < size {
            let from = range.size();
            let batch = self.store.audit_range(from, size.min(from + BATCH)).await?;
            if batch.is_empty() {
                return Err(schakel_audit::AuditError::Truncated {
                    expected: size,
                    found: from,
                }
                .into());
            }
            for entry in &batch {
                check.push(&entry.bytes, Some(&entry.leaf_hash))?;
                range.push(leaf_hash(&entry.bytes));
            }
            // The query columns decide who sees an entry: never sign over an
            // index that hides an entry or shows it to another organisation.
            self.store.check_audit_index(&batch).await??;
        }
        check.finish()?;
        let checkpoint = Checkpoint::new(self.signer.name(), range.size(), range.root());
        let stored = StoredCheckpoint {
            size: checkpoint.size,
            root: checkpoint.root,
            frontier: range.nodes().to_vec(),
            note: self.signer.sign(&checkpoint)?,
            created_at: Timestamp::from_millisecond(Timestamp::now().as_millisecond())
                .unwrap_or_else(|_| Timestamp::now()),
        };
        crate::telemetry::record_checkpoint(size, stored.created_at.as_millisecond());
        if self.store.insert_checkpoint(&stored).await? {
            tracing::debug!(size = stored.size, "audit checkpoint signed");
            return Ok(stored);
        }
        // Another hub stored this size first; it signed the same root.
        Ok(self
            .store
            .checkpoint_covering(stored.size)
            .await?
            .unwrap_or(stored))
    }

    /// Checkpoints every `interval` until the task is aborted. Failures are
    /// logged and retried at the next tick; they never stop the hub.
    pub fn spawn(self, interval: Duration) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match self.checkpoint_now().await {
                    Ok(_) => {}
                    Err(CheckpointError::Store(e)) => {
                        tracing::warn!(error = %e, "audit checkpoint postponed")
                    }
                    Err(e @ CheckpointError::Integrity(_)) => {
                        tracing::error!(error = %e, "audit checkpoint refused");
                    }
                }
            }
        })
    }
}
