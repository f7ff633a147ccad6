//! Verifying a log: entries in order, against signed checkpoints ([`LogVerifier`]).

use crate::checkpoint::Checkpoint;
use crate::encoding::EntryRef;
use crate::error::{AuditError, Result};
use crate::merkle::{CompactRange, Hash, leaf_hash};

/// Settings of a verification run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyConfig {
    /// How far (ms) an entry's time may lie before the latest time seen so far:
    /// several hubs write to one log, and their clocks differ a little. `None`
    /// turns the check off.
    pub max_time_regression_ms: Option<u64>,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        Self {
            max_time_regression_ms: Some(5_000),
        }
    }
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// First position verified.
    pub start: u64,
    /// Position after the last entry verified (the log size seen).
    pub end: u64,
    /// Sizes of the checkpoints whose roots matched, ascending.
    pub checkpoints_matched: Vec<u64>,
    /// Entries up to this size are proven by a checkpoint; later ones only passed
    /// the decoding, sequence and time checks.
    pub proven_size: u64,
    /// Entries whose time lay before the latest earlier time, within tolerance.
    pub time_regressions_tolerated: u64,
}

/// Streaming log verifier.
///
/// It takes the canonical entry bytes one by one, from position 0 or
/// from a [`CompactRange`] the store supplies for the prefix, and checks:
///
/// - every entry decodes ([`AuditError::Undecodable`]);
/// - sequence numbers equal positions, so nothing was removed, inserted or moved
///   without rewriting entries ([`AuditError::SequenceGap`]);
/// - time does not go back by more than a tolerance, measured from the latest time
///   seen so far ([`AuditError::TimeRegression`]);
/// - at each checkpoint's size, the root equals the checkpoint's root
///   ([`AuditError::RootMismatch`]), and the log is not shorter than the largest
///   checkpoint ([`AuditError::Truncated`]).
///
/// # What can be localised
///
/// A root commits to every entry but does not say which one differs. So:
///
/// - **Removal, insertion, reordering** of whole entries show as the first
///   position whose sequence number is wrong, unless the attacker also rewrote
///   the following entries' numbers, which changes their bytes and so the root.
///   An inserted entry that carries the number of the entry it displaces passes
///   the check itself; the displaced entry, one position later, is named
///   (`found < expected` marks a duplicate number).
/// - **Truncation** shows as the size the log should have had.
/// - **Modification** of an entry's bytes is localised to the interval between
///   the last checkpoint that matched and the first that did not: give the
///   verifier every checkpoint saved over time (all from the same log), and they
///   narrow it down as a bisection would.
/// - **Exactly**, when the store also kept each entry's leaf hash and those hashes
///   reproduce the checkpoint's root: then the stored hashes are proven, and the
///   first entry whose bytes do not hash to its stored hash is the one modified
///   ([`AuditError::EntryModified`]). If the attacker rewrote the stored hash too,
///   the stored hashes no longer give the signed root and the verifier falls back
///   to the interval. Stored hashes that differ while the entries reproduce the
///   root mean the hash column itself was changed ([`AuditError::LeafHashMismatch`]).
/// - Nothing after the last checkpoint can be proven; the report says how far the
///   proof reaches.
///
/// Entries are parsed without allocation and hashed once, so the verifier runs
/// at the speed of SHA-256 over the log (well over a million entries a second
/// with SHA extensions).
#[derive(Debug, Clone)]
pub struct LogVerifier {
    config: VerifyConfig,
    start: u64,
    computed: CompactRange,
    /// Tree over the stored leaf hashes, where given (the computed one where
    /// not); created at the first stored hash, as until then the two are equal.
    stored: Option<CompactRange>,
    first_stored_divergence: Option<u64>,
    latest_time: Option<u64>,
    /// Checkpoints not yet reached, by descending size (the next is last).
    pending: Vec<(u64, Hash)>,
    matched: Vec<u64>,
    tolerated: u64,
}

impl LogVerifier {
    /// A verifier that starts at the first entry of the log.
    pub fn new(config: VerifyConfig) -> Self {
        Self::resume(CompactRange::new(), None, config)
    }

    /// A verifier that starts after a prefix, given by its compact range (which the
    /// store supplies and need not be trusted: a later checkpoint's root covers it)
    /// and the latest time in the prefix, if known. If the prefix hashes are wrong,
    /// the first checkpoint reached reports [`AuditError::RootMismatch`] with
    /// `after` at the start: the fault is then in the range or in the prefix.
    pub fn resume(prefix: CompactRange, latest_time: Option<u64>, config: VerifyConfig) -> Self {
        Self {
            config,
            start: prefix.size(),
            stored: None,
            computed: prefix,
            first_stored_divergence: None,
            latest_time,
            pending: Vec::new(),
            matched: Vec::new(),
            tolerated: 0,
        }
    }

