//! Logs, traces and metrics (issue 8). Log lines go to stderr (text or
//! JSON). When an OTLP endpoint is configured, spans and metrics are
//! exported to it over gRPC; nothing is exported otherwise.
//!
//! - A span per RPC (`rpc`, named by the gRPC method), a child of the
//!   caller's span when the request carries a W3C `traceparent`; children
//!   for the policy decision (`policy.decide`), sealing (`seal`), storage
//!   (`store.*`) and the audit entry (`audit.append`). The audit entry of
//!   the request carries the same trace and span id.
//! - Metrics: `schakel.rpc.requests` and `schakel.rpc.duration` by method
//!   and status, `schakel.policy.refusals` by rule id,
//!   `schakel.audit.log_size` and `schakel.audit.checkpoint_age`.
//!
//! **What never goes into a span, an event or a label**: a BSN, a name or
//! document content. Span fields are methods, status codes, rule ids,
//! counts and group names; the end-to-end test checks every exported
//! attribute for the test youths' data.

use opentelemetry_otlp::WithTonicConfig as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, ObservableGauge};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// How the hub writes its log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The OTLP exporter could not be built.
    #[error("OTLP exporter: {0}")]
    Exporter(String),
    /// A global subscriber was installed already.
    #[error("logging was initialised twice")]
    AlreadyInitialised,
}

/// The installed providers; flush and shut them down on exit.
#[derive(Debug, Default)]
pub struct Telemetry {
    tracer: Option<SdkTracerProvider>,
    meter: Option<SdkMeterProvider>,
}

/// Spans of these targets are exported; dependencies' internals are not.
const EXPORTED_SPANS: &str = "schakel_hub=info,schakel_store=info";

/// Installs the global subscriber: log lines on stderr (filtered by
/// `SCHAKEL_LOG`, default `info`) and, with an `otlp` endpoint, span and
/// metric export. Call once, inside the Tokio runtime.
pub fn init(format: LogFormat, otlp: Option<&str>) -> Result<Telemetry, TelemetryError> {
    init_with(
        format,
        otlp.map(|endpoint| Otlp {
            endpoint,
            ca_pem: None,
        }),
    )
}

/// Where spans and metrics go: an OTLP/gRPC collector, and for an
/// `https://` one the CA its certificate must chain to.
#[derive(Debug, Clone, Copy)]
pub struct Otlp<'a> {
    /// `http://host:4317` or `https://host:4317`.
    pub endpoint: &'a str,
    /// PEM of the collector's CA; required for `https://`.
    pub ca_pem: Option<&'a [u8]>,
}

impl Otlp<'_> {
    /// The TLS settings of an `https://` collector; `None` for `http://`.
    fn tls(&self) -> Result<Option<tonic::transport::ClientTlsConfig>, TelemetryError> {
        if !self.endpoint.starts_with("https://") {
            return Ok(None);
        }
        let ca = self.ca_pem.ok_or_else(|| {
            TelemetryError::Exporter(
                "an https:// OTLP collector needs otlp_ca (the CA of its certificate)".into(),
            )
        })?;
        Ok(Some(
            tonic::transport::ClientTlsConfig::new()
                .ca_certificate(tonic::transport::Certificate::from_pem(ca)),
        ))
    }
}

/// [`init`] with the collector's TLS settings.
pub fn init_with(format: LogFormat, otlp: Option<Otlp<'_>>) -> Result<Telemetry, TelemetryError> {
    let filter = || EnvFilter::try_from_env("SCHAKEL_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = match format {
        LogFormat::Json => fmt.json().with_filter(filter()).boxed(),
        LogFormat::Text => fmt.with_filter(filter()).boxed(),
    };
    let Some(otlp) = otlp else {
        tracing_subscriber::registry()
            .with(fmt)
            .try_init()
            .map_err(|_| TelemetryError::AlreadyInitialised)?;
        return Ok(Telemetry::default());
    };
    let resource = Resource::builder()
        .with_service_name("schakel-hub")
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    let (endpoint, tls) = (otlp.endpoint, otlp.tls()?);
    let mut spans = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint);
    if let Some(tls) = &tls {
        spans = spans.with_tls_config(tls.clone());
    }
    let spans = spans
        .build()
        .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
    let tracer = SdkTracerProvider::builder()
        .with_batch_exporter(spans)
        .with_resource(resource.clone())
        .build();
    let mut metrics = opentelemetry_otlp::MetricExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint);
    if let Some(tls) = tls {
        metrics = metrics.with_tls_config(tls);
    }
    let metrics = metrics
        .build()
        .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
    let meter = SdkMeterProvider::builder()
        .with_periodic_exporter(metrics)
        .with_resource(resource)
        .build();
    opentelemetry::global::set_meter_provider(meter.clone());
    let otel = tracing_opentelemetry::layer()
        .with_tracer(tracer.tracer("schakel-hub"))
        .with_filter(EnvFilter::new(EXPORTED_SPANS));
    tracing_subscriber::registry()
        .with(fmt)
        .with(otel)
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInitialised)?;
    Ok(Telemetry {
        tracer: Some(tracer),
        meter: Some(meter),
    })
}

