//! Document files: overgangsdocumenten (and support requests, Doorstroompunt
//! handovers) to push, expertise requests and advice attachments.
//!
//! Formats (docs/document-format.md):
//! - `.json`: one document, a JSON object mirroring `SubmitRequest`;
//! - `.jsonl`: one such object per line (blank lines are skipped);
//! - `.csv`: a header row, then one document per row; columns are request
//!   metadata, `subject.<fact>`, `justification.<group>` and `<group>.<field>`
//!   (repeat a column for a repeated key). An empty cell is an absent field.
//!
//! Errors name the line and the field (or CSV column) and never contain a
//! value from the file: values are BSNs, names and addresses. Names of keys
//! and columns are shown only when they look like field names.

use std::collections::HashMap;
use std::fmt;

use prost::Message;
use schakel_proto::v1 as pb;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use sha2::{Digest, Sha256};

use crate::names::{self, Table};

mod csv_file;

use csv_file::{CsvColumns, parse_csv};

/// Top-level keys of a JSON document (the schema in
/// docs/schemas/overgangsdocument.schema.json lists the same).
pub const TOP_LEVEL_KEYS: &[&str] = &[
    "idempotency_key",
    "purpose",
    "recipient",
    "subject",
    "groups",
    "justifications",
    "consent_id",
    "hardheidsclausule",
    "return_to_education",
    "client_reference",
];

/// Keys of `subject`.
pub const SUBJECT_KEYS: &[&str] = &[
    "bsn",
    "date_of_birth",
    "school_type",
    "leaving_date",
    "diploma_date",
    "startkwalificatie",
    "vso_exit_profile",
    "enrolled",
];

/// Keys of `recipient`.
const RECIPIENT_KEYS: &[&str] = &["oin", "function"];

/// CSV columns for request metadata, and the JSON path each fills.
const CSV_META_COLUMNS: &[(&str, &str)] = &[
    ("idempotency_key", "idempotency_key"),
    ("purpose", "purpose"),
    ("recipient_oin", "recipient.oin"),
    ("recipient_function", "recipient.function"),
    ("consent_id", "consent_id"),
    ("return_to_education", "return_to_education"),
    ("client_reference", "client_reference"),
    (
        "hardheidsclausule_justification",
        "hardheidsclausule.justification",
    ),
];

/// Label hashed with the request into a derived idempotency key.
const KEY_LABEL: &str = "schakel-push-v1";

/// Input format of a document file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON document.
    Json,
    /// JSON lines: one document per line.
    Jsonl,
    /// CSV: one document per row.
    Csv,
}

impl Format {
    /// The format a file name's extension implies.
    pub fn from_extension(path: &std::path::Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(Self::Json),
            "jsonl" | "ndjson" => Some(Self::Jsonl),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }
}

/// Where a problem is, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocError {
    /// 1-based line of the document (its first line for CSV records);
    /// `None` for a single-document file.
    pub line: Option<usize>,
    /// The field or column.
    pub field: Option<FieldRef>,
    /// What is wrong, without any value from the file.
    pub message: String,
}

/// A field in a document or a column of a CSV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldRef {
    /// A JSON path, e.g. `subject.date_of_birth` or `groups[2].fields[0].key`.
    Path(String),
    /// A CSV column: 1-based index and its header, when that is safe to show.
    Column {
        /// 1-based column number.
        index: usize,
        /// Header name.
        name: Option<String>,
    },
}

impl fmt::Display for DocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        if let Some(line) = self.line {
            write!(f, "line {line}")?;
            sep = ", ";
        }
        match &self.field {
            Some(FieldRef::Path(p)) => write!(f, "{sep}field `{p}`")?,
            Some(FieldRef::Column { index, name: Some(n) }) => write!(f, "{sep}column {index} `{n}`")?,
            Some(FieldRef::Column { index, name: None }) => write!(f, "{sep}column {index}")?,
            None if sep.is_empty() => write!(f, "document")?,
            None => {}
        }
        write!(f, ": {}", self.message)
    }
}

