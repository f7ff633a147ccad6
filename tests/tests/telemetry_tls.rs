//! Issue 22, item 14: an `https://` OTLP collector. The hub exports to it
//! only through TLS with the CA the operator configured (`otlp_ca`), and
//! refuses to start an exporter to an `https://` collector without one. The
//! collector here is an OTLP trace and metrics server behind TLS with a
//! certificate from a CA of its own, on loopback.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use schakel_e2e::flow::*;
use schakel_e2e::{Db, TestHub};
use schakel_hub::pki::DevCa;
use schakel_hub::telemetry::{LogFormat, Otlp};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Identity, ServerTlsConfig};
use tonic::{Request, Response, Status};

#[derive(Default, Clone)]
struct Collector {
    span_names: Arc<Mutex<Vec<String>>>,
    metric_batches: Arc<Mutex<usize>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let names = request
            .into_inner()
            .resource_spans
            .into_iter()
            .flat_map(|r| r.scope_spans)
            .flat_map(|s| s.spans)
            .map(|s| s.name);
        self.span_names.lock().unwrap().extend(names);
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Collector {
    async fn export(
        &self,
        _request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        *self.metric_batches.lock().unwrap() += 1;
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn spans_reach_an_https_collector_through_the_configured_ca() {
    let ca = DevCa::generate("collector test CA").expect("CA");
    let served = ca.issue_server(&["127.0.0.1"]).expect("server certificate");
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("https://{}", listener.local_addr().unwrap());
    let tls = ServerTlsConfig::new().identity(Identity::from_pem(&served.cert_pem, &served.key_pem));
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .tls_config(tls)
            .expect("server TLS")
            .add_service(TraceServiceServer::new(collector.clone()))
            .add_service(MetricsServiceServer::new(collector.clone()))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );

    // Without the collector's CA the hub does not start an exporter.
    let without = schakel_hub::telemetry::init_with(
        LogFormat::Text,
        Some(Otlp {
            endpoint: &endpoint,
            ca_pem: None,
        }),
    );
    assert!(
        without.is_err(),
        "an https:// collector without otlp_ca is refused"
    );

    let telemetry = schakel_hub::telemetry::init_with(
        LogFormat::Text,
        Some(Otlp {
            endpoint: &endpoint,
            ca_pem: Some(ca.cert_pem().as_bytes()),
        }),
    )
    .expect("telemetry");
    let t = TestHub::start(Db::Sqlite).await.expect("hub");
    let mut school = clients(&t, "mbo-school").await;
    let consent_id = give_consent(&mut school, BSN, "tls-consent").await;
    submit_ok(&mut school, handover(BSN, &consent_id, "tls-submit")).await;

    // Export, and wait (bounded) for the submit's span to arrive over TLS.
    let telemetry = Arc::new(telemetry);
    let mut arrived = false;
    for _ in 0..50 {
        let t = telemetry.clone();
        tokio::task::spawn_blocking(move || t.flush()).await.unwrap();
        arrived = collector
            .span_names
            .lock()
            .unwrap()
            .iter()
            .any(|n| n == "schakel.v1.TransferService/Submit")
            && *collector.metric_batches.lock().unwrap() > 0;
        if arrived {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        arrived,
        "spans and metrics over TLS: {:?}",
        collector.span_names.lock().unwrap()
    );
    server.abort();
}
