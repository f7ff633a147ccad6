//! Text and JSON output of the CLI, and readable refusals.

use schakel_proto::v1 as pb;
use serde_json::{Value, json};
use tonic_types::StatusExt;

/// Writes to standard output. When the reader has gone away (a closed
/// pipe: `schakel inbox | head -1`) the program ends at once with status 0,
/// as a command whose output nobody reads any more should; any other write
/// error ends it with status 2 and the reason.
pub fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("schakel: writing the output: {e}");
        std::process::exit(2);
    }
}

/// Collects output; text is printed as it comes, JSON once at the end.
pub struct Out {
    json: bool,
    value: Option<Value>,
}

fn kind_name(k: i32) -> &'static str {
    match pb::OrgKind::try_from(k) {
        Ok(pb::OrgKind::ProSchool) => "pro_school",
        Ok(pb::OrgKind::VsoSchool) => "vso_school",
        Ok(pb::OrgKind::MboSchool) => "mbo_school",
        Ok(pb::OrgKind::Gemeente) => "gemeente",
        Ok(pb::OrgKind::Admin) => "admin",
        Ok(pb::OrgKind::Uitvoeringsorganisatie) => "uitvoeringsorganisatie",
        _ => "unspecified",
    }
}

use schakel_client::function_name;

use crate::render::ts;

fn recipient_json(k: &pb::RecipientKey) -> Value {
    json!({
        "key_id": k.key_id,
        "age_recipient": k.age_recipient,
        "valid_from": ts(&k.valid_from),
        "valid_until": ts(&k.valid_until),
        "revoked": k.revoked,
    })
}

