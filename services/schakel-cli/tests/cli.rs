//! The `schakel` binary, end to end: each test starts a real hub (SQLite,
//! mutual TLS, development PKI and demo region) in-process and runs the
//! built command against it, checking output and exit codes
//! (0 success, 1 refused call, 2 usage or local problem).

use std::ffi::OsString;
use std::process::Output;
use std::time::Duration;

use schakel_e2e::{Db, TestHub};
use tokio::process::Command;

const MBO_OIN: &str = "00000003999990001000";

/// Starts a hub on SQLite.
async fn hub() -> TestHub {
    TestHub::start(Db::Sqlite).await.expect("sqlite hub")
}

/// `--profile <party's profile> --hub <the hub>` for a demo party.
fn as_party(t: &TestHub, party: &str) -> Vec<OsString> {
    vec![
        "--profile".into(),
        t.env.profile(party).into_os_string(),
        "--hub".into(),
        t.url().into(),
    ]
}

/// Runs `schakel` with `args`, without blocking the runtime the hub runs on.
async fn schakel<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let run = Command::new(env!("CARGO_BIN_EXE_schakel"))
        .args(&args)
        .env_remove("SCHAKEL_PROFILE")
        .env_remove("SCHAKEL_HUB")
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .unwrap_or_else(|_| panic!("schakel {args:?} did not finish within 60 s"))
        .expect("run schakel")
}

