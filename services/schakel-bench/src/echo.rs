//! The transport baseline: a bare unary echo over tonic with the same mutual
//! TLS material as the hub (the development CA, the hub's certificate, a
//! school's client certificate).

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status};

/// Generated code of `proto/echo.proto`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("schakel.bench.v1");
}

use pb::echo_client::EchoClient;
use pb::echo_server::{Echo, EchoServer};

struct EchoService;

#[tonic::async_trait]
impl Echo for EchoService {
    async fn echo(&self, req: Request<pb::EchoMessage>) -> Result<Response<pb::EchoMessage>, Status> {
        Ok(Response::new(req.into_inner()))
    }
}

/// PEM material of both ends.
pub struct Pki {
    /// CA certificate.
    pub ca: Vec<u8>,
    /// Server certificate and key.
    pub server: (Vec<u8>, Vec<u8>),
    /// Client certificate and key.
    pub client: (Vec<u8>, Vec<u8>),
}

/// A running echo server.
pub struct EchoServerHandle {
    /// Its address.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
}

impl EchoServerHandle {
    /// Stops it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let _ = self.task.await;
    }
}

/// Starts the echo server on 127.0.0.1 with client certificates required.
pub async fn start(pki: &Pki) -> anyhow::Result<EchoServerHandle> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let tls = ServerTlsConfig::new()
        .identity(Identity::from_pem(&pki.server.0, &pki.server.1))
        .client_ca_root(Certificate::from_pem(&pki.ca));
    let (tx, rx) = oneshot::channel::<()>();
    let router = Server::builder()
        .tls_config(tls)?
        .add_service(EchoServer::new(EchoService).max_decoding_message_size(64 << 20));
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let task = tokio::spawn(router.serve_with_incoming_shutdown(incoming, async {
        let _ = rx.await;
    }));
    Ok(EchoServerHandle {
        addr,
        stop: Some(tx),
        task,
    })
}

/// One new mTLS connection to the echo server.
pub async fn connect(pki: &Pki, addr: SocketAddr) -> anyhow::Result<EchoClient<Channel>> {
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca))
        .identity(Identity::from_pem(&pki.client.0, &pki.client.1))
        .domain_name("localhost");
    let channel = Endpoint::from_shared(format!("https://{addr}"))?
        .tls_config(tls)?
        .connect()
        .await?;
    Ok(EchoClient::new(channel).max_decoding_message_size(64 << 20))
}
