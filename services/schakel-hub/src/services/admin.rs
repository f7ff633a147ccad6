//! AdminService: the hub operator registers organisations, functions, age
//! recipients and certificate bindings. Only the admin identity calls it
//! (enforced by the authentication layer, see `authz`).

use std::str::FromStr;

use jiff::Timestamp;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, UnixTime};
use schakel_domain::{BrinCode, FunctionKind, GemeenteCode, Oin, OrgKind};
use schakel_proto::v1 as pb;
use schakel_proto::v1::admin_service_server::AdminService;
use schakel_store::{CertificateBinding, NewOrganisation, OrganisationUpdate, RecipientKey};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use schakel_audit::{Action, Entry, Outcome};

use super::HubState;
use crate::caller::Caller;
use crate::caller::RequestContext;
use crate::certinfo::cert_facts;
use crate::error::{HubError, Violations};
use crate::wire::{function_from_pb, org_kind_from_pb, recipient_to_pb, ts_from_pb};
use schakel_policy::RuleId;

/// Longest organisation name accepted.
const MAX_NAME: usize = 200;

/// The AdminService handlers.
#[derive(Debug, Clone)]
pub struct AdminApi(pub HubState);

/// Regions of an organisation: a gemeente's come from the region table by
/// its gemeentecode; a school gives them (or leaves them empty).
struct Regions {
    doorstroompunt_regio: Option<String>,
    arbeidsmarktregio: Option<String>,
}

impl AdminApi {
    fn check_name(v: &mut Violations, name: &str) {
        if name.trim().is_empty() {
            v.format("name", "must not be empty");
        } else if name.chars().count() > MAX_NAME {
            v.format("name", format!("must be at most {MAX_NAME} characters"));
        }
    }

    /// Validates region codes against the region table and derives a
    /// gemeente's regions from its code.
    fn regions(
        &self,
        v: &mut Violations,
        gemeentecode: Option<&GemeenteCode>,
        dp: Option<&str>,
        am: Option<&str>,
    ) -> Regions {
        let table = &self.0.regions;
        if let Some(code) = gemeentecode {
            match table.get(code) {
                Some(r) => {
                    return Regions {
                        doorstroompunt_regio: Some(r.rmc_code.clone()),
                        arbeidsmarktregio: Some(r.am_code.clone()),
                    };
                }
                None => v.format("gemeentecode", "is not in the hub's region table"),
            }
        }
        let dp = dp.filter(|s| !s.is_empty());
        let am = am.filter(|s| !s.is_empty());
        if let Some(dp) = dp
            && table.rmc_name(dp).is_none()
        {
            v.format(
                "doorstroompunt_regio",
                "is not a Doorstroompuntregio code of the region table",
            );
        }
        if let Some(am) = am
            && table.am_name(am).is_none()
        {
            v.format(
                "arbeidsmarktregio",
                "is not an arbeidsmarktregio code of the region table",
            );
        }
        Regions {
            doorstroompunt_regio: dp.map(str::to_owned),
            arbeidsmarktregio: am.map(str::to_owned),
        }
    }
}

/// The audit entry of a successful admin change with `parties` the
/// organisations it concerns.
fn admin_change(caller: &Caller, ctx: &RequestContext, parties: &[&str]) -> Entry {
    ctx.entry(Some(caller), None, Action::AdminChange, Outcome::Success, parties)
}

fn parse_optional<T: FromStr>(v: &mut Violations, field: &str, value: &str) -> Option<T>
where
    T::Err: std::fmt::Display,
{
    if value.is_empty() {
        None
    } else {
        v.parse(field, value)
    }
}

