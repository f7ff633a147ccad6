//! Storage of schakel through sqlx: an embedded SQLite file by default,
//! PostgreSQL when several hubs share the load.
//!
//! Both backends run the same queries (`queries/*.sql`, `$N` placeholders,
//! which sqlx binds positionally on SQLite too) against schemas created by
//! numbered migrations per backend (`migrations/sqlite`, `migrations/postgres`).
//! Callers see one [`Store`] and one [`StoreError`]; SQL and driver details
//! never leave this crate. The conformance suite in `tests/conformance.rs`
//! runs against both backends so they stay interchangeable.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod audit;
mod audit_index;
mod audit_nodes;
mod audit_query;
mod directory;
mod directory_cache;
mod durable;
mod error;
mod exchange;
mod hardheidsclausule;
mod mandates;
mod model;
mod pool;
mod records;
mod regional;
mod retention;
mod row_commitments;

pub use audit::{StoredCheckpoint, StoredEntry, recompute_leaf};
pub use audit_query::{AuditQuery, TransferClosure};
pub use durable::{CommitStats, ReadMark};
pub use error::StoreError;
pub use exchange::{
    ConsentFilter, ConsentRow, ExpertiseFilter, ExpertisePart, ExpertiseRow, Idempotency, NewAdvice,
    NewTransfer, PartyKey, SealedRow, Side, TransferChange, TransferFilter, TransferRow, Transition,
};
pub use hardheidsclausule::HardheidsclausuleRow;
pub use mandates::{MandateFilter, MandateRow};
pub use model::{
    CertificateBinding, NewOrganisation, OrgFilter, Organisation, OrganisationUpdate, RecipientKey,
};
pub use pool::{Backend, DatabaseProbe, Store, StoreOptions, probe, sqlite_file};
pub use regional::{
    ConsentCount, ConsentEvent, DecisionCount, ExpertiseOutcome, HandoverOutcome, TransferCount,
};
pub use retention::{PurgeCandidate, PurgeKind, PurgeReason};
