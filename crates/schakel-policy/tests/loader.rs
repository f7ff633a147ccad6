//! Invalid policy files are refused with file, position and reason: one
//! test per class of problem.

mod common;

use common::FILES;
use schakel_policy::{PolicyIssue, load, policy_version};

/// The 1-based line of the first occurrence of `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not in text"));
    text[..at].matches('\n').count() + 1
}

/// Replace one file of the committed policy and load; return the issues.
fn issues_with(name: &str, text: &str) -> Vec<PolicyIssue> {
    let mut files: Vec<(&str, &str)> = FILES.iter().copied().filter(|f| f.0 != name).collect();
    files.push((name, text));
    match load(&files) {
        Ok(_) => panic!("{name} should be refused"),
        Err(e) => {
            // The Display form names file:line:column for every issue.
            let shown = e.to_string();
            for i in e.issues() {
                assert!(shown.contains(&i.to_string()));
            }
            e.issues().to_vec()
        }
    }
}

fn assert_issue(issues: &[PolicyIssue], file: &str, line: usize, reason: &str) {
    assert!(
        issues.iter().any(|i| i.file == file
            && i.line == Some(line)
            && i.column.is_some()
            && i.message.contains(reason)),
        "expected {file}:{line}: …{reason}…, got:\n{}",
        issues
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn file(name: &str) -> &'static str {
    FILES.iter().find(|f| f.0 == name).map(|f| f.1).unwrap()
}

#[test]
fn committed_policy_loads() {
    let p = common::policy();
    assert_eq!(p.purposes().len(), 6);
    assert_eq!(p.groups().len(), 9);
    assert_eq!(p.version().len(), 64);
}

#[test]
fn toml_syntax_error_names_line_and_column() {
    let text = "[[purpose]]\nid = \"a.b\"\ntitle = \n";
    let issues = issues_with("purposes.toml", text);
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].file, "purposes.toml");
    assert_eq!(issues[0].line, Some(3));
    assert!(issues[0].column.is_some());
}

#[test]
fn unknown_key_is_refused() {
    let text = file("purposes.toml").replacen("max_age = 27\n", "max_age = 27\nmaximum_age = 30\n", 1);
    let issues = issues_with("purposes.toml", &text);
    assert_issue(
        &issues,
        "purposes.toml",
        line_of(&text, "maximum_age"),
        "unknown field `maximum_age`",
    );
}

#[test]
fn unknown_top_level_table_is_refused() {
    let text = format!("{}\n[[purposes]]\nid = \"x.y\"\n", file("purposes.toml"));
    let issues = issues_with("purposes.toml", &text);
    assert_issue(
        &issues,
        "purposes.toml",
        line_of(&text, "[[purposes]]"),
        "unknown field `purposes`",
    );
}

#[test]
fn wrong_type_is_refused() {
    let text = file("purposes.toml").replacen("max_age = 27", "max_age = \"27\"", 1);
    let issues = issues_with("purposes.toml", &text);
    assert_issue(&issues, "purposes.toml", line_of(&text, "\"27\""), "invalid type");
}

#[test]
fn bad_date_is_refused() {
    let text = file("purposes.toml").replacen("\"2026-01-01\"", "\"2026-02-30\"", 1);
    let issues = issues_with("purposes.toml", &text);
    assert_issue(&issues, "purposes.toml", line_of(&text, "2026-02-30"), "");
}

#[test]
fn unknown_function_is_refused() {
    let text = file("purposes.toml").replacen(
        "recipient_functions = [\"participatiewet\"]",
        "recipient_functions = [\"werk\"]",
        1,
    );
    let issues = issues_with("purposes.toml", &text);
    assert_issue(&issues, "purposes.toml", line_of(&text, "\"werk\""), "werk");
}

#[test]
fn purpose_without_legal_basis_is_refused() {
    // Missing key.
    let text = file("purposes.toml").replacen("legal_basis = \"A pro-", "# legal_basis = \"A pro-", 1);
    let issues = issues_with("purposes.toml", &text);
    assert!(
        issues
            .iter()
            .any(|i| i.message.contains("missing field `legal_basis`") && i.line.is_some()),
        "{issues:?}"
    );
    // Empty text.
    let original = file("purposes.toml");
    let start = original.find("legal_basis = \"A pro-").unwrap();
    let end = start + original[start..].find('\n').unwrap();
    let text = format!("{}legal_basis = \"  \"{}", &original[..start], &original[end..]);
    let issues = issues_with("purposes.toml", &text);
    assert_issue(
        &issues,
        "purposes.toml",
        line_of(&text, "legal_basis = \"  \""),
        "has no legal basis",
    );
    // No article.
    let text = file("purposes.toml").replacen(
        "legal_refs = [\"Participatiewet art. 7a lid 2\"]",
        "legal_refs = []",
        1,
    );
    let issues = issues_with("purposes.toml", &text);
    assert_issue(
        &issues,
        "purposes.toml",
        line_of(&text, "legal_refs = []"),
        "names no article",
    );
}

