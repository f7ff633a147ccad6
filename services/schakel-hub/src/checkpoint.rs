//! Signed checkpoints of the audit log (DESIGN.md §4): the hub extends the
//! tree from the latest stored checkpoint's compact range, re-checking every
//! new entry on the way (it decodes, sits at its own position, hashes to its
//! stored leaf hash), signs a C2SP checkpoint and stores it. It runs every
//! `checkpoint_interval` and on demand (`GetCheckpoint { fresh: true }`).
//!
//! Several hubs on one database may checkpoint at once: a checkpoint of a
//! size that exists already is not stored twice, and both signed the same
//! root because the entries below that size are the same.
//!
//! What the database alone cannot be trusted with (issue 14):
//!
//! - Entries no checkpoint covers yet. Before it signs, the hub checks the
//!   authentication code of every entry it is about to cover
//!   (`schakel_audit::LeafKey`): an entry changed, moved or added in the
//!   database has none that verifies, and the hub refuses. Entries without
//!   a code are accepted only while the log has no checkpoint at all (the
//!   first operator, registered by a tool without the key).
//! - The checkpoints themselves. Every checkpoint the hub signs is also
//!   appended to a file outside the database (`checkpoint_file`), and the
//!   largest one it knows — from that file, or signed or read since it
//!   started — is its anchor: it never signs a checkpoint smaller than the
//!   anchor or one the anchor is not consistent with (a consistency proof
//!   from the store, checked against both signed roots). So deleting stored
//!   checkpoints and truncating or rewriting the log beneath them cannot
//!   make the hub sign a checkpoint that contradicts its own earlier one.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use schakel_audit::{
    AuditError, Checkpoint, CompactRange, LeafKey, LogVerifier, Signer, VerifyConfig,
    consistency_proof_ranges, leaf_hash, verify_consistency,
};
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
    /// The checkpoint file outside the database could not be read or
    /// written; no checkpoint is signed without it.
    #[error("checkpoint file {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What failed (an I/O error or a line that does not verify).
        reason: String,
    },
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
            CheckpointError::File { path, reason } => {
                tracing::error!(path = %path.display(), reason, "checkpoint file unusable; no checkpoint signed");
                HubError::Unavailable
            }
        }
    }
}

