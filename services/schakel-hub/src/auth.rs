//! Authentication and authorisation before every RPC.
//!
//! A tower layer around the whole router: it verifies the client certificate
//! chain against the CA bundle, reads the OIN from the subject serialNumber,
//! resolves the certificate's directory binding to organisation × function,
//! and checks the function against [`crate::authz`]. Only then does the
//! request reach a handler, carrying the [`Caller`] in its extensions. A
//! refusal answers `UNAUTHENTICATED` or `PERMISSION_DENIED` and nothing else
//! happens.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use schakel_domain::Party;
use schakel_store::Store;
use tonic::Status;
use tracing::Instrument as _;

use crate::authz;
use crate::caller::{BadMetadata, Caller, RequestContext};
use crate::error::{HubError, Violation};
use crate::refusals::{RefusalBook, Source};
use crate::tls::{CertRejection, PeerIdentity, PeerInfo};
use schakel_audit::{Action, Outcome};

struct AuthState {
    store: Store,
    limiter: Option<crate::ratelimit::RateLimiter>,
    /// Refused and probing calls, tallied so they cannot flood the log.
    refusals: Arc<RefusalBook>,
}

/// The layer that authenticates every request.
#[derive(Clone)]
pub struct AuthLayer(Arc<AuthState>);

impl AuthLayer {
    /// A layer that takes each connection's certificate verdict (see
    /// [`crate::tls::PeerStream`]) and resolves callers in `store`; refused
    /// calls are audited through `refusals`.
    pub fn new(store: Store, limit: Option<crate::ratelimit::RateLimit>, refusals: Arc<RefusalBook>) -> Self {
        Self(Arc::new(AuthState {
            store,
            limiter: limit.map(crate::ratelimit::RateLimiter::new),
            refusals,
        }))
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = Authenticated<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Authenticated {
            inner,
            state: self.0.clone(),
        }
    }
}

/// A service behind [`AuthLayer`].
#[derive(Clone)]
pub struct Authenticated<S> {
    inner: S,
    state: Arc<AuthState>,
}

/// What authentication decided for one request.
enum Admission {
    /// A verified certificate calling an open service (health, reflection).
    Open,
    /// A registered, authorised caller.
    Caller(Box<Caller>),
}

impl AuthState {
    /// Records a refused call, tallied per source, method and reason
    /// ([`RefusalBook`]): the first at once, the rest as a count. If the
    /// entry cannot be written the call is refused all the same.
    async fn audit_refusal(
        &self,
        peer: Option<&PeerInfo>,
        method: &'static str,
        ctx: &RequestContext,
        e: &HubError,
    ) {
        let (action, code) = match e {
            HubError::Unauthenticated(_) => (Action::AuthenticationFailed, "unauthenticated"),
            HubError::PermissionDenied(_) => (Action::AuthorisationFailed, "permission_denied"),
            _ => return,
        };
        let (claimed, source) = match (peer.map(|p| &p.identity), peer.and_then(|p| p.remote_addr)) {
            (Some(PeerIdentity::Verified(facts)), _) => (
                Some(facts.oin.to_string()),
                Source::Certificate(facts.sha256.clone()),
            ),
            (_, Some(addr)) => (None, Source::Address(addr.ip())),
            (_, None) => (None, Source::Other),
        };
        let entry = ctx.entry(
            None,
            claimed.as_deref(),
            action,
            Outcome::Error { code: code.into() },
            &[],
        );
        self.write_tallied(source, method, &e.to_string(), entry).await;
    }

    /// Records that an identified caller asked for something that does not
    /// exist or is not its own (`NOT_FOUND`): probing ids shows in the log,
    /// tallied like refusals.
    async fn audit_not_found(&self, caller: &Caller, method: &'static str, ctx: &RequestContext) {
        let entry = ctx.entry(
            Some(caller),
            None,
            Action::LookupNotFound,
            Outcome::Error {
                code: "not_found".into(),
            },
            &[],
        );
        let source = Source::Certificate(caller.certificate_sha256.clone());
        self.write_tallied(source, method, "not found", entry).await;
    }

    /// How long `oin` must wait, when it is over its rate.
    fn over_limit(&self, oin: &str) -> Option<std::time::Duration> {
        self.limiter.as_ref()?.check(oin, std::time::Instant::now()).err()
    }

    async fn write_tallied(
        &self,
        source: Source,
        method: &'static str,
        reason: &str,
        entry: schakel_audit::Entry,
    ) {
        if let Some(entry) = self
            .refusals
            .note(source, method, reason, entry, std::time::Instant::now())
            && let Err(err) = self.store.append_audit(entry, jiff::Timestamp::now()).await
        {
            tracing::warn!(error = %err, "could not audit a refused call");
        }
    }

