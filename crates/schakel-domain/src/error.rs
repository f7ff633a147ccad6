//! The one error type of this crate.

/// A value that does not satisfy its type's invariant.
///
/// `field` names what was being parsed (e.g. `oin`, `identity.bsn`); `reason`
/// says what is wrong in plain words. Neither ever contains the rejected value
/// itself: input may be a BSN or a name (DESIGN.md §7, property 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {reason}")]
pub struct DomainError {
    /// The field (or field path) that was being parsed.
    pub field: &'static str,
    /// Why the value was refused, without repeating the value.
    pub reason: &'static str,
}

impl DomainError {
    /// A new error for `field`.
    pub const fn new(field: &'static str, reason: &'static str) -> Self {
        Self { field, reason }
    }
}
