//! The answer to a youth's access request (AVG art. 15): every recorded
//! processing of their data in which the requesting organisation took part.
//!
//! The hub scopes the entries before they reach this module (DESIGN.md §4: a
//! privacy officer sees only entries in which their own organisation is actor or
//! party); this module decides what of each entry is shown. It shows what was
//! done, when, by which organisation and function, for which purpose and on
//! which legal basis — never document content, never a BSN, and never another
//! organisation's internal details (its end-user ids).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use schakel_audit::Entry;

use crate::labels::{action_label, function_label, is_expertise, organisation, outcome_text};
use crate::local_time::{ZONE_NAME, format_ms};
use crate::text::{escape_html, scrub, wrap};

/// The signed checkpoint (tree head) a report refers to, so its reader can
/// later prove the listed entries are in the log, unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointRef<'a> {
    /// Number of entries the checkpoint covers (entries `0..size`).
    pub size: u64,
    /// The Merkle root over those entries, as hex.
    pub root_hex: &'a str,
    /// The signed note (C2SP `signed-note` text), reproduced verbatim.
    pub note: &'a str,
}

/// Everything a subject access report shows. Build one and call
/// [`render_text`](SubjectReport::render_text) or
/// [`render_html`](SubjectReport::render_html).
pub struct SubjectReport<'a> {
    /// The entries about the youth, already scoped by the hub to those in which
    /// the requesting organisation is actor or party, in sequence order. Shown
    /// as given: the hub applies the period.
    pub entries: &'a [Entry],
    /// OIN of the organisation that asked (whose privacy officer runs the report).
    pub requester_oin: &'a str,
    /// Display name of an organisation by OIN, from the hub's directory.
    pub names: &'a dyn Fn(&str) -> Option<String>,
    /// The youth's pseudonym (hex); the report never holds the BSN.
    pub subject_pseudonym: &'a str,
    /// Start of the period asked for (ms since the Unix epoch), if any.
    pub from_ms: Option<u64>,
    /// End of the period asked for (ms since the Unix epoch), if any.
    pub until_ms: Option<u64>,
    /// When the report was made (ms since the Unix epoch).
    pub generated_at_ms: u64,
    /// The checkpoint that covers the entries, if the hub attached one.
    pub checkpoint: Option<CheckpointRef<'a>>,
}

const TITLE: &str = "Subject access report (AVG art. 15)";

/// Line width of the text report.
const WIDTH: usize = 78;