#[tonic::async_trait]
impl AdminService for AdminApi {
    async fn register_organisation(
        &self,
        req: Request<pb::RegisterOrganisationRequest>,
    ) -> Result<Response<pb::RegisterOrganisationResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        let r = req.into_inner();
        let mut v = Violations::default();
        let oin = v.parse::<Oin>("oin", &r.oin);
        let kind = org_kind_from_pb(r.kind);
        if kind.is_none() {
            v.format(
                "kind",
                "must be one of pro_school, vso_school, mbo_school, gemeente, admin, uitvoeringsorganisatie",
            );
        }
        Self::check_name(&mut v, &r.name);
        let brin = parse_optional::<BrinCode>(&mut v, "brin", &r.brin);
        let gemeentecode = parse_optional::<GemeenteCode>(&mut v, "gemeentecode", &r.gemeentecode);
        match kind {
            Some(k) if k.is_school() => {
                if r.brin.is_empty() {
                    v.format("brin", "a school needs its BRIN code");
                }
                if !r.gemeentecode.is_empty() {
                    v.format("gemeentecode", "only a gemeente has a gemeentecode");
                }
            }
            Some(OrgKind::Gemeente) => {
                if r.gemeentecode.is_empty() {
                    v.format("gemeentecode", "a gemeente needs its CBS gemeentecode");
                }
                if !r.brin.is_empty() {
                    v.format("brin", "only a school has a BRIN code");
                }
                if !r.doorstroompunt_regio.is_empty() || !r.arbeidsmarktregio.is_empty() {
                    v.format(
                        "gemeentecode",
                        "a gemeente's regions come from the region table; do not give them",
                    );
                }
            }
            Some(_) if !r.brin.is_empty() || !r.gemeentecode.is_empty() => {
                v.format(
                    "kind",
                    "only a school has a BRIN code and only a gemeente a gemeentecode",
                );
            }
            Some(_) | None => {}
        }
        let regions = self.regions(
            &mut v,
            gemeentecode.as_ref(),
            Some(&r.doorstroompunt_regio),
            Some(&r.arbeidsmarktregio),
        );
        v.finish()?;
        let (Some(oin), Some(kind)) = (oin, kind) else {
            return Err(HubError::Internal.into());
        };
        let new = NewOrganisation {
            oin: oin.clone(),
            kind,
            name: r.name.trim().to_owned(),
            brin,
            gemeentecode,
            doorstroompunt_regio: regions.doorstroompunt_regio,
            arbeidsmarktregio: regions.arbeidsmarktregio,
        };
        self.0
            .store
            .insert_organisation(
                &new,
                Timestamp::now(),
                admin_change(&caller, &ctx, &[oin.as_str()]),
            )
            .await
            .map_err(HubError::from)?;
        let organisation = self.0.organisation_pb(&oin).await?;
        Ok(Response::new(pb::RegisterOrganisationResponse {
            organisation: Some(organisation),
        }))
    }

    async fn update_organisation(
        &self,
        req: Request<pb::UpdateOrganisationRequest>,
    ) -> Result<Response<pb::UpdateOrganisationResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        let r = req.into_inner();
        let mut v = Violations::default();
        let oin = v.parse::<Oin>("oin", &r.oin);
        if let Some(name) = &r.name {
            Self::check_name(&mut v, name);
        }
        let brin = r.brin.as_deref().and_then(|b| v.parse::<BrinCode>("brin", b));
        let gemeentecode = r
            .gemeentecode
            .as_deref()
            .and_then(|g| v.parse::<GemeenteCode>("gemeentecode", g));
        v.finish()?;
        let oin = oin.ok_or(HubError::Internal)?;
        let current = self
            .0
            .store
            .get_organisation(&oin)
            .await
            .map_err(HubError::from)?;
        let current = current.ok_or(HubError::NotFound("organisation"))?;
        let mut v = Violations::default();
        if brin.is_some() && !current.kind.is_school() {
            v.format("brin", "only a school has a BRIN code");
        }
        if gemeentecode.is_some() && current.kind != OrgKind::Gemeente {
            v.format("gemeentecode", "only a gemeente has a gemeentecode");
        }
        if current.kind == OrgKind::Gemeente
            && (r.doorstroompunt_regio.is_some() || r.arbeidsmarktregio.is_some())
        {
            v.format(
                "gemeentecode",
                "a gemeente's regions come from the region table; change its gemeentecode instead",
            );
        }
        let regions = self.regions(
            &mut v,
            gemeentecode.as_ref(),
            r.doorstroompunt_regio.as_deref(),
            r.arbeidsmarktregio.as_deref(),
        );
        v.finish()?;
        let update = OrganisationUpdate {
            name: r.name.map(|n| n.trim().to_owned()),
            brin,
            gemeentecode,
            doorstroompunt_regio: regions.doorstroompunt_regio,
            arbeidsmarktregio: regions.arbeidsmarktregio,
            active: r.active,
        };
        self.0
            .store
            .update_organisation(
                &oin,
                update,
                Timestamp::now(),
                admin_change(&caller, &ctx, &[oin.as_str()]),
            )
            .await
            .map_err(HubError::from)?;
        let organisation = self.0.organisation_pb(&oin).await?;
        Ok(Response::new(pb::UpdateOrganisationResponse {
            organisation: Some(organisation),
        }))
    }

    async fn add_function(
        &self,
        req: Request<pb::AddFunctionRequest>,
    ) -> Result<Response<pb::AddFunctionResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        let r = req.into_inner();
        let mut v = Violations::default();
        let oin = v.parse::<Oin>("oin", &r.oin);
        let function = function_from_pb(r.function);
        if function.is_none() {
            v.format(
                "function",
                "must be one of school, doorstroompunt, participatiewet, privacy_officer, admin",
            );
        }
        v.finish()?;
        let (Some(oin), Some(function)) = (oin, function) else {
            return Err(HubError::Internal.into());
        };
        let org = self
            .0
            .store
            .get_organisation(&oin)
            .await
            .map_err(HubError::from)?;
        let org = org.ok_or(HubError::NotFound("organisation"))?;
        // R9: Doorstroompunt and Participatiewet are separate functions of a
        // gemeente; a school holds neither; the operator holds only admin.
        if !org.kind.allows_function(function) {
            return Err(HubError::InvalidArgument(vec![crate::error::Violation::rule(
                "function",
                RuleId::R9,
                format!(
                    "an organisation of kind {} cannot hold the {function} function",
                    org.kind
                ),
            )])
            .into());
        }
        self.0
            .store
            .add_function(
                &oin,
                function,
                Timestamp::now(),
                admin_change(&caller, &ctx, &[oin.as_str()]),
            )
            .await
            .map_err(HubError::from)?;
        let organisation = self.0.organisation_pb(&oin).await?;
        Ok(Response::new(pb::AddFunctionResponse {
            organisation: Some(organisation),
        }))
    }

    async fn register_recipient(
        &self,
        req: Request<pb::RegisterRecipientRequest>,
    ) -> Result<Response<pb::RegisterRecipientResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        let r = req.into_inner();
        let now = Timestamp::now();
        let mut v = Violations::default();
        let oin = v.parse::<Oin>("oin", &r.oin);
        let function = function_from_pb(r.function);
        match function {
            None => v.format("function", "must be a function that receives or sends case data"),
            Some(FunctionKind::Admin) => v.format(
                "function",
                "only school, doorstroompunt, participatiewet and privacy officer functions hold keys",
            ),
            Some(_) => {}
        }
        if age::x25519::Recipient::from_str(r.age_recipient.trim()).is_err() {
            v.format("age_recipient", "must be an age X25519 recipient (age1…)");
        }
        let valid_from = match &r.valid_from {
            None => Some(now),
            Some(t) => {
                let t = ts_from_pb(t);
                if t.is_none() {
                    v.format("valid_from", "is not a valid time");
                }
                t
            }
        };
        let valid_until = match &r.valid_until {
            None => None,
            Some(t) => match ts_from_pb(t) {
                Some(u) if valid_from.is_some_and(|f| u <= f) => {
                    v.format("valid_until", "must be after valid_from");
                    None
                }
                Some(u) => Some(u),
                None => {
                    v.format("valid_until", "is not a valid time");
                    None
                }
            },
        };
        v.finish()?;
        let (Some(oin), Some(function), Some(valid_from)) = (oin, function, valid_from) else {
            return Err(HubError::Internal.into());
        };
        let key = RecipientKey {
            key_id: Uuid::now_v7(),
            oin,
            function,
            age_recipient: r.age_recipient.trim().to_owned(),
            valid_from,
            valid_until,
            revoked_at: None,
        };
        self.0
            .store
            .insert_recipient(&key, now, admin_change(&caller, &ctx, &[key.oin.as_str()]))
            .await
            .map_err(HubError::from)?;
        Ok(Response::new(pb::RegisterRecipientResponse {
            recipient: Some(recipient_to_pb(&key)),
        }))
    }

    async fn revoke_recipient(
        &self,
        req: Request<pb::RevokeRecipientRequest>,
    ) -> Result<Response<pb::RevokeRecipientResponse>, Status> {
        let mut v = Violations::default();
        let (caller, ctx) = Caller::with_context(&req)?;
        let key_id = v.parse::<Uuid>("key_id", &req.into_inner().key_id);
        v.finish()?;
        let key_id = key_id.ok_or(HubError::Internal)?;
        let key = self
            .0
            .store
            .revoke_recipient(key_id, Timestamp::now(), admin_change(&caller, &ctx, &[]))
            .await
            .map_err(HubError::from)?;
        Ok(Response::new(pb::RevokeRecipientResponse {
            recipient: Some(recipient_to_pb(&key)),
        }))
    }

    async fn bind_certificate(
        &self,
        req: Request<pb::BindCertificateRequest>,
    ) -> Result<Response<pb::BindCertificateResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        let r = req.into_inner();
        let mut v = Violations::default();
        let oin = v.parse::<Oin>("oin", &r.oin);
        let function = function_from_pb(r.function);
        if function.is_none() {
            v.format(
                "function",
                "must be one of school, doorstroompunt, participatiewet, privacy_officer, admin",
            );
        }
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(r.certificate_pem.as_bytes())
                .filter_map(Result::ok)
                .collect();
        let facts = match chain.first() {
            None => {
                v.format("certificate_pem", "holds no PEM certificate");
                None
            }
            Some(der) => match cert_facts(der) {
                Ok(f) => Some(f),
                Err(e) => {
                    v.format("certificate_pem", e.to_string());
                    None
                }
            },
        };
        if let (Some(f), Some(oin)) = (&facts, &oin)
            && &f.oin != oin
        {
            v.format(
                "certificate_pem",
                "the certificate's serialNumber is a different OIN",
            );
        }
        // Bind only what the hub would accept: it chains to the CA bundle and is valid now.
        if facts.is_some()
            && let Err(reason) = self.0.authority.verify(&chain, UnixTime::now())
        {
            v.format("certificate_pem", reason.reason());
        }
        v.finish()?;
        let (Some(oin), Some(function), Some(facts)) = (oin, function, facts) else {
            return Err(HubError::Internal.into());
        };
        let binding = CertificateBinding {
            sha256: facts.sha256.clone(),
            oin,
            function,
            not_after: facts.not_after,
        };
        self.0
            .store
            .bind_certificate(
                &binding,
                Timestamp::now(),
                admin_change(&caller, &ctx, &[binding.oin.as_str()]),
            )
            .await
            .map_err(HubError::from)?;
        Ok(Response::new(pb::BindCertificateResponse {
            certificate_sha256: facts.sha256,
        }))
    }

    async fn unbind_certificate(
        &self,
        req: Request<pb::UnbindCertificateRequest>,
    ) -> Result<Response<pb::UnbindCertificateResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        let sha = req.into_inner().certificate_sha256.to_ascii_lowercase();
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            let v = vec![crate::error::Violation::format(
                "certificate_sha256",
                "must be 64 hex digits",
            )];
            return Err(HubError::InvalidArgument(v).into());
        }
        // The binding's organisation is a party to the entry.
        let binding = self
            .0
            .store
            .certificate_binding(&sha)
            .await
            .map_err(HubError::from)?;
        let binding = binding.ok_or(HubError::NotFound("certificate binding"))?;
        let audit = admin_change(&caller, &ctx, &[binding.oin.as_str()]);
        self.0
            .store
            .unbind_certificate(&sha, Timestamp::now(), audit)
            .await
            .map_err(HubError::from)?;
        Ok(Response::new(pb::UnbindCertificateResponse {}))
    }

    async fn purge(&self, req: Request<pb::PurgeRequest>) -> Result<Response<pb::PurgeResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        let r = req.into_inner();
        let state = &self.0;
        let now = state.retention.clock.now();
        let mut v = Violations::default();
        let as_of = match r.as_of.as_ref() {
            None => now,
            Some(t) => match ts_from_pb(t) {
                Some(t) if t <= now => t,
                Some(_) => {
                    v.format("as_of", "must not be in the future");
                    now
                }
                None => {
                    v.format("as_of", "not a valid timestamp");
                    now
                }
            },
        };
        let limit = match r.limit {
            0 => u32::MAX / 2,
            n => u32::try_from(n).unwrap_or_else(|_| {
                v.format("limit", "must not be negative");
                0
            }),
        };
        v.finish()?;
        let (items, more) = crate::retention::due(&state.store, &state.retention, as_of, limit)
            .await
            .map_err(HubError::from)?;
        let items = if r.dry_run {
            items
        } else {
            let who = crate::retention::Purger::Operator(&caller, &ctx);
            crate::retention::purge(&state.store, &who, state.policy.version(), items)
                .await
                .map_err(HubError::from)?
        };
        Ok(Response::new(pb::PurgeResponse {
            dry_run: r.dry_run,
            items: items.iter().map(purge_item_to_pb).collect(),
            more_remaining: more,
        }))
    }

    async fn record_mandate(
        &self,
        req: Request<pb::RecordMandateRequest>,
    ) -> Result<Response<pb::RecordMandateResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        Ok(Response::new(
            super::mandate::record(&self.0, &caller, &ctx, req.into_inner()).await?,
        ))
    }

    async fn end_mandate(
        &self,
        req: Request<pb::EndMandateRequest>,
    ) -> Result<Response<pb::EndMandateResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        Ok(Response::new(
            super::mandate::end(&self.0, &caller, &ctx, req.into_inner()).await?,
        ))
    }

    async fn list_mandates(
        &self,
        req: Request<pb::ListMandatesRequest>,
    ) -> Result<Response<pb::ListMandatesResponse>, Status> {
        Ok(Response::new(
            super::mandate::list(&self.0, req.into_inner()).await?,
        ))
    }
}

/// A purged (or, in a dry run, due) item as the API shows it.
fn purge_item_to_pb(c: &schakel_store::PurgeCandidate) -> pb::PurgeItem {
    use schakel_store::{PurgeKind, PurgeReason};
    pb::PurgeItem {
        kind: match c.kind {
            PurgeKind::Transfer => pb::PurgeItemKind::Transfer,
            PurgeKind::Expertise => pb::PurgeItemKind::ExpertiseRequest,
        } as i32,
        id: c.id.to_string(),
        purpose: c.purpose.clone(),
        reason: match c.reason {
            PurgeReason::RetentionExpired => pb::PurgeReason::RetentionExpired,
            PurgeReason::Withdrawn => pb::PurgeReason::Withdrawn,
            PurgeReason::Declined => pb::PurgeReason::Declined,
        } as i32,
        expired_at: Some(crate::wire::ts_to_pb(c.expired_at)),
        groups: c.groups.clone(),
    }
}
