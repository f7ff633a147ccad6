//! Canonical binary encoding of an [`Entry`].
//!
//! Binary rather than JSON because "canonical JSON" leaves too much to agree on
//! (number forms, escapes, Unicode normalisation); this format has exactly one
//! byte string per entry value, and every rule that makes it so is checked when
//! decoding, so `decode` accepts only what `encode` produces.
//!
//! Version 1 (an entry without row commitments), version 2 (with),
//! version 3 (with legal flags or justification marks) and version 4 (an
//! action under a mandate), all integers big-endian, fields in this fixed
//! order:
//!
//! ```text
//! u8      version = 0x01 | 0x02 | 0x03 | 0x04
//! u64     seq
//! u64     time_ms
//! opt     actor.oin            str (20 digits)
//! opt     actor.function       str (token)
//! opt     actor.user_id        str (text)
//! opt     actor.user_role      str (token)
//! str     action               (snake_case text form)
//! u8      outcome tag          0 success | 1 refused, then list of rule ids | 2 error, then str code
//! opt     activity             str purpose, str policy_version
//! opt     legal_basis          str (text)
//! opt     subject              str (token)
//! opt     transfer_id          16 bytes
//! opt     consent_id           16 bytes
//! list    groups               (tokens, strictly increasing)
//! list    parties              (OINs, strictly increasing)
//! 16      trace_id             (not all zero)
//! 8       span_id              (not all zero)
//! -- versions 2 to 4:
//! u16     row count            (0..=256)
//!   u8    table code           (not 0; 1 consent, 2 transfer, 3 expertise,
//!                                4 recipient key, 5 hardheidsclausule,
//!                                6 mandate)
//!   16    row id
//!   32    metadata digest
//!   32    units digest
//! opt     attempts             u64 (at least 2)
//! -- versions 3 and 4:
//! list    flags                (tokens, strictly increasing)
//! list    justification_marks  (32 lowercase hex, strictly increasing)
//! -- version 4 only:
//! str     actor.acting_for     (OIN, 20 digits)
//! ```
//!
//! `str` is a u16 length and that many bytes of UTF-8; `opt` is a byte 0x00
//! (absent) or 0x01 (present, then the value); `list` is a u16 count and that
//! many `str`. Rows are strictly increasing by table code, then id bytes.
//! Nothing may follow the span id (version 1), the attempts (version 2),
//! the marks (version 3) or the OIN acted for (version 4). Version 4 is
//! written exactly when the actor acted for another organisation; version 3
//! holds at least one flag or mark; version 2 at least one row or an
//! attempts count and neither; an entry with none of these is always
//! written as version 1. So each entry value still has
//! exactly one encoding, and logs written before a version existed keep
//! their bytes.

use uuid::Uuid;

use crate::entry::{
    Action, Actor, Entry, MAX_ITEMS, Outcome, ProcessingActivity, SpanId, TraceContext, TraceId, check_oin,
    check_sorted_unique, check_text, check_token,
};
use crate::error::{AuditError, Result};
use crate::row::{RowCommitment, RowTable};

/// The newest encoding version this crate writes; it reads versions 1 to 4
/// and writes the lowest that holds the entry (see the module text).
pub const ENCODING_VERSION: u8 = 4;

/// The version of entries with flags or justification marks, the actor
/// acting for itself.
const VERSION_WITH_FLAGS: u8 = 3;

/// The version of entries without row commitments, attempts count or flags.
const VERSION_WITHOUT_ROWS: u8 = 1;
/// The version of entries with row commitments or an attempts count, without
/// flags.
const VERSION_WITH_ROWS: u8 = 2;
/// Bytes of one row commitment: table code, id, two digests.
const ROW_LEN: usize = 1 + 16 + 32 + 32;

const OUTCOME_SUCCESS: u8 = 0;
const OUTCOME_REFUSED: u8 = 1;
const OUTCOME_ERROR: u8 = 2;