/// What both renderings show, worked out once.
struct Model {
    facts: Vec<(&'static str, String)>,
    intro: Vec<String>,
    entries: Vec<EntryView>,
    empty: String,
    summary: Option<Summary>,
    verification: Vec<String>,
    checkpoint: Option<(u64, String, String)>,
}

struct EntryView {
    when: String,
    what: String,
    rows: Vec<(&'static str, String)>,
}

struct Summary {
    total: usize,
    per_action: Vec<(String, usize)>,
    organisations: Vec<String>,
}

impl SubjectReport<'_> {
    /// The report as plain text (UTF-8, `\n` line ends, wrapped at 78 columns).
    pub fn render_text(&self) -> String {
        let m = self.model();
        let mut out = String::new();
        let _ = writeln!(out, "{TITLE}");
        let _ = writeln!(out, "{}", "=".repeat(TITLE.chars().count()));
        let _ = writeln!(out);
        let width = label_width(m.facts.iter().map(|(k, _)| *k));
        for (k, v) in &m.facts {
            field(&mut out, "", k, v, width);
        }
        for p in &m.intro {
            let _ = writeln!(out);
            paragraph(&mut out, p, "", "");
        }

        section(&mut out, "Processing");
        if m.entries.is_empty() {
            paragraph(&mut out, &m.empty, "", "");
        }
        // One label column for all entries, so they read as one list.
        let width = label_width(m.entries.iter().flat_map(|e| e.rows.iter().map(|(k, _)| *k)));
        for (i, e) in m.entries.iter().enumerate() {
            if i > 0 {
                let _ = writeln!(out);
            }
            let number = format!("{}. ", i + 1);
            let title = format!("{}{} — {}", number, e.when, e.what);
            paragraph(&mut out, &title, "", &" ".repeat(number.len()));
            for (k, v) in &e.rows {
                field(&mut out, &" ".repeat(number.len()), k, v, width);
            }
        }

        if let Some(s) = &m.summary {
            section(&mut out, "Summary");
            let _ = writeln!(out, "Entries: {}", s.total);
            let _ = writeln!(out);
            let _ = writeln!(out, "Per action:");
            for (label, n) in &s.per_action {
                paragraph(&mut out, label, &format!("{n:>4}  "), "      ");
            }
            let _ = writeln!(out);
            let _ = writeln!(out, "Organisations involved:");
            for o in &s.organisations {
                paragraph(&mut out, o, "  - ", "    ");
            }
        }

        section(&mut out, "Verification");
        for (i, p) in m.verification.iter().enumerate() {
            if i > 0 {
                let _ = writeln!(out);
            }
            paragraph(&mut out, p, "", "");
        }
        if let Some((size, root, note)) = &m.checkpoint {
            let _ = writeln!(out);
            let _ = writeln!(out, "Tree size: {size}");
            let _ = writeln!(out, "Root hash: {root}");
            let _ = writeln!(out);
            let _ = writeln!(out, "Signed checkpoint (verbatim):");
            for line in note.lines() {
                if line.is_empty() {
                    let _ = writeln!(out);
                } else {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
        out
    }

    /// The report as one self-contained HTML page (inline CSS, no scripts, no
    /// external resources), every value escaped.
    pub fn render_html(&self) -> String {
        let m = self.model();
        let e = escape_html;
        let mut out = String::new();
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n",
            e(TITLE)
        );
        let _ = writeln!(out, "<header>\n<h1>{}</h1>\n<dl class=\"facts\">", e(TITLE));
        for (k, v) in &m.facts {
            let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", e(k), e(v));
        }
        let _ = writeln!(out, "</dl>");
        for p in &m.intro {
            let _ = writeln!(out, "<p>{}</p>", e(p));
        }
        let _ = writeln!(out, "</header>\n<main>\n<section>\n<h2>Processing</h2>");
        if m.entries.is_empty() {
            let _ = writeln!(out, "<p class=\"empty\">{}</p>", e(&m.empty));
        } else {
            let _ = writeln!(out, "<ol class=\"entries\">");
            for entry in &m.entries {
                let _ = writeln!(
                    out,
                    "<li>\n<h3><span class=\"when\">{}</span> {}</h3>\n<dl>",
                    e(&entry.when),
                    e(&entry.what)
                );
                for (k, v) in &entry.rows {
                    let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", e(k), e(v));
                }
                let _ = writeln!(out, "</dl>\n</li>");
            }
            let _ = writeln!(out, "</ol>");
        }
        let _ = writeln!(out, "</section>");
        if let Some(s) = &m.summary {
            let _ = writeln!(
                out,
                "<section>\n<h2>Summary</h2>\n<p>Entries: {}</p>\n\
                 <table>\n<thead><tr><th>Action</th><th>Entries</th></tr></thead>\n<tbody>",
                s.total
            );
            for (label, n) in &s.per_action {
                let _ = writeln!(out, "<tr><td>{}</td><td class=\"n\">{n}</td></tr>", e(label));
            }
            let _ = writeln!(out, "</tbody>\n</table>\n<h3>Organisations involved</h3>\n<ul>");
            for o in &s.organisations {
                let _ = writeln!(out, "<li>{}</li>", e(o));
            }
            let _ = writeln!(out, "</ul>\n</section>");
        }
        let _ = writeln!(out, "</main>\n<footer>\n<h2>Verification</h2>");
        for p in &m.verification {
            let _ = writeln!(out, "<p>{}</p>", code_spans(&e(p)));
        }
        if let Some((size, root, note)) = &m.checkpoint {
            let _ = writeln!(
                out,
                "<dl class=\"facts\">\n<dt>Tree size</dt><dd>{size}</dd>\n\
                 <dt>Root hash</dt><dd class=\"hash\">{}</dd>\n</dl>\n\
                 <p>Signed checkpoint (verbatim):</p>\n<pre>{}</pre>",
                e(root),
                e(note)
            );
        }
        let _ = writeln!(out, "</footer>\n</body>\n</html>");
        out
    }

    fn org(&self, oin: &str) -> String {
        organisation(self.names, oin)
    }

    fn model(&self) -> Model {
        let requester = self.org(self.requester_oin);
        let period = format!(
            "{} until {}",
            self.from_ms
                .map_or_else(|| "the start of the audit log".to_owned(), format_ms),
            self.until_ms
                .map_or_else(|| "the time of this report".to_owned(), format_ms),
        );
        let facts = vec![
            ("Requested by", requester.clone()),
            ("Pseudonym", pseudonym(self.subject_pseudonym)),
            ("Period", period),
            ("Generated at", format_ms(self.generated_at_ms)),
            (
                "Times",
                format!("Dutch local time ({ZONE_NAME}), with the offset from UTC"),
            ),
        ];
        let intro = vec![
            format!(
                "This report answers a request for access under AVG art. 15. It lists every \
                 processing of the youth's data that the schakel hub recorded in its audit log \
                 and in which {requester} took part, as the acting organisation or as a party \
                 (sender or recipient). For each processing it shows when it happened, which \
                 organisation and function acted, for which purpose and on which legal basis, \
                 which data groups were involved and how it ended. It never shows the content \
                 of documents."
            ),
            "The youth is identified by a pseudonym that the hub derives from the BSN; this \
             report contains no BSN. User ids are shown only for the requesting \
             organisation's own users: other organisations keep their internal details, and \
             only the role their user gave is shown."
                .to_owned(),
            "Terms: an overgangsdocument is the transition document a school (or the \
             Doorstroompunt) hands over to the gemeente; the Doorstroompunt is the gemeente's \
             function for youths without a startkwalificatie; a werkcoach works under the \
             Participatiewet. A transfer is any case file sent through the hub. Rule ids \
             such as R4 name the rules of the schakel policy that a refused request broke."
                .to_owned(),
        ];
        let entries: Vec<EntryView> = self.entries.iter().map(|e| self.entry_view(e)).collect();
        let empty = format!(
            "No processing of this youth's data in which {requester} took part was recorded \
             in this period."
        );
        let summary = (!self.entries.is_empty()).then(|| self.summary(&entries));
        let (verification, checkpoint) = self.verification();
        Model {
            facts,
            intro,
            entries,
            empty,
            summary,
            verification,
            checkpoint,
        }
    }

    fn entry_view(&self, entry: &Entry) -> EntryView {
        let purpose = entry.activity.as_ref().map(|a| a.purpose.as_str());
        // Under a mandate the organisation acted for the requester's gemeente,
        // which answers for it (R9): its user ids are shown as the gemeente's own.
        let own = entry.actor.oin.as_deref() == Some(self.requester_oin)
            || entry.actor.acting_for.as_deref() == Some(self.requester_oin);
        let mut rows = Vec::new();

        match &entry.actor.oin {
            Some(oin) => {
                rows.push(("Organisation", self.org(oin)));
                if let Some(gemeente) = &entry.actor.acting_for {
                    rows.push(("Acting for", format!("{} (under a mandate)", self.org(gemeente))));
                }
                if let Some(f) = &entry.actor.function {
                    rows.push(("Function", function_label(f)));
                }
                let user = match (&entry.actor.user_id, own) {
                    (Some(id), true) => scrub(id),
                    (None, true) => "no user id given".to_owned(),
                    // Another organisation's user ids are its internal detail (DESIGN.md §4).
                    (_, false) => "not shown (internal to that organisation)".to_owned(),
                };
                rows.push(("User", user));
                rows.push((
                    "User role",
                    entry
                        .actor
                        .user_role
                        .as_deref()
                        .map_or_else(|| "not given".to_owned(), scrub),
                ));
            }
            None => rows.push(("Organisation", "could not be identified".to_owned())),
        }

        let others: Vec<String> = entry
            .parties
            .iter()
            .filter(|p| Some(p.as_str()) != entry.actor.oin.as_deref())
            .filter(|p| Some(p.as_str()) != entry.actor.acting_for.as_deref())
            .map(|p| self.org(p))
            .collect();
        if !others.is_empty() {
            rows.push(("Other parties", others.join("; ")));
        }

        match &entry.activity {
            Some(a) => {
                rows.push(("Purpose", scrub(&a.purpose)));
                rows.push(("Policy version", scrub(&a.policy_version)));
            }
            None => rows.push(("Purpose", "none recorded".to_owned())),
        }
        rows.push((
            "Legal basis",
            entry
                .legal_basis
                .as_deref()
                .map_or_else(|| "none recorded".to_owned(), scrub),
        ));
        if entry
            .flags
            .iter()
            .any(|f| f == schakel_audit::FLAG_HARDHEIDSCLAUSULE)
        {
            rows.push((
                "Exception",
                "hardheidsclausule: the youth was 27 or older; the gemeente decided to continue support \
                 (Participatiewet art. 7a lid 7)"
                    .to_owned(),
            ));
        }
        if !entry.groups.is_empty() {
            rows.push(("Data groups", scrub(&entry.groups.join(", "))));
        }
        if let Some(c) = entry.consent_id {
            rows.push(("Consent record", c.to_string()));
        }
        if let Some(t) = entry.transfer_id {
            let key = if is_expertise(&entry.action) {
                "Expertise request"
            } else {
                "Transfer"
            };
            rows.push((key, t.to_string()));
        }
        rows.push(("Outcome", outcome_text(&entry.outcome)));
        rows.push(("Log entry", format!("#{}", entry.seq)));

        EntryView {
            when: format_ms(entry.time_ms),
            what: action_label(&entry.action, purpose),
            rows,
        }
    }

    fn summary(&self, views: &[EntryView]) -> Summary {
        let mut per_action: BTreeMap<&str, usize> = BTreeMap::new();
        for v in views {
            *per_action.entry(v.what.as_str()).or_default() += 1;
        }
        // Organisation -> the functions it acted in; parties that never acted
        // are listed without a function.
        let mut orgs: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for e in self.entries {
            if let Some(oin) = &e.actor.oin {
                let functions = orgs.entry(oin).or_default();
                if let Some(f) = &e.actor.function {
                    functions.insert(function_label(f));
                }
            }
            for p in &e.parties {
                orgs.entry(p).or_default();
            }
        }
        let organisations = orgs
            .into_iter()
            .map(|(oin, functions)| {
                let mut line = self.org(oin);
                if oin == self.requester_oin {
                    line.push_str(", the requesting organisation");
                }
                if functions.is_empty() {
                    line.push_str(": party only, did not act");
                } else {
                    let list: Vec<String> = functions.into_iter().collect();
                    let _ = write!(line, ": acted as {}", list.join(", "));
                }
                line
            })
            .collect();
        Summary {
            total: views.len(),
            per_action: per_action.into_iter().map(|(k, n)| (k.to_owned(), n)).collect(),
            organisations,
        }
    }

    fn verification(&self) -> (Vec<String>, Option<(u64, String, String)>) {
        let mut text = vec![
            "The audit log is tamper-evident: its entries form a Merkle tree (RFC 9162) whose \
             root the hub signs in checkpoints, and the database refuses changes to logged \
             entries."
                .to_owned(),
        ];
        let Some(cp) = &self.checkpoint else {
            text.push(
                "No signed checkpoint was attached to this report. Ask the hub for a current \
                 checkpoint to verify the entries listed here."
                    .to_owned(),
            );
            return (text, None);
        };
        let covered = if cp.size == 0 {
            "The checkpoint below covers no entries yet.".to_owned()
        } else {
            format!(
                "The signed checkpoint below covers log entries #0 to #{}.",
                cp.size - 1
            )
        };
        let newer: Vec<String> = self
            .entries
            .iter()
            .filter(|e| e.seq >= cp.size)
            .map(|e| format!("#{}", e.seq))
            .collect();
        if self.entries.is_empty() {
            text.push(covered);
        } else if newer.is_empty() {
            text.push(format!("{covered} That includes every entry in this report."));
        } else {
            text.push(format!(
                "{covered} Log entries {} are newer than this checkpoint and are not covered \
                 by it; ask for a newer checkpoint to verify them.",
                newer.join(", ")
            ));
        }
        text.push(
            "To check that an entry listed here is in the log and unchanged, ask the hub for \
             an inclusion proof of its log entry number against this checkpoint and verify it \
             against the root hash (for example with `schakel audit verify`). Keep this \
             checkpoint: a consistency proof from any later checkpoint then shows that the \
             log has only grown since, with no entry changed or removed."
                .to_owned(),
        );
        let note = cp
            .note
            .lines()
            .map(|l| l.chars().map(|c| if c.is_control() { ' ' } else { c }).collect())
            .collect::<Vec<String>>()
            .join("\n");
        (text, Some((cp.size, cp.root_hex.to_owned(), note)))
    }
}

/// A pseudonym is shown as given only when it looks like one (at least 32 hex
/// digits); anything else is scrubbed, so a BSN passed here by mistake does not
/// reach the report.
fn pseudonym(p: &str) -> String {
    if p.len() >= 32 && p.bytes().all(|b| b.is_ascii_hexdigit()) {
        p.to_owned()
    } else {
        scrub(p)
    }
}

/// Turns `` `command` `` in already escaped text into `<code>command</code>`.
/// Safe on escaped text: a backtick is not markup, and the text between two
/// backticks stays escaped.
fn code_spans(escaped: &str) -> String {
    let mut out = String::with_capacity(escaped.len());
    let parts: Vec<&str> = escaped.split('`').collect();
    // An unpaired backtick stays as it is.
    let paired = parts.len() % 2 == 1;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            match (paired, i % 2) {
                (true, 1) => out.push_str("<code>"),
                (true, _) => out.push_str("</code>"),
                (false, _) => out.push('`'),
            }
        }
        out.push_str(part);
    }
    out
}

fn section(out: &mut String, title: &str) {
    let _ = writeln!(out);
    let _ = writeln!(out);
    let _ = writeln!(out, "{title}");
    let _ = writeln!(out, "{}", "-".repeat(title.chars().count()));
    let _ = writeln!(out);
}

/// Width of a label column: the longest label and its colon.
fn label_width<'k>(labels: impl Iterator<Item = &'k str>) -> usize {
    labels.map(|k| k.chars().count() + 1).max().unwrap_or(0)
}

