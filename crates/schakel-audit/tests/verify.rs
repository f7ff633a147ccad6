//! The verifier against each kind of tampering: it must detect it and name the
//! position.

mod common;

use std::time::Instant;

use schakel_audit::{
    AuditError, Checkpoint, CompactRange, Hash, LogVerifier, Outcome, VerifyConfig, consistency_proof,
    leaf_hash, root, verify_consistency, verify_log,
};

const ORIGIN: &str = "schakel.example/audit";
const N: u64 = 100;

fn leaves(log: &[Vec<u8>]) -> Vec<Hash> {
    log.iter().map(|b| leaf_hash(b)).collect()
}

fn checkpoint(log: &[Vec<u8>], size: u64) -> Checkpoint {
    Checkpoint::new(ORIGIN, size, root(&leaves(&log[..size as usize])))
}

/// Runs the verifier over `log` against the checkpoints at `sizes` (taken from
/// `honest`), optionally with stored leaf hashes.
fn run(
    log: &[Vec<u8>],
    honest: &[Vec<u8>],
    sizes: &[u64],
    stored: Option<&[Hash]>,
) -> Result<u64, AuditError> {
    let mut v = LogVerifier::new(VerifyConfig::default());
    for &size in sizes {
        v.add_checkpoint(&checkpoint(honest, size))?;
    }
    for (i, bytes) in log.iter().enumerate() {
        v.push(bytes, stored.map(|s| &s[i]))?;
    }
    Ok(v.finish()?.proven_size)
}

/// Entry 37 with different content but the same sequence number.
fn modified(log: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut e = common::entry(37);
    e.outcome = Outcome::Refused {
        rules: vec!["R8".into()],
    };
    let mut out = log.to_vec();
    out[37] = e.encode().expect("valid");
    out
}

#[test]
fn honest_log_verifies() {
    let log = common::log(N);
    let report = verify_log(
        &log,
        &checkpoint(&log, N),
        &[checkpoint(&log, 10), checkpoint(&log, 64)],
        VerifyConfig::default(),
    )
    .expect("verifies");
    assert_eq!((report.start, report.end, report.proven_size), (0, N, N));
    assert_eq!(report.checkpoints_matched, vec![10, 64, N]);
    assert_eq!(run(&log, &log, &[N], Some(&leaves(&log))), Ok(N));
}

#[test]
fn entries_after_the_checkpoint_are_checked_but_not_proven() {
    let log = common::log(N);
    let report = verify_log(&log, &checkpoint(&log, 60), &[], VerifyConfig::default()).expect("verifies");
    assert_eq!((report.end, report.proven_size), (N, 60));
}

#[test]
fn empty_log_verifies_against_the_empty_checkpoint() {
    let log: Vec<Vec<u8>> = vec![];
    let report = verify_log(&log, &checkpoint(&log, 0), &[], VerifyConfig::default()).expect("verifies");
    assert_eq!(report.end, 0);
}

#[test]
fn modified_entry_is_localised_to_the_checkpoint_interval() {
    let log = common::log(N);
    let bad = modified(&log);
    assert_eq!(
        run(&bad, &log, &[N], None),
        Err(AuditError::RootMismatch { size: N, after: 0 })
    );
    assert_eq!(
        run(&bad, &log, &[20, 50, 80, N], None),
        Err(AuditError::RootMismatch { size: 50, after: 20 })
    );
}

#[test]
fn modified_entry_is_named_exactly_with_stored_leaf_hashes() {
    let log = common::log(N);
    let bad = modified(&log);
    assert_eq!(
        run(&bad, &log, &[N], Some(&leaves(&log))),
        Err(AuditError::EntryModified { position: 37 })
    );
}

#[test]
fn modified_entry_with_rewritten_leaf_hash_falls_back_to_the_interval() {
    let log = common::log(N);
    let bad = modified(&log);
    assert_eq!(
        run(&bad, &log, &[30, 40, N], Some(&leaves(&bad))),
        Err(AuditError::RootMismatch { size: 40, after: 30 })
    );
}

#[test]
fn tampered_leaf_hash_column_is_detected() {
    let log = common::log(N);
    let mut stored = leaves(&log);
    stored[12][0] ^= 1;
    assert_eq!(
        run(&log, &log, &[N], Some(&stored)),
        Err(AuditError::LeafHashMismatch { position: 12 })
    );
}

#[test]
fn deleted_entry_is_named() {
    let log = common::log(N);
    let mut bad = log.clone();
    bad.remove(37);
    assert_eq!(
        run(&bad, &log, &[N], None),
        Err(AuditError::SequenceGap {
            position: 37,
            expected: 37,
            found: 38
        })
    );
}

#[test]
fn reordered_entries_are_named() {
    let log = common::log(N);
    let mut bad = log.clone();
    bad.swap(37, 38);
    assert_eq!(
        run(&bad, &log, &[N], None),
        Err(AuditError::SequenceGap {
            position: 37,
            expected: 37,
            found: 38
        })
    );
}

#[test]
fn truncated_tail_is_detected() {
    let log = common::log(N);
    assert_eq!(
        run(&log[..90], &log, &[N], None),
        Err(AuditError::Truncated {
            expected: N,
            found: 90
        })
    );
}

