//! Request intake: what a request may cost the hub before it is decoded.
//!
//! A protobuf message decodes into far more memory than its bytes: an empty
//! `Field` is two bytes on the wire and 48 in a `Vec`, so one 4 MiB request
//! of two million empty fields took some 230 MB, and eight at once 2.3 GB
//! (issue 15). Between authentication and the services, this layer
//!
//! - reads the body of a `schakel.v1` call within the hub's **budget of
//!   request bytes in flight** (`request_budget_mib`, default 256): a call
//!   that would take the hub over it is answered `RESOURCE_EXHAUSTED` with a
//!   retry delay, and a call's bytes count against the budget until its
//!   answer is ready, because the decoded request lives that long;
//! - **counts the repeated fields of the message on the wire** before prost
//!   decodes it, against the limits a document has anyway (32 groups, 200
//!   fields in a group, one justification per group; 500 entries of any
//!   other list): a request over them is refused `INVALID_ARGUMENT` with the
//!   field path and never decoded. With the counts bounded, a request
//!   decodes into little more than its own bytes.
//!
//! Health and reflection (streams, no documents) pass through untouched.
//! The message shapes come from the API's own descriptor set, so a new list
//! in a `.proto` file is counted without a change here.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt as _;
use prost::Message as _;
use prost_types::field_descriptor_proto::{Label, Type};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;

use crate::error::{HubError, Violation};
use crate::limits::{MAX_FIELDS, MAX_GROUPS, MAX_PAGE};

/// The largest request of a service that carries documents (transfer,
/// expertise): 32 groups of 200 fields of up to 4,000 characters would be
/// more, but no real document comes near it.
pub const DOCUMENT_REQUEST: usize = 4 * 1024 * 1024;
/// The largest request of a service without documents (directory, admin,
/// consent, inbox, audit): their biggest, a decision with a 4,000-character
/// reason or 500 proof positions, is a few KiB.
pub const SMALL_REQUEST: usize = 64 * 1024;
/// The default budget of request bytes in flight, for all calls together.
pub const DEFAULT_BUDGET: usize = 256 * 1024 * 1024;
/// How long a caller refused for the budget is asked to wait.
const BUDGET_RETRY: Duration = Duration::from_secs(1);
/// The services whose requests carry a document.
const DOCUMENT_SERVICES: [&str; 2] = ["schakel.v1.TransferService", "schakel.v1.ExpertiseService"];
/// Lists with a limit of their own: message, field, most entries, what they
/// are (for the refusal). Every other repeated field takes [`MAX_PAGE`].
const LIMITS: &[(&str, &str, usize, &str)] = &[
    ("schakel.v1.SubmitRequest", "groups", MAX_GROUPS, "groups"),
    (
        "schakel.v1.SubmitRequest",
        "justifications",
        MAX_GROUPS,
        "justifications, one per group",
    ),
    (
        "schakel.v1.RequestExpertiseRequest",
        "groups",
        MAX_GROUPS,
        "groups",
    ),
    ("schakel.v1.GiveAdviceRequest", "groups", MAX_GROUPS, "groups"),
    (
        "schakel.v1.GiveAdviceRequest",
        "justifications",
        MAX_GROUPS,
        "justifications, one per group",
    ),
    ("schakel.v1.FieldGroup", "fields", MAX_FIELDS, "fields in a group"),
    ("schakel.v1.GroupJustification", "fields", MAX_FIELDS, "fields"),
];
/// Nesting deeper than this is left to the decoder's own recursion limit.
const MAX_DEPTH: usize = 32;

/// The layer that admits request bodies (see the module documentation).
#[derive(Clone)]
pub struct IntakeLayer {
    budget: Arc<Semaphore>,
    total: usize,
}

impl IntakeLayer {
    /// A layer whose calls together hold at most `budget` bytes of requests.
    pub fn new(budget: usize) -> Self {
        let total = budget.min(Semaphore::MAX_PERMITS);
        Self {
            budget: Arc::new(Semaphore::new(total)),
            total,
        }
    }

    /// Bytes of requests held by calls now.
    pub fn in_flight(&self) -> usize {
        self.total - self.budget.available_permits()
    }
}