#[test]
fn overlapping_validity_is_refused() {
    let original = file("purposes.toml");
    let block = original.split("[[purpose]]").nth(4).unwrap(); // expertise.request
    assert!(block.contains("expertise.request"));
    let again = block.replacen("valid_from = \"2026-01-01\"", "valid_from = \"2027-01-01\"", 1);
    let text = format!("{original}\n[[purpose]]{again}");
    let issues = issues_with("purposes.toml", &text);
    let second = text.rfind("id = \"expertise.request\"").unwrap();
    let line = text[..second].matches('\n').count() + 1;
    assert!(
        issues
            .iter()
            .any(|i| i.message.contains("must not overlap") && i.line.is_some_and(|l| l >= line - 1)),
        "{issues:?}"
    );
    // Closing the first version the day before makes it valid.
    let closed = original.replacen(
        "valid_from = \"2026-01-01\"\nsender_kinds = [\"gemeente\"]\nsender_functions = [\"participatiewet\"]",
        "valid_from = \"2026-01-01\"\nvalid_until = \"2026-12-31\"\nsender_kinds = [\"gemeente\"]\nsender_functions = [\"participatiewet\"]",
        1,
    );
    assert_ne!(closed, original);
    let text = format!("{closed}\n[[purpose]]{again}");
    let mut files: Vec<(&str, &str)> = FILES.iter().copied().filter(|f| f.0 != "purposes.toml").collect();
    files.push(("purposes.toml", &text));
    assert!(load(&files).is_ok());
}

#[test]
fn valid_until_before_valid_from_is_refused() {
    let text = file("purposes.toml").replacen(
        "valid_from = \"2026-01-01\"\n",
        "valid_from = \"2026-01-01\"\nvalid_until = \"2025-12-31\"\n",
        1,
    );
    let issues = issues_with("purposes.toml", &text);
    assert_issue(
        &issues,
        "purposes.toml",
        line_of(&text, "valid_until ="),
        "before valid_from",
    );
    // Only the real problem is reported, not every reference to the purpose.
    assert_eq!(issues.len(), 1, "{issues:?}");
}

#[test]
fn unknown_group_is_refused() {
    let text = file("catalogue.toml").replacen("id = \"wishes\"", "id = \"dreams\"", 1);
    let issues = issues_with("catalogue.toml", &text);
    assert_issue(&issues, "catalogue.toml", line_of(&text, "\"dreams\""), "group");
}

#[test]
fn reference_to_unknown_purpose_is_refused() {
    let text = file("catalogue.toml").replacen(
        "purposes = [\"handover.school_to_gemeente\", \"support.during_school\", \"handover.doorstroompunt_to_gemeente\"]",
        "purposes = [\"handover.school_to_werkgever\"]",
        1,
    );
    let issues = issues_with("catalogue.toml", &text);
    assert_issue(
        &issues,
        "catalogue.toml",
        line_of(&text, "school_to_werkgever"),
        "unknown purpose handover.school_to_werkgever",
    );
}

#[test]
fn duplicate_group_is_refused() {
    let text = format!(
        "{}\n[[group]]\nid = \"wishes\"\ntitle = \"t\"\ntitle_nl = \"t\"\nclass = \"personal\"\npurposes = []\n",
        file("catalogue.toml")
    );
    let issues = issues_with("catalogue.toml", &text);
    let line = text
        .rfind("id = \"wishes\"")
        .map(|at| text[..at].matches('\n').count() + 1)
        .unwrap();
    assert_issue(&issues, "catalogue.toml", line, "defined twice");
}

#[test]
fn special_category_field_needs_a_legal_ground() {
    let text = file("catalogue.toml").replacen(
        "name = \"job_coach\"\ntype = \"boolean\"",
        "name = \"job_coach\"\ntype = \"boolean\"\nspecial_category = true",
        1,
    );
    let issues = issues_with("catalogue.toml", &text);
    assert_issue(
        &issues,
        "catalogue.toml",
        line_of(&text, "\"job_coach\""),
        "legal_ground (R16)",
    );
}

#[test]
fn forbidden_name_matching_a_catalogue_field_is_refused() {
    let text = file("forbidden.toml").replacen("names = [\"uwv\"", "names = [\"skills\", \"uwv\"", 1);
    let issues = issues_with("forbidden.toml", &text);
    assert_issue(
        &issues,
        "forbidden.toml",
        line_of(&text, "\"skills\""),
        "matches catalogue field skills.skills",
    );
}

