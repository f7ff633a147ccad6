//! Hub operator commands (the admin profile only).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use schakel_client::Hub;
use schakel_proto::v1 as pb;

use super::directory::Kind;
use crate::output::{Out, print_organisation};

/// A function of an organisation.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Function {
    /// School (sender).
    School,
    /// Doorstroompunt.
    Doorstroompunt,
    /// Participatiewet (receiver).
    Participatiewet,
    /// Privacy officer (`privacy_officer`, the name the docs, the hub and
    /// `--json` use; `privacy-officer` is accepted too).
    #[value(name = "privacy_officer", alias = "privacy-officer")]
    PrivacyOfficer,
    /// Hub operator.
    Admin,
    /// A regional partner (contactgemeente, contactschool, centrumgemeente):
    /// reads the region's numbers only (`regional_partner`).
    #[value(name = "regional_partner", alias = "regional-partner")]
    RegionalPartner,
}

impl Function {
    fn pb(self) -> i32 {
        (match self {
            Self::School => pb::FunctionKind::School,
            Self::Doorstroompunt => pb::FunctionKind::Doorstroompunt,
            Self::Participatiewet => pb::FunctionKind::Participatiewet,
            Self::PrivacyOfficer => pb::FunctionKind::PrivacyOfficer,
            Self::Admin => pb::FunctionKind::Admin,
            Self::RegionalPartner => pb::FunctionKind::RegionalPartner,
        }) as i32
    }
}

/// `schakel admin …`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Register an organisation. A gemeente's regions come from the region table.
    RegisterOrg {
        /// OIN, 20 digits.
        #[arg(long)]
        oin: String,
        /// Kind of organisation.
        #[arg(long, value_enum)]
        kind: Kind,
        /// Name.
        #[arg(long)]
        name: String,
        /// BRIN code (schools).
        #[arg(long, default_value = "")]
        brin: String,
        /// CBS gemeentecode (gemeenten).
        #[arg(long, default_value = "")]
        gemeentecode: String,
        /// Doorstroompuntregio code (schools).
        #[arg(long, default_value = "")]
        doorstroompunt_regio: String,
        /// Arbeidsmarktregio code (schools).
        #[arg(long, default_value = "")]
        arbeidsmarktregio: String,
    },
    /// Change an organisation; only the options given change.
    UpdateOrg {
        /// OIN of the organisation.
        #[arg(long)]
        oin: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New BRIN code.
        #[arg(long)]
        brin: Option<String>,
        /// New gemeentecode.
        #[arg(long)]
        gemeentecode: Option<String>,
        /// New Doorstroompuntregio (schools).
        #[arg(long)]
        doorstroompunt_regio: Option<String>,
        /// New arbeidsmarktregio (schools).
        #[arg(long)]
        arbeidsmarktregio: Option<String>,
        /// Activate (true) or deactivate (false).
        #[arg(long)]
        active: Option<bool>,
    },
    /// Give an organisation a function.
    AddFunction {
        /// OIN of the organisation.
        #[arg(long)]
        oin: String,
        /// The function.
        #[arg(long, value_enum)]
        function: Function,
    },
    /// Register an age X25519 recipient for a function.
    RegisterKey {
        /// OIN of the organisation.
        #[arg(long)]
        oin: String,
        /// The function.
        #[arg(long, value_enum)]
        function: Function,
        /// The age1… recipient.
        #[arg(long)]
        recipient: String,
    },
    /// Revoke an age recipient; it is never used again.
    RevokeKey {
        /// The key id (UUID).
        key_id: String,
    },
    /// Bind a client certificate to an organisation's function.
    BindCert {
        /// OIN of the organisation (must equal the certificate's serialNumber).
        #[arg(long)]
        oin: String,
        /// The function the certificate acts as.
        #[arg(long, value_enum)]
        function: Function,
        /// PEM certificate file.
        #[arg(long)]
        cert: PathBuf,
    },
    /// Remove a certificate binding.
    UnbindCert {
        /// Hex SHA-256 of the certificate.
        sha256: String,
    },
    /// Remove sealed content whose retention period has passed (R15); a
    /// content-free audit entry stays for each item.
    Purge {
        /// Only show what would be purged; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Purge what had expired at this instant (RFC 3339, not in the
        /// future); default now.
        #[arg(long)]
        as_of: Option<jiff::Timestamp>,
        /// At most this many items in this call (0 = all).
        #[arg(long, default_value_t = 0)]
        limit: u32,
    },
    /// Record that another organisation carries out a gemeente's
    /// Participatiewet or Doorstroompunt task (mandaat, R9): while it holds,
    /// data for the gemeente's function goes to that organisation's function.
    RecordMandate {
        /// OIN of the mandating gemeente.
        #[arg(long)]
        gemeente: String,
        /// The task: participatiewet or doorstroompunt.
        #[arg(long, value_enum)]
        function: Function,
        /// OIN of the organisation that carries it out (it holds the same function).
        #[arg(long)]
        to: String,
        /// The processing agreement (verwerkersovereenkomst) or mandate
        /// decision, by reference: one line, at most 100 characters.
        #[arg(long)]
        agreement: String,
        /// First day (YYYY-MM-DD; default today).
        #[arg(long, value_parser = super::date)]
        from: Option<pb::Date>,
        /// Last day (YYYY-MM-DD).
        #[arg(long, value_parser = super::date)]
        until: pb::Date,
    },
    /// End a mandate early: from the day after the last day, the organisation
    /// receives nothing more for the gemeente and cannot act for it.
    EndMandate {
        /// The mandate id (UUID).
        mandate_id: String,
        /// Last day it holds (YYYY-MM-DD, today or later); without it the
        /// mandate ends now.
        #[arg(long, value_parser = super::date)]
        last_day: Option<pb::Date>,
    },
    /// List mandates, oldest first.
    Mandates {
        /// Only those of this organisation (as mandating gemeente or as
        /// mandated organisation).
        #[arg(long)]
        oin: Option<String>,
    },
}

