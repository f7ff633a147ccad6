//! Argument handling of the audit commands: filters, thresholds, keys and
//! the files they write. Rendering is tested in `view`, times in `parse`,
//! proofs in schakel-client.

use clap::Parser;
use schakel_audit::Signer;

use super::*;

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: AuditCommand,
}

fn parse(line: &str) -> AuditCommand {
    Cli::try_parse_from(std::iter::once("audit").chain(line.split_whitespace()))
        .unwrap_or_else(|e| panic!("{line}: {e}"))
        .cmd
}

fn signer() -> Signer {
    Signer::from_seed("schakel.test/log", &[9; 32]).unwrap()
}

#[test]
fn action_names_are_the_proto_names_without_prefix() {
    for (name, action) in names::AUDIT_ACTIONS {
        let proto = action.as_str_name().strip_prefix("AUDIT_ACTION_").unwrap();
        assert_eq!(*name, proto.to_ascii_lowercase());
    }
    for (name, outcome) in names::AUDIT_OUTCOMES {
        let proto = outcome.as_str_name().strip_prefix("AUDIT_OUTCOME_").unwrap();
        assert_eq!(*name, proto.to_ascii_lowercase());
    }
    for (name, kind) in names::ANOMALY_KINDS {
        let proto = kind.as_str_name().strip_prefix("ANOMALY_KIND_").unwrap();
        assert_eq!(*name, proto.to_ascii_lowercase());
    }
}

#[test]
fn query_filters_become_the_api_filter() {
    let AuditCommand::Query(q) = parse(
        "query --action transfer_fetch,transfer_read --action purge --outcome refused \
         --user u-7 --purpose handover.school_to_gemeente \
         --transfer 0190F1C2-7D3E-7A00-8000-000000000001 --from 2026-03-01 --until 2026-03-31",
    ) else {
        panic!("not a query")
    };
    let f = q.filter.to_proto().unwrap();
    assert_eq!(
        f.actions,
        vec![
            pb::AuditAction::TransferFetch as i32,
            pb::AuditAction::TransferRead as i32,
            pb::AuditAction::Purge as i32,
        ]
    );
    assert_eq!(f.outcome, pb::AuditOutcome::Refused as i32);
    assert_eq!(f.user_id, "u-7");
    assert_eq!(f.purpose, "handover.school_to_gemeente");
    // Ids in canonical lower case.
    assert_eq!(f.transfer_id, "0190f1c2-7d3e-7a00-8000-000000000001");
    assert_eq!((f.consent_id.as_str(), f.bsn.as_str()), ("", ""));
    // 1 March 00:00 and 1 April 00:00 in Amsterdam (UTC+1, then UTC+2).
    let from: jiff::Timestamp = "2026-02-28T23:00:00Z".parse().unwrap();
    let until: jiff::Timestamp = "2026-03-31T22:00:00Z".parse().unwrap();
    assert_eq!(f.from.map(|t| t.seconds), Some(from.as_second()));
    assert_eq!(f.until.map(|t| t.seconds), Some(until.as_second()));
}

#[test]
fn no_filters_is_an_empty_filter() {
    let AuditCommand::Query(q) = parse("query") else {
        panic!("not a query")
    };
    assert_eq!(q.filter.to_proto().unwrap(), pb::AuditFilter::default());
}

#[test]
fn a_window_ending_before_it_starts_is_a_local_error() {
    let AuditCommand::Query(q) = parse("query --from 2026-03-02 --until 2026-03-01") else {
        panic!("not a query")
    };
    let e = q.filter.to_proto().unwrap_err().to_string();
    assert!(e.contains("--until"), "{e}");
}

#[test]
fn anomaly_thresholds_leave_unset_ones_to_the_hub() {
    let AuditCommand::Anomalies(a) =
        parse("anomalies --office-hours 7-18 --refusal-burst 5/10 --kind user_volume,refusal_burst")
    else {
        panic!("not anomalies")
    };
    assert_eq!(
        a.thresholds(),
        pb::AnomalyThresholds {
            office_hours_start: 7,
            office_hours_end: 18,
            max_subjects_per_user_per_day: 0,
            max_users_per_subject: 0,
            refusal_burst_count: 5,
            refusal_burst_minutes: 10,
        }
    );
    assert_eq!(
        a.kinds,
        vec![
            pb::AnomalyKind::UserVolume as i32,
            pb::AnomalyKind::RefusalBurst as i32
        ]
    );
    let AuditCommand::Anomalies(a) =
        parse("anomalies --max-subjects-per-user-per-day 40 --max-users-per-subject 3")
    else {
        panic!("not anomalies")
    };
    let t = a.thresholds();
    assert_eq!(
        (
            t.max_subjects_per_user_per_day,
            t.max_users_per_subject,
            t.office_hours_start
        ),
        (40, 3, 0)
    );
}

