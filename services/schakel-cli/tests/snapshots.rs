//! Snapshot tests of real `schakel` invocations: each test starts a real hub
//! (SQLite, mutual TLS, demo region) on loopback, runs the built binary and
//! compares its exit code, standard output and standard error with a file in
//! `tests/snapshots/`. Random ids, timestamps, dates, hashes, ports and temp
//! paths are replaced by placeholders first.
//!
//! After a deliberate change of the output, rewrite the files with
//! `UPDATE_SNAPSHOTS=1 cargo test -p schakel-cli --test snapshots` and read
//! the diff.
//!
//! Every BSN here is a fictitious test number (9999…, elfproef).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use schakel_e2e::flow::ago;
use schakel_e2e::{Db, TestHub};
use serde_json::{Value, json};
use tokio::process::Command;

const GEMEENTE_OIN: &str = "00000001999990014000";
const BSN1: &str = "999990019";
const BSN2: &str = "999990925";
const BSN3: &str = "999992740";
const PURPOSE: &str = "handover.school_to_gemeente";
const GROUPS: &str =
    "identity,contact.youth,contact.school,school_career,skills,wishes,support_needs,development";

// ---------------------------------------------------------------- harness

/// A hub and a scratch directory (inside the hub's temp directory, removed
/// with it).
struct Env {
    t: TestHub,
}

impl Env {
    async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A hub with its configuration changed by `adjust` first.
    async fn start_with(adjust: impl FnOnce(&mut schakel_hub::HubConfig)) -> Self {
        let t = TestHub::start_with(Db::Sqlite, adjust).await.expect("sqlite hub");
        let env = Self { t };
        std::fs::create_dir_all(env.work()).expect("work dir");
        env
    }

    /// The test's temp directory (holds the dev environment too).
    fn root(&self) -> &Path {
        self.t.env.dir().parent().expect("dev dir has a parent")
    }

    fn work(&self) -> PathBuf {
        self.root().join("work")
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.work().join(name);
        std::fs::write(&p, text).expect("write document file");
        p
    }

    /// Runs `schakel --profile <party> --hub <hub> --user-id … --user-role …
    /// <rest>` and returns the output.
    async fn run(&self, party: &str, role: &str, rest: &[&str]) -> Output {
        let mut args: Vec<OsString> = vec![
            "--profile".into(),
            self.t.env.profile(party).into_os_string(),
            "--hub".into(),
            self.t.url().into(),
            "--user-id".into(),
            "u-4711".into(),
            "--user-role".into(),
            role.into(),
        ];
        args.extend(rest.iter().map(OsString::from));
        let run = Command::new(env!("CARGO_BIN_EXE_schakel"))
            .args(&args)
            .env_remove("SCHAKEL_PROFILE")
            .env_remove("SCHAKEL_HUB")
            .env_remove("SCHAKEL_USER_ID")
            .env_remove("SCHAKEL_USER_ROLE")
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output();
        tokio::time::timeout(Duration::from_secs(60), run)
            .await
            .unwrap_or_else(|_| panic!("schakel {args:?} did not finish within 60 s"))
            .expect("run schakel")
    }

    /// As the mbo school's loopbaanbegeleider.
    async fn school(&self, rest: &[&str]) -> Output {
        self.run("mbo-school", "loopbaanbegeleider", rest).await
    }

    /// As the gemeente's werkcoach (Participatiewet).
    async fn werkcoach(&self, rest: &[&str]) -> Output {
        self.run("gemeente-participatiewet", "werkcoach", rest).await
    }

