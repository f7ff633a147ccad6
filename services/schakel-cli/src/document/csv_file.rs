//! CSV document files: a header row, then one document per row. Each row
//! becomes the JSON document it stands for, so both formats share one
//! converter and one set of rules.

use std::rc::Rc;

use super::{CSV_META_COLUMNS, DocError, FieldRef, Json, Parsed, SUBJECT_KEYS, is_name};

/// What a CSV column fills.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Column {
    /// A request metadata column filling a JSON path (`recipient.oin`).
    Meta(&'static str),
    /// `subject.<fact>`.
    Subject(&'static str),
    /// `justification.<group>`.
    Justification(String),
    /// `<group>.<field>`.
    Field { group: String, key: String },
}

/// The header of a CSV file.
pub(super) struct CsvColumns {
    columns: Vec<(String, Column)>,
}

impl CsvColumns {
    /// The column a JSON path of a converted row came from.
    pub(super) fn column_of(&self, path: &str) -> Option<(usize, String)> {
        // Paths of group fields may carry an index (`groups.skills.certificates[1]`).
        let base = path.split('[').next().unwrap_or(path);
        // A missing recipient is a missing `recipient_oin`.
        let base = if base == "recipient" {
            "recipient.oin"
        } else {
            base
        };
        self.columns.iter().enumerate().find_map(|(i, (name, c))| {
            let p = match c {
                Column::Meta(p) => (*p).to_owned(),
                Column::Subject(k) => format!("subject.{k}"),
                Column::Justification(g) => format!("justifications.{g}"),
                Column::Field { group, key } => format!("groups.{group}.{key}"),
            };
            (p == base).then(|| (i + 1, name.clone()))
        })
    }
}

fn header(names: &csv::StringRecord) -> Result<CsvColumns, Vec<DocError>> {
    let mut errors = Vec::new();
    let mut columns = Vec::new();
    for (i, raw) in names.iter().enumerate() {
        let name = if i == 0 {
            raw.trim_start_matches('\u{feff}')
        } else {
            raw
        }
        .trim();
        let err = |message: String| DocError {
            line: Some(1),
            field: Some(FieldRef::Column {
                index: i + 1,
                name: is_name(name).then(|| name.to_owned()),
            }),
            message,
        };
        let column = if let Some((_, path)) = CSV_META_COLUMNS.iter().find(|(c, _)| *c == name) {
            Column::Meta(path)
        } else if let Some(fact) = name.strip_prefix("subject.") {
            match SUBJECT_KEYS.iter().find(|k| **k == fact) {
                Some(k) => Column::Subject(k),
                None => {
                    errors.push(err(format!(
                        "unknown subject fact (allowed: {})",
                        SUBJECT_KEYS.join(", ")
                    )));
                    continue;
                }
            }
        } else if let Some(group) = name.strip_prefix("justification.") {
            if !is_name(group) {
                errors.push(err("expected `justification.<group>`".into()));
                continue;
            }
            Column::Justification(group.to_owned())
        } else {
            match name.rsplit_once('.') {
                Some((group, key)) if is_name(group) && is_name(key) => Column::Field {
                    group: group.to_owned(),
                    key: key.to_owned(),
                },
                _ => {
                    let message = if name.is_empty() {
                        "empty column name".to_owned()
                    } else {
                        "not a known column and not `group.field` (is the header row missing?)".to_owned()
                    };
                    errors.push(err(message));
                    continue;
                }
            }
        };
        let repeatable = matches!(column, Column::Field { .. });
        if !repeatable && columns.iter().any(|(_, c)| *c == column) {
            errors.push(err(
                "this column appears twice; only `group.field` columns may repeat".into(),
            ));
            continue;
        }
        columns.push((name.to_owned(), column));
    }
    if errors.is_empty() {
        Ok(CsvColumns { columns })
    } else {
        Err(errors)
    }
}

/// Guesses the delimiter from the header line: `;` (as Dutch spreadsheet
/// exports write) when the header holds `;` and no `,`.
fn delimiter(text: &str) -> u8 {
    let first = text.lines().next().unwrap_or_default();
    if first.contains(';') && !first.contains(',') {
        b';'
    } else {
        b','
    }
}

fn csv_error(e: &csv::Error) -> DocError {
    let line = e.position().map(|p| p.line() as usize);
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("the row has {len} cells, the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8 text".into(),
        _ => "unreadable CSV".into(),
    };
    DocError {
        line,
        field: None,
        message,
    }
}

/// A CSV row being turned into the JSON document it stands for.
#[derive(Default)]
struct RowDocument {
    top: Vec<(String, Json)>,
    recipient: Vec<(String, Json)>,
    hardheidsclausule: Vec<(String, Json)>,
    subject: Vec<(String, Json)>,
    justifications: Vec<(String, Json)>,
    groups: Vec<(String, Vec<(String, Json)>)>,
}

impl RowDocument {
    fn field(&mut self, group: &str, key: &str, value: Json) {
        let i = match self.groups.iter().position(|(g, _)| g == group) {
            Some(i) => i,
            None => {
                self.groups.push((group.to_owned(), Vec::new()));
                self.groups.len() - 1
            }
        };
        let fields = &mut self.groups[i].1;
        match fields.iter_mut().find(|(k, _)| k == key) {
            Some((_, Json::Arr(items))) => items.push(value),
            Some((_, existing)) => {
                let first = std::mem::replace(existing, Json::Null);
                *existing = Json::Arr(vec![first, value]);
            }
            None => fields.push((key.to_owned(), value)),
        }
    }

    fn into_json(self) -> Json {
        let mut doc = self.top;
        for (key, entries) in [
            ("recipient", self.recipient),
            ("hardheidsclausule", self.hardheidsclausule),
            ("subject", self.subject),
            ("justifications", self.justifications),
        ] {
            if !entries.is_empty() {
                doc.push((key.to_owned(), Json::Obj(entries)));
            }
        }
        if !self.groups.is_empty() {
            let groups = self.groups.into_iter().map(|(g, f)| (g, Json::Obj(f))).collect();
            doc.push(("groups".to_owned(), Json::Obj(groups)));
        }
        Json::Obj(doc)
    }
}

/// A CSV row as the JSON document it stands for.
fn row_document(columns: &CsvColumns, row: &csv::StringRecord) -> Json {
    let mut doc = RowDocument::default();
    for ((_, column), cell) in columns.columns.iter().zip(row.iter()) {
        if cell.is_empty() {
            continue;
        }
        match column {
            Column::Meta(path) => {
                let value = Json::Str(cell.trim().to_owned());
                match path.split_once('.') {
                    Some(("recipient", key)) => doc.recipient.push((key.to_owned(), value)),
                    Some((_, key)) => doc
                        .hardheidsclausule
                        .push((key.to_owned(), Json::Str(cell.to_owned()))),
                    None => doc.top.push(((*path).to_owned(), value)),
                }
            }
            Column::Subject(k) => {
                let value = match (*k, cell.trim()) {
                    ("enrolled", "true") => Json::Bool(true),
                    ("enrolled", "false") => Json::Bool(false),
                    (_, v) => Json::Str(v.to_owned()),
                };
                doc.subject.push(((*k).to_owned(), value));
            }
            Column::Justification(g) => doc.justifications.push((g.clone(), Json::Str(cell.to_owned()))),
            Column::Field { group, key } => doc.field(group, key, Json::Str(cell.to_owned())),
        }
    }
    doc.into_json()
}

pub(super) fn parse_csv(text: &str) -> Result<Vec<(Option<usize>, Parsed)>, Vec<DocError>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter(text))
        .flexible(false)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let columns = match records.next() {
        Some(Ok(h)) => Rc::new(header(&h)?),
        Some(Err(e)) => return Err(vec![csv_error(&e)]),
        None => {
            return Err(vec![DocError {
                line: None,
                field: None,
                message: "the file is empty (expected a header row)".into(),
            }]);
        }
    };
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for record in records {
        match record {
            Ok(row) => {
                if row.iter().all(str::is_empty) {
                    continue;
                }
                let line = row.position().map(|p| p.line() as usize);
                docs.push((line, Parsed::Csv(row_document(&columns, &row), columns.clone())));
            }
            Err(e) => errors.push(csv_error(&e)),
        }
    }
    if errors.is_empty() { Ok(docs) } else { Err(errors) }
}