impl<S> tower::Layer<S> for IntakeLayer {
    type Service = Intake<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Intake {
            inner,
            budget: self.budget.clone(),
        }
    }
}

/// A service behind [`IntakeLayer`].
#[derive(Clone)]
pub struct Intake<S> {
    inner: S,
    budget: Arc<Semaphore>,
}

type Body = tonic::body::Body;

impl<S> tower::Service<http::Request<Body>> for Intake<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let Some(input) = SHAPES.input_of(req.uri().path()) else {
            return Box::pin(inner.call(req));
        };
        let limit = if DOCUMENT_SERVICES
            .iter()
            .any(|s| req.uri().path()[1..].starts_with(s))
        {
            DOCUMENT_REQUEST
        } else {
            SMALL_REQUEST
        };
        let budget = self.budget.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let (bytes, held) = match read_within(body, limit, &budget).await {
                Ok(read) => read,
                Err(status) => return Ok(status.into_http()),
            };
            let violations = SHAPES.over_limits(input, &bytes);
            if !violations.is_empty() {
                return Ok(Status::from(HubError::InvalidArgument(violations)).into_http());
            }
            let answer = inner
                .call(http::Request::from_parts(
                    parts,
                    Body::new(http_body_util::Full::new(bytes)),
                ))
                .await;
            drop(held);
            answer
        })
    }
}

/// Reads a whole request body, taking its bytes from `budget` as they
/// arrive; refused when it is larger than `limit` (plus the 5-byte gRPC
/// frame header) or the budget is spent.
async fn read_within(
    mut body: Body,
    limit: usize,
    budget: &Arc<Semaphore>,
) -> Result<(Bytes, Option<OwnedSemaphorePermit>), Status> {
    let mut buf: Vec<u8> = Vec::new();
    let mut held: Option<OwnedSemaphorePermit> = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| Status::cancelled("the request body could not be read"))?;
        let Ok(data) = frame.into_data() else { continue };
        if buf.len() + data.len() > limit + 5 {
            return Err(Status::resource_exhausted(
                "the request is larger than the hub accepts for this method (4 MiB with a document, 64 KiB without)",
            ));
        }
        let n = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let permit = budget
            .clone()
            .try_acquire_many_owned(n)
            .map_err(|_| over_budget())?;
        match &mut held {
            Some(h) => h.merge(permit),
            None => held = Some(permit),
        }
        if buf.is_empty()
            && let [_, a, b, c, d, ..] = data[..]
        {
            // The frame header gives the message's length: room for exactly
            // that (within the limit), not twice as much from doubling.
            let declared = u32::from_be_bytes([a, b, c, d]) as usize;
            buf.reserve_exact(declared.min(limit) + 5);
        }
        buf.extend_from_slice(&data);
    }
    Ok((Bytes::from(buf), held))
}

fn over_budget() -> Status {
    use tonic_types::StatusExt as _;
    Status::with_error_details(
        tonic::Code::ResourceExhausted,
        format!(
            "the hub is at its limit of request data in flight; retry in {} ms",
            BUDGET_RETRY.as_millis()
        ),
        tonic_types::ErrorDetails::with_retry_info(Some(BUDGET_RETRY)),
    )
}

/// The message shapes of the API, from its descriptor set.
static SHAPES: LazyLock<Shapes> = LazyLock::new(|| {
    let set = prost_types::FileDescriptorSet::decode(schakel_proto::FILE_DESCRIPTOR_SET)
        .expect("the descriptor set compiled into schakel-proto decodes");
    Shapes::new(&set)
});

/// Methods and message shapes: what the counting walk needs to know.
struct Shapes {
    /// `/package.Service/Method` → its input message's full name.
    methods: HashMap<String, String>,
    /// Full message name (no leading dot) → its fields by number.
    messages: HashMap<String, HashMap<u32, FieldShape>>,
}