/// Runs an admin command; `Ok(Err(status))` is a call the hub refused.
pub async fn run(hub: &Hub, cmd: AdminCommand, out: &mut Out) -> anyhow::Result<Result<(), tonic::Status>> {
    let mut admin = hub.admin();
    let r = match cmd {
        AdminCommand::RegisterOrg {
            oin,
            kind,
            name,
            brin,
            gemeentecode,
            doorstroompunt_regio,
            arbeidsmarktregio,
        } => {
            let req = pb::RegisterOrganisationRequest {
                oin,
                kind: kind.pb() as i32,
                name,
                brin,
                gemeentecode,
                doorstroompunt_regio,
                arbeidsmarktregio,
            };
            admin
                .register_organisation(req)
                .await
                .map(|r| print_organisation(out, r.into_inner().organisation.as_ref()))
        }
        AdminCommand::UpdateOrg {
            oin,
            name,
            brin,
            gemeentecode,
            doorstroompunt_regio,
            arbeidsmarktregio,
            active,
        } => {
            let req = pb::UpdateOrganisationRequest {
                oin,
                name,
                brin,
                gemeentecode,
                doorstroompunt_regio,
                arbeidsmarktregio,
                active,
            };
            admin
                .update_organisation(req)
                .await
                .map(|r| print_organisation(out, r.into_inner().organisation.as_ref()))
        }
        AdminCommand::AddFunction { oin, function } => admin
            .add_function(pb::AddFunctionRequest {
                oin,
                function: function.pb(),
            })
            .await
            .map(|r| print_organisation(out, r.into_inner().organisation.as_ref())),
        AdminCommand::RegisterKey {
            oin,
            function,
            recipient,
        } => {
            let req = pb::RegisterRecipientRequest {
                oin,
                function: function.pb(),
                age_recipient: recipient,
                valid_from: None,
                valid_until: None,
            };
            admin
                .register_recipient(req)
                .await
                .map(|r| out.recipient(r.into_inner().recipient.as_ref()))
        }
        AdminCommand::RevokeKey { key_id } => admin
            .revoke_recipient(pb::RevokeRecipientRequest { key_id })
            .await
            .map(|r| out.recipient(r.into_inner().recipient.as_ref())),
        AdminCommand::BindCert { oin, function, cert } => {
            let certificate_pem =
                std::fs::read_to_string(&cert).with_context(|| format!("reading {}", cert.display()))?;
            admin
                .bind_certificate(pb::BindCertificateRequest {
                    oin,
                    function: function.pb(),
                    certificate_pem,
                })
                .await
                .map(|r| out.line("certificate_sha256", &r.into_inner().certificate_sha256))
        }
        AdminCommand::UnbindCert { sha256 } => admin
            .unbind_certificate(pb::UnbindCertificateRequest {
                certificate_sha256: sha256.clone(),
            })
            .await
            .map(|_| out.line("unbound", &sha256)),
        AdminCommand::Purge {
            dry_run,
            as_of,
            limit,
        } => admin
            .purge(pb::PurgeRequest {
                dry_run,
                as_of: as_of.map(|t| prost_types::Timestamp {
                    seconds: t.as_second(),
                    nanos: t.subsec_nanosecond(),
                }),
                limit: i32::try_from(limit).unwrap_or(i32::MAX),
            })
            .await
            .map(|r| purge_report(out, &r.into_inner())),
        AdminCommand::RecordMandate {
            gemeente,
            function,
            to,
            agreement,
            from,
            until,
        } => admin
            .record_mandate(pb::RecordMandateRequest {
                mandating_oin: gemeente,
                function: function.pb(),
                mandated_oin: to,
                processing_agreement: agreement,
                valid_from: from,
                valid_until: Some(until),
            })
            .await
            .map(|r| mandates(out, r.into_inner().mandate.as_slice())),
        AdminCommand::EndMandate { mandate_id, last_day } => admin
            .end_mandate(pb::EndMandateRequest { mandate_id, last_day })
            .await
            .map(|r| mandates(out, r.into_inner().mandate.as_slice())),
        AdminCommand::Mandates { oin } => admin
            .list_mandates(pb::ListMandatesRequest {
                oin: oin.unwrap_or_default(),
            })
            .await
            .map(|r| mandates(out, &r.into_inner().mandates)),
    };
    Ok(r)
}