impl Entry {
    /// The canonical encoding: what the store persists and the Merkle tree hashes.
    ///
    /// Fails when a field breaks its rule (an OIN that is not 20 digits, groups
    /// not sorted, text with a newline, …), naming the field.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut w = Vec::with_capacity(256 + ROW_LEN * self.rows.len());
        let version = if self.actor.acting_for.is_some() {
            ENCODING_VERSION
        } else if !self.flags.is_empty() || !self.justification_marks.is_empty() {
            VERSION_WITH_FLAGS
        } else if !self.rows.is_empty() || self.attempts.is_some() {
            VERSION_WITH_ROWS
        } else {
            VERSION_WITHOUT_ROWS
        };
        w.push(version);
        w.extend_from_slice(&self.seq.to_be_bytes());
        w.extend_from_slice(&self.time_ms.to_be_bytes());
        put_opt_str(&mut w, "actor.oin", self.actor.oin.as_deref())?;
        put_opt_str(&mut w, "actor.function", self.actor.function.as_deref())?;
        put_opt_str(&mut w, "actor.user_id", self.actor.user_id.as_deref())?;
        put_opt_str(&mut w, "actor.user_role", self.actor.user_role.as_deref())?;
        put_str(&mut w, "action", self.action.as_str())?;
        match &self.outcome {
            Outcome::Success => w.push(OUTCOME_SUCCESS),
            Outcome::Refused { rules } => {
                w.push(OUTCOME_REFUSED);
                put_list(&mut w, "outcome.rules", rules)?;
            }
            Outcome::Error { code } => {
                w.push(OUTCOME_ERROR);
                put_str(&mut w, "outcome.code", code)?;
            }
        }
        match &self.activity {
            None => w.push(0),
            Some(a) => {
                w.push(1);
                put_str(&mut w, "activity.purpose", &a.purpose)?;
                put_str(&mut w, "activity.policy_version", &a.policy_version)?;
            }
        }
        put_opt_str(&mut w, "legal_basis", self.legal_basis.as_deref())?;
        put_opt_str(&mut w, "subject", self.subject.as_deref())?;
        put_opt_uuid(&mut w, self.transfer_id);
        put_opt_uuid(&mut w, self.consent_id);
        put_list(&mut w, "groups", &self.groups)?;
        put_list(&mut w, "parties", &self.parties)?;
        w.extend_from_slice(self.trace.trace_id.as_bytes());
        w.extend_from_slice(self.trace.span_id.as_bytes());
        if version >= VERSION_WITH_ROWS {
            put_rows(&mut w, &self.rows)?;
            match self.attempts {
                None => w.push(0),
                Some(n) => {
                    w.push(1);
                    w.extend_from_slice(&n.to_be_bytes());
                }
            }
        }
        if version >= VERSION_WITH_FLAGS {
            put_list(&mut w, "flags", &self.flags)?;
            put_list(&mut w, "justification_marks", &self.justification_marks)?;
        }
        if let Some(oin) = &self.actor.acting_for {
            put_str(&mut w, "actor.acting_for", oin)?;
        }
        // One set of rules: whatever decode refuses, encode refuses too.
        EntryRef::parse(&w).map_err(|e| match e {
            AuditError::Malformed { .. } => AuditError::InvalidField {
                field: "entry",
                reason: "too large",
            },
            other => other,
        })?;
        Ok(w)
    }

    /// Decodes a canonical encoding. Refuses unknown versions, trailing bytes,
    /// and anything `encode` would not have produced.
    pub fn decode(bytes: &[u8]) -> Result<Entry> {
        EntryRef::parse(bytes).map(|r| r.into_entry())
    }
}

fn put_str(w: &mut Vec<u8>, field: &'static str, s: &str) -> Result<()> {
    let len = u16::try_from(s.len()).map_err(|_| AuditError::InvalidField {
        field,
        reason: "too long",
    })?;
    w.extend_from_slice(&len.to_be_bytes());
    w.extend_from_slice(s.as_bytes());
    Ok(())
}

fn put_opt_str(w: &mut Vec<u8>, field: &'static str, s: Option<&str>) -> Result<()> {
    match s {
        None => w.push(0),
        Some(s) => {
            w.push(1);
            put_str(w, field, s)?;
        }
    }
    Ok(())
}