/// `t`'s party arguments followed by `rest`.
fn with(t: &TestHub, party: &str, rest: &[&str]) -> Vec<OsString> {
    let mut args = as_party(t, party);
    args.extend(rest.iter().map(OsString::from));
    args
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the exit code, showing both streams when it differs.
fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "exit status {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status,
        stdout(o),
        stderr(o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoami_prints_the_schools_organisation_and_function() {
    let t = hub().await;
    let o = schakel(with(&t, "mbo-school", &["whoami"])).await;
    assert_exit(&o, 0);
    let out = stdout(&o);
    assert!(out.contains(MBO_OIN), "{out}");
    assert!(out.contains("mbo_school"), "{out}");
    assert!(out.contains("acting as     school"), "{out}");
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoami_as_json_names_the_oin_and_function() {
    let t = hub().await;
    let o = schakel(with(&t, "mbo-school", &["--json", "whoami"])).await;
    assert_exit(&o, 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", stdout(&o)));
    assert_eq!(v["organisation"]["oin"], MBO_OIN, "{v}");
    assert_eq!(v["acting_as"], "school", "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_command_as_a_school_is_refused_with_exit_1() {
    let t = hub().await;
    let args = [
        "admin",
        "register-org",
        "--oin",
        "00000003999990009000",
        "--kind",
        "mbo-school",
        "--name",
        "ROC Elders",
        "--brin",
        "99XC",
    ];
    let o = schakel(with(&t, "mbo-school", &args)).await;
    assert_exit(&o, 1);
    let err = stderr(&o);
    assert!(err.contains("PERMISSION_DENIED"), "{err}");
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_registration_lists_every_field_violation() {
    let t = hub().await;
    let args = [
        "admin",
        "register-org",
        "--oin",
        "123",
        "--kind",
        "gemeente",
        "--name",
        " ",
        "--brin",
        "01AB",
    ];
    let o = schakel(with(&t, "admin", &args)).await;
    assert_exit(&o, 1);
    let err = stderr(&o);
    assert!(err.contains("INVALID_ARGUMENT"), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    for field in ["oin", "name", "gemeentecode", "brin"] {
        let prefix = format!("  - {field}: ");
        assert!(
            lines.iter().any(|l| l.starts_with(&prefix)),
            "no violation line for {field}:\n{err}"
        );
    }
}

/// A reader that went away (`schakel … | head`) ends the command quietly:
/// no panic, no backtrace, status 0 (issue 21, item 6). The pipe's reading
/// end is closed before the command starts, so its first write fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_to_a_closed_pipe_ends_quietly() {
    let t = hub().await;
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let run = Command::new(env!("CARGO_BIN_EXE_schakel"))
        .args(with(&t, "mbo-school", &["region", "GM0014"]))
        .env_remove("SCHAKEL_PROFILE")
        .env_remove("SCHAKEL_HUB")
        .stdout(std::process::Stdio::from(writer))
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .output();
    let o = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("finished")
        .expect("run schakel");
    assert_exit(&o, 0);
    assert_eq!(stderr(&o), "", "nothing on stderr");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn region_prints_the_arbeidsmarktregio() {
    let t = hub().await;
    let o = schakel(with(&t, "mbo-school", &["region", "GM0014"])).await;
    assert_exit(&o, 0);
    let out = stdout(&o);
    assert!(out.contains("AM01"), "{out}");
    assert!(out.contains("Groningen"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_profile_directory_exits_2_naming_the_path() {
    let dir = std::env::temp_dir().join(format!("schakel-cli-test-no-profile-{}", std::process::id()));
    assert!(!dir.exists(), "{} exists", dir.display());
    let o = schakel([
        OsString::from("--profile"),
        dir.clone().into_os_string(),
        "whoami".into(),
    ])
    .await;
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(err.contains(&*dir.to_string_lossy()), "{err}");
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
}

/// `--json` applies to errors of every command (issue 21, item 6): a refusal
/// is one JSON object on standard output with the status code and every
/// field violation with its rule; a local error (exit 2) is one too. Nothing
/// on standard error, so a script reads one stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_errors_of_any_command_are_json() {
    let t = hub().await;
    let args = [
        "--json",
        "admin",
        "register-org",
        "--oin",
        "123",
        "--kind",
        "gemeente",
        "--name",
        " ",
        "--brin",
        "01AB",
    ];
    let o = schakel(with(&t, "admin", &args)).await;
    assert_exit(&o, 1);
    assert_eq!(stderr(&o), "", "nothing on stderr");
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("one JSON object");
    assert_eq!(v["error"]["code"], "INVALID_ARGUMENT", "{v}");
    let fields: Vec<&str> = v["error"]["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .map(|x| x["field"].as_str().unwrap_or_default())
        .collect();
    for field in ["oin", "name", "gemeentecode", "brin"] {
        assert!(fields.contains(&field), "{field} missing: {v}");
    }
    assert!(
        v["error"]["violations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["rule"].is_string()),
        "every violation names its rule: {v}"
    );
    // A refusal by authorisation, from another command.
    let rest = [
        "--user-id",
        "u-1",
        "--user-role",
        "loopbaanbegeleider",
        "--json",
        "inbox",
    ];
    let o = schakel(with(&t, "mbo-school", &rest)).await;
    assert_exit(&o, 1);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("one JSON object");
    assert_eq!(v["error"]["code"], "PERMISSION_DENIED", "{v}");
    // A local error.
    let dir = std::env::temp_dir().join(format!("schakel-cli-test-json-{}", std::process::id()));
    let o = schakel([
        OsString::from("--json"),
        "--profile".into(),
        dir.into_os_string(),
        "whoami".into(),
    ])
    .await;
    assert_exit(&o, 2);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("one JSON object");
    assert_eq!(v["error"]["code"], "CLIENT", "{v}");
}

/// The lines of the shell block after `marker` in `doc`, continuation lines
/// joined, each split into words (double quotes group words).
fn documented_commands(doc: &str, marker: &str) -> Vec<Vec<String>> {
    let start = doc.find(marker).expect("the marker") + marker.len();
    let block = &doc[start..start + doc[start..].find("```").expect("end of the block")];
    block
        .replace("\\\n", " ")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let mut words = Vec::new();
            let mut word = String::new();
            let mut quoted = false;
            for c in line.chars() {
                match c {
                    '"' => quoted = !quoted,
                    c if c.is_whitespace() && !quoted => {
                        if !word.is_empty() {
                            words.push(std::mem::take(&mut word));
                        }
                    }
                    c => word.push(c),
                }
            }
            if !word.is_empty() {
                words.push(word);
            }
            words
        })
        .collect()
}

/// The mandate example of docs/operations.md runs as written against the
/// demo region (its dates moved to come after today, so it keeps running),
/// and the mandate it records can be ended as the text says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_mandate_commands_run() {
    const GUIDE: &str = include_str!("../../../docs/operations.md");
    let t = hub().await;
    // The hub's days are Europe/Amsterdam's; two days ahead stays in the
    // future whatever the hour and the machine's time zone.
    let today = jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::get("Europe/Amsterdam").expect("tz"))
        .date();
    let from = today
        .checked_add(jiff::Span::new().days(2))
        .expect("date")
        .to_string();
    let until = today
        .checked_add(jiff::Span::new().years(2))
        .expect("date")
        .to_string();
    let mut listed = String::new();
    for words in documented_commands(GUIDE, "<!-- tested: mandate -->\n```sh\n") {
        assert_eq!(words[0], "schakel", "{words:?}");
        let mut args: Vec<String> = words[1..].to_vec();
        for (flag, value) in [("--from", &from), ("--until", &until)] {
            if let Some(i) = args.iter().position(|a| a == flag) {
                args[i + 1].clone_from(value);
            }
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = schakel(with(&t, "admin", &args)).await;
        assert_exit(&o, 0);
        if args[..2] == ["admin", "mandates"] {
            listed = stdout(&o);
        }
    }
    assert!(
        listed.contains("00000003999990004000/participatiewet acts for 00000001999990014000/participatiewet"),
        "{listed}"
    );
    assert!(listed.contains("not in force"), "it starts later: {listed}");
    let id = listed
        .split_whitespace()
        .next()
        .expect("the mandate id")
        .to_owned();
    let o = schakel(with(&t, "admin", &["admin", "end-mandate", &id])).await;
    assert_exit(&o, 0);
    assert!(stdout(&o).contains("ended "), "{}", stdout(&o));
    // Ended once; again is refused (exit 1).
    let o = schakel(with(&t, "admin", &["admin", "end-mandate", &id])).await;
    assert_exit(&o, 1);
}

/// `schakel region stats` as the demo region's contactgemeente: a readable
/// table, and CSV with one row per count and whether it is shown; a free
/// date range is refused (exit 1) naming R17.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn region_stats_prints_the_table_and_csv() {
    let t = hub().await;
    let today = jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::get("Europe/Amsterdam").expect("tz"))
        .date();
    // The school year that holds today: from 1 August.
    let first = if today.month() >= 8 {
        today.year()
    } else {
        today.year() - 1
    };
    let period = format!("{first}/{:02}", (first + 1) % 100);
    let o = schakel(with(
        &t,
        "gemeente-regional-partner",
        &["region", "stats", "--period", &period],
    ))
    .await;
    assert_exit(&o, 0);
    let text = stdout(&o);
    assert!(
        text.contains(&format!("03 Centraal en Westelijk Groningen — {period}")),
        "{text}"
    );
    assert!(text.contains("provisional"), "{text}");
    assert!(text.contains("GM0014"), "{text}");
    assert!(text.contains("<5"), "{text}");

    let o = schakel(with(
        &t,
        "gemeente-regional-partner",
        &["region", "stats", "--period", &period, "--csv"],
    ))
    .await;
    assert_exit(&o, 0);
    let csv = stdout(&o);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("region,period,provisional,measure,gemeentecode,gemeente,column,value,status")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    // Two gemeenten in the demo region: per table (columns + total) per
    // gemeente, and the column totals and grand total.
    // Handovers by sender and by outcome (4 columns), support requests (3),
    // take-overs (1), expertise requests (4), hardheidsclausule decisions
    // (1), consents (3): per gemeente its cells and total, then the column
    // totals and the grand total.
    let lines = |cols: usize| 2 * (cols + 1) + cols + 1;
    assert_eq!(
        rows.len(),
        2 * lines(4) + lines(3) + lines(1) + lines(4) + lines(1) + lines(3),
        "{csv}"
    );
    assert!(rows.iter().all(|r| r.len() == 9), "{csv}");
    // Nothing happened yet: every count is 0, hidden as small, never shown.
    assert!(rows.iter().all(|r| r[7].is_empty() && r[8] == "small"), "{csv}");

    let mut json = vec![std::ffi::OsString::from("--json")];
    json.extend(with(
        &t,
        "gemeente-regional-partner",
        &["region", "stats", "--period", &period],
    ));
    let o = schakel(json).await;
    assert_exit(&o, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(v["region_code"], "03");
    assert_eq!(v["tables"][0]["measure"], "handovers_submitted");
    assert_eq!(v["tables"][0]["rows"][0]["cells"][0]["status"], "small");

    let o = schakel(with(
        &t,
        "gemeente-regional-partner",
        &["region", "stats", "--period", "2026-12-01..2026-12-31"],
    ))
    .await;
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("R17"), "{}", stderr(&o));
}
