//! The wire boundary: what a request says, decoded into domain and policy
//! types with every problem collected at once (a typed refusal), and the
//! answers written back. Pure: no database, no hub state. The handlers in
//! `services` go wire in → use case → wire out.
//!
//! - [`check`]: caller-chosen keys, references, free text, ids.
//! - [`consent`]: the ConsentService's RecordConsent, read whole.
//! - [`convert`]: proto ↔ domain enums, dates, timestamps, small answers.
//! - [`document`]: a submitted document (groups, justifications, subject
//!   facts) and where each policy path sits in the request.
//! - [`expertise`]: the ExpertiseService's write requests, read whole.
//! - [`inbox`]: the InboxService's write requests and WithdrawConsent, read
//!   whole.
//! - [`transfer`]: the TransferService's write requests, read whole.

pub mod check;
pub mod consent;
pub mod convert;
pub mod document;
pub mod expertise;
pub mod inbox;
pub mod transfer;

pub use check::*;
pub use consent::*;
pub use convert::*;
pub use document::*;
pub use expertise::*;
pub use inbox::*;
pub use transfer::*;
