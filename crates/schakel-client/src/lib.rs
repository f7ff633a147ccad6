//! Rust client of the schakel hub.
//!
//! A *profile* is a directory holding what one party needs to talk to a hub:
//! `profile.toml` (the hub's address and the TLS server name), the CA bundle,
//! the party's client certificate and key, and optionally its age identity
//! (which never leaves the party: the hub never sees it), and optionally the
//! end user acting (`user_id`, `user_role`).
//!
//! A [`Hub`] hands out typed clients per service. Every call made through
//! them carries the end user (`x-schakel-user-id`, `x-schakel-user-role`)
//! when one is set, and a fresh W3C `traceparent`, so the hub's audit log can
//! name who acted and link entries across organisations. Sealed groups are
//! opened locally with [`open_groups`].
//!
//! A privacy officer checks the hub's audit answers with [`proofs`]: signed
//! checkpoints against the verifier key pinned in the profile
//! (`audit_verifier_key`), inclusion and consistency proofs against them.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod metadata;
mod open;
pub mod proofs;

use std::path::{Path, PathBuf};

use schakel_proto::v1::admin_service_client::AdminServiceClient;
use schakel_proto::v1::audit_service_client::AuditServiceClient;
use schakel_proto::v1::consent_service_client::ConsentServiceClient;
use schakel_proto::v1::directory_service_client::DirectoryServiceClient;
use schakel_proto::v1::expertise_service_client::ExpertiseServiceClient;
use schakel_proto::v1::inbox_service_client::InboxServiceClient;
use schakel_proto::v1::region_service_client::RegionServiceClient;
use schakel_proto::v1::transfer_service_client::TransferServiceClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

pub use metadata::{
    CallMetadata, EndUser, MAX_TOKEN_LEN, TRACEPARENT_HEADER, USER_ID_HEADER, USER_ROLE_HEADER,
    is_valid_token, new_traceparent,
};
pub use open::{
    AgeIdentity, OpenError, OpenedGroup, binding_party, function_name, open_groups, open_record_groups,
    read_identities, unit_groups,
};
pub use proofs::{ProofError, check_consistency, check_inclusion, open_checkpoint, open_optional_checkpoint};
pub use schakel_crypto::{GroupPlaintext, PlainField};

/// The channel every typed client uses: the TLS channel plus the
/// [`CallMetadata`] interceptor.
pub type HubChannel = InterceptedService<Channel, CallMetadata>;

/// Largest response the service clients that carry sealed groups accept
/// (tonic's default is 4 MiB; one group may hold up to 1 MiB of plaintext).
pub const MAX_RESPONSE_BYTES: usize = 64 << 20;

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
    /// The end-user id or role is not a valid token (the value is not
    /// shown).
    #[error("{0}")]
    EndUser(&'static str),
    /// An age identity file holds no usable identity (its content is never
    /// shown).
    #[error("{path}: {source}")]
    Identity {
        /// The identity file.
        path: PathBuf,
        /// Why.
        source: schakel_crypto::CryptoError,
    },
    /// The profile names no age identity file.
    #[error("the profile {0} has no age_identity; give an identity file")]
    NoIdentity(PathBuf),
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

/// What `profile.toml` may hold: [`ProfileFile`] plus the optional end user.
/// Kept apart from `ProfileFile` so code that builds a `ProfileFile` by
/// struct literal keeps compiling.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileToml {
    hub: String,
    server_name: String,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    #[serde(default)]
    age_identity: Option<PathBuf>,
    /// The end user acting: an opaque id in this party's own user
    /// administration (never a BSN or a name), sent as `x-schakel-user-id`.
    #[serde(default)]
    user_id: Option<String>,
    /// The end user's role, e.g. `werkcoach`, sent as `x-schakel-user-role`.
    #[serde(default)]
    user_role: Option<String>,
    /// The hub's audit log verifier key (`<name>+<hash>+<base64 key>`),
    /// pinned by a privacy officer after checking it out of band.
    #[serde(default)]
    audit_verifier_key: Option<String>,
}

/// The end user a profile acts for (`user_id` / `user_role` in
/// `profile.toml`), before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ProfileUser {
    /// Opaque id of the end user (`x-schakel-user-id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Role of the end user (`x-schakel-user-role`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_role: Option<String>,
}

