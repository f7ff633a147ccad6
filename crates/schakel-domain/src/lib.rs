//! Pure domain types of schakel.
//!
//! Everything here is a value that cannot hold an invalid state: parsing is
//! `TryFrom`/`FromStr` and fails with an error that names the field. The crate
//! does no I/O and knows nothing of gRPC or SQL (DESIGN.md §2).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod ids;
mod org;

pub use error::DomainError;
pub use ids::{BrinCode, Bsn, GemeenteCode, Oin};
pub use org::{FunctionKind, OrgKind};