/// Prints mandates: one line each, or a JSON list.
fn mandates(out: &mut Out, list: &[pb::Mandate]) {
    use crate::render::{date, date_text, party_text};
    if out.is_json() {
        out.set(serde_json::Value::Array(
            list.iter()
                .map(|m| {
                    serde_json::json!({
                        "mandate_id": m.mandate_id,
                        "mandating": party_text(&m.mandating),
                        "mandated": party_text(&m.mandated),
                        "processing_agreement": m.processing_agreement,
                        "valid_from": date(&m.valid_from),
                        "valid_until": date(&m.valid_until),
                        "ended_on": date(&m.ended_on),
                        "in_force": m.in_force,
                    })
                })
                .collect(),
        ));
        return;
    }
    for m in list {
        let day = |d: &Option<pb::Date>| d.as_ref().map_or_else(|| "-".to_owned(), date_text);
        let ended = m
            .ended_on
            .as_ref()
            .map(|d| format!("  ended {}", date_text(d)))
            .unwrap_or_default();
        outln!(
            "{}  {} acts for {}  {} to {}{}  {}  ({})",
            m.mandate_id,
            party_text(&m.mandated),
            party_text(&m.mandating),
            day(&m.valid_from),
            day(&m.valid_until),
            ended,
            if m.in_force { "in force" } else { "not in force" },
            m.processing_agreement,
        );
    }
}

/// Prints what was (or, in a dry run, would be) purged.
fn purge_report(out: &mut Out, r: &pb::PurgeResponse) {
    let kind = |k: i32| match pb::PurgeItemKind::try_from(k) {
        Ok(pb::PurgeItemKind::Transfer) => "transfer",
        Ok(pb::PurgeItemKind::ExpertiseRequest) => "expertise_request",
        _ => "unknown",
    };
    let reason = |k: i32| match pb::PurgeReason::try_from(k) {
        Ok(pb::PurgeReason::RetentionExpired) => "retention_expired",
        Ok(pb::PurgeReason::Withdrawn) => "withdrawn",
        Ok(pb::PurgeReason::Declined) => "declined",
        _ => "unknown",
    };
    if out.is_json() {
        out.set(serde_json::json!({
            "dry_run": r.dry_run,
            "more_remaining": r.more_remaining,
            "items": r.items.iter().map(|i| serde_json::json!({
                "kind": kind(i.kind),
                "id": i.id,
                "purpose": i.purpose,
                "reason": reason(i.reason),
                "expired_at": crate::render::ts(&i.expired_at),
                "groups": i.groups,
            })).collect::<Vec<_>>(),
        }));
        return;
    }
    for i in &r.items {
        outln!(
            "{:<17}  {}  {:<36}  {:<17}  expired {}  ({})",
            kind(i.kind),
            i.id,
            i.purpose,
            reason(i.reason),
            crate::render::ts(&i.expired_at).as_str().unwrap_or("-"),
            i.groups.join(", ")
        );
    }
    let verb = if r.dry_run {
        "would be purged (dry run; nothing changed)"
    } else {
        "purged"
    };
    outln!(
        "{} item{} {verb}",
        r.items.len(),
        if r.items.len() == 1 { "" } else { "s" }
    );
    if r.more_remaining {
        outln!("more items are due: run again (the limit stopped this call)");
    }
}
