//! The gRPC service handlers: wire in (`crate::wire`) → use case → wire out.
//! Writes that create a case record go through one pipeline
//! (`pipeline.rs`); every refusal of a write is audited (`refuse.rs`); what
//! the handlers share besides — parties, keys, sealing, paging, audit
//! entries of case actions — is in `exchange.rs`.

mod admin;
mod audit;
mod consent;
mod directory;
mod exchange;
mod expertise;
mod hardheidsclausule;
mod inbox;
pub(crate) mod mandate;
mod pipeline;
mod refuse;
mod region;
mod transfer;

pub use admin::AdminApi;
pub use audit::AuditApi;
pub use consent::ConsentApi;
pub use directory::DirectoryApi;
pub use expertise::ExpertiseApi;
pub use inbox::InboxApi;
pub use region::RegionApi;
pub use transfer::TransferApi;

use std::sync::Arc;

use schakel_domain::Oin;
use schakel_proto::v1 as pb;
use schakel_store::Store;

use crate::error::HubError;
use crate::regions::RegionTable;
use crate::tls::ClientAuthority;
use crate::wire::organisation_to_pb;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct HubState {
    /// The database.
    pub store: Store,
    /// The region table.
    pub regions: Arc<RegionTable>,
    /// The CA bundle, to check certificates before they are bound.
    pub authority: ClientAuthority,
    /// The validated policy; decisions name its version.
    pub policy: Arc<schakel_policy::Policy>,
    /// Subject pseudonyms and request fingerprints under the hub secret.
    pub pseudonymiser: Arc<schakel_crypto::Pseudonymiser>,
    /// Signs audit checkpoints.
    pub checkpointer: crate::checkpoint::Checkpointer,
    /// Default thresholds of the anomaly report.
    pub anomaly_defaults: crate::config::AnomalyDefaults,
    /// Retention purge settings (R15).
    pub retention: crate::retention::RetentionSettings,
}

impl HubState {
    /// The organisation with this OIN as the API shows it.
    pub(crate) async fn organisation_pb(&self, oin: &Oin) -> Result<pb::Organisation, HubError> {
        let org = self
            .store
            .get_organisation(oin)
            .await?
            .ok_or(HubError::NotFound("organisation"))?;
        let keys = self.store.recipients_of(oin).await?;
        Ok(organisation_to_pb(&org, &keys, &self.regions))
    }
}
