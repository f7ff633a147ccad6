//! Starting and stopping a hub: TLS listener, authentication layer, the
//! services, gRPC health and reflection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use schakel_proto::v1::admin_service_server::AdminServiceServer;
use schakel_proto::v1::audit_service_server::AuditServiceServer;
use schakel_proto::v1::consent_service_server::ConsentServiceServer;
use schakel_proto::v1::directory_service_server::DirectoryServiceServer;
use schakel_proto::v1::expertise_service_server::ExpertiseServiceServer;
use schakel_proto::v1::inbox_service_server::InboxServiceServer;
use schakel_proto::v1::region_service_server::RegionServiceServer;
use schakel_proto::v1::transfer_service_server::TransferServiceServer;
use schakel_store::{Store, StoreError};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Server;

use crate::auth::AuthLayer;
use crate::checkpoint::Checkpointer;
use crate::config::HubConfig;
use crate::intake::{DOCUMENT_REQUEST, IntakeLayer, SMALL_REQUEST};
use crate::services::{
    AdminApi, AuditApi, ConsentApi, DirectoryApi, ExpertiseApi, HubState, InboxApi, RegionApi, TransferApi,
};
use crate::tls::{ClientAuthority, PeerStream, TlsError, certs_from_pem, key_from_pem, server_config};

/// How long running calls may take to finish when the hub stops.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// At most this many calls in flight on one connection.
const MAX_STREAMS_PER_CONNECTION: u32 = 128;

/// Why a hub did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// TLS material is unusable.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The database could not be opened or migrated.
    #[error("opening the database: {0}")]
    Store(#[from] StoreError),
    /// The listen address could not be bound.
    #[error("listening on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
    /// The checkpoint file could not be read, or holds something other
    /// than this log's signed checkpoints.
    #[error(transparent)]
    Checkpoints(#[from] crate::checkpoint::CheckpointError),
    /// gRPC reflection could not be built.
    #[error("building gRPC reflection: {0}")]
    Reflection(String),
}

/// A running hub.
#[derive(Debug)]
pub struct RunningHub {
    addr: SocketAddr,
    store: Store,
    shutdown: Option<oneshot::Sender<()>>,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
    acceptor: JoinHandle<()>,
    checkpointer: JoinHandle<()>,
    /// Signs a last checkpoint at shutdown, so a clean restart finds no
    /// entries that no checkpoint covers.
    final_checkpoint: Checkpointer,
    purge_job: Option<JoinHandle<()>>,
    /// Writes the counts of refused calls every interval.
    refusals_job: JoinHandle<()>,
    /// Reports each service's health from the database's.
    health_job: JoinHandle<()>,
    refusals: Arc<crate::refusals::RefusalBook>,
}

impl RunningHub {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its database.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Stops accepting, lets running calls finish, closes the database.
    pub async fn shutdown(mut self) {
        self.acceptor.abort();
        self.checkpointer.abort();
        self.refusals_job.abort();
        self.health_job.abort();
        if let Some(job) = &self.purge_job {
            job.abort();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        // Running calls get a grace period; long-lived streams (a health
        // Watch) must not keep the hub from stopping.
        match tokio::time::timeout(SHUTDOWN_GRACE, &mut self.server).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "server stopped with an error"),
            Ok(Err(e)) => tracing::warn!(error = %e, "server task failed"),
            Err(_) => {
                tracing::warn!("connections still open after the grace period; closing them");
                self.server.abort();
            }
        }
        // Counts of refused calls not yet written, then the last checkpoint
        // over them.
        let counted = self.refusals.due(std::time::Instant::now(), true);
        crate::refusals::write(&self.store, counted).await;
        if let Err(e) = self.final_checkpoint.checkpoint_now().await {
            tracing::warn!(error = %e, "no final audit checkpoint at shutdown");
        }
        self.store.close().await;
    }

    /// Serves until the server stops by itself (it does not, short of a
    /// fatal error) or `signal` completes, then shuts down.
    pub async fn serve_until(mut self, signal: impl std::future::Future<Output = ()>) {
        tokio::select! {
            () = signal => {}
            result = &mut self.server => {
                tracing::error!(?result, "server stopped by itself");
                self.acceptor.abort();
                self.checkpointer.abort();
                self.refusals_job.abort();
        self.health_job.abort();
                if let Some(job) = &self.purge_job {
                    job.abort();
                }
                self.store.close().await;
                return;
            }
        }
        self.shutdown().await;
    }
}

/// Accepts TCP connections and runs TLS handshakes off the accept loop, so
/// one slow client cannot stall others. The loop never waits for room:
/// [`crate::handshakes`] closes a connection from an address that has its
/// share of handshakes running, and stops the oldest when all run.
fn tls_incoming(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    authority: ClientAuthority,
    handshake_timeout: Duration,
) -> (ReceiverStream<std::io::Result<PeerStream>>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(64);
    let handshakes =
        crate::handshakes::Handshakes::new(crate::handshakes::PER_ADDRESS, crate::handshakes::TOTAL);
    let task = tokio::spawn(async move {
        loop {
            let (tcp, peer) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Some(slot) = handshakes.admit(peer.ip()) else {
                tracing::debug!("too many handshakes from one address; connection closed");
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let authority = authority.clone();
            let tx = tx.clone();
            let id = slot.id();
            let handshake = tokio::spawn(async move {
                let _slot = slot;
                match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => {
                        let peer = PeerStream::new(tls, &authority);
                        let _ = tx.send(Ok(peer)).await;
                    }
                    Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!("TLS handshake timed out"),
                }
            });
            handshakes.attach(id, handshake.abort_handle());
        }
    });
    (ReceiverStream::new(rx), task)
}