impl Telemetry {
    /// Exports everything recorded so far.
    pub fn flush(&self) {
        if let Some(t) = &self.tracer
            && let Err(e) = t.force_flush()
        {
            tracing::warn!(error = %e, "flushing spans failed");
        }
        if let Some(m) = &self.meter
            && let Err(e) = m.force_flush()
        {
            tracing::warn!(error = %e, "flushing metrics failed");
        }
    }

    /// Flushes and stops the exporters.
    pub fn shutdown(self) {
        self.flush();
        if let Some(t) = self.tracer {
            let _ = t.shutdown();
        }
        if let Some(m) = self.meter {
            let _ = m.shutdown();
        }
    }
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// The method label of a request path: the path of a method the hub
/// serves (schakel's, health, reflection), `other` for anything else. The
/// path is the client's text: an unknown one could carry a BSN or a name
/// (`/schakel.v1.Jip999990019/Testjongere`) and would make metric labels
/// unbounded, so it never reaches a span, a log line or a metric.
pub fn method_label(path: &str) -> &'static str {
    rpc_names(path).label.as_str()
}

/// The names of one served method as OpenTelemetry's RPC conventions want
/// them; every one is `other` for a path the hub does not serve.
#[derive(Debug)]
pub struct RpcNames {
    /// `/package.Service/Method`: the path, for logs and the refusal tally.
    pub label: String,
    /// `rpc.service`: `package.Service`.
    pub service: String,
    /// `rpc.method`: the method's name alone.
    pub method: String,
    /// The span name: `package.Service/Method`, no leading slash.
    pub span: String,
}

impl RpcNames {
    fn of(service: &str, method: &str) -> Self {
        Self {
            label: format!("/{service}/{method}"),
            service: service.to_owned(),
            method: method.to_owned(),
            span: format!("{service}/{method}"),
        }
    }
}

/// The names of the method at `path` (see [`RpcNames`]).
pub fn rpc_names(path: &str) -> &'static RpcNames {
    static OTHER: OnceLock<RpcNames> = OnceLock::new();
    served_methods().get(path).unwrap_or_else(|| {
        OTHER.get_or_init(|| RpcNames {
            label: "other".into(),
            service: "other".into(),
            method: "other".into(),
            span: "other".into(),
        })
    })
}

/// Every method the hub serves by its path, from the API's own
/// descriptors.
fn served_methods() -> &'static std::collections::HashMap<String, RpcNames> {
    static SERVED: OnceLock<std::collections::HashMap<String, RpcNames>> = OnceLock::new();
    SERVED.get_or_init(|| {
        use prost::Message as _;
        let mut served: Vec<RpcNames> = vec![
            RpcNames::of("grpc.health.v1.Health", "Check"),
            RpcNames::of("grpc.health.v1.Health", "Watch"),
            RpcNames::of("grpc.reflection.v1.ServerReflection", "ServerReflectionInfo"),
            RpcNames::of("grpc.reflection.v1alpha.ServerReflection", "ServerReflectionInfo"),
        ];
        // Built into the binary; a decoding failure would be a build fault,
        // and then only the standard services are labelled.
        if let Ok(set) = prost_types::FileDescriptorSet::decode(schakel_proto::FILE_DESCRIPTOR_SET) {
            for file in &set.file {
                for service in &file.service {
                    for method in &service.method {
                        served.push(RpcNames::of(
                            &format!("{}.{}", file.package(), service.name()),
                            method.name(),
                        ));
                    }
                }
            }
        }
        served.into_iter().map(|n| (n.label.clone(), n)).collect()
    })
}

