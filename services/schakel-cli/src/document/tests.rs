//! Document files: each format parses a complete example; each
//! malformation is named by line and field, and never echoes the value.

use super::*;

/// The example of docs/document-format.md.
const EXAMPLE: &str = include_str!("../../../../docs/examples/overgangsdocument.json");
/// The JSON Schema of the document shape.
const SCHEMA: &str = include_str!("../../../../docs/schemas/overgangsdocument.schema.json");

/// The document format guide.
const GUIDE: &str = include_str!("../../../../docs/document-format.md");

const BSN: &str = "999990019";

/// The fenced code block of `lang` that follows `heading` in the guide.
fn guide_block(heading: &str, lang: &str) -> &'static str {
    let at = GUIDE
        .find(heading)
        .unwrap_or_else(|| panic!("no heading {heading:?}"));
    let fence = format!("```{lang}\n");
    let start = at
        + GUIDE[at..]
            .find(&fence)
            .unwrap_or_else(|| panic!("no {lang} block"))
        + fence.len();
    let len = GUIDE[start..]
        .find("```")
        .unwrap_or_else(|| panic!("unclosed block"));
    &GUIDE[start..start + len]
}

fn only(text: &str, format: Format) -> Submission {
    let mut docs = parse_submissions(text, format).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(docs.len(), 1);
    docs.remove(0)
}

fn errors(text: &str, format: Format) -> Vec<DocError> {
    match parse_submissions(text, format) {
        Ok(d) => panic!("parsed {} documents", d.len()),
        Err(e) => e,
    }
}

/// Exactly one error, at `line` and `field`, without `secret` in it.
fn one_error(text: &str, format: Format, line: Option<usize>, field: &str, secret: &str) -> DocError {
    let errs = errors(text, format);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    let e = errs.into_iter().next().unwrap_or_else(|| unreachable!());
    assert_eq!(e.line, line, "{e}");
    let shown = e.to_string();
    assert!(shown.contains(field), "{shown:?} does not name {field:?}");
    assert!(!shown.contains(secret), "{shown:?} echoes the value");
    e
}

fn group<'a>(r: &'a pb::SubmitRequest, name: &str) -> &'a pb::FieldGroup {
    r.groups
        .iter()
        .find(|g| g.name == name)
        .unwrap_or_else(|| panic!("no group {name}"))
}

fn values(g: &pb::FieldGroup, key: &str) -> Vec<String> {
    g.fields
        .iter()
        .filter(|f| f.key == key)
        .map(|f| f.value.clone())
        .collect()
}

#[test]
fn the_documented_example_parses_completely() {
    let d = only(EXAMPLE, Format::Json);
    let r = &d.request;
    assert_eq!(d.line, None);
    assert!(!d.derived_key);
    assert_eq!(r.idempotency_key, "roc-demo-lob-2026-0042");
    assert_eq!(r.purpose, "handover.school_to_gemeente");
    let recipient = r.recipient.as_ref().unwrap();
    assert_eq!(recipient.oin, "00000001999990014000");
    assert_eq!(recipient.function, pb::FunctionKind::Participatiewet as i32);
    let s = r.subject.as_ref().unwrap();
    assert_eq!(s.bsn, BSN);
    assert_eq!(
        s.date_of_birth,
        Some(pb::Date {
            year: 2006,
            month: 4,
            day: 12
        })
    );
    assert_eq!(s.school_type, pb::SchoolType::Mbo as i32);
    assert_eq!(s.startkwalificatie, pb::Startkwalificatie::Achieved as i32);
    assert!(s.diploma_date.is_some() && s.leaving_date.is_some());
    assert!(!s.enrolled);
    assert_eq!(r.return_to_education, pb::ReturnToEducation::NotPossible as i32);
    assert_eq!(r.consent_id, "0195a1b2-3c4d-7e5f-8a6b-7c8d9e0f1a2b");
    assert_eq!(r.client_reference, "LOB-2026-0042");
    // Every group handover.school_to_gemeente allows (policy/catalogue.toml).
    let names: Vec<&str> = r.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "identity",
            "contact.youth",
            "contact.school",
            "school_career",
            "skills",
            "wishes",
            "support_needs",
            "development"
        ]
    );
    assert_eq!(values(group(r, "identity"), "surname"), ["Testjongere"]);
    assert_eq!(
        values(group(r, "skills"), "certificates"),
        ["VCA Basis", "Heftruckcertificaat"],
        "a list is a repeated key, in order"
    );
    assert!(!r.hardheidsclausule);
}

