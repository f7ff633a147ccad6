//! Writing fetched and locally opened groups to the file the user asked for
//! (`--out DIR`): the only place the CLI ever writes document content.
//!
//! `DIR/<id>.json` holds `{"<meta key>": {clear metadata}, "groups":
//! {"group": {"key": "value" | ["v1", "v2"]}}, "unopened": [...]}`. A key that
//! occurs more than once in a group becomes an array, in order. The file is
//! created with mode 0600 (unix) via a temporary file and a rename, so a
//! half-written file never appears under the final name.

use std::io::Write;
use std::path::{Path, PathBuf};

use schakel_client::{AgeIdentity, GroupPlaintext, OpenError, binding_party, open_record_groups};
use schakel_proto::v1 as pb;
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::output::Out;

/// A group that could not be opened.
pub struct Unopened {
    /// Its name.
    pub group: String,
    /// The purpose it is bound to.
    pub purpose: String,
    /// The key ids it is sealed to.
    pub key_ids: Vec<String>,
    /// Why.
    pub error: OpenError,
}

/// Groups after opening: plaintexts (zeroized on drop) and what failed.
pub struct Opened {
    plain: Vec<GroupPlaintext>,
    /// Names of the groups opened.
    pub opened: Vec<String>,
    /// Groups that could not be opened.
    pub unopened: Vec<Unopened>,
}

/// Opens every group of record `record` (a transfer or expertise request
/// id) addressed to `recipient` with `identities`; a unit sealed for
/// another record or addressee is not opened (`OpenError::BindingMismatch`).
pub fn open(
    record: &str,
    recipient: Option<&pb::PartyRef>,
    groups: &[pb::SealedGroup],
    identities: &[AgeIdentity],
) -> Opened {
    let recipient = recipient.map(binding_party);
    let mut o = Opened {
        plain: Vec::new(),
        opened: Vec::new(),
        unopened: Vec::new(),
    };
    for g in open_record_groups(record, recipient.as_deref(), groups, identities) {
        match g.result {
            Ok(p) => {
                o.opened.push(g.group);
                o.plain.push(p);
            }
            Err(error) => o.unopened.push(Unopened {
                group: g.group,
                purpose: g.purpose,
                key_ids: g.key_ids,
                error,
            }),
        }
    }
    o
}

impl Unopened {
    fn json(&self) -> Value {
        json!({
            "group": self.group,
            "purpose": self.purpose,
            "key_ids": self.key_ids,
            "error": self.error.to_string(),
        })
    }
}

/// The opened groups, serialised without copying their values into
/// unzeroized buffers.
struct GroupsView<'a>(&'a [GroupPlaintext]);

/// The fields of every opened group named `name`.
struct FieldsView<'a> {
    name: &'a str,
    all: &'a [GroupPlaintext],
}

/// The values of key `key` in [`FieldsView`]: one string or an array.
struct ValuesView<'a> {
    fields: &'a FieldsView<'a>,
    key: &'a str,
}

impl FieldsView<'_> {
    fn values(&self, key: &str) -> impl Iterator<Item = &str> {
        self.all
            .iter()
            .filter(|g| g.group == self.name)
            .flat_map(|g| g.fields.iter())
            .filter(move |f| f.key == key)
            .map(|f| f.value.as_str())
    }
}

/// The distinct items of an iterator, in order of first appearance.
fn distinct<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

impl Serialize for GroupsView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let names = distinct(self.0.iter().map(|g| g.group.as_str()));
        let mut map = s.serialize_map(Some(names.len()))?;
        for name in names {
            map.serialize_entry(name, &FieldsView { name, all: self.0 })?;
        }
        map.end()
    }
}

impl Serialize for FieldsView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let keys = distinct(
            self.all
                .iter()
                .filter(|g| g.group == self.name)
                .flat_map(|g| g.fields.iter().map(|f| f.key.as_str())),
        );
        let mut map = s.serialize_map(Some(keys.len()))?;
        for key in keys {
            map.serialize_entry(key, &ValuesView { fields: self, key })?;
        }
        map.end()
    }
}

impl Serialize for ValuesView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let count = self.fields.values(self.key).count();
        if count == 1 {
            let v = self.fields.values(self.key).next().unwrap_or_default();
            return s.serialize_str(v);
        }
        let mut seq = s.serialize_seq(Some(count))?;
        for v in self.fields.values(self.key) {
            seq.serialize_element(v)?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct FileView<'a> {
    #[serde(flatten)]
    metadata: &'a serde_json::Map<String, Value>,
    groups: GroupsView<'a>,
    unopened: Vec<Value>,
}

/// Counts bytes, to size the output buffer once (no reallocation leaves a
/// copy of the content behind in freed memory).
struct Counter(usize);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Reads the identities to open with: `--identity FILE` or the profile's
/// `age_identity`. Done before the fetch, so a missing key does not cost an
/// audited fetch that nobody can read.
pub fn identities(
    explicit: Option<&Path>,
    profile: &schakel_client::Profile,
) -> anyhow::Result<Vec<AgeIdentity>> {
    Ok(match explicit {
        Some(p) => schakel_client::read_identities(p)?,
        None => profile.identities()?,
    })
}

/// A UUID as the file name stem: never a path from the hub.
fn file_name(id: &uuid::Uuid) -> String {
    format!("{}.json", id.hyphenated())
}

