//! Pure domain types of schakel.
//!
//! Everything here is a value that cannot hold an invalid state: parsing is
//! `TryFrom`/`FromStr` and fails with an error that names the field. The crate
//! does no I/O and knows nothing of gRPC or SQL (DESIGN.md §2).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod text_enum;

mod consent;
pub mod dates;
mod error;
mod field;
mod ids;
mod org;
mod party;
mod purpose;
mod school;
mod transfer;

pub use consent::{Consent, ConsentGiver, ConsentMethod, ConsentRecord, ConsentScope, ConsentStatus};
pub use error::DomainError;
pub use field::{FieldGroup, FieldPath};
pub use ids::{BrinCode, Bsn, GemeenteCode, Oin, Pseudonym, TransferId, holds_possible_bsn};
pub use org::{FunctionKind, OrgKind};
pub use party::{Party, PartyParts};
pub use purpose::PurposeId;
pub use school::{DiplomaLevel, SchoolType, VsoExitProfile};
pub use transfer::{CaseDecision, DeclineReason, ExpertiseState, TransferEvent, TransferState};