/// One document to submit.
#[derive(Clone)]
pub struct Submission {
    /// 1-based line in the file (`None` for a single-document file).
    pub line: Option<usize>,
    /// The request, with its idempotency key set.
    pub request: pb::SubmitRequest,
    /// True when the file gave no key and it was derived from the content.
    pub derived_key: bool,
}

impl fmt::Debug for Submission {
    // The request holds a youth's data: never show it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Submission")
            .field("line", &self.line)
            .field("idempotency_key", &self.request.idempotency_key)
            .finish_non_exhaustive()
    }
}

impl Submission {
    /// `line 3`, or `document` for a single-document file.
    pub fn location(&self) -> String {
        match self.line {
            Some(l) => format!("line {l}"),
            None => "document".into(),
        }
    }
}

/// The idempotency key derived from a request: lowercase hex SHA-256 over
/// `schakel-push-v1\n` and the protobuf encoding of the request with an
/// empty key. The same content gives the same key, so pushing a file again
/// is a safe retry.
pub fn derived_key(request: &pb::SubmitRequest) -> String {
    let mut r = request.clone();
    r.idempotency_key.clear();
    derive_key(KEY_LABEL, &r)
}

/// An idempotency key derived from a request: lowercase hex SHA-256 over
/// `label`, a newline and the request's protobuf encoding. The caller
/// clears the request's own key first.
pub fn derive_key(label: &str, request: &impl Message) -> String {
    let mut h = Sha256::new();
    h.update(label.as_bytes());
    h.update(b"\n");
    h.update(request.encode_to_vec());
    hex::encode(h.finalize())
}

/// Parses a document file of `format`. Every problem of every document is
/// reported; nothing is returned unless the whole file is valid.
pub fn parse_submissions(text: &str, format: Format) -> Result<Vec<Submission>, Vec<DocError>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let docs = match format {
        Format::Json => parse_json_single(text).map(|d| vec![(None, d)]),
        Format::Jsonl => parse_jsonl(text),
        Format::Csv => parse_csv(text),
    }?;
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for (line, doc) in docs {
        match doc {
            Parsed::Json(json) => match submit_request(&json) {
                Ok(r) => out.push((line, r)),
                Err(errs) => errors.extend(errs.into_iter().map(|e| e.at(line))),
            },
            Parsed::Csv(json, columns) => match submit_request(&json) {
                Ok(r) => out.push((line, r)),
                Err(errs) => errors.extend(errs.into_iter().map(|e| e.at_column(line, &columns))),
            },
        }
    }
    if out.is_empty() && errors.is_empty() {
        errors.push(DocError {
            line: None,
            field: None,
            message: "the file holds no documents".into(),
        });
    }
    let mut seen: HashMap<String, Option<usize>> = HashMap::new();
    let mut subs = Vec::with_capacity(out.len());
    for (line, mut request) in out {
        let derived = request.idempotency_key.is_empty();
        if derived {
            request.idempotency_key = derived_key(&request);
        }
        // Two documents with one key would race at the hub; one of them
        // would be refused or silently replayed. Refuse the file instead.
        if let Some(first) = seen.insert(request.idempotency_key.clone(), line) {
            let what = if derived {
                "the same document as"
            } else {
                "the same idempotency_key as"
            };
            errors.push(DocError {
                line,
                field: (!derived).then(|| FieldRef::Path("idempotency_key".into())),
                message: match first {
                    Some(l) => format!("{what} line {l}"),
                    None => format!("{what} another document"),
                },
            });
            continue;
        }
        subs.push(Submission {
            line,
            request,
            derived_key: derived,
        });
    }
    if errors.is_empty() { Ok(subs) } else { Err(errors) }
}

enum Parsed {
    Json(Json),
    /// A CSV row as a JSON document, and the header names by JSON path.
    Csv(Json, std::rc::Rc<CsvColumns>),
}

