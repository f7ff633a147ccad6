//! Who is calling and on whose behalf: the authenticated [`Caller`] (put
//! into the request by `auth`) and the [`RequestContext`] of the request —
//! the end user its system names, the trace — from which audit entries are
//! made. A leaf module: everything else may use it, it uses only `error`.
//! Entries never carry a BSN, a name or document content.

use schakel_audit::{Action, Actor, Entry, Outcome, SpanId, TraceContext, TraceId};

use schakel_domain::Party;
use tonic::Status;

use crate::error::HubError;

/// Metadata key for the end user on whose behalf the calling system acts.
pub const USER_ID_HEADER: &str = "x-schakel-user-id";
/// Metadata key for that end user's role.
pub const USER_ROLE_HEADER: &str = "x-schakel-user-role";

/// Per-request facts for the audit log, taken from request metadata.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// Trace id from an incoming W3C `traceparent` (or a new one) and a new
    /// span id for the hub's handling of the request.
    pub trace: TraceContext,
    /// End-user id passed by the calling system (`x-schakel-user-id`).
    pub user_id: Option<String>,
    /// End-user role passed by the calling system (`x-schakel-user-role`).
    pub user_role: Option<String>,
}

/// Why request metadata was refused: the header and what is wrong with it
/// (never the value, which the client chose).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadMetadata {
    /// The header, e.g. `x-schakel-user-id`.
    pub header: &'static str,
    /// What is wrong, in plain words.
    pub problem: &'static str,
}

/// A metadata token: 1 to 128 printable ASCII characters without spaces,
/// the form the audit entry accepts, and no number that could be a BSN:
/// the end-user id and role go into the append-only log, where personal
/// data could never be erased again (issue 15).
fn token(value: Option<&str>, header: &'static str) -> Result<Option<String>, BadMetadata> {
    match value {
        None => Ok(None),
        Some(v) if !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()) => {
            if schakel_domain::holds_possible_bsn(v) {
                Err(BadMetadata {
                    header,
                    problem: "must not contain a number that could be a BSN (9 digits passing the elfproef)",
                })
            } else {
                Ok(Some(v.to_owned()))
            }
        }
        Some(_) => Err(BadMetadata {
            header,
            problem: "must be 1 to 128 printable ASCII characters without spaces",
        }),
    }
}

fn nonzero<const N: usize>() -> [u8; N] {
    loop {
        let b: [u8; N] = std::array::from_fn(|_| rand::random());
        if b.iter().any(|&x| x != 0) {
            return b;
        }
    }
}