    async fn admit(&self, peer: Option<&PeerInfo>, path: &str) -> Result<Admission, HubError> {
        let facts = match peer.map(|p| &p.identity) {
            None => return Err(HubError::Unauthenticated(CertRejection::Missing.reason())),
            Some(PeerIdentity::Rejected(reason)) => return Err(HubError::Unauthenticated(reason)),
            Some(PeerIdentity::Verified(facts)) => facts,
        };
        // The chain was verified when the connection was made; a long-lived
        // connection must still stop working when the certificate expires.
        let now = jiff::Timestamp::now();
        if now < facts.not_before {
            return Err(HubError::Unauthenticated(CertRejection::NotYetValid.reason()));
        }
        if now > facts.not_after {
            return Err(HubError::Unauthenticated(CertRejection::Expired.reason()));
        }
        let service = path.trim_start_matches('/').split('/').next().unwrap_or("");
        if authz::is_open_service(service) {
            return Ok(Admission::Open);
        }
        let organisation =
            self.store
                .get_organisation(&facts.oin)
                .await?
                .ok_or(HubError::Unauthenticated(
                    "the organisation of this certificate is not registered",
                ))?;
        if !organisation.active {
            return Err(HubError::PermissionDenied(
                "the organisation of this certificate is deactivated".into(),
            ));
        }
        let binding = self
            .store
            .certificate_binding(&facts.sha256)
            .await?
            .filter(|b| b.oin == facts.oin)
            .ok_or_else(|| {
                HubError::PermissionDenied(
                    "this certificate is not bound to a function of its organisation; ask the hub operator to bind it"
                        .into(),
                )
            })?;
        let method = path.trim_start_matches('/').split('/').nth(1).unwrap_or("");
        // The path is the client's text: a refusal names it only when it is
        // a method the hub serves (it could hold a BSN or a name otherwise).
        if crate::telemetry::method_label(path) == "other" {
            return Err(HubError::PermissionDenied(format!(
                "function {} may not call this method: the hub does not serve it",
                binding.function
            )));
        }
        if !authz::may_call(service, binding.function) {
            return Err(HubError::PermissionDenied(format!(
                "function {} may not call {service}",
                binding.function
            )));
        }
        if !authz::may_call_method(service, method, binding.function) {
            return Err(HubError::PermissionDenied(format!(
                "R7: function {} may not call {service}/{method}",
                binding.function
            )));
        }
        // The directory registers only functions an organisation's kind can
        // hold: a binding that says otherwise was not written by this hub.
        let party = Party::new(organisation.oin, organisation.kind, binding.function).map_err(|_| {
            HubError::DataLoss("a certificate is bound to a function its organisation cannot hold".into())
        })?;
        Ok(Admission::Caller(Box::new(Caller {
            party,
            certificate_sha256: facts.sha256.clone(),
        })))
    }
}