struct FieldShape {
    name: String,
    /// The message type of a message field.
    message: Option<String>,
    /// The most entries of a repeated field; none for a singular one.
    limit: Option<(usize, &'static str)>,
}

impl Shapes {
    fn new(set: &prost_types::FileDescriptorSet) -> Self {
        let mut methods = HashMap::new();
        let mut messages = HashMap::new();
        for file in &set.file {
            let package = file.package();
            if !package.starts_with("schakel.") {
                continue;
            }
            for service in &file.service {
                for method in &service.method {
                    methods.insert(
                        format!("/{package}.{}/{}", service.name(), method.name()),
                        method.input_type().trim_start_matches('.').to_owned(),
                    );
                }
            }
            let mut todo: Vec<(String, &prost_types::DescriptorProto)> = file
                .message_type
                .iter()
                .map(|m| (format!("{package}.{}", m.name()), m))
                .collect();
            while let Some((full, message)) = todo.pop() {
                todo.extend(
                    message
                        .nested_type
                        .iter()
                        .map(|m| (format!("{full}.{}", m.name()), m)),
                );
                let fields = message
                    .field
                    .iter()
                    .map(|f| {
                        let repeated = f.label() == Label::Repeated;
                        let limit = repeated.then(|| {
                            LIMITS
                                .iter()
                                .find(|(m, name, _, _)| *m == full && *name == f.name())
                                .map_or((MAX_PAGE as usize, "entries"), |(_, _, n, what)| (*n, *what))
                        });
                        let shape = FieldShape {
                            name: f.name().to_owned(),
                            message: (f.r#type() == Type::Message)
                                .then(|| f.type_name().trim_start_matches('.').to_owned()),
                            limit,
                        };
                        (u32::try_from(f.number()).unwrap_or(0), shape)
                    })
                    .collect();
                messages.insert(full, fields);
            }
        }
        Self { methods, messages }
    }

    /// The input message of a `schakel` method; none for other paths.
    fn input_of(&self, path: &str) -> Option<&str> {
        self.methods.get(path).map(String::as_str)
    }

    /// Every list in the gRPC-framed `request` of `message` that is over its
    /// limit, with its field path. A request that is not one uncompressed
    /// frame of well-formed protobuf is left to the decoder, which refuses
    /// it on its own.
    fn over_limits(&self, message: &str, request: &[u8]) -> Vec<Violation> {
        let mut out = Vec::new();
        if let [0, a, b, c, d, body @ ..] = request
            && u32::from_be_bytes([*a, *b, *c, *d]) as usize == body.len()
        {
            self.walk(message, body, &mut Vec::new(), &mut out);
        }
        out
    }

    fn walk<'a>(
        &'a self,
        message: &str,
        mut bytes: &[u8],
        path: &mut Vec<(&'a str, Option<usize>)>,
        out: &mut Vec<Violation>,
    ) {
        let Some(fields) = self.messages.get(message) else {
            return;
        };
        let mut counts: HashMap<u32, usize> = HashMap::new();
        while !bytes.is_empty() {
            let Some(key) = varint(&mut bytes) else { return };
            let number = u32::try_from(key >> 3).unwrap_or(0);
            let field = fields.get(&number);
            if let Some(FieldShape { limit: Some(_), .. }) = field {
                *counts.entry(number).or_default() += 1;
            }
            match key & 7 {
                0 => {
                    if varint(&mut bytes).is_none() {
                        return;
                    }
                }
                1 | 5 => {
                    let width = if key & 7 == 1 { 8 } else { 4 };
                    let Some(rest) = bytes.get(width..) else { return };
                    bytes = rest;
                }
                2 => {
                    let Some(len) = varint(&mut bytes).and_then(|n| usize::try_from(n).ok()) else {
                        return;
                    };
                    let Some(inner) = bytes.get(..len) else { return };
                    bytes = &bytes[len..];
                    if let Some(f @ FieldShape { message: Some(m), .. }) = field
                        && path.len() < MAX_DEPTH
                    {
                        let index = f.limit.map(|_| counts[&number] - 1);
                        path.push((f.name.as_str(), index));
                        self.walk(m, inner, path, out);
                        path.pop();
                    }
                }
                // Groups (proto2) and anything else: the decoder refuses them.
                _ => return,
            }
        }
        let mut over: Vec<_> = counts
            .into_iter()
            .filter_map(|(number, count)| {
                let f = &fields[&number];
                let (most, what) = f.limit?;
                (count > most).then_some((number, f, most, what))
            })
            .collect();
        over.sort_by_key(|(number, ..)| *number);
        for (_, f, most, what) in over {
            let mut at = String::new();
            for (name, index) in path.iter() {
                at.push_str(name);
                if let Some(i) = index {
                    at.push_str(&format!("[{i}]"));
                }
                at.push('.');
            }
            at.push_str(&f.name);
            out.push(Violation::format(at, format!("at most {most} {what}")));
        }
    }
}

/// Reads one base-128 varint off the front of `bytes`.
fn varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (i, b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            *bytes = &bytes[i + 1..];
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use schakel_proto::v1 as pb;

    fn framed(m: &impl prost::Message) -> Vec<u8> {
        let body = m.encode_to_vec();
        let mut out = vec![0];
        out.extend_from_slice(&u32::try_from(body.len()).expect("small").to_be_bytes());
        out.extend_from_slice(&body);
        out
    }

    fn group(name: &str, fields: usize) -> pb::FieldGroup {
        pb::FieldGroup {
            name: name.into(),
            fields: vec![pb::Field::default(); fields],
        }
    }

    #[test]
    fn every_method_of_the_api_has_its_input_shape() {
        assert_eq!(
            SHAPES.input_of("/schakel.v1.TransferService/Submit"),
            Some("schakel.v1.SubmitRequest")
        );
        for (message, field, ..) in LIMITS {
            assert!(
                SHAPES.messages[*message]
                    .values()
                    .any(|f| f.name == *field && f.limit.is_some()),
                "{message}.{field} is a repeated field of the API"
            );
        }
        assert!(SHAPES.input_of("/grpc.health.v1.Health/Check").is_none());
        assert!(SHAPES.input_of("/schakel.v1.TransferService/Nothing").is_none());
    }

    #[test]
    fn a_document_within_the_limits_passes() {
        let r = pb::SubmitRequest {
            groups: (0..MAX_GROUPS)
                .map(|i| group(&format!("g{i}"), MAX_FIELDS))
                .collect(),
            ..Default::default()
        };
        assert!(
            SHAPES
                .over_limits("schakel.v1.SubmitRequest", &framed(&r))
                .is_empty()
        );
    }

    #[test]
    fn lists_over_their_limits_are_named_by_path() {
        let r = pb::SubmitRequest {
            groups: (0..=MAX_GROUPS)
                .map(|i| group("g", if i == 3 { MAX_FIELDS + 1 } else { 1 }))
                .collect(),
            justifications: vec![pb::GroupJustification {
                fields: vec![String::new(); MAX_FIELDS + 1],
                ..Default::default()
            }],
            ..Default::default()
        };
        let found: Vec<(String, String)> = SHAPES
            .over_limits("schakel.v1.SubmitRequest", &framed(&r))
            .into_iter()
            .map(|v| {
                let d = v.description();
                (v.path, d)
            })
            .collect();
        assert_eq!(
            found,
            [
                (
                    "groups[3].fields".to_owned(),
                    "format: at most 200 fields in a group".to_owned()
                ),
                (
                    "justifications[0].fields".to_owned(),
                    "format: at most 200 fields".to_owned()
                ),
                ("groups".to_owned(), "format: at most 32 groups".to_owned()),
            ]
        );
    }

    #[test]
    fn other_lists_take_the_page_limit() {
        let r = pb::GetInclusionProofsRequest {
            sequences: vec![1; MAX_PAGE as usize + 1],
            ..Default::default()
        };
        // Packed: one record on the wire, so the decoder's size limit is
        // what bounds it, not the count.
        assert!(
            SHAPES
                .over_limits("schakel.v1.GetInclusionProofsRequest", &framed(&r))
                .is_empty()
        );
        let r = pb::ListSentRequest {
            states: vec![1; 10],
            ..Default::default()
        };
        assert!(
            SHAPES
                .over_limits("schakel.v1.ListSentRequest", &framed(&r))
                .is_empty()
        );
    }

    #[test]
    fn malformed_or_compressed_requests_are_left_to_the_decoder() {
        for bad in [
            &[][..],
            &[1, 0, 0, 0, 1, 0],
            &[0, 0, 0, 0, 3, 0x2a, 0xff, 0xff],
            &[0, 0, 0, 0, 9, 1],
        ] {
            assert!(SHAPES.over_limits("schakel.v1.SubmitRequest", bad).is_empty());
        }
    }

    /// A request to Submit whose body arrives in the chunks sent on the
    /// returned channel.
    fn streamed_submit() -> (
        http::Request<Body>,
        tokio::sync::mpsc::Sender<Result<http_body::Frame<Bytes>, std::convert::Infallible>>,
    ) {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let body = http_body_util::StreamBody::new(tokio_stream::wrappers::ReceiverStream::new(rx));
        let req = http::Request::post("/schakel.v1.TransferService/Submit")
            .body(Body::new(body))
            .expect("request");
        (req, tx)
    }

    fn submit_of(len: usize) -> Bytes {
        Bytes::from(framed(&pb::SubmitRequest {
            idempotency_key: "k".repeat(len),
            ..Default::default()
        }))
    }

    fn grpc_status(resp: &http::Response<Body>) -> Option<tonic::Code> {
        Status::from_header_map(resp.headers()).map(|s| s.code())
    }

    /// Calls share the budget: while one holds most of it, another that
    /// would go over is told to retry; once the first is answered its bytes
    /// are free again.
    #[tokio::test]
    async fn calls_share_a_budget_of_request_bytes_until_they_are_answered() {
        use tower::{Layer as _, Service as _, ServiceExt as _};
        let layer = IntakeLayer::new(1024 * 1024);
        let passed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = passed.clone();
        let inner = tower::service_fn(move |req: http::Request<Body>| {
            let seen = seen.clone();
            async move {
                // The service gets the whole message, as sent.
                let bytes = req.into_body().collect().await.expect("body").to_bytes();
                seen.fetch_add(bytes.len(), std::sync::atomic::Ordering::SeqCst);
                Ok::<_, std::convert::Infallible>(http::Response::new(Body::empty()))
            }
        });
        let mut svc = layer.layer(inner);

        // A: 900 KiB, of which 800 KiB arrive and the rest waits.
        let big = submit_of(900 * 1024);
        let (req_a, tx_a) = streamed_submit();
        let a = tokio::spawn(svc.ready().await.expect("ready").call(req_a));
        tx_a.send(Ok(http_body::Frame::data(big.slice(..800 * 1024))))
            .await
            .expect("send");
        while layer.in_flight() < 800 * 1024 {
            tokio::task::yield_now().await;
        }

        // B: 300 KiB would take the hub over its 1 MiB.
        let small = submit_of(300 * 1024);
        let (req_b, tx_b) = streamed_submit();
        tx_b.send(Ok(http_body::Frame::data(small.clone())))
            .await
            .expect("send");
        drop(tx_b);
        let resp = svc
            .ready()
            .await
            .expect("ready")
            .call(req_b)
            .await
            .expect("answer");
        assert_eq!(grpc_status(&resp), Some(tonic::Code::ResourceExhausted));
        let status = Status::from_header_map(resp.headers()).expect("status");
        use tonic_types::StatusExt as _;
        assert!(status.get_details_retry_info().is_some(), "{status:?}");
        assert_eq!(layer.in_flight(), 800 * 1024, "B's bytes were handed back");

        // A completes, is served, and frees its bytes.
        tx_a.send(Ok(http_body::Frame::data(big.slice(800 * 1024..))))
            .await
            .expect("send");
        drop(tx_a);
        let resp = a.await.expect("task").expect("answer");
        assert_eq!(grpc_status(&resp), None);
        assert_eq!(passed.load(std::sync::atomic::Ordering::SeqCst), big.len());
        assert_eq!(layer.in_flight(), 0);

        // Now B fits.
        let (req_b, tx_b) = streamed_submit();
        tx_b.send(Ok(http_body::Frame::data(small.clone())))
            .await
            .expect("send");
        drop(tx_b);
        let resp = svc
            .ready()
            .await
            .expect("ready")
            .call(req_b)
            .await
            .expect("answer");
        assert_eq!(grpc_status(&resp), None);
        assert_eq!(layer.in_flight(), 0);
    }

    #[test]
    fn varints_read_and_stop_at_ten_bytes() {
        let mut b: &[u8] = &[0x96, 0x01, 7];
        assert_eq!(varint(&mut b), Some(150));
        assert_eq!(b, &[7]);
        let mut b: &[u8] = &[0xff; 11];
        assert_eq!(varint(&mut b), None);
    }
}
