//! Directory lookups: who am I, organisations, regions.

use clap::ValueEnum;
use schakel_client::Hub;
use schakel_proto::v1 as pb;

use crate::output::{Out, print_organisation};

/// Kind of organisation.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Kind {
    /// Praktijkonderwijs school.
    ProSchool,
    /// vso school.
    VsoSchool,
    /// mbo-instelling.
    MboSchool,
    /// Gemeente.
    Gemeente,
    /// Hub operator.
    Admin,
    /// Uitvoeringsorganisatie: carries out a gemeente's task under a mandate (R9).
    Uitvoeringsorganisatie,
}

impl Kind {
    /// The wire value.
    pub fn pb(self) -> pb::OrgKind {
        match self {
            Self::ProSchool => pb::OrgKind::ProSchool,
            Self::VsoSchool => pb::OrgKind::VsoSchool,
            Self::MboSchool => pb::OrgKind::MboSchool,
            Self::Gemeente => pb::OrgKind::Gemeente,
            Self::Admin => pb::OrgKind::Admin,
            Self::Uitvoeringsorganisatie => pb::OrgKind::Uitvoeringsorganisatie,
        }
    }
}

/// `whoami`.
pub async fn whoami(hub: &Hub, out: &mut Out) -> Result<(), tonic::Status> {
    let r = hub.directory().who_am_i(pb::WhoAmIRequest {}).await?;
    out.whoami(&r.into_inner());
    Ok(())
}

/// `org KEY`.
pub async fn org(hub: &Hub, key: String, out: &mut Out) -> Result<(), tonic::Status> {
    use pb::get_organisation_request::Key;
    let key = if key.starts_with("GM") {
        Key::Gemeentecode(key)
    } else if key.len() == 4 {
        Key::Brin(key)
    } else {
        Key::Oin(key)
    };
    let r = hub
        .directory()
        .get_organisation(pb::GetOrganisationRequest { key: Some(key) })
        .await?;
    print_organisation(out, r.into_inner().organisation.as_ref());
    Ok(())
}

/// `region GEMEENTECODE`.
pub async fn region(hub: &Hub, gemeentecode: String, out: &mut Out) -> Result<(), tonic::Status> {
    let r = hub
        .directory()
        .get_region(pb::GetRegionRequest { gemeentecode })
        .await?;
    out.region(&r.into_inner());
    Ok(())
}

/// `orgs`: every page of the public directory.
pub async fn orgs(
    hub: &Hub,
    kind: Option<Kind>,
    include_inactive: bool,
    out: &mut Out,
) -> Result<(), tonic::Status> {
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let req = pb::ListOrganisationsRequest {
            kind: kind.map(|k| k.pb() as i32).unwrap_or(0),
            include_inactive,
            page_size: 200,
            page_token: page_token.clone(),
            ..Default::default()
        };
        let r = hub.directory().list_organisations(req).await?.into_inner();
        all.extend(r.organisations);
        if r.next_page_token.is_empty() {
            break;
        }
        page_token = r.next_page_token;
    }
    out.organisations(&all);
    Ok(())
}
