//! Fuzz target (issue 6, item 3) for the document file parser of
//! `schakel push` (JSON, JSON lines, CSV), as a bounded randomized test that
//! runs on stable: arbitrary text, and the documented example
//! (docs/examples/overgangsdocument.json) mutated as text and as a JSON tree.
//!
//! The parser must never panic; every error must say where (a line, a field
//! or column) unless it is about the whole file, and must never echo a value
//! from the file.
//!
//! The parser lives in the `schakel` binary, not a library, so its modules
//! are compiled into this test from `src/` (which also compiles their unit
//! tests into this binary).
//!
//! Cases per target: `SCHAKEL_FUZZ_CASES` (default 256); a long local run:
//! `SCHAKEL_FUZZ_CASES=1000000 cargo test -p schakel-cli --release --test fuzz_documents`.

#[allow(dead_code, unused_imports, clippy::all, clippy::pedantic)]
#[path = "../src"]
mod cli {
    pub mod document;
    pub mod names;
}

// `document.rs` refers to `crate::names`.
use cli::names;

use cli::document::{DocError, FieldRef, Format, parse_date, parse_submissions};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;

fn cases() -> u32 {
    std::env::var("SCHAKEL_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Put into values (and keys); no message may ever contain it.
const SECRET: &str = "Zwaluw-999990019";

const EXAMPLE: &str = include_str!("../../../docs/examples/overgangsdocument.json");

const CSV_HEADER: &str = "idempotency_key,purpose,recipient_oin,consent_id,subject.bsn,subject.date_of_birth,subject.school_type,subject.diploma_date,subject.startkwalificatie,subject.enrolled,identity.bsn,identity.surname,contact.youth.postcode,skills.certificates,skills.certificates,justification.skills";

fn csv_example() -> String {
    format!(
        "{CSV_HEADER}\n\
         k-1,handover.school_to_gemeente,00000001999990014000,0195a1b2-3c4d-7e5f-8a6b-7c8d9e0f1a2b,999990019,2006-04-12,mbo,2026-01-30,achieved,false,999990019,{SECRET},9711 AB,VCA Basis,Heftruckcertificaat,\n\
         ,handover.school_to_gemeente,00000001999990014000,,999990925,2007-09-01,pro,,not_achieved,true,999990925,\"Test, {SECRET}\",,,,Nodig voor de begeleiding\n"
    )
}

fn example() -> Value {
    let mut v: Value = serde_json::from_str(EXAMPLE).expect("the example is JSON");
    v["groups"]["identity"]["surname"] = Value::String(SECRET.to_owned());
    v
}

fn jsonl_example(docs: &[Value]) -> String {
    docs.iter()
        .map(|d| serde_json::to_string(d).expect("json"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Messages about the whole file, which have no line or field to name.
const WHOLE_FILE: &[&str] = &[
    "the file holds no documents",
    "the file is empty (expected a header row)",
    "a document must be a JSON object",
    "a .json file holds one document object; for several documents use .jsonl or .csv",
];

fn check(text: &str, format: Format) -> Result<(), TestCaseError> {
    match parse_submissions(text, format) {
        Ok(subs) => {
            prop_assert!(!subs.is_empty());
            for s in &subs {
                prop_assert!(!s.request.idempotency_key.is_empty());
                // Debug shows the idempotency key (the caller's own id) and nothing else.
                if !s.request.idempotency_key.contains(SECRET) {
                    prop_assert!(!format!("{s:?}").contains(SECRET), "Debug shows content");
                }
            }
        }
        Err(errors) => {
            prop_assert!(!errors.is_empty(), "a refusal names at least one problem");
            for e in &errors {
                check_error(e, format)?;
            }
        }
    }
    Ok(())
}

fn check_error(e: &DocError, format: Format) -> Result<(), TestCaseError> {
    let shown = e.to_string();
    prop_assert!(!e.message.is_empty(), "empty message");
    prop_assert!(!shown.contains(SECRET), "an error echoes a value: {shown}");
    let located = e.line.is_some()
        || match &e.field {
            Some(FieldRef::Path(p)) => !p.is_empty(),
            Some(FieldRef::Column { index, .. }) => *index > 0,
            None => false,
        };
    prop_assert!(
        located || WHOLE_FILE.contains(&e.message.as_str()),
        "{format:?}: an error names no line or field: {shown}"
    );
    if format != Format::Json && !WHOLE_FILE.contains(&e.message.as_str()) {
        prop_assert!(e.line.is_some(), "{format:?}: an error names no line: {shown}");
    }
    Ok(())
}

// ---- text mutations ----

fn interesting_char() -> impl Strategy<Value = char> {
    prop_oneof![
        prop::sample::select(vec![
            '\n', '\r', '"', '\\', ',', ';', '{', '}', '[', ']', ':', '.', '-', '0', '9', ' ', '\u{feff}',
            '\0', 'é', '\u{2028}', 'a', 'Z',
        ]),
        any::<char>(),
    ]
}

#[derive(Debug, Clone)]
enum TextOp {
    Insert(Index, char),
    Replace(Index, char),
    Remove(Index),
    Truncate(Index),
    Duplicate(Index, Index),
}

fn text_op() -> impl Strategy<Value = TextOp> {
    prop_oneof![
        (any::<Index>(), interesting_char()).prop_map(|(i, c)| TextOp::Insert(i, c)),
        (any::<Index>(), interesting_char()).prop_map(|(i, c)| TextOp::Replace(i, c)),
        any::<Index>().prop_map(TextOp::Remove),
        any::<Index>().prop_map(TextOp::Truncate),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| TextOp::Duplicate(a, b)),
    ]
}

fn mutate_text(text: &str, ops: &[TextOp]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for op in ops {
        let n = chars.len();
        match op {
            TextOp::Insert(i, c) => chars.insert(i.index(n + 1), *c),
            TextOp::Replace(i, c) if n > 0 => chars[i.index(n)] = *c,
            TextOp::Remove(i) if n > 0 => {
                chars.remove(i.index(n));
            }
            TextOp::Truncate(i) => chars.truncate(i.index(n + 1)),
            TextOp::Duplicate(a, b) if n > 0 => {
                let (a, b) = (a.index(n), b.index(n));
                let (lo, hi) = (a.min(b), a.max(b));
                let slice: Vec<char> = chars[lo..=hi.min(lo + 200)].to_vec();
                chars.splice(lo..lo, slice);
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

// ---- JSON tree mutations ----

/// Values a sender (or an attacker) may put anywhere.
fn hostile_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(Value::from(u64::MAX)),
        prop::sample::select(vec![
            "",
            " ",
            "2026-02-30",
            "2026-13-01",
            "0000-01-01",
            "-0001-01-01",
            "+002026-01-01",
            "9999-12-31",
            "99999-01-01",
            "2026-1-1",
            "2026-01-01T00:00:00Z",
            "mbo",
            "MBO",
            "achieved",
            "true",
            "false",
            "participatiewet",
            "school",
            "not_possible",
            "handover.school_to_gemeente",
            "00000001999990014000",
            "0195a1b2-3c4d-7e5f-8a6b-7c8d9e0f1a2b",
            "identity",
            "meta.justifications",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
        ".{0,24}".prop_map(Value::String),
        Just(Value::String(SECRET.to_owned())),
        Just(Value::String("x".repeat(70_000))),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((hostile_key(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn hostile_key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "idempotency_key",
            "purpose",
            "recipient",
            "subject",
            "groups",
            "justifications",
            "consent_id",
            "hardheidsclausule",
            "bsn",
            "date_of_birth",
            "oin",
            "function",
            "fields",
            "key",
            "value",
            "name",
            "group",
            "justification",
            "identity",
            "contact.youth",
            "skills",
            "enrolled",
            "",
        ])
        .prop_map(str::to_owned),
        "[a-z_.]{1,12}",
        ".{0,12}",
        Just(SECRET.to_owned()),
    ]
}

/// Every path (object keys and array indices) in `v`, the root included.
fn paths(v: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(prefix.clone());
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                prefix.push(k.clone());
                paths(c, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                prefix.push(i.to_string());
                paths(c, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn at<'a>(v: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, k| match v {
        Value::Object(m) => m.get_mut(k),
        Value::Array(a) => k.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
        _ => None,
    })
}

#[derive(Debug, Clone)]
enum TreeOp {
    Replace(Index, Value),
    Remove(Index),
    AddKey(Index, String, Value),
}

fn tree_op() -> impl Strategy<Value = TreeOp> {
    prop_oneof![
        3 => (any::<Index>(), hostile_value()).prop_map(|(i, v)| TreeOp::Replace(i, v)),
        2 => any::<Index>().prop_map(TreeOp::Remove),
        1 => (any::<Index>(), hostile_key(), hostile_value()).prop_map(|(i, k, v)| TreeOp::AddKey(i, k, v)),
    ]
}

fn mutate_tree(doc: &mut Value, ops: &[TreeOp]) {
    for op in ops {
        let mut all = Vec::new();
        paths(doc, &mut Vec::new(), &mut all);
        match op {
            TreeOp::Replace(i, v) => {
                if let Some(slot) = at(doc, &all[i.index(all.len())]) {
                    *slot = v.clone();
                }
            }
            TreeOp::Remove(i) => {
                let path = &all[i.index(all.len())];
                if let Some((last, parent)) = path.split_last()
                    && let Some(p) = at(doc, parent)
                {
                    match p {
                        Value::Object(m) => {
                            m.remove(last);
                        }
                        Value::Array(a) => {
                            if let Ok(k) = last.parse::<usize>()
                                && k < a.len()
                            {
                                a.remove(k);
                            }
                        }
                        _ => {}
                    }
                }
            }
            TreeOp::AddKey(i, k, v) => {
                if let Some(Value::Object(m)) = at(doc, &all[i.index(all.len())]) {
                    m.insert(k.clone(), v.clone());
                }
            }
        }
    }
}

fn format() -> impl Strategy<Value = Format> {
    prop::sample::select(vec![Format::Json, Format::Jsonl, Format::Csv])
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary text in each format.
    #[test]
    fn arbitrary_text(
        text in prop_oneof![".{0,200}", "([ -~]{0,40}\n){0,6}", "[{}\\[\\]\",:0-9a-z \n]{0,120}"],
        format in format(),
    ) {
        check(&text, format)?;
    }

    /// The example, mutated as text, as one JSON document and as JSON lines.
    #[test]
    fn example_mutated_as_text(ops in prop::collection::vec(text_op(), 0..6), compact in any::<bool>()) {
        let doc = example();
        let text = if compact {
            serde_json::to_string(&doc).expect("json")
        } else {
            serde_json::to_string_pretty(&doc).expect("json")
        };
        check(&mutate_text(&text, &ops), Format::Json)?;
        let mut second = doc.clone();
        second["idempotency_key"] = Value::String("k-2".into());
        check(&mutate_text(&jsonl_example(&[doc, second]), &ops), Format::Jsonl)?;
    }

    /// The example, mutated as a JSON tree: hostile values in any place,
    /// removed keys, unknown keys.
    #[test]
    fn example_mutated_as_tree(ops in prop::collection::vec(tree_op(), 1..5), lines in 1usize..4) {
        let mut doc = example();
        mutate_tree(&mut doc, &ops);
        check(&serde_json::to_string_pretty(&doc).expect("json"), Format::Json)?;
        let docs: Vec<Value> = (0..lines)
            .map(|i| {
                let mut d = doc.clone();
                if let Value::Object(m) = &mut d
                    && i > 0
                {
                    m.insert("idempotency_key".into(), Value::String(format!("k-{i}")));
                }
                d
            })
            .collect();
        check(&jsonl_example(&docs), Format::Jsonl)?;
    }

    /// The CSV example, mutated as text (cells, quotes, delimiters, header).
    #[test]
    fn csv_mutated(ops in prop::collection::vec(text_op(), 0..6), semicolons in any::<bool>()) {
        let mut text = csv_example();
        if semicolons {
            text = text.replace(',', ";");
        }
        check(&mutate_text(&text, &ops), Format::Csv)?;
    }

    /// CSV rows of arbitrary cells under the example's header.
    #[test]
    fn csv_arbitrary_cells(rows in prop::collection::vec(prop::collection::vec(
        prop_oneof![".{0,12}", Just(SECRET.to_owned()), Just(String::new()), "\"[^\"]{0,8}\""], 16), 0..4)) {
        let mut text = format!("{CSV_HEADER}\n");
        for row in rows {
            text.push_str(&row.join(","));
            text.push('\n');
        }
        check(&text, Format::Csv)?;
    }

    /// Dates as written in documents.
    #[test]
    fn dates(s in prop_oneof![".{0,12}", "[0-9+-]{1,12}", "[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"]) {
        if let Some(d) = parse_date(&s) {
            prop_assert!(jiff::civil::Date::new(d.year as i16, d.month as i8, d.day as i8).is_ok(), "{s}");
        }
    }
}

/// The unmutated examples parse (the generators start from valid files).
#[test]
fn examples_parse() {
    assert_eq!(parse_submissions(EXAMPLE, Format::Json).expect("json").len(), 1);
    assert_eq!(
        parse_submissions(&csv_example(), Format::Csv).expect("csv").len(),
        2
    );
    let mut second = example();
    second["idempotency_key"] = Value::String("k-2".into());
    let text = jsonl_example(&[example(), second]);
    assert_eq!(parse_submissions(&text, Format::Jsonl).expect("jsonl").len(), 2);
}

/// Deeply nested JSON stops at the parser's recursion limit, without a
/// stack overflow.
#[test]
fn deep_nesting() {
    for depth in [100, 127, 128, 129, 10_000, 100_000] {
        let text = format!("{{\"groups\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
        let _ = parse_submissions(&text, Format::Json);
        let _ = parse_submissions(&text, Format::Jsonl);
    }
}