#[test]
fn export_formats_map_to_the_api() {
    let AuditCommand::Export(e) = parse("export --format logboek") else {
        panic!("not an export")
    };
    assert_eq!(
        pb::ExportFormat::from(e.format),
        pb::ExportFormat::LogboekDataverwerkingen
    );
    assert_eq!(
        pb::ExportFormat::from(ExportFormat::Jsonl),
        pb::ExportFormat::Jsonl
    );
}

#[test]
fn the_verifier_key_flag_is_parsed_and_checked() {
    let vkey = signer().verifier().vkey();
    let AuditCommand::Checkpoint(c) = parse(&format!("checkpoint --verifier-key {vkey}")) else {
        panic!("not checkpoint")
    };
    assert_eq!(c.key.verifier_key.map(|v| v.vkey()), Some(vkey));
}

#[test]
fn a_pinned_key_wins_over_the_hubs() {
    let pinned_key = signer().verifier();
    let other = Signer::from_seed("schakel.test/log", &[1; 32])
        .unwrap()
        .verifier();
    let (v, source) = key_for(Some((pinned_key.clone(), KeySource::Flag)), &other.vkey()).unwrap();
    assert_eq!((v, source), (pinned_key, KeySource::Flag));
}

#[test]
fn without_a_pinned_key_the_hubs_key_is_used_and_marked() {
    let hub_key = signer().verifier();
    let (v, source) = key_for(None, &hub_key.vkey()).unwrap();
    assert_eq!((v, source), (hub_key, KeySource::Hub));
    assert!(source.text().contains("NOT pinned"));
    assert!(key_for(None, "").is_err());
    assert!(key_for(None, "garbage").is_err());
}

fn checkpoint_of(size: u64) -> pb::Checkpoint {
    let cp = Checkpoint::new("schakel.test/log", size, [size as u8; 32]);
    pb::Checkpoint {
        note: signer().sign(&cp).unwrap(),
        origin: cp.origin.clone(),
        tree_size: size,
        root_hash: cp.root.to_vec(),
        time: None,
    }
}

#[test]
fn covering_checkpoints_are_checked_only_with_a_pinned_key() {
    let cp = checkpoint_of(3);
    let pinned_key = (signer().verifier(), KeySource::Profile);
    assert!(matches!(check_covering(Some(&cp), None), Covered::NotChecked));
    assert!(matches!(
        check_covering(Some(&cp), Some(&pinned_key)),
        Covered::Verified(KeySource::Profile)
    ));
    let other = (
        Signer::from_seed("schakel.test/log", &[2; 32])
            .unwrap()
            .verifier(),
        KeySource::Flag,
    );
    let c = check_covering(Some(&cp), Some(&other));
    assert!(matches!(c, Covered::Failed(_)));
    assert!(matches!(c.outcome(), Outcome::Failed));
    assert!(c.text().starts_with("FAILED"), "{}", c.text());
    assert!(matches!(
        check_covering(None, Some(&pinned_key)),
        Covered::Failed(ProofError::NoCheckpoint)
    ));
    assert!(check_covering(None, None).text().contains("NOT checked"));
}

/// A throwaway directory.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "schakel-cli-audit-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn private_files_appear_only_when_committed() {
    let dir = TempDir::new();
    let path = dir.0.join("audit.jsonl");
    let mut f = PrivateFile::create(&path).unwrap();
    f.write_all(b"{\"sequence\":0}\n").unwrap();
    assert!(!path.exists());
    f.commit().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"{\"sequence\":0}\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // An incomplete export is dropped: the earlier file stays, no temporary.
    let mut f = PrivateFile::create(&path).unwrap();
    f.write_all(b"partial").unwrap();
    drop(f);
    assert_eq!(std::fs::read(&path).unwrap(), b"{\"sequence\":0}\n");
    assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 1);
}

#[test]
fn a_saved_note_is_written_as_is() {
    let dir = TempDir::new();
    let path = dir.0.join("cp.note");
    let cp = checkpoint_of(5);
    write_private_file(&path, cp.note.as_bytes()).unwrap();
    let saved = read_saved(std::slice::from_ref(&path)).unwrap();
    let opened = Checkpoint::open(&saved[0].1, &signer().verifier()).unwrap();
    assert_eq!(opened.size, 5);
    assert!(read_saved(&[dir.0.join("missing.note")]).is_err());
}