/// Opens the database, binds the listener and starts serving.
pub async fn start(cfg: HubConfig) -> Result<RunningHub, StartError> {
    let authority = ClientAuthority::from_pem(&cfg.ca_bundle_pem)?;
    let certs = certs_from_pem("hub certificate", &cfg.cert_chain_pem)?;
    let key = key_from_pem("hub key", cfg.key_pem.expose())?;
    let tls = Arc::new(server_config(&authority, certs, key)?);
    // Every entry this hub appends carries its authentication code, checked
    // before a checkpoint covers it (`checkpoint`).
    let mut database = cfg.database.clone();
    database.audit_leaf_key = Some(cfg.audit_signer.leaf_key());
    let store = Store::connect(&database).await?;
    if cfg.checkpoint_file.is_none() {
        tracing::warn!("no checkpoint_file configured: signed checkpoints are kept only in the database");
    }
    let checkpointer = Checkpointer::new(store.clone(), cfg.audit_signer, cfg.checkpoint_file)?;
    let listener = TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| StartError::Listen(cfg.listen, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Listen(cfg.listen, e))?;

    let policy_version = cfg.policy.version().to_owned();
    let state = HubState {
        store: store.clone(),
        regions: Arc::new(cfg.regions),
        authority: authority.clone(),
        policy: cfg.policy,
        pseudonymiser: Arc::new(cfg.pseudonymiser),
        checkpointer,
        anomaly_defaults: cfg.anomaly_defaults,
        retention: cfg.retention.clone(),
    };
    let final_checkpoint = state.checkpointer.clone();
    let checkpointer = state.checkpointer.clone().spawn(cfg.checkpoint_interval);
    let purge_job = crate::retention::spawn(store.clone(), cfg.retention, Arc::from(policy_version.as_str()));
    let refusals = Arc::new(crate::refusals::RefusalBook::new(cfg.refused_calls_interval));
    let refusals_job = crate::refusals::spawn(refusals.clone(), store.clone());
    let (health, health_service) = tonic_health::server::health_reporter();
    // The database was just opened: serving, until a probe says otherwise.
    crate::health::set_all(&health, tonic_health::ServingStatus::Serving).await;
    let health_job = crate::health::spawn(health, store.clone(), crate::health::PROBE_INTERVAL);
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(schakel_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    // Both versions: grpcio-reflection and other older clients speak v1alpha.
    let reflection_v1alpha = reflection()
        .build_v1alpha()
        .map_err(|e| StartError::Reflection(e.to_string()))?;
    let reflection = reflection()
        .build_v1()
        .map_err(|e| StartError::Reflection(e.to_string()))?;

    let router = Server::builder()
        .timeout(Duration::from_secs(60))
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        // One connection cannot hold more than this many calls open: a
        // stalled client ties up at most its own streams.
        .max_concurrent_streams(Some(MAX_STREAMS_PER_CONNECTION))
        // Request metadata up to 64 KiB reaches the authentication layer,
        // which answers anything over 8 KiB with a gRPC status; hyper's own
        // limit (16 KiB) answered HTTP 431, which clients show as UNKNOWN.
        .http2_max_header_list_size(Some(64 * 1024))
        .layer(AuthLayer::new(store.clone(), cfg.rate_limit, refusals.clone()))
        // After authentication, so only a known caller's bytes are read:
        // within the budget, and lists counted before anything is decoded.
        .layer(IntakeLayer::new(cfg.request_budget))
        .add_service(health_service)
        .add_service(reflection)
        .add_service(reflection_v1alpha)
        // Services whose requests carry no document take far less than the
        // 4 MiB a document may need: less to decode for a hostile client.
        .add_service(
            DirectoryServiceServer::new(DirectoryApi(state.clone())).max_decoding_message_size(SMALL_REQUEST),
        )
        .add_service(
            AdminServiceServer::new(AdminApi(state.clone())).max_decoding_message_size(SMALL_REQUEST),
        )
        .add_service(
            ConsentServiceServer::new(ConsentApi(state.clone())).max_decoding_message_size(SMALL_REQUEST),
        )
        .add_service(
            TransferServiceServer::new(TransferApi(state.clone()))
                .max_decoding_message_size(DOCUMENT_REQUEST),
        )
        .add_service(
            InboxServiceServer::new(InboxApi(state.clone())).max_decoding_message_size(SMALL_REQUEST),
        )
        .add_service(
            ExpertiseServiceServer::new(ExpertiseApi(state.clone()))
                .max_decoding_message_size(DOCUMENT_REQUEST),
        )
        .add_service(
            AuditServiceServer::new(AuditApi(state.clone())).max_decoding_message_size(SMALL_REQUEST),
        )
        .add_service(RegionServiceServer::new(RegionApi(state)).max_decoding_message_size(SMALL_REQUEST));

    let (incoming, acceptor) =
        tls_incoming(listener, TlsAcceptor::from(tls), authority, cfg.handshake_timeout);
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(router.serve_with_incoming_shutdown(incoming, async {
        let _ = rx.await;
    }));
    tracing::info!(%addr, backend = ?store.backend(), policy_version, "hub listening");
    Ok(RunningHub {
        addr,
        store,
        shutdown: Some(tx),
        server,
        acceptor,
        checkpointer,
        final_checkpoint,
        purge_job,
        refusals_job,
        health_job,
        refusals,
    })
}
