//! The schakel hub: gRPC services over mutual TLS.
//!
//! Request path: TLS handshake ([`tls`]) → authentication and authorisation
//! before every RPC ([`auth`], [`authz`]) → a thin handler ([`services`]) →
//! the pure crates and the store. See `docs/architecture.md`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod auth;
pub mod authz;
pub mod bootstrap;
pub mod caller;
pub mod certinfo;
pub mod checkpoint;
pub mod config;
pub mod dev;
pub mod error;
pub mod handshakes;
pub mod health;
pub mod intake;
pub mod limits;
pub mod pki;
pub mod policy_files;
pub mod ratelimit;
pub mod refusals;
pub mod regions;
pub mod retention;
pub mod server;
pub mod services;
pub mod telemetry;
pub mod tls;
pub mod wire;

pub use config::HubConfig;
pub use server::{RunningHub, StartError, start};