fn put_opt_uuid(w: &mut Vec<u8>, id: Option<Uuid>) {
    match id {
        None => w.push(0),
        Some(id) => {
            w.push(1);
            w.extend_from_slice(id.as_bytes());
        }
    }
}

fn put_rows(w: &mut Vec<u8>, rows: &[RowCommitment]) -> Result<()> {
    if rows.len() > MAX_ITEMS {
        return Err(AuditError::InvalidField {
            field: "rows",
            reason: "too many items",
        });
    }
    // MAX_ITEMS fits in u16.
    w.extend_from_slice(&(rows.len() as u16).to_be_bytes());
    for row in rows {
        w.push(row.table.code());
        w.extend_from_slice(row.id.as_bytes());
        w.extend_from_slice(&row.meta);
        w.extend_from_slice(&row.units);
    }
    Ok(())
}

fn put_list(w: &mut Vec<u8>, field: &'static str, items: &[String]) -> Result<()> {
    if items.len() > MAX_ITEMS {
        return Err(AuditError::InvalidField {
            field,
            reason: "too many items",
        });
    }
    // MAX_ITEMS fits in u16.
    w.extend_from_slice(&(items.len() as u16).to_be_bytes());
    for item in items {
        put_str(w, field, item)?;
    }
    Ok(())
}

/// A validated list of strings inside an encoding, read without allocating.
#[derive(Clone, Copy)]
pub(crate) struct StrList<'a> {
    raw: &'a [u8],
    count: u16,
}

impl<'a> StrList<'a> {
    fn iter(self) -> impl Iterator<Item = &'a str> {
        let mut r = Reader {
            buf: self.raw,
            pos: 0,
        };
        // The list was validated when parsed, so these reads cannot fail.
        (0..self.count).filter_map(move |_| r.str().ok())
    }

    fn to_vec(self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }
}

/// A decoded entry borrowing from its encoding. The verifier uses this to check
/// every field of millions of entries without allocating.
pub(crate) struct EntryRef<'a> {
    pub(crate) seq: u64,
    pub(crate) time_ms: u64,
    oin: Option<&'a str>,
    function: Option<&'a str>,
    user_id: Option<&'a str>,
    user_role: Option<&'a str>,
    action: Action,
    outcome: OutcomeRef<'a>,
    activity: Option<(&'a str, &'a str)>,
    legal_basis: Option<&'a str>,
    subject: Option<&'a str>,
    transfer_id: Option<Uuid>,
    consent_id: Option<Uuid>,
    groups: StrList<'a>,
    parties: StrList<'a>,
    trace_id: TraceId,
    span_id: SpanId,
    /// The row commitments' bytes, validated ([`ROW_LEN`] each).
    rows: &'a [u8],
    attempts: Option<u64>,
    flags: Option<StrList<'a>>,
    marks: Option<StrList<'a>>,
    acting_for: Option<&'a str>,
}

