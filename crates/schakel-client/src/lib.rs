//! Rust client of the schakel hub.
//!
//! A *profile* is a directory holding what one party needs to talk to a hub:
//! `profile.toml` (the hub's address and the TLS server name), the CA bundle,
//! the party's client certificate and key, and optionally its age identity
//! (which never leaves the party: the hub never sees it).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::path::{Path, PathBuf};

use schakel_proto::v1::admin_service_client::AdminServiceClient;
use schakel_proto::v1::directory_service_client::DirectoryServiceClient;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// Why a profile could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A profile file could not be read.
    #[error("reading {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `profile.toml` is malformed.
    #[error("{path}: {message}")]
    Profile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The connection could not be set up.
    #[error("connecting to the hub: {0}")]
    Connect(#[from] tonic::transport::Error),
}

/// `profile.toml`: paths are relative to the profile directory.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    /// The hub's URL, e.g. `https://localhost:7443`.
    pub hub: String,
    /// The name in the hub's TLS certificate.
    pub server_name: String,
    /// CA bundle that the hub's certificate chains to.
    pub ca: PathBuf,
    /// This party's client certificate (PEM).
    pub cert: PathBuf,
    /// This party's client key (PEM).
    pub key: PathBuf,
    /// This party's age identity file, if it receives or sends case data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_identity: Option<PathBuf>,
}

/// A loaded profile.
#[derive(Clone)]
pub struct Profile {
    /// Where it was loaded from.
    pub dir: PathBuf,
    /// Its settings.
    pub file: ProfileFile,
    ca_pem: Vec<u8>,
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("dir", &self.dir)
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, ClientError> {
    std::fs::read(path).map_err(|source| ClientError::Read {
        path: path.to_owned(),
        source,
    })
}

impl Profile {
    /// Loads the profile in `dir`.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, ClientError> {
        let dir = dir.as_ref().to_owned();
        let path = dir.join("profile.toml");
        let text = String::from_utf8(read(&path)?).map_err(|_| ClientError::Profile {
            path: path.clone(),
            message: "is not UTF-8".into(),
        })?;
        let file: ProfileFile = toml::from_str(&text).map_err(|e| ClientError::Profile {
            path,
            message: e.message().to_owned(),
        })?;
        Ok(Self {
            ca_pem: read(&dir.join(&file.ca))?,
            cert_pem: read(&dir.join(&file.cert))?,
            key_pem: read(&dir.join(&file.key))?,
            dir,
            file,
        })
    }

    /// The same profile pointed at another hub address.
    pub fn with_hub(mut self, hub: impl Into<String>) -> Self {
        self.file.hub = hub.into();
        self
    }

    /// The path of the age identity file, if any.
    pub fn age_identity_path(&self) -> Option<PathBuf> {
        self.file.age_identity.as_ref().map(|p| self.dir.join(p))
    }

    /// Opens a mutual-TLS channel to the hub.
    pub async fn connect(&self) -> Result<Hub, ClientError> {
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&self.ca_pem))
            .identity(Identity::from_pem(&self.cert_pem, &self.key_pem))
            .domain_name(self.file.server_name.clone());
        let channel = Endpoint::from_shared(self.file.hub.clone())?
            .tls_config(tls)?
            .connect()
            .await?;
        Ok(Hub { channel })
    }
}

/// A connection to a hub, with typed clients per service.
#[derive(Debug, Clone)]
pub struct Hub {
    channel: Channel,
}

impl Hub {
    /// Wraps an existing channel.
    pub fn from_channel(channel: Channel) -> Self {
        Self { channel }
    }

    /// The underlying channel.
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// DirectoryService.
    pub fn directory(&self) -> DirectoryServiceClient<Channel> {
        DirectoryServiceClient::new(self.channel.clone())
    }

    /// AdminService.
    pub fn admin(&self) -> AdminServiceClient<Channel> {
        AdminServiceClient::new(self.channel.clone())
    }
}