/// A loaded profile.
#[derive(Clone)]
pub struct Profile {
    /// Where it was loaded from.
    pub dir: PathBuf,
    /// Its settings.
    pub file: ProfileFile,
    /// The end user it acts for (`user_id`, `user_role`), if set.
    pub user: ProfileUser,
    /// The pinned verifier key of the hub's audit log checkpoints
    /// (`audit_verifier_key`), if set; validated when loaded.
    pub audit_verifier: Option<schakel_audit::Verifier>,
    ca_pem: Vec<u8>,
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("dir", &self.dir)
            .field("file", &self.file)
            .field("user", &self.user)
            .field("audit_verifier", &self.audit_verifier)
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
        let raw: ProfileToml = toml::from_str(&text).map_err(|e| ClientError::Profile {
            path: path.clone(),
            message: e.message().to_owned(),
        })?;
        let user = ProfileUser {
            user_id: raw.user_id,
            user_role: raw.user_role,
        };
        let file = ProfileFile {
            hub: raw.hub,
            server_name: raw.server_name,
            ca: raw.ca,
            cert: raw.cert,
            key: raw.key,
            age_identity: raw.age_identity,
        };
        for (value, key) in [(&user.user_id, "user_id"), (&user.user_role, "user_role")] {
            if value.as_deref().is_some_and(|v| !is_valid_token(v)) {
                return Err(ClientError::Profile {
                    path,
                    message: format!("{key} must be 1-128 printable ASCII characters without spaces"),
                });
            }
        }
        let audit_verifier =
            match raw.audit_verifier_key.as_deref() {
                None => None,
                Some(vkey) => Some(schakel_audit::Verifier::from_vkey(vkey.trim()).map_err(|e| {
                    ClientError::Profile {
                        path: path.clone(),
                        message: format!("audit_verifier_key: {e}"),
                    }
                })?),
            };
        Ok(Self {
            audit_verifier,
            ca_pem: read(&dir.join(&file.ca))?,
            cert_pem: read(&dir.join(&file.cert))?,
            key_pem: read(&dir.join(&file.key))?,
            dir,
            file,
            user,
        })
    }

    /// The same profile pointed at another hub address.
    pub fn with_hub(mut self, hub: impl Into<String>) -> Self {
        self.file.hub = hub.into();
        self
    }

    /// The same profile acting for another end user; a `None` keeps the
    /// profile's own value (e.g. command-line flags over `profile.toml`).
    pub fn with_user_overrides(mut self, user_id: Option<String>, user_role: Option<String>) -> Self {
        if user_id.is_some() {
            self.user.user_id = user_id;
        }
        if user_role.is_some() {
            self.user.user_role = user_role;
        }
        self
    }

    /// The end user of this profile: `None` when neither id nor role is
    /// set; an error when only one of them is, or one is not a valid token.
    pub fn end_user(&self) -> Result<Option<EndUser>, ClientError> {
        match (&self.user.user_id, &self.user.user_role) {
            (None, None) => Ok(None),
            (Some(id), Some(role)) => EndUser::new(id, role).map(Some),
            (Some(_), None) => Err(ClientError::EndUser("a user id is set but no user role")),
            (None, Some(_)) => Err(ClientError::EndUser("a user role is set but no user id")),
        }
    }

    /// The path of the age identity file, if any.
    pub fn age_identity_path(&self) -> Option<PathBuf> {
        self.file.age_identity.as_ref().map(|p| self.dir.join(p))
    }

    /// Reads this profile's age identities (to open sealed groups).
    pub fn identities(&self) -> Result<Vec<AgeIdentity>, ClientError> {
        let path = self
            .age_identity_path()
            .ok_or_else(|| ClientError::NoIdentity(self.dir.clone()))?;
        read_identities(&path)
    }

    /// Opens a mutual-TLS channel to the hub, acting for the profile's end
    /// user when one is set.
    pub async fn connect(&self) -> Result<Hub, ClientError> {
        let user = self.end_user()?;
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&self.ca_pem))
            .identity(Identity::from_pem(&self.cert_pem, &self.key_pem))
            .domain_name(self.file.server_name.clone());
        let channel = Endpoint::from_shared(self.file.hub.clone())?
            .tls_config(tls)?
            .connect()
            .await?;
        Ok(Hub {
            channel,
            metadata: CallMetadata::new(user),
        })
    }
}

/// A connection to a hub, with typed clients per service. Every call carries
/// the end user (when set) and a fresh `traceparent`.
#[derive(Debug, Clone)]
pub struct Hub {
    channel: Channel,
    metadata: CallMetadata,
}

impl Hub {
    /// Wraps an existing channel; no end user is set.
    pub fn from_channel(channel: Channel) -> Self {
        Self {
            channel,
            metadata: CallMetadata::default(),
        }
    }

    /// The same connection acting for end user `id` with `role`: opaque
    /// tokens of 1–128 printable ASCII characters without spaces, never a
    /// BSN or a name. RPCs that touch case data require them.
    pub fn with_user(self, id: impl AsRef<str>, role: impl AsRef<str>) -> Result<Self, ClientError> {
        Ok(self.with_end_user(Some(EndUser::new(id.as_ref(), role.as_ref())?)))
    }

    /// The same connection acting for `user` (or for nobody).
    pub fn with_end_user(mut self, user: Option<EndUser>) -> Self {
        self.metadata = CallMetadata::new(user);
        self
    }

    /// The end user calls are made for, if any.
    pub fn end_user(&self) -> Option<&EndUser> {
        self.metadata.user()
    }

    /// The underlying channel, without the metadata interceptor.
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// The channel with the metadata interceptor, for any generated client.
    pub fn intercepted(&self) -> HubChannel {
        InterceptedService::new(self.channel.clone(), self.metadata.clone())
    }