#[test]
fn profile_that_widens_groups_is_refused() {
    let text = file("region-voorbeeld.toml").replacen(
        "\"support_needs\"]",
        "\"support_needs\", \"doorstroompunt.history\"]",
        1,
    );
    let issues = issues_with("region-voorbeeld.toml", &text);
    assert_issue(
        &issues,
        "region-voorbeeld.toml",
        line_of(&text, "\"doorstroompunt.history\""),
        "widens",
    );
}

#[test]
fn profile_that_lengthens_retention_is_refused() {
    let text = file("region-voorbeeld.toml").replacen("retention_months = 6", "retention_months = 36", 1);
    let issues = issues_with("region-voorbeeld.toml", &text);
    assert_issue(
        &issues,
        "region-voorbeeld.toml",
        line_of(&text, "retention_months = 36"),
        "widens",
    );
}

#[test]
fn profile_with_unknown_purpose_or_field_is_refused() {
    let text = file("region-voorbeeld.toml").replacen(
        "id = \"handover.school_to_gemeente\"",
        "id = \"handover.school_to_uwv\"",
        1,
    );
    let issues = issues_with("region-voorbeeld.toml", &text);
    assert_issue(
        &issues,
        "region-voorbeeld.toml",
        line_of(&text, "school_to_uwv"),
        "unknown purpose",
    );
    let text =
        file("region-voorbeeld.toml").replacen("contact.school.contact_phone", "contact.school.fax", 1);
    let issues = issues_with("region-voorbeeld.toml", &text);
    assert_issue(
        &issues,
        "region-voorbeeld.toml",
        line_of(&text, "contact.school.fax"),
        "unknown field",
    );
}

#[test]
fn all_problems_are_collected() {
    // Two files with parse errors: both are reported.
    let bad_purposes = file("purposes.toml").replacen("max_age = 27\n", "max_age = 27\nfoo = 1\n", 1);
    let bad_catalogue = file("catalogue.toml").replacen("class = \"personal\"", "class = \"secret\"", 1);
    let files = [
        ("catalogue.toml", bad_catalogue.as_str()),
        ("forbidden.toml", file("forbidden.toml")),
        ("purposes.toml", bad_purposes.as_str()),
    ];
    let e = load(&files).unwrap_err();
    let in_files: std::collections::BTreeSet<&str> = e.issues().iter().map(|i| i.file.as_str()).collect();
    assert_eq!(in_files, ["catalogue.toml", "purposes.toml"].into());
    // Several semantic problems in one pass.
    let text = file("region-voorbeeld.toml")
        .replacen("retention_months = 6", "retention_months = 36", 1)
        .replacen(
            "\"support_needs\"]",
            "\"support_needs\", \"doorstroompunt.history\"]",
            1,
        )
        .replacen("contact.school.contact_phone", "contact.school.fax", 1);
    assert_eq!(issues_with("region-voorbeeld.toml", &text).len(), 3);
}

#[test]
fn no_files_or_duplicate_names_are_refused() {
    assert!(load(&[]).is_err());
    let files = [FILES[0], FILES[0], FILES[1], FILES[2]];
    let e = load(&files).unwrap_err();
    assert!(e.issues().iter().any(|i| i.message.contains("twice")));
}

#[test]
fn version_is_a_content_hash_over_sorted_length_prefixed_files() {
    let v = policy_version(FILES);
    let mut reversed: Vec<(&str, &str)> = FILES.to_vec();
    reversed.reverse();
    assert_eq!(policy_version(&reversed), v, "order of the files does not matter");
    assert_eq!(common::policy().version(), v);
    let mut changed: Vec<(&str, &str)> = FILES.to_vec();
    let text = format!("{}\n# comment\n", FILES[0].1);
    changed[0].1 = &text;
    assert_ne!(policy_version(&changed), v, "any change changes the version");
    // Length prefixes keep file boundaries unambiguous.
    assert_ne!(policy_version(&[("a", "bc")]), policy_version(&[("ab", "c")]));
    assert_ne!(
        policy_version(&[("a", "b"), ("c", "")]),
        policy_version(&[("a", "bc")])
    );
}

#[test]
fn crates_stay_pure() {
    // No gRPC, SQL or async runtime in the domain and policy crates (DESIGN.md §2).
    for manifest in ["Cargo.toml", "../schakel-domain/Cargo.toml"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(manifest);
        let text = std::fs::read_to_string(path).unwrap();
        for banned in ["tonic", "sqlx", "tokio", "prost"] {
            assert!(!text.contains(banned), "{manifest} depends on {banned}");
        }
    }
}