#[test]
fn the_guide_shows_the_tested_example_and_a_csv_that_parses() {
    let shown: serde_json::Value =
        serde_json::from_str(guide_block("### A complete overgangsdocument", "json"))
            .expect("the guide's example is JSON");
    let file: serde_json::Value = serde_json::from_str(EXAMPLE).expect("the example file is JSON");
    assert_eq!(
        shown, file,
        "docs/document-format.md and docs/examples/overgangsdocument.json differ"
    );

    let csv = guide_block("## CSV", "csv");
    let docs = parse_submissions(csv, Format::Csv).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(docs.len(), 2);
    assert_eq!(
        values(group(&docs[0].request, "skills"), "certificates"),
        ["VCA Basis", "Heftruckcertificaat"]
    );
    assert!(docs[1].request.groups.iter().all(|g| g.name != "skills"));
}

/// Every field of the example's catalogue groups is a catalogue field.
#[test]
fn the_example_uses_only_catalogue_fields() {
    let catalogue = include_str!("../../../../policy/catalogue.toml");
    let d = only(EXAMPLE, Format::Json);
    for g in &d.request.groups {
        let start = catalogue
            .find(&format!("id = \"{}\"", g.name))
            .unwrap_or_else(|| panic!("{} is not in the catalogue", g.name));
        let section = &catalogue[start..];
        let end = section[1..]
            .find("[[group]]")
            .map(|i| i + 1)
            .unwrap_or(section.len());
        for f in &g.fields {
            assert!(
                section[..end].contains(&format!("name = \"{}\"", f.key)),
                "{}.{} is not a catalogue field",
                g.name,
                f.key
            );
        }
    }
}

#[test]
fn the_schema_lists_the_keys_the_parser_accepts() {
    let schema: serde_json::Value = serde_json::from_str(SCHEMA).expect("the schema is JSON");
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    let keys = |v: &serde_json::Value| -> Vec<String> {
        let mut k: Vec<String> = v
            .as_object()
            .expect("properties is an object")
            .keys()
            .cloned()
            .collect();
        k.sort();
        k
    };
    let sorted = |s: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = s.iter().map(|x| (*x).to_owned()).collect();
        v.sort();
        v
    };
    assert_eq!(keys(&schema["properties"]), sorted(TOP_LEVEL_KEYS));
    assert_eq!(
        keys(&schema["properties"]["subject"]["properties"]),
        sorted(SUBJECT_KEYS)
    );
    assert_eq!(
        keys(&schema["properties"]["recipient"]["properties"]),
        sorted(RECIPIENT_KEYS)
    );
    assert_eq!(schema["additionalProperties"], false);
    // The enums in the schema are the parser's names.
    let names_of = |t: &[&str]| serde_json::json!(t);
    let table = |t: Table<pb::SchoolType>| t.iter().map(|(n, _)| *n).collect::<Vec<_>>();
    assert_eq!(
        schema["properties"]["subject"]["properties"]["school_type"]["enum"],
        names_of(&table(names::SCHOOL_TYPES))
    );
    assert_eq!(
        schema["properties"]["subject"]["properties"]["startkwalificatie"]["enum"],
        serde_json::json!(
            names::STARTKWALIFICATIE
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
        )
    );
    assert_eq!(
        schema["properties"]["return_to_education"]["enum"],
        serde_json::json!(
            names::RETURN_TO_EDUCATION
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
        )
    );
}

