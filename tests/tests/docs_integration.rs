//! Issue 21, item 3: the worked example of `docs/integration.md` runs. Every
//! `school -d '…' $HUB svc/Method` and `werkcoach -d '…'` call in it is sent
//! as written, through the protobuf JSON mapping (Python `protobuf`'s
//! `json_format`, the reference implementation of that mapping) by a client
//! someone else wrote (Python `grpcio`), to a real hub; the answer must be the
//! one shown after `# →`: `Code: X` and the `field "…" description "R…"`
//! violations of a refusal, or the enum values of an answer. Placeholders
//! (`CONSENT_ID`, `TRANSFER_ID`, `NEXT`) take the values of earlier answers;
//! the diploma and leaving dates are moved to a recent day (the page says
//! so), everything else is the page's text.
//!
//! The test makes a virtual environment under the target directory and
//! installs `grpcio`, `protobuf` and `googleapis-common-protos` into it from
//! the package registry (once).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use schakel_e2e::{Db, TestHub};
use serde_json::Value;

/// A Python with the three packages, made on first use.
fn python() -> PathBuf {
    schakel_e2e::python::venv(
        &Path::new(env!("CARGO_TARGET_TMPDIR")).join("grpcio-json-venv"),
        &[
            "grpcio>=1.60,<2",
            "protobuf>=4.25,<7",
            "googleapis-common-protos>=1.60,<2",
        ],
        "import grpc; from google.protobuf import json_format; from google.rpc import error_details_pb2",
    )
}

/// One call through the JSON mapping: the request JSON on stdin; prints one
/// JSON line: `{"code": "OK", "response": {...}}` or `{"code": "...",
/// "violations": [[field, description], ...]}`.
const CLIENT: &str = r#"
import sys, json, grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory, timestamp_pb2
from google.rpc import status_pb2, error_details_pb2
target, server_name, ca, cert, key, fds_path, method, user, role = sys.argv[1:10]
pool = descriptor_pool.Default()
for f in descriptor_pb2.FileDescriptorSet.FromString(open(fds_path, 'rb').read()).file:
    if not f.name.startswith('google/protobuf/'):
        pool.Add(f)
service, name = method.strip('/').split('/')
m = pool.FindServiceByName(service).FindMethodByName(name)
Req = message_factory.GetMessageClass(m.input_type)
Resp = message_factory.GetMessageClass(m.output_type)
request = json_format.Parse(sys.stdin.read(), Req())
read = lambda p: open(p, 'rb').read()
creds = grpc.ssl_channel_credentials(read(ca), read(key), read(cert))
channel = grpc.secure_channel(target, creds, options=[('grpc.ssl_target_name_override', server_name)])
call = channel.unary_unary(method, request_serializer=lambda r: r.SerializeToString(),
                           response_deserializer=Resp.FromString)
try:
    answer = call(request, timeout=60, metadata=[('x-schakel-user-id', user), ('x-schakel-user-role', role)])
    print(json.dumps({'code': 'OK', 'response': json_format.MessageToDict(answer)}))
except grpc.RpcError as e:
    violations = []
    raw = dict(e.trailing_metadata() or ()).get('grpc-status-details-bin')
    if raw:
        for d in status_pb2.Status.FromString(raw).details:
            if d.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                b = error_details_pb2.BadRequest()
                d.Unpack(b)
                violations += [[v.field, v.description] for v in b.field_violations]
    print(json.dumps({'code': e.code().name, 'violations': violations}))
"#;

/// A call in the page: who, the body, the method, and what the page says
/// comes back (the `# →` lines after it).
#[derive(Debug)]
struct DocCall {
    who: String,
    body: String,
    method: String,
    expect: Vec<String>,
}

/// The code block under "Worked example with grpcurl".
fn worked_example() -> String {
    let page = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/integration.md"))
        .expect("docs/integration.md");
    let section = page
        .split("## Worked example with grpcurl")
        .nth(1)
        .expect("the worked example section");
    let block = section.split("```").nth(1).expect("its code block");
    block.to_owned()
}

