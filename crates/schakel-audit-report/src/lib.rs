//! Reports over decoded audit entries, for privacy officers.
//!
//! - [`subject`]: the answer to a youth's access request (AVG art. 15) — every
//!   recorded processing of their data in which the requesting organisation took
//!   part, as plain text or a self-contained HTML page.
//! - [`anomaly`]: accesses that look wrong (outside office hours, a user touching
//!   many youths in a day, many users reading one youth, a fetch after a transfer
//!   was closed, a burst of refusals).
//!
//! Pure: no I/O, no clock, no database. The hub decodes the entries, scopes them to
//! the asking organisation (DESIGN.md §4) and passes them in, with the current
//! time; the output depends on nothing else, so it can be pinned by snapshots.
//!
//! All times are shown in Dutch local time (Europe/Amsterdam, from the time zone
//! database bundled into the binary), with their UTC offset. Neither report ever
//! shows a BSN: entries hold only a pseudonym, and free-text fields are scrubbed
//! of anything that looks like one before they are written out.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod anomaly;
mod labels;
mod local_time;
pub mod subject;
mod text;

pub use anomaly::{Anomaly, AnomalyKind, Closure, Thresholds, detect};
pub use subject::{CheckpointRef, SubjectReport};
