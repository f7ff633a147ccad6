//! The hub's one error type and its single mapping to `tonic::Status`.
//!
//! Messages sent to clients never carry SQL, driver details, certificate
//! contents, BSNs, names or document content; internal details are logged
//! once, here, without personal data.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

use schakel_policy::RuleId;
use schakel_store::StoreError;

/// Why an RPC failed.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The request is malformed; every problem with its field path.
    #[error("invalid request")]
    InvalidArgument(Vec<Violation>),
    /// The request is well-formed but the state of the world refuses it
    /// (a rule about the youth, the consent, the date); every violation.
    #[error("refused")]
    Precondition(Vec<Violation>),
    /// The thing asked for does not exist — or exists but is not the caller's
    /// to see (DESIGN.md §7 property 5: both answer alike).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// It exists already.
    #[error("{0} already exists")]
    AlreadyExists(&'static str),
    /// The request is well-formed but the system is not in a state to do it.
    #[error("{0}")]
    FailedPrecondition(String),
    /// The caller is known but may not do this.
    #[error("{0}")]
    PermissionDenied(String),
    /// The caller could not be identified.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// The database is unavailable, or could not confirm that a write is on
    /// disk. Retry with the same idempotency key: the answer is then the
    /// stored one (replayed) or a new one, never two.
    #[error("storage unavailable, retry later")]
    Unavailable,
    /// Stored data does not verify: the audit log contradicts itself or a
    /// signed checkpoint, or a stored row does not match the entry that
    /// wrote it (DESIGN.md §7 properties 4 and 8). The message names the
    /// position, row or checkpoint — never content — so a privacy officer
    /// learns what failed without reading the hub's log.
    #[error("stored data does not verify: {0}")]
    DataLoss(String),
    /// A bug or corrupt data; details are in the hub's log.
    #[error("internal error")]
    Internal,
}

/// What a violation breaks: the form of the request, a rule of domain.md §3,
/// or the state of what the request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// A field is missing, malformed or out of range. On the wire the
    /// description starts with `format:`.
    Format,
    /// A rule of domain.md §3. On the wire the description starts with its
    /// id (`R4:`), as transfer.proto promises.
    Policy(RuleId),
    /// The thing the request names is not in a state to allow it (a decision
    /// already made, a transfer not fetched yet); the description has no
    /// prefix.
    State,
}

impl Rule {
    /// The name an audit entry's `refused` outcome lists: `format`, `R4`,
    /// `state`.
    pub fn audit_name(self) -> String {
        match self {
            Self::Format => "format".to_owned(),
            Self::Policy(id) => id.to_string(),
            Self::State => "state".to_owned(),
        }
    }

    /// The policy rule, when this is one.
    pub fn policy(self) -> Option<RuleId> {
        match self {
            Self::Policy(id) => Some(id),
            Self::Format | Self::State => None,
        }
    }
}

/// The rules a refusal names, for its audit entry: sorted, each once.
pub fn audit_rules(violations: &[Violation]) -> Vec<String> {
    let mut names: Vec<String> = violations.iter().map(|v| v.rule.audit_name()).collect();
    names.sort();
    names.dedup();
    names
}

/// One problem with one field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The field path, e.g. `gemeentecode` or `document.groups[2].name`.
    pub path: String,
    /// What the problem breaks.
    pub rule: Rule,
    /// What is wrong, in plain words, without the rule id: lowercase, no
    /// trailing period, never a value of the request.
    pub message: String,
}

impl Violation {
    /// A problem with the form of `path`.
    pub fn format(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(path, Rule::Format, message)
    }

    /// A violation of the policy rule `rule` at `path`.
    pub fn rule(path: impl Into<String>, rule: RuleId, message: impl Into<String>) -> Self {
        Self::new(path, Rule::Policy(rule), message)
    }

    /// `path` names something in a state that does not allow the request.
    pub fn state(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(path, Rule::State, message)
    }

