//! The sizes a request may have: the document limits the handlers check
//! field by field and the intake layer counts on the wire before decoding
//! (`intake.rs`). A leaf module, so both can use it.

/// Longest idempotency key.
pub const MAX_IDEMPOTENCY_KEY: usize = 128;
/// Longest client or case reference.
pub const MAX_REFERENCE: usize = 128;
/// Default and largest page sizes (common.proto conventions).
pub const DEFAULT_PAGE: u32 = 50;
/// Largest page size; larger requests are clamped.
pub const MAX_PAGE: u32 = 500;
/// Most groups in one submission.
pub const MAX_GROUPS: usize = 32;
/// Most fields in one group.
pub const MAX_FIELDS: usize = 200;
/// Longest field key, in bytes.
pub const MAX_FIELD_KEY: usize = 64;
/// Longest field value, in characters.
pub const MAX_FIELD_VALUE: usize = 4000;
/// Longest free text (question, advice, reason, justification), in characters.
pub const MAX_TEXT: usize = 4000;