const LINE_DOC: &str = r#"{"purpose":"handover.school_to_gemeente","recipient":{"oin":"00000001999990014000"},"subject":{"bsn":"999990019","date_of_birth":"2006-04-12","school_type":"mbo","diploma_date":"2026-01-30","startkwalificatie":"achieved"},"consent_id":"0195a1b2-3c4d-7e5f-8a6b-7c8d9e0f1a2b","groups":{"identity":{"bsn":"999990019","surname":"Testjongere"},"skills":{"certificates":["VCA Basis","Heftruckcertificaat"]}}}"#;

fn jsonl(lines: &[&str]) -> String {
    lines.join("\n")
}

#[test]
fn json_lines_parse_one_document_per_line_and_skip_blank_lines() {
    let other = LINE_DOC.replace("999990019", "999990925");
    let text = jsonl(&[LINE_DOC, "", &other, "   "]);
    let docs = parse_submissions(&text, Format::Jsonl).unwrap();
    assert_eq!(
        docs.iter().map(|d| d.line).collect::<Vec<_>>(),
        [Some(1), Some(3)]
    );
    assert!(docs.iter().all(|d| d.derived_key));
    assert_eq!(docs[1].request.subject.as_ref().unwrap().bsn, "999990925");
    assert_eq!(
        values(group(&docs[0].request, "skills"), "certificates"),
        ["VCA Basis", "Heftruckcertificaat"]
    );
}

#[test]
fn the_list_form_of_groups_and_justifications_mirrors_the_api() {
    let text = r#"{"purpose":"handover.doorstroompunt_to_gemeente","recipient":{"oin":"00000001999990014000"},"subject":{"bsn":"999990019"},"groups":[{"name":"doorstroompunt.history","fields":[{"key":"guidance_history","value":"Twee gesprekken in 2025"},{"key":"guidance_history","value":"Aangemeld bij jongerenloket"}]}],"justifications":[{"group":"doorstroompunt.history","fields":["guidance_history"],"justification":"Nodig om de begeleiding zonder onderbreking voort te zetten"}],"hardheidsclausule":{"justification":"Rondt een bbl-traject af dat voor de 27e verjaardag begon"}}"#;
    let r = only(text, Format::Json).request;
    assert_eq!(r.groups[0].name, "doorstroompunt.history");
    assert_eq!(r.groups[0].fields.len(), 2);
    assert_eq!(r.justifications[0].fields, ["guidance_history"]);
    assert!(r.hardheidsclausule);
    assert!(r.hardheidsclausule_justification.starts_with("Rondt"));
}

const CSV_HEADER: &str = "idempotency_key,purpose,recipient_oin,consent_id,subject.bsn,subject.date_of_birth,subject.school_type,subject.diploma_date,subject.startkwalificatie,subject.enrolled,identity.bsn,identity.surname,contact.youth.postcode,skills.certificates,skills.certificates,justification.skills";

#[test]
fn csv_parses_one_document_per_row_with_repeated_columns() {
    let text = format!(
        "{CSV_HEADER}\n\
         k-1,handover.school_to_gemeente,00000001999990014000,0195a1b2-3c4d-7e5f-8a6b-7c8d9e0f1a2b,999990019,2006-04-12,mbo,2026-01-30,achieved,false,999990019,Testjongere,9711 AB,VCA Basis,Heftruckcertificaat,\n\
         ,handover.school_to_gemeente,00000001999990014000,,999990925,2007-09-01,pro,,not_achieved,true,999990925,\"Test, Persoon\",,,,Nodig voor de begeleiding\n"
    );
    let docs = parse_submissions(&text, Format::Csv).unwrap();
    assert_eq!(docs.len(), 2);
    let (a, b) = (&docs[0], &docs[1]);
    assert_eq!((a.line, b.line), (Some(2), Some(3)));
    assert_eq!(a.request.idempotency_key, "k-1");
    assert!(!a.derived_key && b.derived_key);
    assert_eq!(
        a.request.recipient.as_ref().unwrap().function,
        pb::FunctionKind::Participatiewet as i32
    );
    assert_eq!(
        values(group(&a.request, "skills"), "certificates"),
        ["VCA Basis", "Heftruckcertificaat"]
    );
    assert_eq!(
        values(group(&a.request, "contact.youth"), "postcode"),
        ["9711 AB"]
    );
    assert!(a.request.justifications.is_empty(), "an empty cell is absent");
    // Empty cells are absent fields; a group with only empty cells is absent.
    assert!(
        b.request
            .groups
            .iter()
            .all(|g| g.name != "skills" && g.name != "contact.youth")
    );
    assert_eq!(
        values(group(&b.request, "identity"), "surname"),
        ["Test, Persoon"]
    );
    assert!(b.request.subject.as_ref().unwrap().enrolled);
    assert_eq!(b.request.justifications[0].group, "skills");
    assert!(b.request.consent_id.is_empty());
}