/// Text wrapped to [`WIDTH`], the first line after `first`, the rest after `rest`.
fn paragraph(out: &mut String, text: &str, first: &str, rest: &str) {
    let room = WIDTH.saturating_sub(rest.chars().count()).max(20);
    for (i, line) in wrap(text, room).iter().enumerate() {
        let _ = writeln!(out, "{}{line}", if i == 0 { first } else { rest });
    }
}

/// `Label:   value`, the value wrapped and aligned under itself.
fn field(out: &mut String, indent: &str, key: &str, value: &str, width: usize) {
    let first = format!("{indent}{:<width$} ", format!("{key}:"));
    let rest = " ".repeat(first.chars().count());
    paragraph(out, value, &first, &rest);
}

const CSS: &str = "\
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; line-height: 1.45; \
color: #1b1b1b; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; border-bottom: 2px solid #154273; padding-bottom: .3rem; }
h2 { font-size: 1.25rem; color: #154273; margin-top: 2rem; }
h3 { font-size: 1rem; margin: 0 0 .4rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: 0; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
ol.entries { padding-left: 1.5rem; }
ol.entries > li { border: 1px solid #ccd; border-radius: 4px; padding: .6rem .8rem; \
margin-bottom: .8rem; break-inside: avoid; }
.when { font-variant-numeric: tabular-nums; color: #555; margin-right: .5rem; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccd; padding: .2rem .6rem; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.hash, pre, code { font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
pre { background: #f4f4f8; padding: .6rem; white-space: pre-wrap; }
.empty { font-style: italic; }
@media print { body { margin: 0; max-width: none; } }
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_pair_backticks() {
        assert_eq!(code_spans("run `a b` now"), "run <code>a b</code> now");
        assert_eq!(code_spans("odd ` one"), "odd ` one");
        assert_eq!(code_spans("none"), "none");
    }

    #[test]
    fn a_bsn_passed_as_pseudonym_is_not_shown() {
        assert_eq!(pseudonym("123456782"), crate::text::REDACTED);
        let hex = "a".repeat(64);
        assert_eq!(pseudonym(&hex), hex);
    }
}