enum OutcomeRef<'a> {
    Success,
    Refused(StrList<'a>),
    Error(&'a str),
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn malformed(&self, reason: &'static str) -> AuditError {
        AuditError::Malformed {
            offset: self.pos,
            reason,
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(self.malformed("unexpected end")),
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn present(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(AuditError::Malformed {
                offset: self.pos - 1,
                reason: "option tag is not 0 or 1",
            }),
        }
    }

    fn str(&mut self) -> Result<&'a str> {
        let len = self.u16()? as usize;
        let start = self.pos;
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes).map_err(|_| AuditError::Malformed {
            offset: start,
            reason: "not UTF-8",
        })
    }

    fn opt_str(
        &mut self,
        field: &'static str,
        check: fn(&'static str, &str) -> Result<()>,
    ) -> Result<Option<&'a str>> {
        if !self.present()? {
            return Ok(None);
        }
        let s = self.str()?;
        check(field, s)?;
        Ok(Some(s))
    }

    fn opt_uuid(&mut self) -> Result<Option<Uuid>> {
        if !self.present()? {
            return Ok(None);
        }
        Ok(Some(Uuid::from_bytes(self.array()?)))
    }

    /// The row commitments of a version 2 entry: at most 256, each table
    /// code not 0, strictly increasing by (table, id).
    fn rows(&mut self) -> Result<&'a [u8]> {
        let count = self.u16()? as usize;
        if count > MAX_ITEMS {
            return Err(AuditError::InvalidField {
                field: "rows",
                reason: "more than 256 rows",
            });
        }
        let start = self.pos;
        let mut prev: Option<(RowTable, Uuid)> = None;
        for _ in 0..count {
            let row = self.take(ROW_LEN)?;
            if row[0] == 0 {
                return Err(AuditError::InvalidField {
                    field: "rows.table",
                    reason: "table code 0",
                });
            }
            let key = row_from(row).key();
            if prev.is_some_and(|p| p >= key) {
                return Err(AuditError::InvalidField {
                    field: "rows",
                    reason: "not sorted without duplicates",
                });
            }
            prev = Some(key);
        }
        Ok(&self.buf[start..self.pos])
    }

    fn list(
        &mut self,
        field: &'static str,
        check: fn(&'static str, &str) -> Result<()>,
    ) -> Result<StrList<'a>> {
        let count = self.u16()?;
        if count as usize > MAX_ITEMS {
            return Err(AuditError::InvalidField {
                field,
                reason: "too many items",
            });
        }
        let start = self.pos;
        let mut prev = None;
        for _ in 0..count {
            let s = self.str()?;
            check(field, s)?;
            check_sorted_unique(field, prev, s)?;
            prev = Some(s);
        }
        Ok(StrList {
            raw: &self.buf[start..self.pos],
            count,
        })
    }
}

/// A justification mark: 32 lowercase hex digits (128 bits of a keyed MAC).
fn check_mark(field: &'static str, s: &str) -> Result<()> {
    if s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(AuditError::InvalidField {
            field,
            reason: "not 32 lowercase hex digits",
        })
    }
}

/// One validated row commitment of [`ROW_LEN`] bytes.
fn row_from(b: &[u8]) -> RowCommitment {
    let mut id = [0u8; 16];
    let mut meta = [0u8; 32];
    let mut units = [0u8; 32];
    id.copy_from_slice(&b[1..17]);
    meta.copy_from_slice(&b[17..49]);
    units.copy_from_slice(&b[49..81]);
    RowCommitment {
        // Checked not to be 0 when parsed.
        table: RowTable::from_code(b[0]).unwrap_or(RowTable::TRANSFER),
        id: Uuid::from_bytes(id),
        meta,
        units,
    }
}

