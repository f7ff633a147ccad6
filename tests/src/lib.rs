//! Shared helpers of the end-to-end tests: start a real hub (TLS listener
//! on 127.0.0.1, a real database) with the development PKI and demo region,
//! and connect to it as any demo party or with any certificate.
#![forbid(unsafe_code)]

pub mod binary_hub;
pub mod flow;
pub mod python;

use std::net::SocketAddr;

use schakel_client::{Hub, Profile};
use schakel_domain::Oin;
use schakel_hub::RunningHub;
use schakel_hub::dev::DevEnvironment;
use schakel_hub::pki::{IssuedCert, Validity};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

/// Which database a test hub uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    /// A SQLite file in the test's directory.
    Sqlite,
    /// A fresh database in the shared throwaway PostgreSQL cluster.
    Postgres,
}

/// A running hub for one test.
pub struct TestHub {
    /// The development environment (PKI, profiles).
    pub env: DevEnvironment,
    /// The hub.
    pub hub: Option<RunningHub>,
    /// The database URL.
    pub db_url: String,
    _dir: tempfile::TempDir,
}

impl TestHub {
    /// Starts a hub on `db`; `None` only when PostgreSQL is unavailable
    /// outside CI (see `schakel_testkit::shared_cluster`).
    pub async fn start(db: Db) -> Option<Self> {
        Self::start_with(db, |_| {}).await
    }

    /// As [`TestHub::start`], with the hub configuration changed by `adjust`
    /// first (limits, retention, …).
    pub async fn start_with(db: Db, adjust: impl FnOnce(&mut schakel_hub::HubConfig)) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let env = DevEnvironment::ensure(dir.path().join("dev")).expect("dev environment");
        let db_url = match db {
            Db::Sqlite => env.sqlite_url(),
            Db::Postgres => schakel_testkit::fresh_postgres_url()?,
        };
        env.seed(&db_url).await.expect("seed demo directory");
        let listen: SocketAddr = "127.0.0.1:0".parse().expect("addr");
        let mut cfg = env.hub_config(listen, &db_url).expect("hub config");
        adjust(&mut cfg);
        let hub = schakel_hub::start(cfg).await.expect("hub starts");
        env.write_profiles(&format!("https://{}", hub.addr()))
            .expect("profiles");
        Some(Self {
            env,
            hub: Some(hub),
            db_url,
            _dir: dir,
        })
    }

    /// The hub's URL.
    pub fn url(&self) -> String {
        format!("https://{}", self.hub.as_ref().expect("running").addr())
    }

    /// Connects as a demo party, e.g. `mbo-school`.
    pub async fn connect(&self, party: &str) -> Hub {
        Profile::load(self.env.profile(party))
            .expect("profile")
            .with_hub(self.url())
            .connect()
            .await
            .expect("connect")
    }

    /// The development CA's certificate.
    pub fn ca_pem(&self) -> String {
        self.env.ca().expect("ca").cert_pem().to_owned()
    }

    /// Connects with the given client certificate (or none); the connection
    /// error, if the hub refuses the handshake.
    pub async fn try_connect_with(&self, client: &IssuedCert) -> Result<Hub, tonic::transport::Error> {
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(self.ca_pem()))
            .domain_name("localhost")
            .identity(Identity::from_pem(&client.cert_pem, &client.key_pem));
        let channel = Endpoint::from_shared(self.url())?
            .tls_config(tls)?
            .connect()
            .await?;
        Ok(Hub::from_channel(channel))
    }

    /// Connects with the given client certificate (or none).
    pub async fn connect_with(&self, client: Option<&IssuedCert>) -> Hub {
        let mut tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(self.ca_pem()))
            .domain_name("localhost");
        if let Some(c) = client {
            tls = tls.identity(Identity::from_pem(&c.cert_pem, &c.key_pem));
        }
        let channel = Endpoint::from_shared(self.url())
            .expect("url")
            .tls_config(tls)
            .expect("tls")
            .connect()
            .await
            .expect("connect");
        Hub::from_channel(channel)
    }

    /// A certificate from the development CA for `oin`.
    pub fn issue(&self, oin: &str, validity: Validity) -> IssuedCert {
        let oin: Oin = oin.parse().expect("oin");
        self.env
            .ca()
            .expect("ca")
            .issue_client(&oin, "Test organisation", "test", validity)
            .expect("issue")
    }

    /// Number of audit entries so far.
    pub async fn audit_size(&self) -> u64 {
        self.hub
            .as_ref()
            .expect("running")
            .store()
            .audit_size()
            .await
            .expect("audit size")
    }

    /// Stops the hub.
    pub async fn stop(&mut self) {
        if let Some(h) = self.hub.take() {
            h.shutdown().await;
        }
    }

    /// Starts the hub again on the same database and environment (after
    /// [`TestHub::stop`], e.g. once a test changed the database behind its
    /// back).
    pub async fn restart(&mut self) {
        self.stop().await;
        let listen: SocketAddr = "127.0.0.1:0".parse().expect("addr");
        let cfg = self.env.hub_config(listen, &self.db_url).expect("hub config");
        let hub = schakel_hub::start(cfg).await.expect("hub starts again");
        self.env
            .write_profiles(&format!("https://{}", hub.addr()))
            .expect("profiles");
        self.hub = Some(hub);
    }
}

/// Runs each named async test function (taking a [`TestHub`]) once on
/// SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let hub = $crate::TestHub::start($crate::Db::Sqlite).await.expect("sqlite hub");
                    super::$name(hub).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(hub) = $crate::TestHub::start($crate::Db::Postgres).await else { return };
                    super::$name(hub).await;
                }
            )*
        }
    };
}

/// Verifies the whole audit log of `t`'s database against a checkpoint
/// signed over it (the shared end-of-test check, issue 5) and returns every
/// entry, decoded, so a test can assert the number and content it expects.
pub async fn verify_audit_log(t: &TestHub) -> Vec<schakel_audit::Entry> {
    use schakel_audit::{Checkpoint, Entry, Signer, VerifyConfig, verify_log};
    let store = t.hub.as_ref().expect("running").store();
    let size = store.audit_size().await.expect("audit size");
    let stored = store.audit_range(0, size).await.expect("audit range");
    assert_eq!(stored.len() as u64, size, "the log has no gap");
    let leaves: Vec<_> = stored.iter().map(schakel_store::recompute_leaf).collect();
    let signer = Signer::from_seed("schakel.test/log", &[7; 32]).expect("signer");
    let cp = Checkpoint::new("schakel.test/log", size, schakel_audit::root(&leaves));
    let cp = Checkpoint::open(&signer.sign(&cp).expect("sign"), &signer.verifier()).expect("checkpoint");
    let report = verify_log(stored.iter().map(|e| &e.bytes), &cp, &[], VerifyConfig::default())
        .unwrap_or_else(|e| panic!("the audit log does not verify: {e}"));
    assert_eq!(report.proven_size, size);
    // The same log against every checkpoint the hub signed so far, with the
    // stored leaf hashes checked too.
    let verifier = t.env.audit_verifier().expect("hub verifier key");
    let report = store
        .verify_audit_log(&verifier, &[cp], VerifyConfig::default())
        .await
        .expect("database")
        .unwrap_or_else(|e| panic!("the stored audit log does not verify: {e}"));
    assert_eq!(report.end, size);
    stored
        .iter()
        .map(|e| Entry::decode(&e.bytes).expect("entry decodes"))
        .collect()
}
