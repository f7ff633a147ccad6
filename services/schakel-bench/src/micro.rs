//! CPU baselines: SHA-256, age sealing and opening, audit verification and
//! Merkle proofs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use schakel_audit::{
    Action, Actor, Entry, Hash, LogVerifier, Outcome, ProcessingActivity, SpanId, TraceContext, TraceId,
    VerifyConfig, consistency_proof, inclusion_proof, leaf_hash, verify_inclusion,
};
use schakel_crypto::{GroupPlaintext, Recipient};
use sha2::{Digest, Sha256};

use crate::stats::{Measured, spin};

/// A realistic audit entry at `seq` (a submit or fetch with all fields).
pub fn entry(seq: u64) -> Entry {
    let mut trace = [0u8; 16];
    trace[..8].copy_from_slice(&(seq + 1).to_be_bytes());
    Entry {
        seq,
        time_ms: 1_795_000_000_000 + seq,
        actor: Actor {
            oin: Some("00000003999990001000".to_owned()),
            function: Some("school".to_owned()),
            user_id: Some("medewerker-42".to_owned()),
            user_role: Some("loopbaanbegeleider".to_owned()),
            acting_for: None,
        },
        action: if seq.is_multiple_of(2) {
            Action::TransferSubmitted
        } else {
            Action::TransferFetched
        },
        outcome: Outcome::Success,
        activity: Some(ProcessingActivity {
            purpose: "handover.school_to_gemeente".to_owned(),
            policy_version: "sha256:3f1c2a9d8e7b6a5f".to_owned(),
        }),
        legal_basis: Some("Participatiewet art. 7a; WEB art. 9.2.13 lid 2".to_owned()),
        subject: Some("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".to_owned()),
        transfer_id: Some(uuid::Uuid::from_u128(
            0x0190_0000_0000_7000_8000_0000_0000_0000 + u128::from(seq),
        )),
        consent_id: Some(uuid::Uuid::from_u128(0x0190_0000_0000_7000_9000_0000_0000_0000)),
        groups: vec![
            "contact.school".to_owned(),
            "contact.youth".to_owned(),
            "development".to_owned(),
            "identity".to_owned(),
            "school_career".to_owned(),
            "skills".to_owned(),
            "support_needs".to_owned(),
            "wishes".to_owned(),
        ],
        parties: vec!["00000001999990014000".to_owned()],
        trace: TraceContext {
            trace_id: TraceId::from_bytes(trace).unwrap_or_else(|_| unreachable!()),
            span_id: SpanId::from_bytes([0, 0, 0, 0, 0, 0, 0, 1]).unwrap_or_else(|_| unreachable!()),
        },
        rows: Vec::new(),
        attempts: None,
        flags: Vec::new(),
        justification_marks: Vec::new(),
    }
}

/// Size of one encoded synthetic entry.
pub fn entry_len() -> anyhow::Result<usize> {
    Ok(entry(12_345).encode()?.len())
}

/// SHA-256 of entry-sized inputs on `threads` threads: hashes per second.
pub fn sha256(len: usize, threads: usize, duration: Duration) -> Measured {
    let input = Arc::new(vec![0x5au8; len]);
    spin(threads, duration, move |n| {
        let mut h = Sha256::new();
        h.update(n.to_le_bytes());
        h.update(input.as_slice());
        std::hint::black_box(h.finalize());
    })
}

/// Audit verification speed: `total` synthetic entries through one
/// [`LogVerifier`], encoded in chunks (encoding is not timed). Returns
/// (entries, seconds spent in `push`).
pub fn verify(total: u64) -> anyhow::Result<(u64, f64)> {
    const CHUNK: u64 = 200_000;
    let mut v = LogVerifier::new(VerifyConfig::default());
    let mut timed = Duration::ZERO;
    let mut seq = 0;
    while seq < total {
        let end = (seq + CHUNK).min(total);
        let encoded: Vec<Vec<u8>> = (seq..end).map(|i| entry(i).encode()).collect::<Result<_, _>>()?;
        let t = Instant::now();
        for e in &encoded {
            v.push(e, None)?;
        }
        timed += t.elapsed();
        seq = end;
    }
    let report = v.finish()?;
    anyhow::ensure!(report.end == total, "verifier saw {} of {total}", report.end);
    Ok((total, timed.as_secs_f64()))
}