    /// Records the youth's consent (as the school) and returns its id.
    async fn consent(&self, bsn: &str) -> String {
        let dob = date(ago(19, 30));
        let o = self
            .school(&[
                "--json",
                "consent",
                "record",
                "--bsn",
                bsn,
                "--birth-date",
                &dob,
                "--giver",
                "youth",
                "--method",
                "written",
                "--purpose",
                PURPOSE,
                "--recipient",
                GEMEENTE_OIN,
                "--groups",
                GROUPS,
            ])
            .await;
        assert_eq!(o.status.code(), Some(0), "consent record: {}", shown(&o));
        let v: Value = serde_json::from_slice(&o.stdout).expect("consent JSON");
        v["consent"]["consent_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no consent id in {v}"))
            .to_owned()
    }

    /// Compares `o` (for the command line `shown_args`) with the snapshot
    /// `name`, after normalising.
    fn snapshot(&self, name: &str, shown_args: &str, o: &Output) {
        let text = format!(
            "$ schakel {shown_args}\nexit code: {}\n--- stdout\n{}--- stderr\n{}",
            o.status
                .code()
                .map_or_else(|| "none".to_owned(), |c| c.to_string()),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr),
        );
        // SNAPSHOT_RAW=1 shows the output before normalising, to debug it.
        if std::env::var_os("SNAPSHOT_RAW").is_some() {
            eprintln!("=== raw {name}\n{text}");
        }
        let text = normalise(&text, self.root(), &self.t.url());
        assert_snapshot(name, &text);
    }
}

fn shown(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn date(d: Option<schakel_proto::v1::Date>) -> String {
    let d = d.expect("date");
    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
}

fn snapshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots")
}

/// Checks `actual` against `tests/snapshots/<name>.txt`, or writes it when
/// `UPDATE_SNAPSHOTS=1`.
fn assert_snapshot(name: &str, actual: &str) {
    let path = snapshot_dir().join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(snapshot_dir()).expect("snapshot dir");
        std::fs::write(&path, actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "no snapshot {} ({e}); run with UPDATE_SNAPSHOTS=1 to create it. Actual:\n{actual}",
            path.display()
        )
    });
    if expected != actual {
        let mut diff = String::new();
        let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
        for i in 0..e.len().max(a.len()) {
            match (e.get(i), a.get(i)) {
                (Some(x), Some(y)) if x == y => diff.push_str(&format!("  {x}\n")),
                (x, y) => {
                    if let Some(x) = x {
                        diff.push_str(&format!("- {x}\n"));
                    }
                    if let Some(y) = y {
                        diff.push_str(&format!("+ {y}\n"));
                    }
                }
            }
        }
        panic!(
            "snapshot {} differs (- expected, + actual); after a deliberate change rerun with UPDATE_SNAPSHOTS=1\n{diff}",
            path.display()
        );
    }
}

// ------------------------------------------------------------ normalising

/// Replaces what differs between runs: the temp directory, the hub address,
/// ports, UUIDs, SHA-256 hex (derived idempotency keys, policy versions),
/// RFC 3339 timestamps and dates.
fn normalise(text: &str, root: &Path, hub_url: &str) -> String {
    let root = root.display().to_string();
    let mut s = text.replace(hub_url, "[hub]").replace(&root, "[dir]");
    // The temp dir may also show through a symlink-free canonical path.
    if let Ok(canon) = std::fs::canonicalize(&root) {
        s = s.replace(&canon.display().to_string(), "[dir]");
    }
    let s = replace_ports(&s);
    scan(&s)
}