/// The span of one RPC, a child of the caller's span when `headers` carry
/// a valid W3C `traceparent`.
pub fn rpc_span(path: &str, headers: &http::HeaderMap) -> tracing::Span {
    let names = rpc_names(path);
    let span = tracing::info_span!(
        "rpc",
        otel.name = names.span.as_str(),
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = names.service.as_str(),
        rpc.method = names.method.as_str(),
        rpc.grpc.status_code = tracing::field::Empty,
    );
    // Only a traceparent the W3C rules accept: the propagator itself pads
    // a short trace id with zeros instead of ignoring it.
    let well_formed = headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(crate::caller::trace_id_from_traceparent)
        .is_some();
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    if well_formed && parent.span().span_context().is_valid() {
        // Fails only when no OpenTelemetry layer is installed.
        let _ = span.set_parent(parent);
    }
    span
}

/// The OpenTelemetry trace and span id of `span`, when spans are exported.
pub fn span_ids(span: &tracing::Span) -> Option<([u8; 16], [u8; 8])> {
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    sc.is_valid()
        .then(|| (sc.trace_id().to_bytes(), sc.span_id().to_bytes()))
}

struct Metrics {
    requests: Counter<u64>,
    duration: Histogram<f64>,
    refusals: Counter<u64>,
    _log_size: ObservableGauge<u64>,
    _checkpoint_age: ObservableGauge<f64>,
    _unsigned_age: ObservableGauge<f64>,
}

static METRICS: OnceLock<Metrics> = OnceLock::new();
static AUDIT_SIZE: AtomicU64 = AtomicU64::new(0);
static LAST_CHECKPOINT_MS: AtomicI64 = AtomicI64::new(0);
/// When the last checkpoint run found every entry signed.
static LAST_COVERED_MS: AtomicI64 = AtomicI64::new(0);
/// Since when entries may have waited for a signature that the checkpoint
/// runs could not give (0: none waiting).
static UNSIGNED_SINCE_MS: AtomicI64 = AtomicI64::new(0);

/// The instruments, made on first use from the global meter provider (a
/// no-op one unless [`init`] installed an exporter before).
fn metrics() -> &'static Metrics {
    METRICS.get_or_init(|| {
        let m = opentelemetry::global::meter("schakel-hub");
        Metrics {
            requests: m
                .u64_counter("schakel.rpc.requests")
                .with_description("RPCs handled, by method and gRPC status")
                .build(),
            duration: m
                .f64_histogram("schakel.rpc.duration")
                .with_unit("s")
                .with_description("RPC latency, by method and gRPC status")
                .build(),
            refusals: m
                .u64_counter("schakel.policy.refusals")
                .with_description("Violations in refused requests, by rule id (R1–R19)")
                .build(),
            _log_size: m
                .u64_observable_gauge("schakel.audit.log_size")
                .with_description(
                    "Audit log entries, as of the last checkpoint run (every interval, also when idle)",
                )
                .with_callback(|o| o.observe(AUDIT_SIZE.load(Ordering::Relaxed), &[]))
                .build(),
            _checkpoint_age: m
                .f64_observable_gauge("schakel.audit.checkpoint_age")
                .with_unit("s")
                .with_description("Seconds since the latest signed checkpoint; grows on an idle log")
                .with_callback(|o| {
                    let last = LAST_CHECKPOINT_MS.load(Ordering::Relaxed);
                    if last > 0 {
                        let now = jiff::Timestamp::now().as_millisecond();
                        o.observe((now - last).max(0) as f64 / 1000.0, &[]);
                    }
                })
                .build(),
            _unsigned_age: m
                .f64_observable_gauge("schakel.audit.unsigned_age")
                .with_unit("s")
                .with_description(
                    "Seconds the oldest entry has waited for a checkpoint that could not be signed; 0 while \
                     every run signs what there is, also on an idle log",
                )
                .with_callback(|o| o.observe(unsigned_age_secs(), &[]))
                .build(),
        }
    })
}

/// Counts one finished RPC.
pub fn record_rpc(path: &str, status_code: i32, seconds: f64) {
    let m = metrics();
    let names = rpc_names(path);
    let attrs = [
        KeyValue::new("rpc.system", "grpc"),
        KeyValue::new("rpc.service", names.service.clone()),
        KeyValue::new("rpc.method", names.method.clone()),
        KeyValue::new("rpc.grpc.status_code", i64::from(status_code)),
    ];
    m.requests.add(1, &attrs);
    m.duration.record(seconds, &attrs);
}