    /// A violation of `rule` at `path`.
    pub fn new(path: impl Into<String>, rule: Rule, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            rule,
            message: message.into(),
        }
    }

    /// The description clients read: the rule id (`R4: …`, `format: …`),
    /// then the message.
    pub fn description(&self) -> String {
        match self.rule {
            Rule::Format => format!("format: {}", self.message),
            Rule::Policy(id) => format!("{id}: {}", self.message),
            Rule::State => self.message.clone(),
        }
    }
}

impl From<StoreError> for HubError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::NotFound(what),
            StoreError::Conflict(what) => Self::AlreadyExists(what),
            StoreError::MissingReference(what) => Self::FailedPrecondition(format!(
                "{what} refers to an organisation or function that is not registered"
            )),
            StoreError::Unavailable(ref source) => {
                tracing::warn!(error = %source, "database unavailable");
                Self::Unavailable
            }
            // Logged where it was found (the store's group commit).
            StoreError::NotDurable(_) => Self::Unavailable,
            StoreError::Corrupt(what) => {
                tracing::error!(what, "a stored value does not decode");
                Self::DataLoss(format!("a stored {what} does not decode"))
            }
            // Logged where it was found (`row_commitments`), with the position.
            e @ StoreError::RowChanged { .. } => Self::DataLoss(e.to_string()),
            other => {
                tracing::error!(error = %other, source = ?std::error::Error::source(&other).map(|s| s.to_string()), "storage failed");
                Self::Internal
            }
        }
    }
}

impl From<HubError> for Status {
    fn from(e: HubError) -> Self {
        match e {
            HubError::InvalidArgument(violations) => {
                with_violations(Code::InvalidArgument, "invalid request", violations)
            }
            HubError::Precondition(violations) => {
                with_violations(Code::FailedPrecondition, "refused", violations)
            }
            HubError::NotFound(what) => Status::not_found(format!("{what} not found")),
            HubError::AlreadyExists(what) => Status::already_exists(format!("{what} already exists")),
            HubError::FailedPrecondition(msg) => Status::failed_precondition(msg),
            HubError::PermissionDenied(msg) => Status::permission_denied(msg),
            HubError::Unauthenticated(msg) => Status::unauthenticated(msg),
            HubError::Unavailable => Status::unavailable("storage unavailable, retry later"),
            HubError::DataLoss(reason) => Status::data_loss(format!("stored data does not verify: {reason}")),
            HubError::Internal => Status::internal("internal error"),
        }
    }
}

/// The field violations of one answer travel in a response header,
/// `grpc-status-details-bin`, base64-encoded (4 bytes for every 3), beside
/// `grpc-message`. C-core gRPC clients (Python, C++, Ruby, PHP) refuse
/// response metadata over 8 KiB and report `RESOURCE_EXHAUSTED` instead of
/// the refusal (issue 15). So the encoded details stay within this many
/// bytes (about 5.5 KiB once base64-encoded), and a last entry says how many
/// more problems there were.
const MAX_DETAIL_BYTES: usize = 4 * 1024;

/// A status with every violation as a `google.rpc.BadRequest` field violation
/// (within [`MAX_DETAIL_BYTES`]; the rest are counted in a last entry).
fn with_violations(code: Code, what: &str, violations: Vec<Violation>) -> Status {
    let summary = if violations.len() == 1 {
        format!("{what}: {}: {}", violations[0].path, violations[0].description())
    } else {
        format!("{what}: {} problems", violations.len())
    };
    let total = violations.len();
    let mut listed: Vec<FieldViolation> = Vec::new();
    // Room for the summary, the wrappers (`Status`, `Any`, `BadRequest`) and
    // the last entry's count.
    let mut used = summary.len() + 256;
    for v in violations {
        // Each field violation costs its text and about 8 bytes of tags and
        // lengths.
        let description = v.description();
        used += v.path.len() + description.len() + 8;
        if used > MAX_DETAIL_BYTES {
            break;
        }
        listed.push(FieldViolation::new(v.path, description));
    }
    if listed.len() < total {
        let more = total - listed.len();
        listed.push(FieldViolation::new(
            "",
            format!("format: and {more} more problems of this request, not listed; fix these first"),
        ));
    }
    Status::with_error_details(code, summary, ErrorDetails::with_bad_request(listed))
}