fn organisation_json(o: &pb::Organisation) -> Value {
    json!({
        "oin": o.oin,
        "kind": kind_name(o.kind),
        "name": o.name,
        "brin": o.brin,
        "gemeentecode": o.gemeentecode,
        "doorstroompunt_regio": o.doorstroompunt_regio,
        "doorstroompunt_regio_naam": o.doorstroompunt_regio_naam,
        "arbeidsmarktregio": o.arbeidsmarktregio,
        "arbeidsmarktregio_naam": o.arbeidsmarktregio_naam,
        "active": o.active,
        "functions": o.functions.iter().map(|f| json!({
            "function": function_name(f.kind),
            "recipients": f.recipients.iter().map(recipient_json).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

impl Out {
    /// Output in JSON or text.
    pub fn new(json: bool) -> Self {
        Self { json, value: None }
    }

    /// Whether output is JSON.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Sets the JSON answer (printed by [`Out::flush`]).
    pub fn set(&mut self, v: Value) {
        self.value = Some(v);
    }

    /// Prints collected JSON.
    pub fn flush(&mut self) {
        if let Some(v) = self.value.take() {
            outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
    }

    fn org_text(o: &pb::Organisation) {
        outln!("organisation  {}", o.name);
        outln!("oin           {}", o.oin);
        outln!(
            "kind          {}{}",
            kind_name(o.kind),
            if o.active { "" } else { " (deactivated)" }
        );
        if !o.brin.is_empty() {
            outln!("brin          {}", o.brin);
        }
        if !o.gemeentecode.is_empty() {
            outln!("gemeentecode  {}", o.gemeentecode);
        }
        if !o.doorstroompunt_regio.is_empty() {
            outln!(
                "doorstroompuntregio  {} {}",
                o.doorstroompunt_regio,
                o.doorstroompunt_regio_naam
            );
        }
        if !o.arbeidsmarktregio.is_empty() {
            outln!(
                "arbeidsmarktregio    {} {}",
                o.arbeidsmarktregio,
                o.arbeidsmarktregio_naam
            );
        }
        for f in &o.functions {
            let usable = f.recipients.iter().filter(|k| !k.revoked).count();
            let keys = match usable {
                0 => String::new(),
                1 => " (1 age key)".into(),
                n => format!(" ({n} age keys)"),
            };
            outln!("function      {}{keys}", function_name(f.kind));
        }
    }

    /// WhoAmI.
    pub fn whoami(&mut self, r: &pb::WhoAmIResponse) {
        if self.json {
            self.value = Some(json!({
                "organisation": r.organisation.as_ref().map(organisation_json),
                "acting_as": function_name(r.function),
                "certificate_sha256": r.certificate_sha256,
            }));
            return;
        }
        if let Some(o) = &r.organisation {
            Self::org_text(o);
        }
        outln!("acting as     {}", function_name(r.function));
        outln!("certificate   sha256:{}", r.certificate_sha256);
    }

    /// One organisation.
    pub fn organisation(&mut self, o: &pb::Organisation) {
        if self.json {
            self.value = Some(organisation_json(o));
        } else {
            Self::org_text(o);
        }
    }

    /// A list of organisations.
    pub fn organisations(&mut self, all: &[pb::Organisation]) {
        if self.json {
            self.value = Some(Value::Array(all.iter().map(organisation_json).collect()));
            return;
        }
        for o in all {
            outln!(
                "{}  {:<10}  {}{}",
                o.oin,
                kind_name(o.kind),
                o.name,
                if o.active { "" } else { "  (deactivated)" }
            );
        }
    }

    /// A gemeente's regions.
    pub fn region(&mut self, r: &pb::GetRegionResponse) {
        if self.json {
            self.value = Some(json!({
                "gemeentecode": r.gemeentecode,
                "gemeentenaam": r.gemeentenaam,
                "arbeidsmarktregio": r.arbeidsmarktregio,
                "arbeidsmarktregio_naam": r.arbeidsmarktregio_naam,
                "doorstroompunt_regio": r.doorstroompunt_regio,
                "doorstroompunt_regio_naam": r.doorstroompunt_regio_naam,
            }));
            return;
        }
        outln!("gemeente             {} {}", r.gemeentecode, r.gemeentenaam);
        outln!(
            "arbeidsmarktregio    {} {}",
            r.arbeidsmarktregio,
            r.arbeidsmarktregio_naam
        );
        outln!(
            "doorstroompuntregio  {} {}",
            r.doorstroompunt_regio,
            r.doorstroompunt_regio_naam
        );
    }

    /// A recipient key.
    pub fn recipient(&mut self, k: Option<&pb::RecipientKey>) {
        let Some(k) = k else { return };
        if self.json {
            self.value = Some(recipient_json(k));
            return;
        }
        outln!("key_id         {}", k.key_id);
        outln!("age_recipient  {}", k.age_recipient);
        outln!("revoked        {}", k.revoked);
    }

    /// One labelled value.
    pub fn line(&mut self, label: &str, value: &str) {
        if self.json {
            self.value = Some(json!({ label: value }));
        } else {
            outln!("{label}  {value}");
        }
    }
}

/// Prints an organisation answer.
pub fn print_organisation(out: &mut Out, o: Option<&pb::Organisation>) {
    if let Some(o) = o {
        out.organisation(o);
    }
}

/// A refused call as text for a person: the status, then every field
/// violation on its own line.
pub fn status_message(status: &tonic::Status) -> String {
    let code = format!("{:?}", status.code());
    // DATA_LOSS is the hub's own data failing verification, not a refusal of
    // the caller: say so (the message names the position or checkpoint).
    let what = if status.code() == tonic::Code::DataLoss {
        "verification failed"
    } else {
        "refused"
    };
    let mut s = format!("{what} ({}): {}\n", code_name(&code), headline(status));
    for (field, description) in violations(status) {
        s.push_str(&format!("  - {field}: {description}\n"));
    }
    s
}

/// The first line about a refusal: the number of problems when field
/// violations follow (the status message repeats a single one), the status
/// message otherwise.
pub fn headline(status: &tonic::Status) -> String {
    match violations(status).len() {
        0 => status.message().to_owned(),
        1 => "1 problem".to_owned(),
        n => format!("{n} problems"),
    }
}

/// The gRPC name of a status code, e.g. `FAILED_PRECONDITION`.
pub fn code(status: &tonic::Status) -> String {
    code_name(&format!("{:?}", status.code()))
}

/// A status as JSON: code, message and every field violation with its
/// rule id (`R4`, `format`, …).
pub fn status_json(status: &tonic::Status) -> Value {
    json!({
        "code": code(status),
        "message": status.message(),
        "violations": violations(status).iter().map(|(field, description)| json!({
            "field": field,
            "rule": rule_id(description),
            "description": description,
        })).collect::<Vec<_>>(),
    })
}

/// Every `google.rpc.BadRequest` field violation: (field path, description).
pub fn violations(status: &tonic::Status) -> Vec<(String, String)> {
    status
        .get_details_bad_request()
        .map(|b| {
            b.field_violations
                .into_iter()
                .map(|v| (v.field, v.description))
                .collect()
        })
        .unwrap_or_default()
}

/// The rule id a violation description starts with (`R4: …` → `R4`,
/// `format: …` → `format`); `None` when it starts with none.
pub fn rule_id(description: &str) -> Option<&str> {
    let (head, _) = description.split_once(':')?;
    let head = head.trim();
    let is_rule = head.len() >= 2
        && head.len() <= 24
        && head
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
        && !head.contains(' ');
    is_rule.then_some(head)
}

fn code_name(debug: &str) -> String {
    // `PermissionDenied` → `PERMISSION_DENIED`, as gRPC documents codes.
    let mut out = String::new();
    for (i, c) in debug.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}