#[test]
fn csv_with_semicolons_as_dutch_spreadsheets_write_it() {
    let text = "\u{feff}purpose;recipient_oin;subject.bsn;identity.bsn;wishes.sector\r\n\
                handover.school_to_gemeente;00000001999990014000;999990019;999990019;Logistiek, zorg\r\n";
    let d = only(text, Format::Csv);
    assert_eq!(values(group(&d.request, "wishes"), "sector"), ["Logistiek, zorg"]);
}

#[test]
fn the_derived_key_is_stable_and_follows_the_content() {
    let a = only(LINE_DOC, Format::Jsonl);
    let b = only(LINE_DOC, Format::Jsonl);
    assert_eq!(a.request.idempotency_key, b.request.idempotency_key);
    assert_eq!(a.request.idempotency_key.len(), 64);
    let changed = only(&LINE_DOC.replace("Testjongere", "Testjongeren"), Format::Jsonl);
    assert_ne!(a.request.idempotency_key, changed.request.idempotency_key);
    // The key is a hash, not the content.
    assert!(!a.request.idempotency_key.contains(BSN));
}

#[test]
fn the_same_document_twice_in_a_batch_is_refused() {
    let e = one_error(
        &jsonl(&[LINE_DOC, LINE_DOC]),
        Format::Jsonl,
        Some(2),
        "line 1",
        BSN,
    );
    assert!(e.message.contains("same document"), "{e}");
}

// --- malformations, one per case ---------------------------------------------

