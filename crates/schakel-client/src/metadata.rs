//! Request metadata every call carries: the end user acting (for the hub's
//! audit log) and a fresh W3C `traceparent`.

use rand::RngCore;
use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::service::Interceptor;

use crate::ClientError;

/// Metadata key of the end user's opaque id.
pub const USER_ID_HEADER: &str = "x-schakel-user-id";
/// Metadata key of the end user's role.
pub const USER_ROLE_HEADER: &str = "x-schakel-user-role";
/// The W3C Trace Context header.
pub const TRACEPARENT_HEADER: &str = "traceparent";

/// Longest user id or role the hub accepts.
pub const MAX_TOKEN_LEN: usize = 128;

/// The person acting in the calling system, as the hub's audit log records
/// it: an opaque id from the caller's own user administration and a role
/// (e.g. `loopbaanbegeleider`, `werkcoach`). Both are tokens of 1–128
/// printable ASCII characters without spaces; never a BSN or a name.
#[derive(Clone, PartialEq, Eq)]
pub struct EndUser {
    id: AsciiMetadataValue,
    role: AsciiMetadataValue,
}

impl std::fmt::Debug for EndUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndUser")
            .field("id", &self.id())
            .field("role", &self.role())
            .finish()
    }
}

/// Whether `s` is a valid user id or role token.
pub fn is_valid_token(s: &str) -> bool {
    (1..=MAX_TOKEN_LEN).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic())
}

fn token(s: &str, what: &'static str) -> Result<AsciiMetadataValue, ClientError> {
    if !is_valid_token(s) {
        // The value is not echoed: a misconfigured id may be a name.
        return Err(ClientError::EndUser(what));
    }
    MetadataValue::try_from(s).map_err(|_| ClientError::EndUser(what))
}

impl EndUser {
    /// Validates an end-user id and role.
    pub fn new(id: &str, role: &str) -> Result<Self, ClientError> {
        Ok(Self {
            id: token(
                id,
                "the user id must be 1-128 printable ASCII characters without spaces",
            )?,
            role: token(
                role,
                "the user role must be 1-128 printable ASCII characters without spaces",
            )?,
        })
    }

    /// The opaque user id.
    pub fn id(&self) -> &str {
        self.id.to_str().unwrap_or_default()
    }

    /// The role.
    pub fn role(&self) -> &str {
        self.role.to_str().unwrap_or_default()
    }
}

/// A fresh W3C trace context: `00-<32 hex trace id>-<16 hex span id>-01`,
/// both ids random and non-zero (an all-zero id is invalid).
pub fn new_traceparent() -> String {
    let mut rng = rand::thread_rng();
    let mut trace = [0u8; 16];
    let mut span = [0u8; 8];
    while trace.iter().all(|b| *b == 0) {
        rng.fill_bytes(&mut trace);
    }
    while span.iter().all(|b| *b == 0) {
        rng.fill_bytes(&mut span);
    }
    format!("00-{}-{}-01", hex::encode(trace), hex::encode(span))
}

/// The tonic interceptor that adds the end user (when known) and a fresh
/// `traceparent` to every outgoing request, so the hub's audit entries of
/// one call can be linked across organisations.
#[derive(Debug, Clone, Default)]
pub struct CallMetadata {
    user: Option<EndUser>,
}

impl CallMetadata {
    /// Metadata for calls made on behalf of `user` (or of nobody in
    /// particular, for calls that touch no case data).
    pub fn new(user: Option<EndUser>) -> Self {
        Self { user }
    }

    /// The end user, if any.
    pub fn user(&self) -> Option<&EndUser> {
        self.user.as_ref()
    }
}

impl Interceptor for CallMetadata {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let meta = request.metadata_mut();
        if let Some(user) = &self.user {
            meta.insert(USER_ID_HEADER, user.id.clone());
            meta.insert(USER_ROLE_HEADER, user.role.clone());
        }
        // A caller that set its own trace context (e.g. from its own span)
        // keeps it.
        if !meta.contains_key(TRACEPARENT_HEADER) {
            let value = MetadataValue::try_from(new_traceparent())
                .map_err(|_| tonic::Status::internal("building the traceparent header"))?;
            meta.insert(TRACEPARENT_HEADER, value);
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_printable_ascii_without_spaces() {
        assert!(EndUser::new("u-1234", "werkcoach").is_ok());
        assert!(EndUser::new(&"x".repeat(128), "fg").is_ok());
        for bad in ["", " ", "jan jansen", "tab\tx", "é", "nl\n"] {
            assert!(EndUser::new(bad, "werkcoach").is_err(), "{bad:?}");
            assert!(EndUser::new("u1", bad).is_err(), "{bad:?}");
        }
        assert!(EndUser::new(&"x".repeat(129), "fg").is_err());
    }

    #[test]
    fn an_invalid_token_is_not_echoed() {
        let e = EndUser::new("Jan Jansen", "werkcoach").unwrap_err().to_string();
        assert!(!e.contains("Jansen"), "{e}");
    }

    #[test]
    fn traceparent_has_the_w3c_shape_and_is_fresh() {
        let a = new_traceparent();
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(parts.len(), 4, "{a}");
        assert_eq!(parts[0], "00");
        assert_eq!(parts[1].len(), 32);
        assert_eq!(parts[2].len(), 16);
        assert_eq!(parts[3], "01");
        assert!(parts[1..3].iter().all(|p| {
            p.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        }));
        assert_ne!(parts[1], "0".repeat(32));
        assert_ne!(a, new_traceparent());
    }

    #[test]
    fn the_interceptor_adds_user_and_trace_headers() {
        let mut i = CallMetadata::new(Some(EndUser::new("u-1", "werkcoach").unwrap()));
        let r = i.call(tonic::Request::new(())).unwrap();
        assert_eq!(r.metadata().get(USER_ID_HEADER).unwrap(), "u-1");
        assert_eq!(r.metadata().get(USER_ROLE_HEADER).unwrap(), "werkcoach");
        assert!(r.metadata().get(TRACEPARENT_HEADER).is_some());

        let mut anonymous = CallMetadata::default();
        let r = anonymous.call(tonic::Request::new(())).unwrap();
        assert!(r.metadata().get(USER_ID_HEADER).is_none());
        assert!(r.metadata().get(TRACEPARENT_HEADER).is_some());
    }
}