    /// Number of entries pushed so far, plus the prefix: the next position.
    pub fn position(&self) -> u64 {
        self.computed.size()
    }

    /// Adds a trusted checkpoint (its signature already checked) to compare with
    /// when the log reaches its size. Fails if that size already lies behind.
    pub fn add_checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<()> {
        let here = self.position();
        if checkpoint.size < here {
            return Err(AuditError::CheckpointOutsideRange {
                size: checkpoint.size,
                start: self.start,
            });
        }
        self.pending.push((checkpoint.size, checkpoint.root));
        self.pending
            .sort_unstable_by_key(|&(size, _)| std::cmp::Reverse(size));
        if checkpoint.size == here {
            self.check_checkpoints()?;
        }
        Ok(())
    }

    /// Checks the next entry, given its canonical bytes and, if the store kept
    /// it, its stored leaf hash.
    pub fn push(&mut self, bytes: &[u8], stored_leaf: Option<&Hash>) -> Result<()> {
        let position = self.position();
        let entry = EntryRef::parse(bytes).map_err(|reason| AuditError::Undecodable {
            position,
            reason: Box::new(reason),
        })?;
        if entry.seq != position {
            return Err(AuditError::SequenceGap {
                position,
                expected: position,
                found: entry.seq,
            });
        }
        match self.latest_time {
            Some(latest) if entry.time_ms < latest => {
                let by_ms = latest - entry.time_ms;
                if self.config.max_time_regression_ms.is_some_and(|max| by_ms > max) {
                    return Err(AuditError::TimeRegression { position, by_ms });
                }
                self.tolerated += 1;
            }
            _ => self.latest_time = Some(entry.time_ms),
        }
        let leaf = leaf_hash(bytes);
        if let Some(stored) = stored_leaf {
            if *stored != leaf && self.first_stored_divergence.is_none() {
                self.first_stored_divergence = Some(position);
            }
            self.stored
                .get_or_insert_with(|| self.computed.clone())
                .push(*stored);
        } else if let Some(tree) = &mut self.stored {
            tree.push(leaf);
        }
        self.computed.push(leaf);
        self.check_checkpoints()
    }

    fn check_checkpoints(&mut self) -> Result<()> {
        let here = self.position();
        while let Some(&(size, root)) = self.pending.last() {
            if size != here {
                break;
            }
            self.pending.pop();
            if self.computed.root() == root {
                if let Some(position) = self.first_stored_divergence {
                    return Err(AuditError::LeafHashMismatch { position });
                }
                if self.matched.last() != Some(&size) {
                    self.matched.push(size);
                }
                continue;
            }
            // The entries do not give the signed root. If the stored leaf hashes
            // do, they are proven, and the first entry that disagrees with them
            // is the modified one.
            if let Some(position) = self.first_stored_divergence
                && self.stored.as_ref().is_some_and(|tree| tree.root() == root)
            {
                return Err(AuditError::EntryModified { position });
            }
            let after = self.matched.last().copied().unwrap_or(self.start);
            return Err(AuditError::RootMismatch { size, after });
        }
        Ok(())
    }

    /// Ends the run: fails if a checkpoint lies beyond the end of the log
    /// (truncation) or stored leaf hashes disagree with the entries.
    pub fn finish(self) -> Result<VerifyReport> {
        let end = self.position();
        if let Some(&(expected, _)) = self.pending.first() {
            return Err(AuditError::Truncated { expected, found: end });
        }
        if let Some(position) = self.first_stored_divergence {
            return Err(AuditError::LeafHashMismatch { position });
        }
        Ok(VerifyReport {
            start: self.start,
            end,
            proven_size: self.matched.last().copied().unwrap_or(self.start),
            checkpoints_matched: self.matched,
            time_regressions_tolerated: self.tolerated,
        })
    }
}

/// Verifies a whole log from position 0 against a trusted checkpoint and any
/// earlier saved checkpoints (all with signatures already checked, see
/// [`Checkpoint::open`]). An earlier checkpoint matching the prefix root at its
/// size is what proves the log still extends it.
pub fn verify_log<I>(
    entries: I,
    trusted: &Checkpoint,
    earlier: &[Checkpoint],
    config: VerifyConfig,
) -> Result<VerifyReport>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let mut verifier = LogVerifier::new(config);
    verifier.add_checkpoint(trusted)?;
    for checkpoint in earlier {
        verifier.add_checkpoint(checkpoint)?;
    }
    for bytes in entries {
        verifier.push(bytes.as_ref(), None)?;
    }
    verifier.finish()
}
