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

use rustls_pki_types::{CertificateDer, UnixTime};
use schakel_domain::FunctionKind;
use schakel_store::{Organisation, Store};
use tonic::Status;

use crate::authz;
use crate::certinfo::cert_facts;
use crate::error::HubError;
use crate::tls::{ClientAuthority, PeerInfo};

/// The authenticated caller of an RPC.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The caller's organisation as registered.
    pub organisation: Organisation,
    /// The function its certificate is bound to.
    pub function: FunctionKind,
    /// Hex SHA-256 of its certificate.
    pub certificate_sha256: String,
}

impl Caller {
    /// The caller of `req`, put there by the authentication layer.
    pub fn of<T>(req: &tonic::Request<T>) -> Result<&Caller, Status> {
        req.extensions()
            .get::<Caller>()
            .ok_or_else(|| HubError::Unauthenticated("caller is not authenticated").into())
    }
}

struct AuthState {
    authority: ClientAuthority,
    store: Store,
}

/// The layer that authenticates every request.
#[derive(Clone)]
pub struct AuthLayer(Arc<AuthState>);

impl AuthLayer {
    /// A layer that checks certificates against `authority` and resolves
    /// callers in `store`.
    pub fn new(authority: ClientAuthority, store: Store) -> Self {
        Self(Arc::new(AuthState { authority, store }))
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
    async fn admit(&self, certs: &[CertificateDer<'static>], path: &str) -> Result<Admission, HubError> {
        self.authority
            .verify(certs, UnixTime::now())
            .map_err(|r| HubError::Unauthenticated(r.reason()))?;
        let facts = cert_facts(&certs[0]).map_err(|_| {
            HubError::Unauthenticated("client certificate subject has no serialNumber with a 20-digit OIN")
        })?;
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
        if !authz::may_call(service, binding.function) {
            return Err(HubError::PermissionDenied(format!(
                "function {} may not call {service}",
                binding.function
            )));
        }
        Ok(Admission::Caller(Box::new(Caller {
            organisation,
            function: binding.function,
            certificate_sha256: facts.sha256,
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
        let certs = req
            .extensions()
            .get::<PeerInfo>()
            .map(|p| p.certs.clone())
            .unwrap_or_default();
        let path = req.uri().path().to_owned();
        Box::pin(async move {
            match state.admit(&certs, &path).await {
                Ok(Admission::Open) => inner.call(req).await,
                Ok(Admission::Caller(caller)) => {
                    req.extensions_mut().insert(*caller);
                    inner.call(req).await
                }
                Err(e) => {
                    tracing::info!(path, reason = %e, "call refused");
                    Ok(Status::from(e).into_http())
                }
            }
        })
    }
}
