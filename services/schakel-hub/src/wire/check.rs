//! Checks of caller-chosen text and ids: bounded, single-line, and never
//! holding a BSN; malformed ids answered like unknown ones.

use uuid::Uuid;

use crate::error::{HubError, Violations};
use crate::limits::{MAX_IDEMPOTENCY_KEY, MAX_REFERENCE};

/// Checks a caller-chosen key (idempotency key) of 1–128 printable
/// characters, holding no number that could be a BSN.
pub fn check_key(v: &mut Violations, field: &str, key: &str) {
    if let Some(problem) = key_problem(key) {
        v.format(field, problem);
    }
}

/// What is wrong with a caller-chosen key, if anything ([`check_key`]).
pub fn key_problem(key: &str) -> Option<String> {
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY || !key.bytes().all(|b| b.is_ascii_graphic()) {
        Some(format!(
            "must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters without spaces"
        ))
    } else if schakel_domain::holds_possible_bsn(key) {
        // Keys are stored in clear beside the record, to answer retries:
        // personal data must not be one.
        Some("must not contain a number that could be a BSN (9 digits passing the elfproef)".to_owned())
    } else {
        None
    }
}

/// Checks an opaque reference (no personal data; bounded, single line).
pub fn check_reference(v: &mut Violations, field: &str, r: &str) {
    if r.chars().count() > MAX_REFERENCE || r.chars().any(char::is_control) {
        v.format(
            field,
            format!("must be at most {MAX_REFERENCE} characters on one line"),
        );
    } else if digits_run(r) >= 9 {
        // A run of 9 digits looks like a BSN: references must not hold
        // personal data, and a BSN in clear metadata would leak.
        v.format(
            field,
            "must not contain personal data such as a BSN (a run of 9 or more digits)",
        );
    }
}

fn digits_run(s: &str) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in s.chars() {
        run = if c.is_ascii_digit() { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// Checks a free text (sealed before storage) for length.
pub fn check_text(v: &mut Violations, field: &str, text: &str, max: usize) {
    if text.chars().count() > max {
        v.format(field, format!("must be at most {max} characters"));
    }
}

/// Parses an id field holding a UUID.
pub fn parse_id(v: &mut Violations, field: &str, s: &str) -> Option<Uuid> {
    match Uuid::parse_str(s) {
        Ok(u) => Some(u),
        Err(_) => {
            v.format(field, "must be a UUID");
            None
        }
    }
}

/// Parses an id that names an object: a malformed id cannot name anything
/// the caller may see, so it answers `NOT_FOUND` like an unknown one.
pub fn id_or_not_found(s: &str, what: &'static str) -> Result<Uuid, HubError> {
    Uuid::parse_str(s).map_err(|_| HubError::NotFound(what))
}