/// Makes, signs and stores checkpoints of one store's log.
#[derive(Debug, Clone)]
pub struct Checkpointer {
    store: Store,
    signer: Arc<Signer>,
    leaf_key: Arc<LeafKey>,
    /// The append-only file every signed checkpoint is also written to.
    file: Option<PathBuf>,
    /// The largest checkpoint of this log this hub knows to be genuine (see
    /// the module comment).
    anchor: Arc<Mutex<Option<Checkpoint>>>,
    /// One checkpoint at a time per hub.
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl Checkpointer {
    /// A checkpointer signing with `signer` (its name is the log origin),
    /// keeping its checkpoints in `file` as well; the largest checkpoint in
    /// the file becomes its anchor. A line of the file that is not a
    /// checkpoint signed by this key is an error (a truncated last line,
    /// from a crash while writing, is skipped).
    pub fn new(store: Store, signer: Arc<Signer>, file: Option<PathBuf>) -> Result<Self, CheckpointError> {
        let anchor = match &file {
            Some(path) => {
                cut_torn_line(path)?;
                read_checkpoint_file(path, &signer.verifier())?
            }
            None => None,
        };
        if let Some(a) = &anchor {
            tracing::info!(size = a.size, "audit anchor read from the checkpoint file");
        }
        Ok(Self {
            store,
            leaf_key: Arc::new(signer.leaf_key()),
            signer,
            file,
            anchor: Arc::new(Mutex::new(anchor)),
            lock: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    fn anchor(&self) -> Option<Checkpoint> {
        self.anchor
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Raises the anchor to `cp` if it is larger.
    fn remember(&self, cp: &Checkpoint) {
        let mut anchor = self
            .anchor
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if anchor.as_ref().is_none_or(|a| a.size < cp.size) {
            *anchor = Some(cp.clone());
        }
    }

    /// Checks that the log this hub is about to sign at (`size`, `root`)
    /// extends its anchor: never smaller, never another history.
    async fn check_anchor(&self, size: u64, root: &schakel_audit::Hash) -> Result<(), CheckpointError> {
        let Some(anchor) = self.anchor() else {
            return Ok(());
        };
        if anchor.size > size {
            return Err(AuditError::Truncated {
                expected: anchor.size,
                found: size,
            }
            .into());
        }
        if anchor.size == size {
            return if anchor.root == *root {
                Ok(())
            } else {
                Err(AuditError::RootMismatch { size, after: 0 }.into())
            };
        }
        let ranges = consistency_proof_ranges(anchor.size, size)?;
        let hashes = self.store.audit_subtree_hashes(&ranges).await?;
        verify_consistency(anchor.size, size, &anchor.root, root, &hashes).map_err(|_| {
            CheckpointError::Integrity(AuditError::RootMismatch {
                size: anchor.size,
                after: 0,
            })
        })?;
        Ok(())
    }

    /// Appends `note` to the checkpoint file and syncs it.
    async fn write_file(&self, note: &str) -> Result<(), CheckpointError> {
        let Some(path) = self.file.clone() else {
            return Ok(());
        };
        let line = schakel_audit::checkpoint_log_line(note);
        let written = tokio::task::spawn_blocking({
            let path = path.clone();
            move || -> std::io::Result<()> {
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)?;
                f.write_all(format!("{line}\n").as_bytes())?;
                f.sync_data()
            }
        })
        .await
        .unwrap_or_else(|_| Err(std::io::Error::other("the file task did not finish")));
        written.map_err(|e| CheckpointError::File {
            path,
            reason: e.to_string(),
        })
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
        // Before anything is read: what this checkpoint covers must be on
        // disk on this same server before it is signed (`confirm_durable`).
        let mark = self.store.durability_mark().await?;
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
                // A genuine checkpoint of this log. When the anchor lies
                // at or below it, this one must extend the anchor; when the
                // anchor lies above (stored checkpoints were removed), the
                // checkpoint about to be signed is checked against it below.
                if self.anchor().is_none_or(|a| a.size <= signed.size) {
                    self.check_anchor(signed.size, &signed.root).await?;
                    self.remember(&signed);
                }
                range
            }
            None => CompactRange::new(),
        };
        let size = self.store.audit_size().await?;
        // Entries without a code are accepted only while the log has never
        // had a checkpoint (here or in the file).
        let first_checkpoint = latest.is_none() && self.anchor().is_none();
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
                let leaf = leaf_hash(&entry.bytes);
                // Appended by a hub of this log, at this position?
                let genuine = match &entry.leaf_mac {
                    Some(tag) => self.leaf_key.verify(entry.seq, &leaf, tag),
                    None => first_checkpoint,
                };
                if !genuine {
                    return Err(AuditError::Unauthenticated { position: entry.seq }.into());
                }
                range.push(leaf);
            }
            // The query columns decide who sees an entry: never sign over an
            // index that hides an entry or shows it to another organisation.
            self.store.check_audit_index(&batch).await??;
        }
        check.finish()?;
        let checkpoint = Checkpoint::new(self.signer.name(), range.size(), range.root());
        self.check_anchor(checkpoint.size, &checkpoint.root).await?;
        // With group commit an entry is visible before it is durable (and
        // another hub's may not be flushed at all yet): a checkpoint over
        // entries a database crash then takes would contradict the log, and
        // its copy in the checkpoint file would stop all signing after.
        self.store.confirm_durable(&mark).await?;
        let stored = StoredCheckpoint {
            size: checkpoint.size,
            root: checkpoint.root,
            frontier: range.nodes().to_vec(),
            note: self.signer.sign(&checkpoint)?,
            created_at: Timestamp::from_millisecond(Timestamp::now().as_millisecond())
                .unwrap_or_else(|_| Timestamp::now()),
        };
        // Outside the database first: a checkpoint in the file and not in
        // the database is still a true statement about the log.
        self.write_file(&stored.note).await?;
        self.remember(&checkpoint);
        let stored = if self.store.insert_checkpoint(&stored).await? {
            tracing::debug!(size = stored.size, "audit checkpoint signed");
            stored
        } else {
            // Another hub stored this size first; it signed the same root.
            self.store
                .checkpoint_covering(stored.size)
                .await?
                .unwrap_or(stored)
        };
        crate::telemetry::record_checkpoint(size, stored.created_at.as_millisecond());
        Ok(stored)
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
                        crate::telemetry::record_checkpoint_failed();
                        tracing::warn!(error = %e, "audit checkpoint postponed")
                    }
                    Err(e) => {
                        crate::telemetry::record_checkpoint_failed();
                        tracing::error!(error = %e, "audit checkpoint refused");
                    }
                }
            }
        })
    }
}

/// Removes a last line that a crash cut short while it was written (no
/// newline at the end), so the next checkpoint starts a line of its own.
fn cut_torn_line(path: &Path) -> Result<(), CheckpointError> {
    let fail = |e: std::io::Error| CheckpointError::File {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(fail(e)),
    };
    if bytes.is_empty() || bytes.ends_with(b"\n") {
        return Ok(());
    }
    let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    tracing::warn!(path = %path.display(), "cutting a checkpoint line a crash left unfinished");
    let f = std::fs::OpenOptions::new().write(true).open(path).map_err(fail)?;
    f.set_len(keep as u64).map_err(fail)?;
    f.sync_all().map_err(fail)
}

/// The largest checkpoint in the checkpoint file (see
/// `schakel_audit::parse_checkpoint_log`); none when there is no file yet.
pub fn read_checkpoint_file(
    path: &Path,
    verifier: &schakel_audit::Verifier,
) -> Result<Option<Checkpoint>, CheckpointError> {
    let fail = |reason: String| CheckpointError::File {
        path: path.to_owned(),
        reason,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(fail(e.to_string())),
    };
    let all = schakel_audit::parse_checkpoint_log(&text, verifier).map_err(|e| fail(e.to_string()))?;
    Ok(all.into_iter().max_by_key(|c| c.size))
}