fn parse_json_single(text: &str) -> Result<Parsed, Vec<DocError>> {
    match serde_json::from_str::<Json>(text) {
        Ok(j @ Json::Obj(_)) => Ok(Parsed::Json(j)),
        Ok(Json::Arr(_)) => Err(vec![DocError {
            line: None,
            field: None,
            message: "a .json file holds one document object; for several documents use .jsonl or .csv"
                .into(),
        }]),
        Ok(_) => Err(vec![DocError {
            line: None,
            field: None,
            message: "a document must be a JSON object".into(),
        }]),
        Err(e) => Err(vec![json_syntax_error(&e, None)]),
    }
}

fn parse_jsonl(text: &str) -> Result<Vec<(Option<usize>, Parsed)>, Vec<DocError>> {
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Json>(line) {
            Ok(j @ Json::Obj(_)) => docs.push((Some(n), Parsed::Json(j))),
            Ok(_) => errors.push(DocError {
                line: Some(n),
                field: None,
                message: "a document must be a JSON object".into(),
            }),
            Err(e) => errors.push(json_syntax_error(&e, Some(n))),
        }
    }
    if errors.is_empty() { Ok(docs) } else { Err(errors) }
}

/// A JSON parse error as a message without content. serde_json's syntax
/// messages are fixed texts ("expected `,` or `}`"); data errors come only
/// from [`Json`]'s own (value-free) messages.
fn json_syntax_error(e: &serde_json::Error, line: Option<usize>) -> DocError {
    let full = e.to_string();
    let mut what = full
        .rsplit_once(" at line ")
        .map(|(m, _)| m.to_owned())
        .unwrap_or_else(|| "invalid JSON".into());
    // Belt and braces: a data error that is not one of ours could quote the
    // input; show none of it.
    if e.classify() == serde_json::error::Category::Data && !what.starts_with(DUPLICATE_KEY) {
        what = "not a valid JSON value".into();
    }
    let (line, message) = match line {
        // JSON lines: the document is one line; the column is in that line.
        Some(l) => (Some(l), format!("invalid JSON at column {}: {what}", e.column())),
        None => (
            Some(e.line()),
            format!("invalid JSON at column {}: {what}", e.column()),
        ),
    };
    DocError {
        line,
        field: None,
        message,
    }
}

/// Start of the message for a key given twice in one object.
const DUPLICATE_KEY: &str = "duplicate key";

