//! A client someone else wrote: Python `grpcio` from PyPI (C-core), which
//! turns response metadata over 8 KiB into `RESOURCE_EXHAUSTED` (issue 15,
//! item 4). A refusal naming many problems must still reach it as the
//! `INVALID_ARGUMENT` with `google.rpc.BadRequest` details that it is: a
//! document with 60 unknown field keys of 64 characters made 9,421 bytes of
//! details before, and 4 of 20 attempts ended `RESOURCE_EXHAUSTED`.
//!
//! The test makes a virtual environment under the target directory and
//! installs `grpcio` into it from the package registry (once; a few seconds).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use prost::Message as _;
use schakel_e2e::flow::*;
use schakel_e2e::{Db, TestHub};
use schakel_proto::v1 as pb;

/// A Python with `grpcio`, made on first use.
fn python_with_grpcio() -> PathBuf {
    schakel_e2e::python::venv(
        &Path::new(env!("CARGO_TARGET_TMPDIR")).join("grpcio-venv"),
        &["grpcio>=1.60,<2"],
        "import grpc",
    )
}

/// Sends the same request bytes 20 times over one channel; prints, per
/// attempt, the status code's name and the size of the details.
const CLIENT: &str = r#"
import sys, grpc
target, server_name, ca, cert, key = sys.argv[1:6]
body = sys.stdin.buffer.read()
read = lambda p: open(p, 'rb').read()
creds = grpc.ssl_channel_credentials(read(ca), read(key), read(cert))
channel = grpc.secure_channel(target, creds, options=[('grpc.ssl_target_name_override', server_name)])
submit = channel.unary_unary('/schakel.v1.TransferService/Submit')
for _ in range(20):
    try:
        submit(body, timeout=60, metadata=[('x-schakel-user-id', 'medewerker-42'),
                                           ('x-schakel-user-role', 'loopbaanbegeleider')])
        print('OK 0')
    except grpc.RpcError as e:
        details = dict(e.trailing_metadata() or ()).get('grpc-status-details-bin', b'')
        print(e.code().name, len(details))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_with_many_problems_reaches_a_c_core_client_intact() {
    let python = tokio::task::spawn_blocking(python_with_grpcio)
        .await
        .expect("venv");
    let t = TestHub::start(Db::Sqlite).await.expect("hub");
    let addr = t.hub.as_ref().expect("running").addr();
    let profile = schakel_client::Profile::load(t.env.profile("mbo-school")).expect("profile");

    let mut school = clients(&t, "mbo-school").await;
    let consent = give_consent(&mut school, BSN, "python-consent").await;
    let mut r = handover(BSN, &consent, "python-many-problems");
    let career = r
        .groups
        .iter_mut()
        .find(|g| g.name == "school_career")
        .expect("a school career group");
    career.fields.extend((0..60).map(|i| pb::Field {
        key: format!("unknown_{i:02}_{}", "k".repeat(53)),
        value: "x".into(),
    }));
    let body = r.encode_to_vec();

    let out = tokio::task::spawn_blocking(move || {
        use std::io::Write as _;
        let mut child = Command::new(python)
            .arg("-c")
            .arg(CLIENT)
            .arg(addr.to_string())
            .arg(&profile.file.server_name)
            // Paths in a profile are relative to its directory.
            .args([&profile.file.ca, &profile.file.cert, &profile.file.key].map(|p| profile.dir.join(p)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run the Python client");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(&body)
            .expect("write");
        child.wait_with_output().expect("client output")
    })
    .await
    .expect("client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answers: Vec<(&str, usize)> = stdout
        .lines()
        .map(|l| {
            let (code, len) = l.split_once(' ').expect("code and size");
            (code, len.parse().expect("size"))
        })
        .collect();
    assert_eq!(answers.len(), 20, "{stdout}");
    // A figure for the record, not a condition: the details' size.
    eprintln!("{}", stdout.lines().next().unwrap_or_default());
    for (code, details) in answers {
        assert_eq!(code, "INVALID_ARGUMENT", "{stdout}");
        assert!(
            details > 0 && details < 8 * 1024,
            "details of {details} bytes\n{stdout}"
        );
    }
}
