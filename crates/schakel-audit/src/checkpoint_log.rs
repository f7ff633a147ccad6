//! The checkpoint file: every checkpoint a hub signs, also kept outside the
//! database, one JSON object per line (`{"note": "<signed note>"}`), so that
//! removing stored checkpoints cannot make a rewritten log look consistent
//! (issue 14). The hub appends to it; it and `schakel audit verify
//! --database` read it with [`parse_checkpoint_log`].

use crate::{AuditError, Checkpoint, Verifier};

/// One line of the checkpoint file for `note` (without the newline).
pub fn checkpoint_log_line(note: &str) -> String {
    serde_json::json!({ "note": note }).to_string()
}

/// Why a checkpoint file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct CheckpointLogError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// Every checkpoint in the file's `text`, each checked against `verifier`.
/// A last line without its newline is a write a crash cut short and is
/// skipped; any other line that is not a checkpoint signed by that key is
/// an error (the file was changed).
pub fn parse_checkpoint_log(text: &str, verifier: &Verifier) -> Result<Vec<Checkpoint>, CheckpointLogError> {
    let complete = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    let mut out = Vec::new();
    for (i, line) in complete.lines().enumerate() {
        let fail = |reason: String| CheckpointLogError { line: i + 1, reason };
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|_| fail("not a checkpoint record".into()))?;
        let note = value
            .get("note")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| fail("not a checkpoint record".into()))?;
        let cp = Checkpoint::open(note, verifier).map_err(|e: AuditError| fail(e.to_string()))?;
        out.push(cp);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Signer;

    #[test]
    fn lines_round_trip_and_a_cut_last_line_is_skipped() {
        let signer = Signer::from_seed("example.org/log", &[3; 32]).unwrap();
        let mut text = String::new();
        for size in [1u64, 5] {
            let note = signer
                .sign(&Checkpoint::new("example.org/log", size, [size as u8; 32]))
                .unwrap();
            text.push_str(&checkpoint_log_line(&note));
            text.push('\n');
        }
        let cut = checkpoint_log_line(
            &signer
                .sign(&Checkpoint::new("example.org/log", 9, [9; 32]))
                .unwrap(),
        );
        text.push_str(&cut[..cut.len() / 2]);
        let cps = parse_checkpoint_log(&text, &signer.verifier()).unwrap();
        assert_eq!(cps.iter().map(|c| c.size).collect::<Vec<_>>(), vec![1, 5]);
    }

    #[test]
    fn a_line_of_another_key_or_no_record_is_refused() {
        let signer = Signer::from_seed("example.org/log", &[3; 32]).unwrap();
        let other = Signer::from_seed("example.org/log", &[4; 32]).unwrap();
        let note = other
            .sign(&Checkpoint::new("example.org/log", 1, [1; 32]))
            .unwrap();
        let text = format!("{}\n", checkpoint_log_line(&note));
        assert_eq!(
            parse_checkpoint_log(&text, &signer.verifier()).unwrap_err().line,
            1
        );
        let err = parse_checkpoint_log("garbage\n", &signer.verifier()).unwrap_err();
        assert_eq!(err.reason, "not a checkpoint record");
    }
}
