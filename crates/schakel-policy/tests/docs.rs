//! docs/policy.md is the generated rendering of policy/*.toml.

mod common;

#[test]
fn committed_policy_doc_matches_the_policy() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/policy.md");
    let generated = schakel_policy::render_markdown(&common::policy());
    if std::env::var_os("SCHAKEL_UPDATE_POLICY_DOC").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/policy.md is out of date: run SCHAKEL_UPDATE_POLICY_DOC=1 cargo test -p schakel-policy --test docs"
    );
}

#[test]
fn policy_doc_covers_every_purpose_group_and_field() {
    let p = common::policy();
    let doc = schakel_policy::render_markdown(&p);
    for purpose in p.purposes() {
        assert!(doc.contains(&format!("`{}`", purpose.id)));
        for r in &purpose.legal_refs {
            assert!(doc.contains(r.as_str()), "{r}");
        }
    }
    for g in p.groups().values() {
        for f in &g.fields {
            assert!(doc.contains(&format!("`{}.{}`", g.id, f.name)));
        }
    }
    assert!(doc.contains(p.version()));
}