/// Counts the rule ids of a refusal's violations.
pub fn record_refusals(rules: impl IntoIterator<Item = schakel_policy::RuleId>) {
    let m = metrics();
    for rule in rules {
        m.refusals.add(1, &[KeyValue::new("rule", rule.to_string())]);
    }
}

/// Notes, after a checkpoint run that left nothing unsigned, the log size
/// and the latest checkpoint's time for the gauges.
pub fn record_checkpoint(log_size: u64, checkpoint_at_ms: i64) {
    metrics();
    AUDIT_SIZE.store(log_size, Ordering::Relaxed);
    LAST_CHECKPOINT_MS.store(checkpoint_at_ms, Ordering::Relaxed);
    LAST_COVERED_MS.store(jiff::Timestamp::now().as_millisecond(), Ordering::Relaxed);
    UNSIGNED_SINCE_MS.store(0, Ordering::Relaxed);
}

/// Notes a checkpoint run that failed: what was appended since the last
/// run that signed everything may be waiting (`schakel.audit.unsigned_age`).
pub fn record_checkpoint_failed() {
    metrics();
    let covered = match LAST_COVERED_MS.load(Ordering::Relaxed) {
        0 => jiff::Timestamp::now().as_millisecond(),
        t => t,
    };
    let _ = UNSIGNED_SINCE_MS.compare_exchange(0, covered, Ordering::Relaxed, Ordering::Relaxed);
}

/// The value of `schakel.audit.unsigned_age` now, in seconds.
pub fn unsigned_age_secs() -> f64 {
    match UNSIGNED_SINCE_MS.load(Ordering::Relaxed) {
        0 => 0.0,
        since => (jiff::Timestamp::now().as_millisecond() - since).max(0) as f64 / 1000.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An idle log is not an alarm; a hub that cannot sign is, from the
    /// last run that signed everything. (The only test in this binary that
    /// touches these gauges.)
    #[test]
    fn unsigned_age_is_zero_when_idle_and_grows_only_while_signing_fails() {
        let now = jiff::Timestamp::now().as_millisecond();
        // The latest checkpoint is an hour old, and nothing waits: idle.
        record_checkpoint(10, now - 3_600_000);
        assert_eq!(unsigned_age_secs(), 0.0);
        // The last run that covered everything was an hour ago; runs fail.
        LAST_COVERED_MS.store(now - 3_600_000, Ordering::Relaxed);
        record_checkpoint_failed();
        assert!(unsigned_age_secs() >= 3_599.0, "{}", unsigned_age_secs());
        record_checkpoint_failed();
        assert!(
            unsigned_age_secs() >= 3_599.0,
            "a later failure keeps the first time"
        );
        // Signing again: nothing waits.
        record_checkpoint(11, now);
        assert_eq!(unsigned_age_secs(), 0.0);
    }

    #[test]
    fn rpc_names_follow_the_conventions() {
        let n = rpc_names("/schakel.v1.TransferService/Submit");
        assert_eq!(
            (n.service.as_str(), n.method.as_str(), n.span.as_str()),
            (
                "schakel.v1.TransferService",
                "Submit",
                "schakel.v1.TransferService/Submit"
            )
        );
        let n = rpc_names("/schakel.v1.Jip999990019/Testjongere");
        assert_eq!(
            (n.service.as_str(), n.method.as_str(), n.span.as_str()),
            ("other", "other", "other")
        );
    }

    #[test]
    fn method_labels_are_bounded() {
        assert_eq!(
            method_label("/schakel.v1.TransferService/Submit"),
            "/schakel.v1.TransferService/Submit"
        );
        assert_eq!(method_label("/evil/999990019"), "other");
        assert_eq!(method_label("/schakel.v1.Jip999990019/Testjongere"), "other");
        assert_eq!(method_label("/schakel.v1.TransferService/Jip999990019"), "other");
        assert_eq!(
            method_label("/grpc.health.v1.Health/Check"),
            "/grpc.health.v1.Health/Check"
        );
        assert_eq!(method_label(&format!("/schakel.v1.{}", "x".repeat(200))), "other");
    }
}
