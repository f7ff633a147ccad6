//! DirectoryService: who is who. Every registered function may call it.

use schakel_domain::{BrinCode, GemeenteCode, Oin};
use schakel_proto::v1 as pb;
use schakel_proto::v1::directory_service_server::DirectoryService;
use schakel_store::OrgFilter;
use tonic::{Request, Response, Status};

use super::HubState;
use crate::caller::Caller;
use crate::error::{HubError, Violations};
use crate::wire::{function_to_pb, org_kind_from_pb, organisation_to_pb};

/// Default and largest page of `ListOrganisations`.
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 500;

/// The DirectoryService handlers.
#[derive(Debug, Clone)]
pub struct DirectoryApi(pub HubState);

#[tonic::async_trait]
impl DirectoryService for DirectoryApi {
    async fn who_am_i(
        &self,
        req: Request<pb::WhoAmIRequest>,
    ) -> Result<Response<pb::WhoAmIResponse>, Status> {
        let caller = Caller::of(&req)?;
        let organisation = self.0.organisation_pb(caller.party.oin()).await?;
        Ok(Response::new(pb::WhoAmIResponse {
            organisation: Some(organisation),
            function: function_to_pb(caller.party.function()) as i32,
            certificate_sha256: caller.certificate_sha256.clone(),
        }))
    }

    async fn get_organisation(
        &self,
        req: Request<pb::GetOrganisationRequest>,
    ) -> Result<Response<pb::GetOrganisationResponse>, Status> {
        use pb::get_organisation_request::Key;
        let mut v = Violations::default();
        let store = &self.0.store;
        let oin = match req.into_inner().key {
            Some(Key::Oin(s)) => v.parse::<Oin>("oin", &s),
            Some(Key::Gemeentecode(s)) => match v.parse::<GemeenteCode>("gemeentecode", &s) {
                Some(code) => store
                    .oin_by_gemeentecode(code.as_str())
                    .await
                    .map_err(HubError::from)?,
                None => None,
            },
            Some(Key::Brin(s)) => match v.parse::<BrinCode>("brin", &s) {
                Some(brin) => store.oin_by_brin(brin.as_str()).await.map_err(HubError::from)?,
                None => None,
            },
            None => {
                v.format("key", "give one of oin, gemeentecode or brin");
                None
            }
        };
        v.finish()?;
        let oin = oin.ok_or(HubError::NotFound("organisation"))?;
        let organisation = self.0.organisation_pb(&oin).await?;
        Ok(Response::new(pb::GetOrganisationResponse {
            organisation: Some(organisation),
        }))
    }

    async fn list_organisations(
        &self,
        req: Request<pb::ListOrganisationsRequest>,
    ) -> Result<Response<pb::ListOrganisationsResponse>, Status> {
        let r = req.into_inner();
        let mut v = Violations::default();
        let kind = match r.kind {
            0 => None,
            k => {
                let parsed = org_kind_from_pb(k);
                if parsed.is_none() {
                    v.format("kind", "unknown organisation kind");
                }
                parsed
            }
        };
        let page_size = match r.page_size {
            n if n < 0 => {
                v.format("page_size", "must not be negative");
                DEFAULT_PAGE
            }
            0 => DEFAULT_PAGE,
            n => (n as u32).min(MAX_PAGE),
        };
        // The page token is the last OIN of the previous page; clients treat it as opaque.
        let after = if r.page_token.is_empty() {
            None
        } else {
            v.parse::<Oin>("page_token", &r.page_token)
        };
        v.finish()?;
        let filter = OrgFilter {
            kind,
            arbeidsmarktregio: Some(r.arbeidsmarktregio).filter(|s| !s.is_empty()),
            doorstroompunt_regio: Some(r.doorstroompunt_regio).filter(|s| !s.is_empty()),
            include_inactive: r.include_inactive,
        };
        let store = &self.0.store;
        // One more than asked tells whether another page exists.
        let mut orgs = store
            .list_organisations(&filter, after.as_ref(), page_size + 1)
            .await
            .map_err(HubError::from)?;
        let next_page_token = if orgs.len() > page_size as usize {
            orgs.truncate(page_size as usize);
            orgs.last().map(|o| o.oin.to_string()).unwrap_or_default()
        } else {
            String::new()
        };
        let mut organisations = Vec::with_capacity(orgs.len());
        for org in &orgs {
            let keys = store.recipients_of(&org.oin).await.map_err(HubError::from)?;
            organisations.push(organisation_to_pb(org, &keys, &self.0.regions));
        }
        Ok(Response::new(pb::ListOrganisationsResponse {
            organisations,
            next_page_token,
        }))
    }

    async fn get_region(
        &self,
        req: Request<pb::GetRegionRequest>,
    ) -> Result<Response<pb::GetRegionResponse>, Status> {
        let mut v = Violations::default();
        let code = v.parse::<GemeenteCode>("gemeentecode", &req.into_inner().gemeentecode);
        v.finish()?;
        let r = code
            .and_then(|c| self.0.regions.get(&c))
            .ok_or(HubError::NotFound("gemeente"))?;
        Ok(Response::new(pb::GetRegionResponse {
            gemeentecode: r.gemeentecode.to_string(),
            gemeentenaam: r.gemeentenaam.clone(),
            arbeidsmarktregio: r.am_code.clone(),
            arbeidsmarktregio_naam: r.am_naam.clone(),
            doorstroompunt_regio: r.rmc_code.clone(),
            doorstroompunt_regio_naam: r.rmc_naam.clone(),
        }))
    }
}