/// A JSON value that keeps object key order and refuses duplicate keys
/// (which `serde_json::Value` would silently collapse to the last one).
/// No `Debug`: it holds a youth's data.
#[derive(Clone, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as its decimal text.
    Num(String),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object, in file order.
    Obj(Vec<(String, Json)>),
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_none<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
                Ok(Json::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
                Ok(Json::Num(n.to_string()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
                Ok(Json::Num(n.to_string()))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Json, E> {
                Ok(Json::Num(n.to_string()))
            }
            fn visit_str<E>(self, s: &str) -> Result<Json, E> {
                Ok(Json::Str(s.to_owned()))
            }
            fn visit_string<E>(self, s: String) -> Result<Json, E> {
                Ok(Json::Str(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = seq.next_element()? {
                    v.push(x);
                }
                Ok(Json::Arr(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut v: Vec<(String, Json)> = Vec::new();
                while let Some(k) = map.next_key::<String>()? {
                    if v.iter().any(|(x, _)| *x == k) {
                        return Err(de::Error::custom(format!("{DUPLICATE_KEY} {}", shown(&k))));
                    }
                    let val = map.next_value()?;
                    v.push((k, val));
                }
                Ok(Json::Obj(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// Whether a key or column name may be shown in a message: it looks like a
/// field name (`contact.youth`, `postcode`), not like data.
fn is_name(s: &str) -> bool {
    s.len() <= 64
        && !s.is_empty()
        && s.split('.').all(|seg| {
            let mut b = seg.bytes();
            matches!(b.next(), Some(c) if c.is_ascii_lowercase())
                && b.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
        })
}

/// A key for a message: `` `name` `` or a placeholder.
fn shown(k: &str) -> String {
    if is_name(k) {
        format!("`{k}`")
    } else {
        "(name not shown: not a field name)".into()
    }
}

/// A path segment: the key, or a placeholder when it does not look like a
/// field name.
fn seg(k: &str) -> String {
    if is_name(k) { k.to_owned() } else { "<key>".into() }
}

/// A problem at a JSON path, before its location is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path.
    pub path: String,
    /// Message without values.
    pub message: String,
}

impl FieldError {
    fn at(self, line: Option<usize>) -> DocError {
        DocError {
            line,
            field: (!self.path.is_empty()).then_some(FieldRef::Path(self.path)),
            message: self.message,
        }
    }

    fn at_column(self, line: Option<usize>, columns: &CsvColumns) -> DocError {
        let field = columns
            .column_of(&self.path)
            .map(|(index, name)| FieldRef::Column {
                index,
                name: Some(name),
            })
            .or_else(|| (!self.path.is_empty()).then_some(FieldRef::Path(self.path)));
        DocError {
            line,
            field,
            message: self.message,
        }
    }
}

/// Collects every problem of one document.
#[derive(Default)]
struct Ctx {
    errors: Vec<FieldError>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        seg(key)
    } else {
        format!("{path}.{}", seg(key))
    }
}

impl Ctx {
    fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError {
            path: path.into(),
            message: message.into(),
        });
    }

    /// The entries of an object whose keys must come from `allowed`.
    fn object<'a>(&mut self, v: &'a Json, path: &str, allowed: &[&str]) -> Vec<(&'a str, &'a Json)> {
        let Json::Obj(entries) = v else {
            self.err(path, "must be an object");
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            if allowed.contains(&k.as_str()) {
                out.push((k.as_str(), v));
            } else {
                let msg = format!("unknown key {} (allowed: {})", shown(k), allowed.join(", "));
                self.err(join(path, k), msg);
            }
        }
        out
    }

    fn string(&mut self, v: &Json, path: &str) -> Option<String> {
        match v {
            Json::Null => None,
            Json::Str(s) => Some(s.clone()),
            _ => {
                self.err(path, "must be a string");
                None
            }
        }
    }

    fn bool(&mut self, v: &Json, path: &str) -> Option<bool> {
        match v {
            Json::Null => None,
            Json::Bool(b) => Some(*b),
            _ => {
                self.err(path, "must be true or false");
                None
            }
        }
    }

    fn date(&mut self, v: &Json, path: &str) -> Option<pb::Date> {
        let s = self.string(v, path)?;
        let d = parse_date(&s);
        if d.is_none() {
            self.err(path, "not a valid date (expected YYYY-MM-DD)");
        }
        d
    }

    fn named<T: Copy + Into<i32>>(&mut self, table: Table<T>, v: &Json, path: &str) -> Option<i32> {
        let s = self.string(v, path)?;
        let value = names::parse(table, &s).map(Into::into);
        if value.is_none() {
            self.err(
                path,
                format!("unknown value (expected one of: {})", names::list(table)),
            );
        }
        value
    }

    fn text_list(&mut self, v: &Json, path: &str) -> Vec<String> {
        match v {
            Json::Null => Vec::new(),
            Json::Arr(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, x)| self.string(x, &format!("{path}[{i}]")))
                .collect(),
            _ => {
                self.err(path, "must be a list of strings");
                Vec::new()
            }
        }
    }
}

/// `YYYY-MM-DD`, a real calendar date.
pub fn parse_date(s: &str) -> Option<pb::Date> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<i32> {
        b[r.clone()]
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| s[r].parse().ok())
            .flatten()
    };
    let (y, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    jiff::civil::Date::new(
        i16::try_from(y).ok()?,
        i8::try_from(m).ok()?,
        i8::try_from(d).ok()?,
    )
    .ok()?;
    Some(pb::Date {
        year: y,
        month: m,
        day: d,
    })
}

/// A field value: text, a number or a boolean, as text.
fn scalar(v: &Json) -> Option<String> {
    match v {
        Json::Str(s) => Some(s.clone()),
        Json::Num(n) => Some(n.clone()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The subject facts.
fn subject(ctx: &mut Ctx, v: &Json, path: &str) -> pb::SubjectFacts {
    let mut s = pb::SubjectFacts::default();
    for (k, v) in ctx.object(v, path, SUBJECT_KEYS) {
        let p = join(path, k);
        match k {
            "bsn" => {
                if matches!(v, Json::Num(_)) {
                    ctx.err(p, "must be a string (a BSN may start with 0)");
                } else {
                    s.bsn = ctx.string(v, &p).unwrap_or_default();
                }
            }
            "date_of_birth" => s.date_of_birth = ctx.date(v, &p),
            "school_type" => s.school_type = ctx.named(names::SCHOOL_TYPES, v, &p).unwrap_or_default(),
            "leaving_date" => s.leaving_date = ctx.date(v, &p),
            "diploma_date" => s.diploma_date = ctx.date(v, &p),
            "startkwalificatie" => {
                s.startkwalificatie = ctx.named(names::STARTKWALIFICATIE, v, &p).unwrap_or_default()
            }
            "vso_exit_profile" => {
                s.vso_exit_profile = ctx.named(names::VSO_EXIT_PROFILES, v, &p).unwrap_or_default()
            }
            "enrolled" => s.enrolled = ctx.bool(v, &p).unwrap_or_default(),
            _ => {}
        }
    }
    s
}

/// Field groups: the object form `{"group": {"key": value | [values]}}` or
/// the list form `[{"name": …, "fields": [{"key": …, "value": …}]}]`.
fn groups(ctx: &mut Ctx, v: &Json, path: &str) -> Vec<pb::FieldGroup> {
    let mut out = Vec::new();
    match v {
        Json::Obj(entries) => {
            for (name, fields) in entries {
                let gp = join(path, name);
                let mut g = pb::FieldGroup {
                    name: name.clone(),
                    fields: Vec::new(),
                };
                let Json::Obj(fields) = fields else {
                    ctx.err(gp, "a group must be an object of fields");
                    continue;
                };
                for (key, value) in fields {
                    let fp = join(&gp, key);
                    let values: Vec<&Json> = match value {
                        Json::Arr(items) => items.iter().collect(),
                        other => vec![other],
                    };
                    for (i, item) in values.iter().enumerate() {
                        match (item, scalar(item)) {
                            (_, Some(text)) => g.fields.push(pb::Field {
                                key: key.clone(),
                                value: text,
                            }),
                            (Json::Null, None) => {}
                            _ => {
                                let at = if matches!(value, Json::Arr(_)) {
                                    format!("{fp}[{i}]")
                                } else {
                                    fp.clone()
                                };
                                ctx.err(
                                    at,
                                    "a field value must be text, a number, a boolean or a list of those",
                                );
                            }
                        }
                    }
                }
                out.push(g);
            }
        }
        Json::Arr(items) => {
            for (i, item) in items.iter().enumerate() {
                let gp = format!("{path}[{i}]");
                let mut g = pb::FieldGroup::default();
                for (k, v) in ctx.object(item, &gp, &["name", "fields"]) {
                    match k {
                        "name" => g.name = ctx.string(v, &format!("{gp}.name")).unwrap_or_default(),
                        _ => {
                            let Json::Arr(fields) = v else {
                                ctx.err(
                                    format!("{gp}.fields"),
                                    "must be a list of {\"key\", \"value\"} objects",
                                );
                                continue;
                            };
                            for (j, f) in fields.iter().enumerate() {
                                let fp = format!("{gp}.fields[{j}]");
                                let mut field = pb::Field::default();
                                for (k, v) in ctx.object(f, &fp, &["key", "value"]) {
                                    let p = format!("{fp}.{k}");
                                    match k {
                                        "key" => field.key = ctx.string(v, &p).unwrap_or_default(),
                                        _ => match scalar(v) {
                                            Some(t) => field.value = t,
                                            None => ctx.err(p, "must be text, a number or a boolean"),
                                        },
                                    }
                                }
                                g.fields.push(field);
                            }
                        }
                    }
                }
                if g.name.is_empty() {
                    ctx.err(format!("{gp}.name"), "required");
                }
                out.push(g);
            }
        }
        _ => ctx.err(
            path,
            "must be an object of groups (or a list of {\"name\", \"fields\"} objects)",
        ),
    }
    out
}

/// Necessity justifications (R8): `{"group": "text"}` or a list of
/// `{"group", "fields", "justification"}`.
fn justifications(ctx: &mut Ctx, v: &Json, path: &str) -> Vec<pb::GroupJustification> {
    let mut out = Vec::new();
    match v {
        Json::Null => {}
        Json::Obj(entries) => {
            for (group, text) in entries {
                if let Some(justification) = ctx.string(text, &join(path, group)) {
                    out.push(pb::GroupJustification {
                        group: group.clone(),
                        fields: Vec::new(),
                        justification,
                    });
                }
            }
        }
        Json::Arr(items) => {
            for (i, item) in items.iter().enumerate() {
                let ip = format!("{path}[{i}]");
                let mut j = pb::GroupJustification::default();
                for (k, v) in ctx.object(item, &ip, &["group", "fields", "justification"]) {
                    let p = format!("{ip}.{k}");
                    match k {
                        "group" => j.group = ctx.string(v, &p).unwrap_or_default(),
                        "fields" => j.fields = ctx.text_list(v, &p),
                        _ => j.justification = ctx.string(v, &p).unwrap_or_default(),
                    }
                }
                out.push(j);
            }
        }
        _ => ctx.err(
            path,
            "must be an object {\"group\": \"text\"} or a list of justifications",
        ),
    }
    out
}

/// A party `{"oin": …, "function": …}`; the function defaults to
/// `default_function`.
fn party(ctx: &mut Ctx, v: &Json, path: &str, default_function: pb::FunctionKind) -> pb::PartyRef {
    let mut p = pb::PartyRef {
        oin: String::new(),
        function: default_function.into(),
    };
    let mut has_oin = false;
    for (k, v) in ctx.object(v, path, RECIPIENT_KEYS) {
        let fp = join(path, k);
        match k {
            "oin" => {
                if let Some(oin) = ctx.string(v, &fp) {
                    p.oin = oin;
                    has_oin = true;
                }
            }
            _ => {
                if let Some(f) = ctx.named(names::FUNCTIONS, v, &fp) {
                    p.function = f;
                }
            }
        }
    }
    if !has_oin && matches!(v, Json::Obj(_)) {
        ctx.err(join(path, "oin"), "required");
    }
    p
}

/// A JSON document as a `SubmitRequest`, or every problem in it.
pub fn submit_request(doc: &Json) -> Result<pb::SubmitRequest, Vec<FieldError>> {
    let mut ctx = Ctx::default();
    let mut r = pb::SubmitRequest::default();
    let mut seen = Vec::new();
    for (k, v) in ctx.object(doc, "", TOP_LEVEL_KEYS) {
        // `null` is an absent key.
        if matches!(v, Json::Null) {
            continue;
        }
        seen.push(k);
        match k {
            "idempotency_key" => r.idempotency_key = ctx.string(v, k).unwrap_or_default(),
            "purpose" => r.purpose = ctx.string(v, k).unwrap_or_default(),
            "recipient" => r.recipient = Some(party(&mut ctx, v, k, pb::FunctionKind::Participatiewet)),
            "subject" => r.subject = Some(subject(&mut ctx, v, k)),
            "groups" => r.groups = groups(&mut ctx, v, k),
            "justifications" => r.justifications = justifications(&mut ctx, v, k),
            "consent_id" => r.consent_id = ctx.string(v, k).unwrap_or_default(),
            "hardheidsclausule" => {
                for (hk, hv) in ctx.object(v, k, &["justification"]) {
                    if let Some(text) = ctx.string(hv, &join(k, hk)) {
                        r.hardheidsclausule = true;
                        r.hardheidsclausule_justification = text;
                    }
                }
                if !r.hardheidsclausule && matches!(v, Json::Obj(_)) {
                    ctx.err(
                        join(k, "justification"),
                        "required when invoking the hardheidsclausule (R2)",
                    );
                }
            }
            "return_to_education" => {
                r.return_to_education = ctx.named(names::RETURN_TO_EDUCATION, v, k).unwrap_or_default()
            }
            "client_reference" => r.client_reference = ctx.string(v, k).unwrap_or_default(),
            _ => {}
        }
    }
    if matches!(doc, Json::Obj(_)) {
        for required in ["purpose", "recipient", "subject", "groups"] {
            if !seen.contains(&required) {
                ctx.err(required, "required");
            }
        }
        if seen.contains(&"groups") && r.groups.is_empty() && ctx.errors.iter().all(|e| e.path != "groups") {
            ctx.err("groups", "at least one group is required");
        }
    }
    if ctx.errors.is_empty() {
        Ok(r)
    } else {
        Err(ctx.errors)
    }
}

// ---------------------------------------------------------------------------
// Expertise files

/// An expertise request file (JSON): `{"subject", "groups", "question",
/// "client_reference", "idempotency_key"}`.
pub struct ExpertiseFile {
    /// Facts about the youth.
    pub subject: pb::SubjectFacts,
    /// Groups sent with the request.
    pub groups: Vec<pb::FieldGroup>,
    /// The question, if the file gives it.
    pub question: Option<String>,
    /// The caller's reference.
    pub client_reference: String,
    /// The idempotency key, if the file gives it.
    pub idempotency_key: String,
}

/// Keys of an expertise request file.
pub const EXPERTISE_KEYS: &[&str] = &[
    "subject",
    "groups",
    "question",
    "client_reference",
    "idempotency_key",
];

/// Parses an expertise request file.
pub fn parse_expertise_request(text: &str) -> Result<ExpertiseFile, Vec<DocError>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let doc = match parse_json_single(text)? {
        Parsed::Json(j) | Parsed::Csv(j, _) => j,
    };
    let mut ctx = Ctx::default();
    let mut f = ExpertiseFile {
        subject: pb::SubjectFacts::default(),
        groups: Vec::new(),
        question: None,
        client_reference: String::new(),
        idempotency_key: String::new(),
    };
    let mut has_subject = false;
    for (k, v) in ctx.object(&doc, "", EXPERTISE_KEYS) {
        match k {
            "subject" => {
                has_subject = true;
                f.subject = subject(&mut ctx, v, k);
            }
            "groups" => f.groups = groups(&mut ctx, v, k),
            "question" => f.question = ctx.string(v, k),
            "client_reference" => f.client_reference = ctx.string(v, k).unwrap_or_default(),
            _ => f.idempotency_key = ctx.string(v, k).unwrap_or_default(),
        }
    }
    if !has_subject {
        ctx.err("subject", "required");
    }
    if ctx.errors.is_empty() {
        Ok(f)
    } else {
        Err(ctx.errors.into_iter().map(|e| e.at(None)).collect())
    }
}

/// Groups and justifications attached to expertise advice (JSON):
/// `{"groups", "justifications"}`.
pub struct AdviceFile {
    /// Attached groups.
    pub groups: Vec<pb::FieldGroup>,
    /// A necessity justification per group (R8).
    pub justifications: Vec<pb::GroupJustification>,
}

/// Parses an advice attachment file.
pub fn parse_advice(text: &str) -> Result<AdviceFile, Vec<DocError>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let doc = match parse_json_single(text)? {
        Parsed::Json(j) | Parsed::Csv(j, _) => j,
    };
    let mut ctx = Ctx::default();
    let mut f = AdviceFile {
        groups: Vec::new(),
        justifications: Vec::new(),
    };
    for (k, v) in ctx.object(&doc, "", &["groups", "justifications"]) {
        match k {
            "groups" => f.groups = groups(&mut ctx, v, k),
            _ => f.justifications = justifications(&mut ctx, v, k),
        }
    }
    if ctx.errors.is_empty() {
        Ok(f)
    } else {
        Err(ctx.errors.into_iter().map(|e| e.at(None)).collect())
    }
}

/// Reads a file as UTF-8 text; a problem names the file and the line of the
/// first invalid byte, never content.
pub fn read_text(path: &std::path::Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        let upto = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..upto].iter().filter(|b| **b == b'\n').count() + 1;
        anyhow::anyhow!("{}: line {line}: not valid UTF-8 text", path.display())
    })
}

#[cfg(test)]
mod tests;