#[test]
fn bad_json_on_line_3_names_line_3() {
    let bad = LINE_DOC.replace(r#""surname":"Testjongere""#, r#""surname":"Testjongere" "x""#);
    let text = jsonl(&[LINE_DOC, &LINE_DOC.replace("999990019", "999990925"), &bad]);
    let e = one_error(
        &text,
        Format::Jsonl,
        Some(3),
        "invalid JSON at column",
        "Testjongere",
    );
    assert!(e.message.contains("expected"), "{e}");
}

#[test]
fn bad_json_in_a_single_document_names_its_line() {
    let bad = EXAMPLE.replace(r#""city": "Groningen","#, r#""city": "Groningen""#);
    // The error is found where the next key starts, after the missing comma.
    let e = one_error(&bad, Format::Json, Some(32), "invalid JSON", "Groningen");
    assert!(e.message.contains("column"), "{e}");
}

#[test]
fn an_unknown_top_level_key_is_named() {
    let text = LINE_DOC.replacen('{', r#"{"naam":"Jip Testjongere","#, 1);
    let e = one_error(&text, Format::Jsonl, Some(1), "field `naam`", "Testjongere");
    assert!(e.message.contains("unknown key"), "{e}");
}

#[test]
fn an_unknown_key_that_looks_like_data_is_not_echoed() {
    let text = LINE_DOC.replacen('{', r#"{"Jip Testjongere":"x","#, 1);
    one_error(&text, Format::Jsonl, Some(1), "unknown key", "Jip");
}

#[test]
fn a_duplicate_key_is_refused_not_collapsed() {
    let text = LINE_DOC.replace(
        r#""surname":"Testjongere""#,
        r#""surname":"Testjongere","surname":"Anders""#,
    );
    let e = one_error(&text, Format::Jsonl, Some(1), "duplicate key `surname`", "Anders");
    assert!(!e.to_string().contains("Testjongere"));
}

#[test]
fn a_bad_date_names_the_field_not_the_value() {
    let text = LINE_DOC.replace("2006-04-12", "2006-02-30");
    one_error(
        &text,
        Format::Jsonl,
        Some(1),
        "field `subject.date_of_birth`",
        "2006-02-30",
    );
    let text = LINE_DOC.replace("2006-04-12", "12-04-2006");
    one_error(
        &text,
        Format::Jsonl,
        Some(1),
        "subject.date_of_birth",
        "12-04-2006",
    );
}

#[test]
fn an_unknown_enum_value_lists_the_allowed_ones() {
    let text = LINE_DOC.replace(r#""school_type":"mbo""#, r#""school_type":"havo""#);
    let e = one_error(
        &text,
        Format::Jsonl,
        Some(1),
        "field `subject.school_type`",
        "havo",
    );
    assert!(e.message.contains("pro, vso, mbo"), "{e}");
}

#[test]
fn a_bsn_as_a_number_is_refused_without_echo() {
    let text = LINE_DOC.replace(
        r#""bsn":"999990019","date_of_birth""#,
        r#""bsn":999990019,"date_of_birth""#,
    );
    one_error(&text, Format::Jsonl, Some(1), "field `subject.bsn`", BSN);
}

#[test]
fn a_nested_object_as_field_value_is_refused() {
    let text = LINE_DOC.replace(r#""surname":"Testjongere""#, r#""surname":{"x":"Testjongere"}"#);
    one_error(
        &text,
        Format::Jsonl,
        Some(1),
        "field `groups.identity.surname`",
        "Testjongere",
    );
}

#[test]
fn missing_required_keys_are_each_named() {
    let errs = errors(r#"{"client_reference":"x"}"#, Format::Json);
    let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
    for key in ["purpose", "recipient", "subject", "groups"] {
        assert!(
            shown
                .iter()
                .any(|e| e.contains(&format!("field `{key}`: required"))),
            "{shown:?}"
        );
    }
}

#[test]
fn a_csv_column_that_is_not_group_field_is_named_by_position() {
    let text = "purpose,recipient_oin,subject.bsn,postcode\nhandover.school_to_gemeente,00000001999990014000,999990019,9711 AB\n";
    let e = one_error(text, Format::Csv, Some(1), "column 4", "9711");
    assert!(e.message.contains("group.field"), "{e}");
}

#[test]
fn a_csv_without_header_row_does_not_echo_the_first_row() {
    let text = "handover.school_to_gemeente,00000001999990014000,999990019,Jip Testjongere\n";
    let errs = errors(text, Format::Csv);
    for e in &errs {
        let s = e.to_string();
        assert!(!s.contains(BSN) && !s.contains("Testjongere"), "{s}");
    }
    assert!(errs.iter().any(|e| e.to_string().contains("header row missing")));
}

#[test]
fn a_bad_date_in_csv_names_row_line_and_column() {
    let text = format!(
        "{CSV_HEADER}\n\
         k-1,handover.school_to_gemeente,00000001999990014000,,999990019,2006-04-12,mbo,,,,999990019,A,,,,\n\
         k-2,handover.school_to_gemeente,00000001999990014000,,999990925,31-12-2006,mbo,,,,999990925,B,,,,\n"
    );
    let e = one_error(
        &text,
        Format::Csv,
        Some(3),
        "column 6 `subject.date_of_birth`",
        "31-12-2006",
    );
    assert!(e.message.contains("YYYY-MM-DD"), "{e}");
}

#[test]
fn an_unknown_enum_value_in_csv_names_the_column() {
    let text = "purpose,recipient_oin,subject.startkwalificatie,identity.bsn\n\
                handover.school_to_gemeente,00000001999990014000,ja,999990019\n";
    one_error(
        text,
        Format::Csv,
        Some(2),
        "column 3 `subject.startkwalificatie`",
        "ja",
    );
}

#[test]
fn a_bad_boolean_in_csv_names_the_column() {
    let text = "purpose,recipient_oin,subject.enrolled,identity.bsn\n\
                handover.school_to_gemeente,00000001999990014000,ja,999990019\n";
    let e = one_error(text, Format::Csv, Some(2), "column 3 `subject.enrolled`", "ja");
    assert!(e.message.contains("true or false"), "{e}");
}

#[test]
fn a_csv_row_with_too_few_cells_names_its_line() {
    let text = "purpose,recipient_oin,identity.bsn\nhandover.school_to_gemeente,00000001999990014000\n";
    let e = one_error(text, Format::Csv, Some(2), "2 cells", "00000001999990014000");
    assert!(e.message.contains("header has 3"), "{e}");
}

#[test]
fn a_repeated_metadata_column_is_refused() {
    let text = "purpose,purpose,recipient_oin,identity.bsn\na,b,00000001999990014000,999990019\n";
    one_error(text, Format::Csv, Some(1), "column 2 `purpose`", "999990019");
}

#[test]
fn an_unknown_subject_column_is_named() {
    let text = "purpose,recipient_oin,subject.naam,identity.bsn\na,00000001999990014000,Jip,999990019\n";
    one_error(text, Format::Csv, Some(1), "column 3 `subject.naam`", "Jip");
}

#[test]
fn a_hardheidsclausule_without_justification_is_named() {
    for h in [r#"{}"#, r#"{"justification":null}"#] {
        let text = LINE_DOC.replacen('{', &format!(r#"{{"hardheidsclausule":{h},"#), 1);
        one_error(
            &text,
            Format::Jsonl,
            Some(1),
            "field `hardheidsclausule.justification`",
            BSN,
        );
    }
}

#[test]
fn a_csv_row_without_recipient_names_the_recipient_column() {
    let text = "purpose,recipient_oin,subject.bsn,identity.bsn\n\
                handover.school_to_gemeente,,999990019,999990019\n";
    let e = one_error(text, Format::Csv, Some(2), "column 2 `recipient_oin`", BSN);
    assert_eq!(e.message, "required");
}

#[test]
fn an_array_in_a_json_file_points_to_jsonl() {
    let errs = errors(&format!("[{LINE_DOC}]"), Format::Json);
    assert!(errs[0].message.contains(".jsonl"), "{:?}", errs[0]);
}

#[test]
fn the_guides_expertise_examples_parse() {
    let request = guide_block("## Expertise files", "json");
    let f = parse_expertise_request(request).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(f.question.is_some());
    let advice = guide_block("`schakel expertise advise ID", "json");
    let a = parse_advice(advice).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(a.justifications.len(), 1);
}

#[test]
fn expertise_and_advice_files_parse() {
    let f = parse_expertise_request(
        r#"{"subject":{"bsn":"999990019","date_of_birth":"2006-04-12","startkwalificatie":"not_achieved"},"groups":{"identity":{"bsn":"999990019"}},"question":"Is terugkeer naar het onderwijs mogelijk?"}"#,
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        f.subject.startkwalificatie,
        pb::Startkwalificatie::NotAchieved as i32
    );
    assert_eq!(f.groups.len(), 1);
    assert!(f.question.is_some());

    let a = parse_advice(
        r#"{"groups":{"school_career":{"level":"entree"}},"justifications":{"school_career":"Nodig om het niveau van een vervolgopleiding te bepalen"}}"#,
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(a.groups[0].name, "school_career");
    assert_eq!(a.justifications[0].group, "school_career");

    let Err(e) = parse_advice(r#"{"groups":{},"question":"Jip"}"#) else {
        panic!("an unknown key was accepted")
    };
    assert!(e[0].to_string().contains("field `question`"), "{:?}", e);
}