fn replace_ports(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    const HOSTS: [&str; 2] = ["127.0.0.1:", "localhost:"];
    while let Some((i, host)) = HOSTS
        .iter()
        .filter_map(|h| rest.find(h).map(|i| (i, *h)))
        .min_by_key(|(i, _)| *i)
    {
        let after = i + host.len();
        let digits = rest[after..].bytes().take_while(u8::is_ascii_digit).count();
        out.push_str(&rest[..after]);
        if digits > 0 {
            out.push_str("[port]");
        }
        rest = &rest[after + digits..];
    }
    out.push_str(rest);
    out
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

/// Length of a UUID (8-4-4-4-12 hex) at the start of `b`.
fn uuid_at(b: &[u8]) -> Option<usize> {
    let groups = [8, 4, 4, 4, 12];
    let mut i = 0;
    for (n, len) in groups.iter().enumerate() {
        if n > 0 {
            if b.get(i) != Some(&b'-') {
                return None;
            }
            i += 1;
        }
        if b.len() < i + len || !b[i..i + len].iter().all(|c| is_hex(*c)) {
            return None;
        }
        i += len;
    }
    Some(i)
}

fn digits(b: &[u8], at: usize, n: usize) -> bool {
    b.len() >= at + n && b[at..at + n].iter().all(u8::is_ascii_digit)
}

/// Length of a `YYYY-MM-DD` date at the start of `b`.
fn date_at(b: &[u8]) -> Option<usize> {
    (digits(b, 0, 4)
        && b.get(4) == Some(&b'-')
        && digits(b, 5, 2)
        && b.get(7) == Some(&b'-')
        && digits(b, 8, 2))
    .then_some(10)
}

/// Length of an RFC 3339 timestamp at the start of `b`.
fn time_at(b: &[u8]) -> Option<usize> {
    date_at(b)?;
    if !matches!(b.get(10), Some(b'T' | b' '))
        || !digits(b, 11, 2)
        || b.get(13) != Some(&b':')
        || !digits(b, 14, 2)
        || b.get(16) != Some(&b':')
        || !digits(b, 17, 2)
    {
        return None;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    match b.get(i) {
        Some(b'Z') => Some(i + 1),
        Some(b'+' | b'-') if digits(b, i + 1, 2) && b.get(i + 3) == Some(&b':') && digits(b, i + 4, 2) => {
            Some(i + 6)
        }
        _ => None,
    }
}

fn scan(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        let boundary = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        let hit = if boundary {
            let r = &b[i..];
            let end_ok = |n: usize| r.get(n).is_none_or(|c| !c.is_ascii_alphanumeric());
            if let Some(n) = uuid_at(r).filter(|n| end_ok(*n)) {
                Some((n, "[uuid]"))
            } else if let Some(n) = time_at(r) {
                Some((n, "[time]"))
            } else if let Some(n) = date_at(r).filter(|n| end_ok(*n)) {
                Some((n, "[date]"))
            } else {
                let n = r
                    .iter()
                    .take_while(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
                    .count();
                (n == 64 && end_ok(n)).then_some((n, "[sha256]"))
            }
        } else {
            None
        };
        match hit {
            Some((n, placeholder)) => {
                out.push_str(&s[copied..i]);
                out.push_str(placeholder);
                i += n;
                copied = i;
            }
            None => i += 1,
        }
    }
    out.push_str(&s[copied..]);
    out
}

// -------------------------------------------------------------- documents

/// A handover of an mbo student who got the diploma two months ago, 19
/// years old; with `consent_id` when given.
fn document(bsn: &str, consent_id: Option<&str>, key: Option<&str>) -> Value {
    let dob = date(ago(19, 30));
    let diploma = date(ago(0, 60));
    let mut v = json!({
        "purpose": PURPOSE,
        "recipient": { "oin": GEMEENTE_OIN, "function": "participatiewet" },
        "subject": {
            "bsn": bsn,
            "date_of_birth": dob,
            "school_type": "mbo",
            "leaving_date": diploma,
            "diploma_date": diploma,
            "startkwalificatie": "achieved",
        },
        "return_to_education": "not_possible",
        "client_reference": "LOB-2026-0042",
        "groups": {
            "identity": {
                "bsn": bsn,
                "given_names": "Jip",
                "surname": "Testjongere",
                "date_of_birth": dob,
            },
            "contact.youth": { "postcode": "9711 AB", "city": "Groningen" },
            "school_career": {
                "programme_crebo": "25255",
                "diploma_level": "mbo_2",
                "diploma_date": diploma,
            },
            "wishes": { "desired_work": "Orderpicker of magazijnmedewerker" },
        },
    });
    if let Some(c) = consent_id {
        v["consent_id"] = json!(c);
    }
    if let Some(k) = key {
        v["idempotency_key"] = json!(k);
    }
    v
}

/// `document` with data that has no basis in the law: a medical diagnosis
/// and a group outside the catalogue.
fn with_forbidden_data(mut v: Value) -> Value {
    v["groups"]["support_needs"] = json!({ "diagnosis": "ADHD" });
    v["groups"]["uwv"] = json!({ "benefit": "WW-uitkering" });
    v
}

fn jsonl(docs: &[Value]) -> String {
    docs.iter().map(|d| format!("{d}\n")).collect()
}

/// The same documents as CSV (`;`, as a Dutch spreadsheet writes it).
fn csv(docs: &[Value]) -> String {
    let mut columns: Vec<String> = vec![
        "idempotency_key".into(),
        "purpose".into(),
        "recipient_oin".into(),
        "recipient_function".into(),
        "consent_id".into(),
        "return_to_education".into(),
        "client_reference".into(),
    ];
    let mut rows: Vec<Vec<(String, String)>> = Vec::new();
    for d in docs {
        let mut row: Vec<(String, String)> = Vec::new();
        for c in [
            "idempotency_key",
            "purpose",
            "consent_id",
            "return_to_education",
            "client_reference",
        ] {
            if let Some(v) = d[c].as_str() {
                row.push((c.into(), v.into()));
            }
        }
        row.push((
            "recipient_oin".into(),
            d["recipient"]["oin"].as_str().unwrap().into(),
        ));
        row.push((
            "recipient_function".into(),
            d["recipient"]["function"].as_str().unwrap().into(),
        ));
        for (k, v) in d["subject"].as_object().unwrap() {
            row.push((format!("subject.{k}"), v.as_str().unwrap().into()));
        }
        for (g, fields) in d["groups"].as_object().unwrap() {
            for (k, v) in fields.as_object().unwrap() {
                row.push((format!("{g}.{k}"), v.as_str().unwrap().into()));
            }
        }
        for (c, _) in &row {
            if !columns.contains(c) {
                columns.push(c.clone());
            }
        }
        rows.push(row);
    }
    let mut out = columns.join(";");
    out.push('\n');
    for row in rows {
        let cells: Vec<&str> = columns
            .iter()
            .map(|c| row.iter().find(|(k, _)| k == c).map_or("", |(_, v)| v.as_str()))
            .collect();
        out.push_str(&cells.join(";"));
        out.push('\n');
    }
    out
}

/// Two accepted (lines 1 and 3) and two refused for different rules: line
/// 2 without consent (R4), line 4 with data without a legal basis.
async fn mixed_batch(e: &Env) -> Vec<Value> {
    let c1 = e.consent(BSN1).await;
    let c2 = e.consent(BSN2).await;
    vec![
        document(BSN1, Some(&c1), Some("roc-demo-lob-0001")),
        document(BSN3, None, Some("roc-demo-lob-0002")),
        document(BSN2, Some(&c2), Some("roc-demo-lob-0003")),
        with_forbidden_data(document(BSN2, Some(&c2), Some("roc-demo-lob-0004"))),
    ]
}

// ------------------------------------------------------------------ tests

/// A batch larger than the organisation's rate limit still goes through:
/// push waits as long as the hub's RetryInfo says and retries with the same
/// idempotency key (a rate-limited call stored nothing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_waits_out_the_rate_limit() {
    let e = Env::start_with(|cfg| {
        cfg.rate_limit = Some(schakel_hub::ratelimit::RateLimit {
            per_second: 4.0,
            burst: 2.0,
        });
    })
    .await;
    let c1 = e.consent(BSN1).await;
    let c2 = e.consent(BSN2).await;
    let docs: Vec<Value> = (0..4)
        .map(|i| {
            let (bsn, c) = if i % 2 == 0 { (BSN1, &c1) } else { (BSN2, &c2) };
            document(bsn, Some(c), Some(&format!("roc-demo-lob-limit-{i}")))
        })
        .collect();
    let f = e.write("limited.jsonl", &jsonl(&docs));
    let o = e.school(&["push", f.to_str().unwrap()]).await;
    assert_eq!(o.status.code(), Some(0), "{}", shown(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("4 documents: 4 accepted"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_one_accepted_document() {
    let e = Env::start().await;
    let c = e.consent(BSN1).await;
    let f = e.write(
        "one.json",
        &document(BSN1, Some(&c), Some("roc-demo-lob-2026-0042")).to_string(),
    );
    let o = e.school(&["push", f.to_str().unwrap()]).await;
    e.snapshot("push_accepted", "push [dir]/work/one.json", &o);
    assert_eq!(o.status.code(), Some(0), "{}", shown(&o));

    // Pushing the same file again is a safe retry: it replays.
    let o = e.school(&["push", f.to_str().unwrap()]).await;
    e.snapshot("push_replayed", "push [dir]/work/one.json  # again", &o);
    assert_eq!(o.status.code(), Some(0), "{}", shown(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_one_refused_document_lists_every_violation() {
    let e = Env::start().await;
    let f = e.write(
        "refused.json",
        &with_forbidden_data(document(BSN3, None, None)).to_string(),
    );
    let o = e.school(&["push", f.to_str().unwrap()]).await;
    e.snapshot("push_refused", "push [dir]/work/refused.json", &o);
    assert_eq!(o.status.code(), Some(1), "{}", shown(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_mixed_jsonl_batch_groups_refusals_by_rule() {
    let e = Env::start().await;
    let docs = mixed_batch(&e).await;
    let f = e.write("batch.jsonl", &jsonl(&docs));
    // Sent concurrently (the default 8 in flight); the report is in file
    // order regardless.
    let o = e.school(&["push", f.to_str().unwrap()]).await;
    e.snapshot("push_batch_jsonl", "push [dir]/work/batch.jsonl", &o);
    assert_eq!(o.status.code(), Some(1), "{}", shown(&o));
    assert!(
        o.stderr.is_empty(),
        "no progress bar when not a terminal: {}",
        shown(&o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_mixed_csv_batch_groups_refusals_by_rule() {
    let e = Env::start().await;
    let docs = mixed_batch(&e).await;
    let f = e.write("batch.csv", &csv(&docs));
    let o = e.school(&["push", f.to_str().unwrap()]).await;
    e.snapshot("push_batch_csv", "push [dir]/work/batch.csv", &o);
    assert_eq!(o.status.code(), Some(1), "{}", shown(&o));
    assert!(
        o.stderr.is_empty(),
        "no progress bar when not a terminal: {}",
        shown(&o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_json_output() {
    let e = Env::start().await;
    let c = e.consent(BSN1).await;
    let f = e.write(
        "one.json",
        &document(BSN1, Some(&c), Some("roc-demo-lob-2026-0042")).to_string(),
    );
    let o = e.school(&["--json", "push", f.to_str().unwrap()]).await;
    e.snapshot("push_json", "--json push [dir]/work/one.json", &o);
    assert_eq!(o.status.code(), Some(0), "{}", shown(&o));
    let v: Value = serde_json::from_slice(&o.stdout).expect("stdout is JSON");
    assert_eq!(v["summary"]["accepted"], 1, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn werkcoach_lists_the_inbox_and_fetches_the_document() {
    let e = Env::start().await;
    let c = e.consent(BSN1).await;
    let f = e.write(
        "one.json",
        &document(BSN1, Some(&c), Some("roc-demo-lob-2026-0042")).to_string(),
    );
    let o = e.school(&["--json", "push", f.to_str().unwrap()]).await;
    assert_eq!(o.status.code(), Some(0), "{}", shown(&o));
    let v: Value = serde_json::from_slice(&o.stdout).expect("push JSON");
    let id = v["documents"][0]["transfer_id"]
        .as_str()
        .expect("transfer id")
        .to_owned();

    let o = e.werkcoach(&["inbox"]).await;
    e.snapshot("inbox", "inbox", &o);
    assert_eq!(o.status.code(), Some(0), "{}", shown(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains(&id), "{}", shown(&o));

    let out_dir = e.work().join("fetched");
    let out_arg = out_dir.to_str().unwrap();
    let o = e
        .werkcoach(&["fetch", &id, "--purpose", PURPOSE, "--out", out_arg])
        .await;
    e.snapshot(
        "fetch",
        "fetch [uuid] --purpose handover.school_to_gemeente --out [dir]/work/fetched",
        &o,
    );
    assert_eq!(o.status.code(), Some(0), "{}", shown(&o));

    // The file: DIR/<transfer id>.json, private, with the opened groups.
    let names: Vec<String> = std::fs::read_dir(&out_dir)
        .expect("out dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        vec![format!("{id}.json")],
        "only the document, no temp file"
    );
    let path = out_dir.join(format!("{id}.json"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("file").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("file is JSON");
    let text = file.to_string();
    // The whole file, placeholders for what differs between runs.
    let pretty = serde_json::to_string_pretty(&file).expect("pretty") + "\n";
    assert_snapshot("fetch_file", &normalise(&pretty, e.root(), &e.t.url()));
    assert_eq!(file["transfer"]["transfer_id"], json!(id), "{file:#}");
    for value in [
        BSN1,
        "Jip",
        "Testjongere",
        "9711 AB",
        "Orderpicker of magazijnmedewerker",
    ] {
        assert!(
            text.contains(value),
            "{value} missing from the fetched file:\n{file:#}"
        );
    }
    assert_eq!(file["unopened"], json!([]), "{file:#}");
}

/// R2 from the command line: the werkcoach records the gemeente's
/// hardheidsclausule decision for a youth of 27 it supports; the school's
/// overgangsdocument for that youth is then accepted, as it was refused
/// before.
#[tokio::test]
async fn werkcoach_decides_the_hardheidsclausule() {
    let e = Env::start().await;
    let c = e.consent(BSN2).await;
    let past_27 = date(ago(27, 30));
    let mut doc = document(BSN2, Some(&c), None);
    doc["subject"]["date_of_birth"] = json!(past_27);
    doc["groups"]["identity"]["date_of_birth"] = json!(past_27);
    let f = e.write("past-27.json", &doc.to_string());
    let o = e.school(&["push", f.to_str().unwrap()]).await;
    assert_eq!(o.status.code(), Some(1), "{}", shown(&o));
    assert!(stderr_has(&o, "R2"), "{}", shown(&o));

    let until = date(ago(-1, 0));
    let o = e
        .werkcoach(&[
            "hardheidsclausule",
            "--bsn",
            BSN2,
            "--birth-date",
            &past_27,
            "--case-reference",
            "zaak-2025-0917",
            "--justification",
            "Rondt de bbl-opleiding af die voor de 27e verjaardag begon.",
            "--until",
            &until,
            "--key",
            "hk-2026-0001",
        ])
        .await;
    e.snapshot(
        "hardheidsclausule",
        "hardheidsclausule --bsn [bsn] --birth-date [date] --case-reference zaak-2025-0917 \
         --justification '…' --until [date] --key hk-2026-0001",
        &o,
    );
    assert_eq!(o.status.code(), Some(0), "{}", shown(&o));
    assert!(!shown(&o).contains(BSN2), "{}", shown(&o));

    let o = e.school(&["push", f.to_str().unwrap()]).await;
    assert_eq!(o.status.code(), Some(0), "{}", shown(&o));
}

fn stderr_has(o: &Output, text: &str) -> bool {
    String::from_utf8_lossy(&o.stderr).contains(text) || String::from_utf8_lossy(&o.stdout).contains(text)
}