#[test]
fn inserted_forged_entry_is_detected() {
    let log = common::log(N);
    // A forged entry claiming position 37: the real entry 37 then sits at 38.
    let mut forged = common::entry(37);
    forged.parties = vec![];
    let mut bad = log.clone();
    bad.insert(37, forged.encode().expect("valid"));
    assert_eq!(
        run(&bad, &log, &[N], None),
        Err(AuditError::SequenceGap {
            position: 38,
            expected: 38,
            found: 37
        })
    );
    // Renumbering everything after it moves the detection to the root.
    let renumbered: Vec<Vec<u8>> = (0..=N)
        .map(|i| {
            let mut e = if i == 37 {
                forged.clone()
            } else {
                common::entry(if i > 37 { i - 1 } else { i })
            };
            e.seq = i;
            e.encode().expect("valid")
        })
        .collect();
    assert_eq!(
        run(&renumbered, &log, &[N], None),
        Err(AuditError::RootMismatch { size: N, after: 0 })
    );
    // With the honest stored leaf hashes (which reproduce the signed root), the
    // first entry that differs from them is named: the forged one.
    assert_eq!(
        run(&renumbered, &log, &[N], Some(&leaves(&log))),
        Err(AuditError::EntryModified { position: 37 })
    );
}

#[test]
fn undecodable_entry_is_named() {
    let mut log = common::log(N);
    log[42][0] = 9;
    let honest = common::log(N);
    assert_eq!(
        run(&log, &honest, &[N], None),
        Err(AuditError::Undecodable {
            position: 42,
            reason: Box::new(AuditError::UnknownVersion(9))
        })
    );
}

#[test]
fn time_going_back_beyond_tolerance_is_named() {
    let mut log = common::log(N);
    let mut e = common::entry(50);
    e.time_ms -= 12_000; // entry 49 was 1 s earlier, so 11 s back
    log[50] = e.encode().expect("valid");
    let honest = log.clone();
    assert_eq!(
        run(&log, &honest, &[N], None),
        Err(AuditError::TimeRegression {
            position: 50,
            by_ms: 11_000
        })
    );

    let lenient = VerifyConfig {
        max_time_regression_ms: Some(20_000),
    };
    let report = verify_log(&log, &checkpoint(&log, N), &[], lenient).expect("within tolerance");
    assert_eq!(report.time_regressions_tolerated, 1);
    let off = VerifyConfig {
        max_time_regression_ms: None,
    };
    verify_log(&log, &checkpoint(&log, N), &[], off).expect("check off");
}

#[test]
fn earlier_checkpoint_of_a_rewritten_log_is_inconsistent() {
    // The officer kept a checkpoint at 50; the log was later rewritten and re-signed.
    let log = common::log(N);
    let bad = modified(&log);
    let kept = checkpoint(&log, 50);
    let resigned = checkpoint(&bad, N);
    assert_eq!(
        verify_log(
            &bad,
            &resigned,
            std::slice::from_ref(&kept),
            VerifyConfig::default()
        ),
        Err(AuditError::RootMismatch { size: 50, after: 0 })
    );
    // The same answer from proofs alone, without the entries.
    let proof = consistency_proof(&leaves(&bad), 50).expect("proof");
    assert!(verify_consistency(50, N, &kept.root, &resigned.root, &proof).is_err());
    let honest_proof = consistency_proof(&leaves(&log), 50).expect("proof");
    verify_consistency(50, N, &kept.root, &checkpoint(&log, N).root, &honest_proof).expect("consistent");
}

#[test]
fn range_verification_resumes_from_a_stored_compact_range() {
    let log = common::log(N);
    let hashes = leaves(&log);
    let nodes: Vec<Hash> = CompactRange::node_ranges(60)
        .into_iter()
        .map(|r| root(&hashes[r.start as usize..r.end as usize]))
        .collect();
    let prefix = CompactRange::from_parts(60, nodes).expect("prefix");
    let last_time = Some(common::entry(59).time_ms);

    let mut v = LogVerifier::resume(prefix.clone(), last_time, VerifyConfig::default());
    v.add_checkpoint(&checkpoint(&log, 60)).expect("checked at once");
    v.add_checkpoint(&checkpoint(&log, N)).expect("pending");
    assert_eq!(
        v.add_checkpoint(&checkpoint(&log, 50)),
        Err(AuditError::CheckpointOutsideRange { size: 50, start: 60 })
    );
    for bytes in &log[60..] {
        v.push(bytes, None).expect("verifies");
    }
    let report = v.finish().expect("verifies");
    assert_eq!((report.start, report.end, report.proven_size), (60, N, N));

    // A store that lies about the prefix is caught by the checkpoint.
    let mut wrong = prefix.nodes().to_vec();
    wrong[0][0] ^= 1;
    let mut v = LogVerifier::resume(
        CompactRange::from_parts(60, wrong).expect("shape"),
        last_time,
        VerifyConfig::default(),
    );
    v.add_checkpoint(&checkpoint(&log, N)).expect("pending");
    let result = log[60..].iter().try_for_each(|b| v.push(b, None));
    assert_eq!(result, Err(AuditError::RootMismatch { size: N, after: 60 }));
}

/// Not a timing assertion: prints the rate, for `cargo test --release -- --nocapture`.
#[test]
fn throughput() {
    let n = 20_000u64;
    let log = common::log(n);
    let bytes: usize = log.iter().map(Vec::len).sum();
    let cp = checkpoint(&log, n);
    let start = Instant::now();
    let report = verify_log(&log, &cp, &[], VerifyConfig::default()).expect("verifies");
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(report.proven_size, n);
    eprintln!(
        "verified {n} entries ({} bytes each) in {:.1} ms: {:.0} entries/s",
        bytes / n as usize,
        secs * 1e3,
        n as f64 / secs
    );
}
