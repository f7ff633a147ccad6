//! Issue 8: OpenTelemetry export over OTLP/gRPC. An in-process collector
//! (a tonic server implementing the OTLP trace and metrics services)
//! receives what a real hub exports while a handover runs: the RPC spans
//! continue the caller's W3C trace, have children for policy, sealing,
//! storage and the audit entry, the audit entry names the same trace and
//! span — and nothing exported carries a BSN, a name or document content.

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
use opentelemetry_proto::tonic::trace::v1::Span;
use schakel_audit::{Action, Entry};
use schakel_e2e::flow::*;
use schakel_e2e::{Db, TestHub};
use schakel_hub::telemetry::LogFormat;
use schakel_proto::v1 as pb;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

#[derive(Default, Clone)]
struct Collector {
    traces: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
    metrics: Arc<Mutex<Vec<ExportMetricsServiceRequest>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.traces.lock().unwrap().push(request.into_inner());
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Collector {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        self.metrics.lock().unwrap().push(request.into_inner());
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

impl Collector {
    fn spans(&self) -> Vec<Span> {
        self.traces
            .lock()
            .unwrap()
            .iter()
            .flat_map(|r| r.resource_spans.iter())
            .flat_map(|r| r.scope_spans.iter())
            .flat_map(|s| s.spans.iter().cloned())
            .collect()
    }

    fn metric_names(&self) -> Vec<String> {
        self.metrics
            .lock()
            .unwrap()
            .iter()
            .flat_map(|r| r.resource_metrics.iter())
            .flat_map(|r| r.scope_metrics.iter())
            .flat_map(|s| s.metrics.iter().map(|m| m.name.clone()))
            .collect()
    }

    /// Everything received, as text, to search for personal data.
    fn everything(&self) -> String {
        format!(
            "{:?}{:?}",
            self.traces.lock().unwrap(),
            self.metrics.lock().unwrap()
        )
    }
}

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

fn traced<T>(msg: T) -> Request<T> {
    let mut r = req(msg);
    r.metadata_mut()
        .insert("traceparent", format!("00-{TRACE}-{PARENT}-01").parse().unwrap());
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn spans_and_metrics_arrive_without_personal_data() {
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .add_service(MetricsServiceServer::new(collector.clone()))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    let telemetry = schakel_hub::telemetry::init(LogFormat::Text, Some(&endpoint)).expect("telemetry");

    let t = TestHub::start(Db::Sqlite).await.expect("hub");
    let mut school = clients(&t, "mbo-school").await;
    let consent_id = give_consent(&mut school, BSN, "consent-1").await;
    let sent = school
        .transfer
        .submit(traced(handover(BSN, &consent_id, "submit-1")))
        .await
        .unwrap()
        .into_inner();
    // A refused submission: counted by rule id.
    let e = school
        .transfer
        .submit(traced(handover(BSN2, "", "submit-2")))
        .await
        .unwrap_err();
    assert!(has(&e, "consent_id", "R4"), "{:?}", violations(&e));
    let mut werk = clients(&t, "gemeente-participatiewet").await;
    werk.inbox
        .fetch(req(pb::FetchRequest {
            transfer_id: sent.transfer_id.clone(),
            purpose: "handover.school_to_gemeente".into(),
        }))
        .await
        .unwrap();

    // A hostile client puts a BSN and a name in the method path, the
    // end-user id and idempotency keys; and a trace id of 30 digits, which
    // must be ignored, not padded with zeros into the caller's trace.
    send_hostile_text(&t).await;
    let mut short = req(pb::ListInboxRequest::default());
    short.metadata_mut().insert(
        "traceparent",
        format!("00-{}-{PARENT}-01", &TRACE[2..]).parse().unwrap(),
    );
    werk.inbox.list_inbox(short).await.unwrap();

    // Export, and wait for the collector to have the submit's spans.
    let flush = {
        let telemetry = Arc::new(telemetry);
        move || {
            let t = telemetry.clone();
            async move { tokio::task::spawn_blocking(move || t.flush()).await.unwrap() }
        }
    };
    let mut spans = Vec::new();
    for _ in 0..50 {
        flush().await;
        spans = collector.spans();
        if spans.iter().any(|s| s.name == "audit.append") && !collector.metric_names().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let trace = hex::decode(TRACE).unwrap();
    let in_trace: Vec<&Span> = spans.iter().filter(|s| s.trace_id == trace).collect();
    let submits: Vec<&&Span> = in_trace
        .iter()
        .filter(|s| s.name == "schakel.v1.TransferService/Submit")
        .collect();
    assert_eq!(
        submits.len(),
        2,
        "both submits continue the caller's trace: {in_trace:#?}"
    );
    for s in &submits {
        assert_eq!(
            s.parent_span_id,
            hex::decode(PARENT).unwrap(),
            "child of the caller's span"
        );
        assert_eq!(s.kind, 2, "SPAN_KIND_SERVER");
        // OpenTelemetry's RPC conventions: the service and the method's
        // name apart, the status code as a number.
        let attr = |key: &str| {
            s.attributes
                .iter()
                .find(|a| a.key == key)
                .and_then(|a| a.value.as_ref())
                .and_then(|v| v.value.clone())
                .unwrap_or_else(|| panic!("no {key} on {s:#?}"))
        };
        use opentelemetry_proto::tonic::common::v1::any_value::Value;
        assert_eq!(
            attr("rpc.service"),
            Value::StringValue("schakel.v1.TransferService".into())
        );
        assert_eq!(attr("rpc.method"), Value::StringValue("Submit".into()));
        assert!(matches!(attr("rpc.grpc.status_code"), Value::IntValue(_)));
    }
    // The accepted submit's children: policy, sealing, storage, audit.
    for child in ["policy.decide", "seal", "store.insert_transfer", "audit.append"] {
        assert!(
            in_trace.iter().any(|s| s.name == child),
            "no {child} span in {in_trace:#?}"
        );
    }
    // The audit entry of the accepted submit names the same trace and span.
    let entries: Vec<Entry> = schakel_e2e::verify_audit_log(&t).await;
    let submitted = entries
        .iter()
        .find(|e| e.action == Action::TransferSubmitted)
        .unwrap();
    assert_eq!(submitted.trace.trace_id.as_bytes().as_slice(), trace.as_slice());
    assert!(
        submits
            .iter()
            .any(|s| s.span_id == submitted.trace.span_id.as_bytes().as_slice()),
        "the audit entry's span id is the RPC span's"
    );

    let names = collector.metric_names();
    for metric in [
        "schakel.rpc.requests",
        "schakel.rpc.duration",
        "schakel.policy.refusals",
        "schakel.audit.log_size",
        "schakel.audit.unsigned_age",
    ] {
        assert!(names.iter().any(|n| n == metric), "no {metric} in {names:?}");
    }
    let everything = collector.everything();
    assert!(everything.contains("R4"), "refusals are labelled by rule id");
    // Positive control: the search would find what it looks for.
    assert!(everything.contains("TransferService/Submit"));
    for secret in [BSN, BSN2, SURNAME, GIVEN, "dossier-A17", "9711 AB", "Monteur"] {
        assert!(!everything.contains(secret), "{secret} was exported");
    }
    // The hostile path reached the hub and is counted, as `other`.
    assert!(everything.contains("other"), "unknown methods are labelled other");
    let padded = hex::decode(format!("00{}", &TRACE[2..])).unwrap();
    let lists: Vec<&Span> = spans
        .iter()
        .filter(|s| s.name == "schakel.v1.InboxService/ListInbox")
        .collect();
    assert!(!lists.is_empty(), "the list call was traced");
    for s in lists {
        assert_ne!(s.trace_id, padded, "a 30-digit trace id is ignored, not padded");
        assert!(s.parent_span_id.is_empty(), "it starts a new trace");
    }
    server.abort();
}