impl<S, B> tower::Service<http::Request<B>> for Authenticated<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        // The clone that was polled ready serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let state = self.state.clone();
        let peer = req.extensions().get::<PeerInfo>().cloned();
        let path = req.uri().path().to_owned();
        let path_label = path.clone();
        let span = crate::telemetry::rpc_span(&path, req.headers());
        let ctx =
            RequestContext::from_headers(req.headers()).map(|ctx| match crate::telemetry::span_ids(&span) {
                Some((trace, span)) => ctx.with_ids(trace, span),
                None => ctx,
            });
        let started = std::time::Instant::now();
        let rpc_span = span.clone();
        let store = self.state.store.clone();
        // Before anything is read: a database crash after this point may
        // take commits the answer read (see `flush_commits` below).
        let mark = store.read_mark();
        // Health and reflection read nothing stored: they answer while the
        // database does not (a load balancer must see NOT_SERVING, not a
        // call that waits for the database).
        let reads_stored_data =
            !authz::is_open_service(path.trim_start_matches('/').split('/').next().unwrap_or(""));
        let metadata_bytes = metadata_size(req.headers());
        let call = async move {
            if metadata_bytes > MAX_METADATA_BYTES {
                return Ok(Status::resource_exhausted(format!(
                    "request metadata over {} KiB",
                    MAX_METADATA_BYTES / 1024
                ))
                .into_http());
            }
            let ctx = match ctx {
                Ok(ctx) => ctx,
                Err(BadMetadata { header, problem }) => {
                    let v = Violation::format(format!("metadata.{header}"), problem);
                    return Ok(Status::from(HubError::InvalidArgument(vec![v])).into_http());
                }
            };
            let method = crate::telemetry::method_label(&path);
            match state.admit(peer.as_ref(), &path).await {
                Ok(Admission::Open) => inner.call(req).await,
                Ok(Admission::Caller(caller)) => {
                    if let Some(wait) = state.over_limit(caller.party.oin().as_str()) {
                        return Ok(rate_limited(wait).into_http());
                    }
                    let (who, audit_ctx) = ((*caller).clone(), ctx.clone());
                    req.extensions_mut().insert(*caller);
                    req.extensions_mut().insert(ctx);
                    let answer = inner.call(req).await;
                    if let Ok(resp) = &answer
                        && Status::from_header_map(resp.headers())
                            .is_some_and(|s| s.code() == tonic::Code::NotFound)
                    {
                        state.audit_not_found(&who, method, &audit_ctx).await;
                    }
                    answer
                }
                Err(e) => {
                    let remote = peer.as_ref().and_then(|p| p.remote_addr).map(|a| a.to_string());
                    tracing::info!(method, remote, reason = %e, "call refused");
                    state.audit_refusal(peer.as_ref(), method, &ctx, &e).await;
                    // An identified organisation over its rate is told to
                    // wait, whether its calls are refused or not.
                    if let Some(PeerIdentity::Verified(facts)) = peer.as_ref().map(|p| &p.identity)
                        && let Some(wait) = state.over_limit(facts.oin.as_str())
                    {
                        return Ok(rate_limited(wait).into_http());
                    }
                    Ok(Status::from(e).into_http())
                }
            }
        };
        Box::pin(
            async move {
                let out = call.await;
                // Group commit (schakel-store `durable`): another caller's
                // commit may be visible before it is on disk. An answer that
                // read it leaves only once it is durable; immediate when no
                // commit is waiting for its flush.
                let flushed = if reads_stored_data {
                    store.flush_commits(&mark).await
                } else {
                    Ok(())
                };
                let out = match flushed {
                    Ok(()) => out,
                    Err(e) => Ok(Status::from(HubError::from(e)).into_http()),
                };
                let out = match out {
                    Ok(resp) => match client_input_fault(resp.headers()) {
                        Some(status) => Ok(status.into_http()),
                        None => Ok(resp),
                    },
                    err => err,
                };
                // A failed call carries its status in the headers; a
                // successful one in the trailers, as OK.
                let code = match &out {
                    Ok(resp) => resp
                        .headers()
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<i32>().ok())
                        .unwrap_or(0),
                    Err(_) => tonic::Code::Internal as i32,
                };
                rpc_span.record("rpc.grpc.status_code", code);
                crate::telemetry::record_rpc(&path_label, code, started.elapsed().as_secs_f64());
                out
            }
            .instrument(span),
        )
    }
}

/// The client's input, not the hub, is at fault when tonic could not decode
/// the request: it answers that with INTERNAL and the decoder's own text
/// ("failed to decode Protobuf message: invalid string value …"), and a
/// request over the size limit with OUT_OF_RANGE. Answered as the bad
/// input they are (issue 15): INVALID_ARGUMENT and RESOURCE_EXHAUSTED,
/// with plain messages.
fn client_input_fault(headers: &http::HeaderMap) -> Option<Status> {
    let status = Status::from_header_map(headers)?;
    match status.code() {
        tonic::Code::Internal if status.message().starts_with("failed to decode Protobuf message") => Some(
            Status::invalid_argument("the request is not a valid protobuf message of this method"),
        ),
        tonic::Code::OutOfRange if status.message().contains("message length too large") => {
            Some(Status::resource_exhausted(
                "the request is larger than the hub accepts for this method (4 MiB with a document, 64 KiB without)",
            ))
        }
        _ => None,
    }
}

/// `RESOURCE_EXHAUSTED` with how long to wait, also as
/// `google.rpc.RetryInfo`, so clients (the CLI's push) can back off exactly.
fn rate_limited(wait: std::time::Duration) -> Status {
    use tonic_types::StatusExt as _;
    Status::with_error_details(
        tonic::Code::ResourceExhausted,
        format!(
            "rate limit of this organisation reached; retry in {} ms",
            wait.as_millis().max(1)
        ),
        tonic_types::ErrorDetails::with_retry_info(Some(wait)),
    )
}

/// Request metadata the hub reads: far more than any client of it sends
/// (an end-user id, a role, a trace context), far less than could burden it.
const MAX_METADATA_BYTES: usize = 8 * 1024;

/// The size of `headers` as HTTP/2 counts it (name, value and 32 bytes each).
fn metadata_size(headers: &http::HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 32)
        .sum()
}