/// Proof timings at one log size.
#[derive(Debug, Clone, Copy)]
pub struct ProofTimes {
    /// Log size.
    pub size: u64,
    /// `inclusion_proof` over all leaves in memory, as the hub computes it (ms, median).
    pub inclusion_ms: f64,
    /// `consistency_proof` over all leaves in memory (ms, median).
    pub consistency_ms: f64,
    /// Checking an inclusion proof: the O(log n) work a stored-subtree
    /// proof would also need (ms, median).
    pub verify_ms: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Times proofs over `size` synthetic leaves held in memory.
pub fn proofs(size: u64, repeats: usize) -> anyhow::Result<ProofTimes> {
    let leaves: Vec<Hash> = (0..size).map(|i| leaf_hash(&i.to_le_bytes())).collect();
    let root = schakel_audit::root(&leaves);
    let mut inc = Vec::new();
    let mut con = Vec::new();
    let mut ver = Vec::new();
    for r in 0..repeats.max(1) {
        let index = (size / 3 + r as u64 * 7_919) % size;
        let t = Instant::now();
        let proof = inclusion_proof(&leaves, index)?;
        inc.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        verify_inclusion(&leaves[index as usize], index, size, &proof, &root)?;
        ver.push(t.elapsed().as_secs_f64() * 1e3);
        let old = (size / 2 + 1 + r as u64 * 104_729) % size;
        let t = Instant::now();
        std::hint::black_box(consistency_proof(&leaves, old.max(1))?);
        con.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(ProofTimes {
        size,
        inclusion_ms: median(inc),
        consistency_ms: median(con),
        verify_ms: median(ver),
    })
}

/// New random recipients (public keys) and their identities.
pub fn keys(n: usize) -> (Vec<Recipient>, Vec<age::x25519::Identity>) {
    let ids: Vec<age::x25519::Identity> = (0..n).map(|_| age::x25519::Identity::generate()).collect();
    (ids.iter().map(age::x25519::Identity::to_public).collect(), ids)
}

/// Seals every group of `doc` separately to `recipients` (what the hub did
/// per submit before issue 7), on `threads` threads: documents per second.
pub fn seal_per_group(
    doc: &[GroupPlaintext],
    recipients: &[Recipient],
    threads: usize,
    d: Duration,
) -> Measured {
    let doc = Arc::new(doc.to_vec());
    let recipients = Arc::new(recipients.to_vec());
    spin(threads, d, move |_| {
        let r: Vec<&Recipient> = recipients.iter().collect();
        for g in doc.iter() {
            std::hint::black_box(schakel_crypto::seal(g, &r).ok());
        }
    })
}

/// Seals the whole document as one unit (`schakel_crypto::seal_groups`:
/// one age file per document and purpose, what the hub does per submit) to
/// `recipients`: documents per second.
pub fn seal_once(doc: &[GroupPlaintext], recipients: &[Recipient], threads: usize, d: Duration) -> Measured {
    let doc = Arc::new(doc.to_vec());
    let recipients = Arc::new(recipients.to_vec());
    spin(threads, d, move |_| {
        let r: Vec<&Recipient> = recipients.iter().collect();
        std::hint::black_box(schakel_crypto::seal_groups(&doc, &r).ok());
    })
}

/// Opens every group of a document sealed per group: documents per second.
pub fn open_per_group(doc: &[GroupPlaintext], threads: usize, d: Duration) -> anyhow::Result<Measured> {
    let (recipients, ids) = keys(2);
    let r: Vec<&Recipient> = recipients.iter().collect();
    let sealed: Vec<Vec<u8>> = doc
        .iter()
        .map(|g| schakel_crypto::seal(g, &r))
        .collect::<Result<_, _>>()?;
    let sealed = Arc::new(sealed);
    // The receiver holds the first identity only.
    let id = Arc::new(vec![ids[0].clone()]);
    Ok(spin(threads, d, move |_| {
        for c in sealed.iter() {
            std::hint::black_box(schakel_crypto::open(c, &id).ok());
        }
    }))
}

/// Opens a document sealed as one unit (the client's side of fetch + open
/// since issue 7): documents per second.
pub fn open_once(doc: &[GroupPlaintext], threads: usize, d: Duration) -> anyhow::Result<Measured> {
    let (recipients, ids) = keys(2);
    let r: Vec<&Recipient> = recipients.iter().collect();
    let sealed = Arc::new(schakel_crypto::seal_groups(doc, &r)?);
    let id = Arc::new(vec![ids[0].clone()]);
    let n = doc.len();
    Ok(spin(threads, d, move |_| {
        std::hint::black_box(schakel_crypto::open_groups(&sealed, &id, n).ok());
    }))
}

/// Ciphertext bytes of `doc` sealed as the hub stores it (one unit) to
/// `recipients`.
pub fn sealed_bytes(doc: &[GroupPlaintext], recipients: &[Recipient]) -> anyhow::Result<usize> {
    let r: Vec<&Recipient> = recipients.iter().collect();
    Ok(schakel_crypto::seal_groups(doc, &r)?.len())
}
