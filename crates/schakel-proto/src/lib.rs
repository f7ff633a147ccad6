//! Generated code of the schakel v1 gRPC API.
//!
//! The `.proto` files in `proto/schakel/v1/` are the contract; this crate only
//! compiles them (with protox, so no system `protoc` is needed) into prost
//! messages and tonic clients and servers. Proto types stay at the edge: the
//! hub converts them into domain types on receipt.
//!
//! Every generated service trait has default method bodies answering
//! `UNIMPLEMENTED`, so a service can be implemented one RPC at a time.

#![forbid(unsafe_code)]

/// The `schakel.v1` package: messages, enums, `*_client` and `*_server` modules.
#[allow(
    missing_docs,
    clippy::all,
    clippy::pedantic,
    clippy::nursery,
    rustdoc::all,
    unreachable_pub
)]
pub mod v1 {
    tonic::include_proto!("schakel.v1");
}

/// The encoded `google.protobuf.FileDescriptorSet` of the v1 API, including
/// imported well-known types and source info (comments), for gRPC server
/// reflection (`tonic-reflection`).
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/schakel_descriptor.bin"));

/// The fully qualified names of every v1 service, e.g. for the health service.
pub const SERVICE_NAMES: [&str; 8] = [
    "schakel.v1.DirectoryService",
    "schakel.v1.AdminService",
    "schakel.v1.ConsentService",
    "schakel.v1.TransferService",
    "schakel.v1.InboxService",
    "schakel.v1.ExpertiseService",
    "schakel.v1.AuditService",
    "schakel.v1.RegionService",
];

/// Re-export of `tonic-types`, for building and reading `google.rpc` status
/// details (`BadRequest` field violations) against the same tonic version.
pub use tonic_types;