/// Parses a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`) and returns
/// its trace id; `None` when absent or malformed (a new trace starts).
pub fn trace_id_from_traceparent(value: &str) -> Option<[u8; 16]> {
    let mut parts = value.trim().split('-');
    let (version, trace, parent, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if version.len() != 2 || version == "ff" || trace.len() != 32 || parent.len() != 16 || flags.len() != 2 {
        return None;
    }
    if version == "00" && parts.next().is_some() {
        return None;
    }
    // Lowercase hex only (W3C Trace Context §3.2.2); anything else is
    // ignored and a new trace starts.
    let lower_hex = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    if ![version, trace, parent, flags].into_iter().all(lower_hex) {
        return None;
    }
    if parent.bytes().all(|b| b == b'0') {
        return None;
    }
    let mut id = [0u8; 16];
    hex::decode_to_slice(trace, &mut id).ok()?;
    id.iter().any(|&b| b != 0).then_some(id)
}

fn bad_traceparent() -> BadMetadata {
    BadMetadata {
        header: "traceparent",
        problem: "not a W3C trace context",
    }
}

impl RequestContext {
    /// Reads the context from request headers.
    pub fn from_headers(headers: &http::HeaderMap) -> Result<Self, BadMetadata> {
        let text = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("\u{0}"));
        let trace_id = text("traceparent")
            .and_then(trace_id_from_traceparent)
            .unwrap_or_else(nonzero::<16>);
        let trace = TraceContext {
            trace_id: TraceId::from_bytes(trace_id).map_err(|_| bad_traceparent())?,
            span_id: SpanId::from_bytes(nonzero::<8>()).map_err(|_| bad_traceparent())?,
        };
        Ok(Self {
            trace,
            user_id: token(text(USER_ID_HEADER), USER_ID_HEADER)?,
            user_role: token(text(USER_ROLE_HEADER), USER_ROLE_HEADER)?,
        })
    }

    /// The same context under the OpenTelemetry trace and span of the
    /// request (when spans are exported), so the audit entry and the
    /// exported span name the same ids.
    pub fn with_ids(mut self, trace_id: [u8; 16], span_id: [u8; 8]) -> Self {
        if let (Ok(t), Ok(s)) = (TraceId::from_bytes(trace_id), SpanId::from_bytes(span_id)) {
            self.trace = TraceContext {
                trace_id: t,
                span_id: s,
            };
        }
        self
    }

    /// A context for work the hub does on its own (development set-up),
    /// with a new trace.
    pub fn internal(user_id: &str) -> Result<Self, BadMetadata> {
        let mut ctx = Self::from_headers(&http::HeaderMap::new())?;
        ctx.user_id = token(Some(user_id), USER_ID_HEADER)?;
        Ok(ctx)
    }

    /// An entry for `action` by `caller` (or by an unidentified peer whose
    /// certificate named `claimed_oin`), with `parties` the other
    /// organisations involved. `seq` and `time_ms` are set when appended.
    pub fn entry(
        &self,
        caller: Option<&Caller>,
        claimed_oin: Option<&str>,
        action: Action,
        outcome: Outcome,
        parties: &[&str],
    ) -> Entry {
        let mut parties: Vec<String> = parties.iter().map(|p| (*p).to_owned()).collect();
        parties.sort();
        parties.dedup();
        Entry {
            seq: 0,
            time_ms: 0,
            actor: Actor {
                oin: caller
                    .map(|c| c.party.oin().to_string())
                    .or(claimed_oin.map(str::to_owned)),
                function: caller.map(|c| c.party.function().as_str().to_owned()),
                user_id: self.user_id.clone(),
                user_role: self.user_role.clone(),
                acting_for: None,
            },
            action,
            outcome,
            activity: None,
            legal_basis: None,
            subject: None,
            transfer_id: None,
            consent_id: None,
            groups: Vec::new(),
            parties,
            trace: self.trace,
            rows: Vec::new(),
            attempts: None,
            flags: Vec::new(),
            justification_marks: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_is_honoured_when_well_formed() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(
            hex::encode(trace_id_from_traceparent(tp).unwrap()),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        for bad in [
            "",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e47zz-00f067aa0ba902b7-01",
            // 30 digits: not padded with zeros, ignored (issue 15).
            "00-4bf92f3577b34da6a3ce929d0e0e4-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
        ] {
            assert_eq!(trace_id_from_traceparent(bad), None, "{bad}");
        }
    }

    #[test]
    fn user_metadata_must_be_a_token() {
        let mut h = http::HeaderMap::new();
        h.insert(USER_ID_HEADER, "werkcoach-17".parse().unwrap());
        h.insert(USER_ROLE_HEADER, "werkcoach".parse().unwrap());
        let ctx = RequestContext::from_headers(&h).unwrap();
        assert_eq!(ctx.user_id.as_deref(), Some("werkcoach-17"));
        h.insert(USER_ROLE_HEADER, "two words".parse().unwrap());
        assert_eq!(
            RequestContext::from_headers(&h).unwrap_err().header,
            USER_ROLE_HEADER
        );
        // A BSN as the end-user id would be in the append-only log forever.
        h.insert(USER_ROLE_HEADER, "werkcoach".parse().unwrap());
        h.insert(USER_ID_HEADER, "jip-999990019".parse().unwrap());
        let err = RequestContext::from_headers(&h).unwrap_err();
        assert_eq!(err.header, USER_ID_HEADER);
        assert!(err.problem.contains("BSN"), "{err:?}");
    }
}

/// The authenticated caller of an RPC.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The party calling: its organisation (as registered, active) and the
    /// function its certificate is bound to.
    pub party: Party,
    /// Hex SHA-256 of its certificate.
    pub certificate_sha256: String,
}

impl Caller {
    /// The caller of `req` and the request's audit context, put there by the
    /// authentication layer.
    pub fn with_context<T>(req: &tonic::Request<T>) -> Result<(Caller, RequestContext), Status> {
        let caller = Self::of(req)?.clone();
        let ctx = req
            .extensions()
            .get::<RequestContext>()
            .cloned()
            .ok_or_else(|| Status::from(HubError::Unauthenticated("caller is not authenticated")))?;
        Ok((caller, ctx))
    }

    /// The caller of `req`, put there by the authentication layer.
    pub fn of<T>(req: &tonic::Request<T>) -> Result<&Caller, Status> {
        req.extensions()
            .get::<Caller>()
            .ok_or_else(|| HubError::Unauthenticated("caller is not authenticated").into())
    }
}