/// Every `-d` call of the block, in order, with its `# →` expectations.
fn calls(block: &str) -> Vec<DocCall> {
    let mut out: Vec<DocCall> = Vec::new();
    let mut rest = block;
    loop {
        let next = ["school -d '", "werkcoach -d '"]
            .iter()
            .filter_map(|p| rest.find(p).map(|i| (i, *p)))
            .min();
        let Some((at, prefix)) = next else { break };
        let after = &rest[at + prefix.len()..];
        let end = after.find('\'').expect("a closing quote");
        let body = after[..end].to_owned();
        let tail = after[end + 1..].trim_start_matches([' ', '\\', '\n']);
        let tail = tail.strip_prefix("$HUB ").expect("the call names $HUB");
        let method_end = tail.find(char::is_whitespace).unwrap_or(tail.len());
        let method = tail[..method_end].to_owned();
        let following = &tail[method_end..];
        // The `# →` lines up to the next call.
        let upto = ["school ", "werkcoach "]
            .iter()
            .filter_map(|p| following.find(&format!("\n{p}")))
            .min()
            .unwrap_or(following.len());
        let mut expect = Vec::new();
        let mut in_answer = false;
        for line in following[..upto].lines() {
            let line = line.trim();
            if let Some(e) = line.strip_prefix("# →") {
                in_answer = true;
                expect.push(e.trim().to_owned());
            } else if in_answer && line.starts_with("#    field") {
                expect.push(line.trim_start_matches('#').trim().to_owned());
            } else {
                in_answer = false;
            }
        }
        out.push(DocCall {
            who: prefix.split(' ').next().unwrap_or_default().to_owned(),
            body,
            method,
            expect,
        });
        rest = &tail[method_end..];
    }
    out
}