/// Writes `dir/<id>.json` with `metadata` (an object whose keys are put
/// at the top level, e.g. `{"transfer": …}`) and the opened groups.
pub fn write(dir: &Path, id: &uuid::Uuid, metadata: &Value, opened: &Opened) -> anyhow::Result<PathBuf> {
    let Value::Object(metadata) = metadata else {
        anyhow::bail!("internal: metadata must be an object");
    };
    let view = FileView {
        metadata,
        groups: GroupsView(&opened.plain),
        unopened: opened.unopened.iter().map(Unopened::json).collect(),
    };
    let mut counter = Counter(0);
    serde_json::to_writer_pretty(&mut counter, &view)?;
    let mut buf = Zeroizing::new(Vec::with_capacity(counter.0 + 1));
    serde_json::to_writer_pretty(&mut *buf, &view)?;
    buf.push(b'\n');
    let path = dir.join(file_name(id));
    write_private(dir, &path, &buf)?;
    Ok(path)
}

/// Creates `dir` (0700 when new) and writes `path` with mode 0600 through a
/// temporary file in the same directory.
fn write_private(dir: &Path, path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context;
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out.json");
    let tmp = dir.join(format!(".{file_name}.tmp"));
    // A stale temporary file of an interrupted run.
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("removing {}", tmp.display())),
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let result = (|| -> std::io::Result<()> {
        let mut f = options.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    Ok(())
}

/// Reports what was written: file, opened groups and (on stderr, in text
/// mode) every group that could not be opened. Never content.
pub fn report(out: &mut Out, path: &Path, opened: &Opened, metadata: Value) {
    if out.is_json() {
        let mut v = metadata;
        if let Value::Object(m) = &mut v {
            m.insert("file".into(), json!(path.display().to_string()));
            m.insert("opened".into(), json!(opened.opened));
            m.insert(
                "unopened".into(),
                Value::Array(opened.unopened.iter().map(Unopened::json).collect()),
            );
        }
        out.set(v);
        return;
    }
    outln!("wrote   {}", path.display());
    outln!(
        "opened  {}",
        if opened.opened.is_empty() {
            "-".to_owned()
        } else {
            opened.opened.join(", ")
        }
    );
    for u in &opened.unopened {
        eprintln!(
            "could not open {} ({}): {} [key ids: {}]",
            u.group,
            u.purpose,
            u.error,
            u.key_ids.join(", ")
        );
    }
}

#[cfg(test)]
mod tests {
    use schakel_client::PlainField;

    use super::*;

    fn group(name: &str, fields: &[(&str, &str)]) -> GroupPlaintext {
        GroupPlaintext {
            group: name.into(),
            fields: fields
                .iter()
                .map(|(k, v)| PlainField {
                    key: (*k).into(),
                    value: (*v).into(),
                })
                .collect(),
        }
    }

    #[test]
    fn repeated_keys_become_arrays_in_order() {
        let groups = [
            group(
                "skills",
                &[
                    ("certificates", "VCA"),
                    ("skills", "precies"),
                    ("certificates", "BHV"),
                ],
            ),
            group("contact.youth", &[("postcode", "9711 AB")]),
        ];
        let v = serde_json::to_value(GroupsView(&groups)).unwrap();
        assert_eq!(
            v,
            json!({
                "skills": {"certificates": ["VCA", "BHV"], "skills": "precies"},
                "contact.youth": {"postcode": "9711 AB"},
            })
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private_and_named_by_the_id() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("schakel-cli-opened-{}", std::process::id()));
        let id = uuid::Uuid::now_v7();
        let identity = AgeIdentity::generate();
        let plain = group("wishes", &[("sector", "techniek")]);
        let purpose = "handover.school_to_gemeente";
        let to = pb::PartyRef {
            oin: "00000001003214345000".into(),
            function: pb::FunctionKind::Participatiewet as i32,
        };
        let binding = |group: &str| schakel_crypto::SealBinding {
            record: id.to_string(),
            purpose: purpose.into(),
            recipient: binding_party(&to),
            groups: vec![group.into()],
        };
        let sealed = pb::SealedGroup {
            group: "wishes".into(),
            purpose: purpose.into(),
            key_ids: vec!["k".into()],
            ciphertext: schakel_crypto::seal_bound(
                std::slice::from_ref(&plain),
                &binding("wishes"),
                &[&identity.to_public()],
            )
            .unwrap(),
            groups: Vec::new(),
        };
        let other = pb::SealedGroup {
            group: "skills".into(),
            purpose: purpose.into(),
            ciphertext: schakel_crypto::seal_bound(
                std::slice::from_ref(&plain),
                &binding("skills"),
                &[&AgeIdentity::generate().to_public()],
            )
            .unwrap(),
            ..Default::default()
        };
        let o = open(
            &id.to_string(),
            Some(&to),
            &[sealed.clone(), other],
            std::slice::from_ref(&identity),
        );
        // The same unit asked for as another record's: refused, not opened.
        let moved = open(
            &uuid::Uuid::now_v7().to_string(),
            Some(&to),
            &[sealed],
            std::slice::from_ref(&identity),
        );
        assert!(moved.opened.is_empty());
        assert_eq!(moved.unopened[0].error, OpenError::BindingMismatch);
        assert_eq!(o.opened, ["wishes"]);
        assert_eq!(o.unopened.len(), 1);
        let meta = json!({"transfer": {"transfer_id": id.to_string()}});
        let path = write(&dir, &id, &meta, &o).unwrap();
        assert_eq!(path, dir.join(format!("{id}.json")));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // Writing again replaces the file.
        write(&dir, &id, &meta, &o).unwrap();
        let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(v["groups"]["wishes"]["sector"], "techniek");
        assert_eq!(v["transfer"]["transfer_id"], id.to_string());
        assert_eq!(v["unopened"][0]["group"], "skills");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