    /// DirectoryService.
    pub fn directory(&self) -> DirectoryServiceClient<HubChannel> {
        DirectoryServiceClient::new(self.intercepted())
    }

    /// AdminService.
    pub fn admin(&self) -> AdminServiceClient<HubChannel> {
        AdminServiceClient::new(self.intercepted())
    }

    /// ConsentService (schools, Doorstroompunt).
    pub fn consent(&self) -> ConsentServiceClient<HubChannel> {
        ConsentServiceClient::new(self.intercepted())
    }

    /// TransferService (senders).
    pub fn transfer(&self) -> TransferServiceClient<HubChannel> {
        TransferServiceClient::new(self.intercepted()).max_decoding_message_size(MAX_RESPONSE_BYTES)
    }

    /// InboxService (receivers).
    pub fn inbox(&self) -> InboxServiceClient<HubChannel> {
        InboxServiceClient::new(self.intercepted()).max_decoding_message_size(MAX_RESPONSE_BYTES)
    }

    /// ExpertiseService (Participatiewet asks, Doorstroompunt answers).
    pub fn expertise(&self) -> ExpertiseServiceClient<HubChannel> {
        ExpertiseServiceClient::new(self.intercepted()).max_decoding_message_size(MAX_RESPONSE_BYTES)
    }

    /// AuditService (privacy officers).
    pub fn audit(&self) -> AuditServiceClient<HubChannel> {
        AuditServiceClient::new(self.intercepted()).max_decoding_message_size(MAX_RESPONSE_BYTES)
    }

    /// RegionService (regional partners).
    pub fn region(&self) -> RegionServiceClient<HubChannel> {
        RegionServiceClient::new(self.intercepted()).max_decoding_message_size(MAX_RESPONSE_BYTES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile_dir(extra: &str) -> tempdir::Dir {
        tempdir::Dir::new(&format!(
            "hub = \"https://localhost:7443\"\nserver_name = \"localhost\"\nca = \"ca.pem\"\n\
             cert = \"cert.pem\"\nkey = \"key.pem\"\n{extra}"
        ))
    }

    /// A throwaway profile directory (no dev-dependency needed).
    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new(profile: &str) -> Self {
                use std::sync::atomic::{AtomicUsize, Ordering};
                static N: AtomicUsize = AtomicUsize::new(0);
                let dir = std::env::temp_dir().join(format!(
                    "schakel-client-profile-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed)
                ));
                std::fs::create_dir_all(&dir).unwrap();
                for f in ["ca.pem", "cert.pem", "key.pem"] {
                    std::fs::write(dir.join(f), "").unwrap();
                }
                std::fs::write(dir.join("profile.toml"), profile).unwrap();
                Self(dir)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn the_profile_may_name_the_end_user() {
        let d = profile_dir("user_id = \"u-42\"\nuser_role = \"loopbaanbegeleider\"\n");
        let p = Profile::load(&d.0).unwrap();
        let u = p.end_user().unwrap().unwrap();
        assert_eq!((u.id(), u.role()), ("u-42", "loopbaanbegeleider"));

        let p = p.with_user_overrides(Some("u-7".into()), None);
        let u = p.end_user().unwrap().unwrap();
        assert_eq!((u.id(), u.role()), ("u-7", "loopbaanbegeleider"));
    }

    #[test]
    fn without_user_keys_there_is_no_end_user() {
        let d = profile_dir("");
        let p = Profile::load(&d.0).unwrap();
        assert!(p.end_user().unwrap().is_none());
        assert!(
            p.with_user_overrides(Some("u-1".into()), None)
                .end_user()
                .is_err()
        );
    }

    #[test]
    fn an_invalid_user_id_in_the_profile_is_refused_without_echo() {
        let d = profile_dir("user_id = \"Jan Jansen\"\nuser_role = \"werkcoach\"\n");
        let e = Profile::load(&d.0).unwrap_err().to_string();
        assert!(e.contains("user_id"), "{e}");
        assert!(!e.contains("Jansen"), "{e}");
    }

    #[test]
    fn the_profile_may_pin_the_audit_verifier_key() {
        let signer = schakel_audit::Signer::from_seed("schakel.test/log", &[1; 32]).unwrap();
        let vkey = signer.verifier().vkey();
        let d = profile_dir(&format!("audit_verifier_key = \"{vkey}\"\n"));
        let p = Profile::load(&d.0).unwrap();
        assert_eq!(p.audit_verifier.as_ref().map(|v| v.vkey()), Some(vkey.clone()));

        assert!(
            Profile::load(&profile_dir("").0)
                .unwrap()
                .audit_verifier
                .is_none()
        );

        let broken = vkey.replacen('+', "+0", 1);
        let d = profile_dir(&format!("audit_verifier_key = \"{broken}\"\n"));
        let e = Profile::load(&d.0).unwrap_err().to_string();
        assert!(e.contains("audit_verifier_key"), "{e}");
    }

    #[test]
    fn unknown_profile_keys_are_refused() {
        let d = profile_dir("user = \"u-1\"\n");
        assert!(Profile::load(&d.0).is_err());
    }
}