/// `{"year": …, "month": …, "day": …}` for a day shortly before today.
fn recent_day() -> Value {
    let d = jiff::Zoned::now()
        .date()
        .checked_sub(jiff::Span::new().days(60))
        .expect("date");
    serde_json::json!({ "year": d.year(), "month": d.month(), "day": d.day() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worked_example_runs_as_written() {
    let block = worked_example();
    let calls = calls(&block);
    let methods: Vec<&str> = calls.iter().map(|c| c.method.as_str()).collect();
    assert!(
        methods.contains(&"schakel.v1.ConsentService/RecordConsent")
            && methods.contains(&"schakel.v1.TransferService/Submit")
            && methods.contains(&"schakel.v1.InboxService/Fetch"),
        "the page's calls were not all found: {methods:?}"
    );
    let python = tokio::task::spawn_blocking(python).await.expect("venv");
    let t = TestHub::start(Db::Sqlite).await.expect("hub");
    let addr = t.hub.as_ref().expect("running").addr().to_string();
    let fds = tempfile::NamedTempFile::new().expect("descriptor file");
    std::fs::write(fds.path(), schakel_proto::FILE_DESCRIPTOR_SET).expect("write descriptors");

    let mut consent_id = None;
    let mut transfer_id = None;
    let mut next_token: Option<String> = None;
    let mut ran = 0;
    for call in &calls {
        // Reflection and health are not this page's schakel.v1 messages.
        if !call.method.starts_with("schakel.v1.") {
            continue;
        }
        if call.body.contains("\"NEXT\"") && next_token.is_none() {
            // One page was all there was: nothing to page on to.
            continue;
        }
        let mut body: Value = serde_json::from_str(&call.body)
            .unwrap_or_else(|e| panic!("the body of {} is not JSON: {e}\n{}", call.method, call.body));
        let mut text = body.to_string();
        for (placeholder, value) in [
            ("CONSENT_ID", &consent_id),
            ("TRANSFER_ID", &transfer_id),
            ("NEXT", &next_token),
        ] {
            if let Some(v) = value {
                text = text.replace(&format!("\"{placeholder}\""), &format!("\"{v}\""));
            }
        }
        body = serde_json::from_str(&text).expect("still JSON");
        if let Some(subject) = body.get_mut("subject").and_then(Value::as_object_mut) {
            for date in ["diploma_date", "leaving_date"] {
                if subject.contains_key(date) {
                    subject.insert(date.to_owned(), recent_day());
                }
            }
        }
        let (party, user, role) = match call.who.as_str() {
            "school" => ("mbo-school", "u-4711", "loopbaanbegeleider"),
            _ => ("gemeente-participatiewet", "u-0815", "werkcoach"),
        };
        let profile = schakel_client::Profile::load(t.env.profile(party)).expect("profile");
        let answer = {
            let (python, addr, method, fds) = (
                python.clone(),
                addr.clone(),
                format!("/{}", call.method),
                fds.path().to_owned(),
            );
            let body = body.to_string();
            tokio::task::spawn_blocking(move || {
                use std::io::Write as _;
                let mut child = Command::new(python)
                    .arg("-c")
                    .arg(CLIENT)
                    .arg(addr)
                    .arg(&profile.file.server_name)
                    .args(
                        [&profile.file.ca, &profile.file.cert, &profile.file.key]
                            .map(|p| profile.dir.join(p)),
                    )
                    .arg(fds)
                    .args([method.as_str(), user, role])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("run the Python client");
                child
                    .stdin
                    .take()
                    .expect("stdin")
                    .write_all(body.as_bytes())
                    .expect("write");
                child.wait_with_output().expect("client output")
            })
            .await
            .expect("client")
        };
        let stdout = String::from_utf8_lossy(&answer.stdout);
        assert!(
            answer.status.success(),
            "{}: {stdout}\n{}",
            call.method,
            String::from_utf8_lossy(&answer.stderr)
        );
        let got: Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
        check(call, &got);
        ran += 1;
        if let Some(id) = got.pointer("/response/consent/consentId").and_then(Value::as_str) {
            consent_id = Some(id.to_owned());
        }
        if let Some(id) = got.pointer("/response/transferId").and_then(Value::as_str) {
            transfer_id.get_or_insert_with(|| id.to_owned());
        }
        next_token = got
            .pointer("/response/nextPageToken")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .or(next_token);
    }
    assert!(ran >= 6, "only {ran} calls ran");
}

/// The answer is what the page says: the code and violations of a refusal
/// (`Code: X`, `field "F" description "R4: …"`), or an answer with the enum
/// values the page shows; without a `# →` line, any answer but an error of
/// the hub's own.
fn check(call: &DocCall, got: &Value) {
    let code = got["code"].as_str().unwrap_or_default();
    let shown = format!("{} → {got}", call.method);
    let Some(first) = call.expect.first() else {
        assert_eq!(code, "OK", "{shown}");
        return;
    };
    if let Some(expected) = first.strip_prefix("Code:") {
        let expected: String = expected
            .trim()
            .chars()
            .flat_map(|c| {
                if c.is_uppercase() {
                    vec!['_', c]
                } else {
                    vec![c.to_ascii_uppercase()]
                }
            })
            .collect();
        assert_eq!(code, expected.trim_start_matches('_'), "{shown}");
        let violations = got["violations"].as_array().cloned().unwrap_or_default();
        for line in &call.expect[1..] {
            let parts: Vec<&str> = line.split('"').collect();
            let (field, rule) = (parts[1], parts[3].split(':').next().unwrap_or_default());
            assert!(
                violations
                    .iter()
                    .any(|v| v[0] == field
                        && v[1].as_str().is_some_and(|d| d.starts_with(&format!("{rule}:")))),
                "the page says {field} {rule}: {shown}"
            );
        }
    } else {
        assert_eq!(code, "OK", "{shown}");
        // Every enum value the page shows is in the answer.
        for token in first.split('"').filter(|t| {
            t.len() > 3 && t.chars().all(|c| c.is_ascii_uppercase() || c == '_') && t.contains('_')
        }) {
            assert!(got.to_string().contains(token), "the page shows {token}: {shown}");
        }
    }
}