impl<'a> EntryRef<'a> {
    /// Parses and checks every field; no allocation.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<EntryRef<'a>> {
        let mut r = Reader { buf: bytes, pos: 0 };
        let version = r.u8()?;
        if !(VERSION_WITHOUT_ROWS..=ENCODING_VERSION).contains(&version) {
            return Err(AuditError::UnknownVersion(version));
        }
        let seq = r.u64()?;
        let time_ms = r.u64()?;
        let oin = r.opt_str("actor.oin", check_oin)?;
        let function = r.opt_str("actor.function", check_token)?;
        let user_id = r.opt_str("actor.user_id", check_text)?;
        let user_role = r.opt_str("actor.user_role", check_token)?;
        // A known name parses to its variant (no allocation); others must be snake_case.
        let action = r.str()?.parse::<Action>()?;
        let outcome = match r.u8()? {
            OUTCOME_SUCCESS => OutcomeRef::Success,
            OUTCOME_REFUSED => {
                let rules = r.list("outcome.rules", check_token)?;
                if rules.count == 0 {
                    return Err(AuditError::InvalidField {
                        field: "outcome.rules",
                        reason: "a refusal names at least one rule",
                    });
                }
                OutcomeRef::Refused(rules)
            }
            OUTCOME_ERROR => {
                let code = r.str()?;
                check_token("outcome.code", code)?;
                OutcomeRef::Error(code)
            }
            _ => {
                return Err(AuditError::Malformed {
                    offset: r.pos - 1,
                    reason: "unknown outcome tag",
                });
            }
        };
        let activity = if r.present()? {
            let purpose = r.str()?;
            check_token("activity.purpose", purpose)?;
            let version = r.str()?;
            check_token("activity.policy_version", version)?;
            Some((purpose, version))
        } else {
            None
        };
        let legal_basis = r.opt_str("legal_basis", check_text)?;
        let subject = r.opt_str("subject", check_token)?;
        let transfer_id = r.opt_uuid()?;
        let consent_id = r.opt_uuid()?;
        let groups = r.list("groups", check_token)?;
        let parties = r.list("parties", check_oin)?;
        let trace_id = TraceId::from_bytes(r.array()?)?;
        let span_id = SpanId::from_bytes(r.array()?)?;
        let (rows, attempts) = if version >= VERSION_WITH_ROWS {
            let rows = r.rows()?;
            let attempts = if r.present()? { Some(r.u64()?) } else { None };
            if attempts.is_some_and(|n| n < 2) {
                return Err(AuditError::InvalidField {
                    field: "attempts",
                    reason: "a count of attempts is at least 2 (one is no count)",
                });
            }
            if version == VERSION_WITH_ROWS && rows.is_empty() && attempts.is_none() {
                return Err(AuditError::InvalidField {
                    field: "rows",
                    reason: "version 2 without rows or attempts (that entry is version 1)",
                });
            }
            (rows, attempts)
        } else {
            (&[][..], None)
        };
        let (flags, marks) = if version >= VERSION_WITH_FLAGS {
            let flags = r.list("flags", check_token)?;
            let marks = r.list("justification_marks", check_mark)?;
            if version == VERSION_WITH_FLAGS && flags.count == 0 && marks.count == 0 {
                return Err(AuditError::InvalidField {
                    field: "flags",
                    reason: "version 3 without flags or marks (that entry is version 1 or 2)",
                });
            }
            (Some(flags), Some(marks))
        } else {
            (None, None)
        };
        let acting_for = if version == ENCODING_VERSION {
            let oin = r.str()?;
            check_oin("actor.acting_for", oin)?;
            Some(oin)
        } else {
            None
        };
        if r.pos != bytes.len() {
            return Err(r.malformed("trailing bytes"));
        }
        Ok(EntryRef {
            seq,
            time_ms,
            oin,
            function,
            user_id,
            user_role,
            action,
            outcome,
            activity,
            legal_basis,
            subject,
            transfer_id,
            consent_id,
            groups,
            parties,
            trace_id,
            span_id,
            rows,
            attempts,
            flags,
            marks,
            acting_for,
        })
    }

    fn into_entry(self) -> Entry {
        let own = |s: Option<&str>| s.map(str::to_owned);
        Entry {
            seq: self.seq,
            time_ms: self.time_ms,
            actor: Actor {
                oin: own(self.oin),
                function: own(self.function),
                user_id: own(self.user_id),
                user_role: own(self.user_role),
                acting_for: own(self.acting_for),
            },
            action: self.action,
            outcome: match self.outcome {
                OutcomeRef::Success => Outcome::Success,
                OutcomeRef::Refused(rules) => Outcome::Refused {
                    rules: rules.to_vec(),
                },
                OutcomeRef::Error(code) => Outcome::Error {
                    code: code.to_owned(),
                },
            },
            activity: self.activity.map(|(purpose, policy_version)| ProcessingActivity {
                purpose: purpose.to_owned(),
                policy_version: policy_version.to_owned(),
            }),
            legal_basis: own(self.legal_basis),
            subject: own(self.subject),
            transfer_id: self.transfer_id,
            consent_id: self.consent_id,
            groups: self.groups.to_vec(),
            parties: self.parties.to_vec(),
            trace: TraceContext {
                trace_id: self.trace_id,
                span_id: self.span_id,
            },
            rows: self.rows.chunks_exact(ROW_LEN).map(row_from).collect(),
            attempts: self.attempts,
            flags: self.flags.map(StrList::to_vec).unwrap_or_default(),
            justification_marks: self.marks.map(StrList::to_vec).unwrap_or_default(),
        }
    }
}
