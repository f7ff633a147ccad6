//! `schakel-hub --check-config FILE` (issue 8): a broken file is refused with
//! every problem listed; a good one is described, without the database URL.

use std::process::Command;

use schakel_hub::dev::DevEnvironment;

fn check(path: &std::path::Path, env: &[(&str, &str)]) -> (i32, String, String) {
    check_with(path, env, &[])
}

fn check_with(path: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_schakel-hub"));
    cmd.arg("--check-config").arg(path).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run schakel-hub");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes `hub.toml` in `dir` for the development environment `env`'s
/// files, with `database_url`; returns its path.
fn write_config(dir: &std::path::Path, env: &DevEnvironment, database_url: &str) -> std::path::PathBuf {
    let d = env.dir().display().to_string();
    let path = dir.join("hub.toml");
    std::fs::write(
        &path,
        format!(
            "listen = \"127.0.0.1:7443\"\n\
             database_url = \"{database_url}\"\n\
             ca_bundle = \"{d}/ca/ca.pem\"\n\
             server_cert = \"{d}/hub/cert.pem\"\n\
             server_key = \"{d}/hub/key.pem\"\n\
             pseudonym_key_file = \"{d}/hub/pseudonym.key\"\n\
             audit_signing_key_file = \"{d}/hub/audit-signing.key\"\n\
             log_origin = \"{}\"\n",
            schakel_hub::dev::DEV_LOG_ORIGIN
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_broken_file_is_refused_with_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.toml");
    std::fs::write(
        &path,
        "listen = \"nowhere\"\n\
         database_url = \"mysql://schakel:geheim@db/schakel\"\n\
         ca_bundle = \"missing-ca.pem\"\n\
         server_cert = \"missing-cert.pem\"\n\
         pseudonym_key_file = \"missing.key\"\n\
         log_origin = \"with space\"\n\
         log_format = \"xml\"\n\
         chekpoint_interval_secs = 5\n\
         [anomalies]\n\
         office_hours_start = 25\n",
    )
    .unwrap();
    let (code, stdout, stderr) = check(&path, &[]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    for expected in [
        "problems:",
        "line 8: chekpoint_interval_secs: unknown key",
        "server_key: required",
        "audit_signing_key_file: required",
        "listen: must be an address with a port",
        "database_url: must start with sqlite: or postgres:",
        "ca_bundle: ",
        "server_cert: ",
        "pseudonym_key_file: ",
        "log_format: must be text or json",
        "anomalies.office_hours_start: ",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
    }
    assert!(
        !stderr.contains("geheim"),
        "the database password is never printed"
    );
}

#[test]
fn a_good_file_is_described_and_the_environment_overrides_it() {
    let dir = tempfile::tempdir().unwrap();
    let env = DevEnvironment::ensure(dir.path().join("dev")).unwrap();
    let path = write_config(
        dir.path(),
        &env,
        "postgres://schakel_hub:geheim@127.0.0.1/schakel",
    );
    let (code, stdout, stderr) = check(&path, &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("is valid"), "{stdout}");
    assert!(stdout.contains(&env.audit_verifier().unwrap().vkey()), "{stdout}");
    assert!(stdout.contains("database          postgres"), "{stdout}");
    assert!(!stdout.contains("geheim"), "{stdout}");
    // An environment variable overrides the file, and is checked like it.
    let (code, _, stderr) = check(&path, &[("SCHAKEL_LISTEN", "not-an-address")]);
    assert_eq!(code, 1);
    assert!(stderr.contains("listen: must be an address"), "{stderr}");
    let (code, stdout, _) = check(&path, &[("SCHAKEL_OTLP_ENDPOINT", "http://127.0.0.1:4317")]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("OTLP export       http://127.0.0.1:4317"),
        "{stdout}"
    );
}

/// A configuration whose server certificate is a client certificate (and
/// whose key belongs to another certificate) is refused, although every file
/// exists and parses: the hub could not serve with it (issue 22).
#[test]
fn a_client_certificate_as_the_server_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let env = DevEnvironment::ensure(dir.path().join("dev")).unwrap();
    let d = env.dir().display().to_string();
    // A demo party's client certificate, with the hub's key.
    let path = dir.path().join("hub.toml");
    std::fs::write(
        &path,
        format!(
            "listen = \"127.0.0.1:7443\"\n\
             database_url = \"sqlite:///tmp/unused.db\"\n\
             ca_bundle = \"{d}/ca/ca.pem\"\n\
             server_cert = \"{}\"\n\
             server_key = \"{d}/hub/key.pem\"\n\
             pseudonym_key_file = \"{d}/hub/pseudonym.key\"\n\
             audit_signing_key_file = \"{d}/hub/audit-signing.key\"\n\
             log_origin = \"{}\"\n",
            env.profile("mbo-school").join("cert.pem").display(),
            schakel_hub::dev::DEV_LOG_ORIGIN
        ),
    )
    .unwrap();
    let (code, stdout, stderr) = check(&path, &[]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    for expected in [
        "cannot be used",
        "server_key: does not fit",
        "serverAuth",
        "no DNS name",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
    }
}

/// `--check-database` connects once, changing nothing, and says why a
/// database cannot be used (issue 22, item 2); without it the database is
/// not touched.
#[tokio::test]
async fn the_database_is_checked_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let env = DevEnvironment::ensure(dir.path().join("dev")).unwrap();
    let db = dir.path().join("hub.db");
    let url = format!("sqlite://{}", db.display());
    let path = write_config(dir.path(), &env, &url);
    let database = ["--check-database"];
    let (code, stdout, stderr) = check_with(&path, &[], &database);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("a new file"), "{stdout}");
    assert!(!db.exists(), "the check creates nothing");

    let store = schakel_store::Store::connect(&schakel_store::StoreOptions::new(url.as_str()))
        .await
        .unwrap();
    store.close().await;
    let (code, stdout, stderr) = check_with(&path, &[], &database);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("schema up to date"), "{stdout}");

    // Nothing listens on port 1: the reason is said, the password is not.
    let unreachable = [(
        "SCHAKEL_DATABASE_URL",
        "postgres://schakel_hub:geheim@127.0.0.1:1/schakel",
    )];
    let (code, stdout, stderr) = check_with(&path, &unreachable, &database);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains("database: cannot connect to the database") && stderr.contains("refused"),
        "{stderr}"
    );
    assert!(!stderr.contains("geheim") && !stdout.contains("geheim"));
    // Without the flag the database is not contacted.
    let (code, stdout, stderr) = check(&path, &unreachable);
    assert_eq!(code, 0, "{stdout}{stderr}");
}
