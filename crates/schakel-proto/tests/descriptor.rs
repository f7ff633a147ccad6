//! The descriptor set is complete and follows the API conventions.

use prost::Message as _;
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorSet};

fn schakel_files() -> Vec<prost_types::FileDescriptorProto> {
    let fds = FileDescriptorSet::decode(schakel_proto::FILE_DESCRIPTOR_SET)
        .expect("the embedded descriptor set decodes");
    fds.file
        .into_iter()
        .filter(|f| f.package() == "schakel.v1")
        .collect()
}

#[test]
fn descriptor_names_all_seven_services() {
    let mut services: Vec<String> = schakel_files()
        .iter()
        .flat_map(|f| {
            f.service
                .iter()
                .map(move |s| format!("{}.{}", f.package(), s.name()))
        })
        .collect();
    services.sort();
    let mut expected: Vec<String> = schakel_proto::SERVICE_NAMES
        .iter()
        .map(|s| s.to_string())
        .collect();
    expected.sort();
    assert_eq!(services, expected);
}

#[test]
fn one_file_per_service_plus_common() {
    let mut names: Vec<String> = schakel_files().iter().map(|f| f.name().to_owned()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "schakel/v1/admin.proto",
            "schakel/v1/audit.proto",
            "schakel/v1/common.proto",
            "schakel/v1/consent.proto",
            "schakel/v1/directory.proto",
            "schakel/v1/expertise.proto",
            "schakel/v1/inbox.proto",
            "schakel/v1/region.proto",
            "schakel/v1/transfer.proto",
        ]
    );
}

fn check_enum(e: &EnumDescriptorProto, bad: &mut Vec<String>) {
    let zero = e.value.iter().find(|v| v.number() == 0);
    let expected = format!("{}_UNSPECIFIED", to_screaming_snake(e.name()));
    match zero {
        Some(v) if v.name().ends_with("_UNSPECIFIED") && v.name() == expected => {}
        Some(v) => bad.push(format!(
            "{}: zero value {} (expected {expected})",
            e.name(),
            v.name()
        )),
        None => bad.push(format!("{}: no zero value", e.name())),
    }
    // buf style: every value carries the enum name as prefix.
    let prefix = format!("{}_", to_screaming_snake(e.name()));
    for v in &e.value {
        if !v.name().starts_with(&prefix) {
            bad.push(format!("{}: value {} lacks prefix {prefix}", e.name(), v.name()));
        }
    }
}

fn check_message(m: &DescriptorProto, bad: &mut Vec<String>) {
    for e in &m.enum_type {
        check_enum(e, bad);
    }
    for nested in &m.nested_type {
        check_message(nested, bad);
    }
}

fn to_screaming_snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

#[test]
fn every_enum_starts_with_unspecified() {
    let mut bad = Vec::new();
    let mut count = 0;
    for f in schakel_files() {
        for e in &f.enum_type {
            count += 1;
            check_enum(e, &mut bad);
        }
        for m in &f.message_type {
            check_message(m, &mut bad);
        }
    }
    assert!(count >= 10, "expected the v1 enums, found {count}");
    assert!(bad.is_empty(), "enum convention violations:\n{}", bad.join("\n"));
}

#[test]
fn every_rpc_has_its_own_request_response_pair() {
    let mut bad = Vec::new();
    for f in schakel_files() {
        for s in &f.service {
            for m in &s.method {
                let req = format!(".schakel.v1.{}Request", m.name());
                let resp = format!(".schakel.v1.{}Response", m.name());
                if m.input_type() != req || m.output_type() != resp {
                    bad.push(format!(
                        "{}.{}: {} -> {}",
                        s.name(),
                        m.name(),
                        m.input_type(),
                        m.output_type()
                    ));
                }
            }
        }
    }
    assert!(bad.is_empty(), "rpc naming violations:\n{}", bad.join("\n"));
}

#[test]
fn every_service_rpc_message_and_field_is_documented() {
    // Source info paths (descriptor.proto field numbers): message_type = 4,
    // field = 2, nested_type = 3, enum_type = 5, enum value = 2, service = 6,
    // method = 2.
    let mut bad = Vec::new();
    for f in schakel_files() {
        let info = f.source_code_info.clone().expect("protox keeps source info");
        let documented: std::collections::HashSet<Vec<i32>> = info
            .location
            .iter()
            .filter(|l| {
                l.leading_comments
                    .as_deref()
                    .is_some_and(|c| !c.trim().is_empty())
            })
            .map(|l| l.path.clone())
            .collect();
        let mut need = |path: Vec<i32>, what: String| {
            if !documented.contains(&path) {
                bad.push(format!("{}: {what}", f.name()));
            }
        };
        for (si, s) in f.service.iter().enumerate() {
            need(vec![6, si as i32], format!("service {}", s.name()));
            for (mi, m) in s.method.iter().enumerate() {
                need(
                    vec![6, si as i32, 2, mi as i32],
                    format!("rpc {}.{}", s.name(), m.name()),
                );
            }
        }
        for (ei, e) in f.enum_type.iter().enumerate() {
            need(vec![5, ei as i32], format!("enum {}", e.name()));
            for (vi, v) in e.value.iter().enumerate() {
                need(
                    vec![5, ei as i32, 2, vi as i32],
                    format!("enum value {}", v.name()),
                );
            }
        }
        for (mi, m) in f.message_type.iter().enumerate() {
            need(vec![4, mi as i32], format!("message {}", m.name()));
            for (fi, fld) in m.field.iter().enumerate() {
                need(
                    vec![4, mi as i32, 2, fi as i32],
                    format!("field {}.{}", m.name(), fld.name()),
                );
            }
        }
    }
    assert!(bad.is_empty(), "undocumented elements:\n{}", bad.join("\n"));
}