#[cfg(test)]
mod detail_tests {
    use tonic_types::StatusExt;

    use super::*;

    #[test]
    fn many_violations_fit_in_a_header_with_a_count_of_the_rest() {
        let many: Vec<Violation> = (0..500)
            .map(|i| {
                Violation::rule(
                    format!("groups[0].fields[{i}].key"),
                    RuleId::R14,
                    "this field may never be exchanged here",
                )
            })
            .collect();
        let status = Status::from(HubError::InvalidArgument(many));
        let bad = status.get_details_bad_request().unwrap();
        let listed = bad.field_violations.len();
        assert!(listed > 40 && listed < 500, "{listed}");
        let last = bad.field_violations.last().unwrap();
        assert!(
            last.description
                .contains(&format!("and {} more problems", 500 - (listed - 1))),
            "{last:?}"
        );
        // What travels: the details base64-encoded, and the message.
        let header = status.details().len().div_ceil(3) * 4 + status.message().len();
        assert!(header < 7 * 1024, "{header} bytes of headers");
        assert!(
            status.details().len() <= MAX_DETAIL_BYTES,
            "{}",
            status.details().len()
        );
        assert_eq!(status.message(), "invalid request: 500 problems");
    }

    /// The case that reached Python clients as RESOURCE_EXHAUSTED: 60
    /// unknown field keys, each with a long explanation.
    #[test]
    fn long_explanations_stay_under_the_c_core_metadata_limit() {
        let long: Vec<Violation> = (0..60)
            .map(|i| {
                Violation::rule(
                    format!("groups[{i}].fields[{i}].key"),
                    RuleId::R14,
                    "not a field of the catalogue for this group; ".repeat(6),
                )
            })
            .collect();
        let status = Status::from(HubError::InvalidArgument(long));
        let header = status.details().len().div_ceil(3) * 4 + status.message().len();
        assert!(header < 7 * 1024, "{header} bytes of headers");
        let last = status
            .get_details_bad_request()
            .unwrap()
            .field_violations
            .pop()
            .unwrap();
        assert!(last.description.contains("more problems"), "{last:?}");
    }
}

/// Collects violations while a request is validated, so the caller learns
/// every problem at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<Violation>);

impl Violations {
    /// Records a problem with the form of `field`.
    pub fn format(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(Violation::format(field, message));
    }

    /// Records a violation of the policy rule `rule` at `field`.
    pub fn rule(&mut self, field: impl Into<String>, rule: RuleId, message: impl Into<String>) {
        self.0.push(Violation::rule(field, rule, message));
    }

    /// Records a violation.
    pub fn push(&mut self, violation: Violation) {
        self.0.push(violation);
    }

    /// Refuses an enum number this version of the API does not define.
    /// Protobuf keeps unknown numbers; read as "not set", one would be
    /// stored as not given (a `return_to_education` of -5 became "no
    /// judgement") instead of refused (issue 15).
    pub fn known_enum<E: TryFrom<i32>>(&mut self, field: impl Into<String>, value: i32) {
        if E::try_from(value).is_err() {
            self.format(field, "not a value this API defines");
        }
    }

    /// Parses `value` into `T`, recording a violation of `field` on failure.
    pub fn parse<T: std::str::FromStr>(&mut self, field: &str, value: &str) -> Option<T>
    where
        T::Err: std::fmt::Display,
    {
        match value.parse() {
            Ok(v) => Some(v),
            Err(e) => {
                self.format(field, e.to_string());
                None
            }
        }
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every violation recorded so far.
    pub fn into_vec(self) -> Vec<Violation> {
        self.0
    }

    /// `Ok` when nothing was recorded, else every violation.
    pub fn finish(self) -> Result<(), HubError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(HubError::InvalidArgument(self.0))
        }
    }
}
