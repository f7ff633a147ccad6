//! Development mode: one command gives a working demo region.
//!
//! On first use it creates a data directory with a development CA, the
//! hub's certificate, and for every demo party a *profile* (certificate,
//! key, CA, `profile.toml`, and an age identity for functions that handle
//! case data); it then registers the demo directory in the database. Later
//! runs reuse what is there. The demo region is Groningen (GM0014).

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret;
use jiff::Timestamp;
use schakel_crypto::Pseudonymiser;
use schakel_domain::{FunctionKind, Oin, OrgKind};
use schakel_store::{CertificateBinding, NewOrganisation, RecipientKey, Store, StoreError, StoreOptions};
use uuid::Uuid;

use crate::caller::RequestContext;
use crate::certinfo::cert_facts;
use crate::config::HubConfig;
use crate::pki::{DevCa, IssuedCert, PkiError, Validity};
use crate::regions::{BUILTIN_CSV, RegionTable};
use schakel_audit::{Action, Outcome};

/// A demo organisation.
#[derive(Debug, Clone, Copy)]
pub struct DemoOrg {
    /// Short name used in profile directory names.
    pub key: &'static str,
    /// Its (fictitious) OIN.
    pub oin: &'static str,
    /// Its kind.
    pub kind: OrgKind,
    /// Its name.
    pub name: &'static str,
    /// BRIN (schools).
    pub brin: Option<&'static str>,
    /// Gemeentecode (gemeenten).
    pub gemeentecode: Option<&'static str>,
    /// Its functions; each gets a profile `<key>-<function>`.
    pub functions: &'static [FunctionKind],
}

/// The demo region: an mbo school, a pro school, a gemeente with its
/// Participatiewet and Doorstroompunt functions (and, as the region's
/// contactgemeente, a regional partner reading the region's numbers), a
/// second gemeente that has
/// mandated its Participatiewet task to a regional werkbedrijf (an
/// uitvoeringsorganisatie, R9; see [`DEMO_MANDATE`]), a privacy officer of
/// each, and the hub operator. OINs and BRIN codes are fictitious.
pub const DEMO_ORGS: [DemoOrg; 6] = [
    DemoOrg {
        key: "admin",
        oin: "00000009999999990000",
        kind: OrgKind::Admin,
        name: "schakel hub operator (demo)",
        brin: None,
        gemeentecode: None,
        functions: &[FunctionKind::Admin],
    },
    DemoOrg {
        key: "mbo",
        oin: "00000003999990001000",
        kind: OrgKind::MboSchool,
        name: "ROC Demo Groningen",
        brin: Some("99XA"),
        gemeentecode: None,
        functions: &[FunctionKind::School, FunctionKind::PrivacyOfficer],
    },
    DemoOrg {
        key: "pro",
        oin: "00000003999990002000",
        kind: OrgKind::ProSchool,
        name: "PrO Demo Groningen",
        brin: Some("99XB"),
        gemeentecode: None,
        functions: &[FunctionKind::School, FunctionKind::PrivacyOfficer],
    },
    DemoOrg {
        key: "gemeente",
        oin: "00000001999990014000",
        kind: OrgKind::Gemeente,
        name: "Gemeente Groningen (demo)",
        brin: None,
        gemeentecode: Some("GM0014"),
        functions: &[
            FunctionKind::Participatiewet,
            FunctionKind::Doorstroompunt,
            FunctionKind::PrivacyOfficer,
            // Groningen is the region's contactgemeente: it reads the
            // region's numbers (R17).
            FunctionKind::RegionalPartner,
        ],
    },
    DemoOrg {
        key: "westerkwartier",
        oin: "00000001999991969000",
        kind: OrgKind::Gemeente,
        name: "Gemeente Westerkwartier (demo)",
        brin: None,
        gemeentecode: Some("GM1969"),
        functions: &[FunctionKind::Participatiewet, FunctionKind::PrivacyOfficer],
    },
    DemoOrg {
        key: "werkbedrijf",
        oin: "00000003999990003000",
        kind: OrgKind::Uitvoeringsorganisatie,
        name: "Werkbedrijf Demo Groningen",
        brin: None,
        gemeentecode: None,
        functions: &[FunctionKind::Participatiewet, FunctionKind::PrivacyOfficer],
    },
];

/// The demo mandate (R9): Westerkwartier's Participatiewet task is carried
/// out by the werkbedrijf, from the day the demo is set up, for two years.
/// A transfer addressed to Westerkwartier's Participatiewet function lands
/// in the werkbedrijf's inbox, and its actions are audited as acting for
/// Westerkwartier.
pub const DEMO_MANDATE: (&str, &str, &str) = (
    "00000001999991969000",
    "00000003999990003000",
    "DEMO-VWO-2026-001",
);

/// The profile directory name of a demo party, e.g. `mbo-school`.
pub fn profile_name(org: &DemoOrg, f: FunctionKind) -> String {
    if org.kind == OrgKind::Admin {
        "admin".into()
    } else {
        format!("{}-{}", org.key, f.as_str().replace('_', "-"))
    }
}

/// Whether a function holds an age key: for case data, or (a privacy
/// officer) for the necessity justifications sealed to it (R8).
fn holds_data_key(f: FunctionKind) -> bool {
    matches!(
        f,
        FunctionKind::School
            | FunctionKind::Doorstroompunt
            | FunctionKind::Participatiewet
            | FunctionKind::PrivacyOfficer
    )
}

/// Why development set-up failed.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Making certificates failed.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// Registering the demo directory failed.
    #[error("registering the demo directory: {0}")]
    Store(#[from] StoreError),
    /// A generated file is not what it should be.
    #[error("{0}")]
    Invalid(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DevError + '_ {
    move |source| DevError::Io {
        path: path.to_owned(),
        source,
    }
}

fn write_file(path: &Path, contents: &[u8], secret: bool) -> Result<(), DevError> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(if secret { 0o600 } else { 0o644 })
        .open(path)
        .map_err(io_err(path))?;
    f.write_all(contents).map_err(io_err(path))
}

fn read_file(path: &Path) -> Result<String, DevError> {
    std::fs::read_to_string(path).map_err(io_err(path))
}

/// The hub's pseudonym secret inside the data directory.
const PSEUDONYM_KEY_FILE: &str = "hub/pseudonym.key";

/// The seed that signs the development hub's audit checkpoints.
const AUDIT_SIGNING_KEY_FILE: &str = "hub/audit-signing.key";

/// The configuration file `--dev` writes and runs with.
pub const CONFIG_FILE: &str = "hub.toml";

/// The development log's origin.
pub const DEV_LOG_ORIGIN: &str = "schakel.dev/audit";

/// The development data directory.
#[derive(Debug, Clone)]
pub struct DevEnvironment {
    dir: PathBuf,
}

impl DevEnvironment {
    /// Uses `dir`, creating the PKI, profiles and age identities on first
    /// use (the presence of `ca/ca.pem` marks a finished set-up).
    pub fn ensure(dir: impl Into<PathBuf>) -> Result<Self, DevError> {
        let env = Self { dir: dir.into() };
        if !env.dir.join("ca/ca.pem").exists() {
            env.create()?;
        }
        // The hub's pseudonym secret (also for data directories made before
        // it existed). Losing it changes every youth's pseudonym.
        let key = env.dir.join(PSEUDONYM_KEY_FILE);
        if !key.exists() {
            write_file(&key, Pseudonymiser::generate_key_hex().as_bytes(), true)?;
        }
        // The audit checkpoint signing seed (same reasoning as above).
        let key = env.dir.join(AUDIT_SIGNING_KEY_FILE);
        if !key.exists() {
            write_file(&key, Pseudonymiser::generate_key_hex().as_bytes(), true)?;
        }
        Ok(env)
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The profile directory of a demo party, e.g. `profile("mbo-school")`.
    pub fn profile(&self, name: &str) -> PathBuf {
        self.dir.join("parties").join(name)
    }

    /// The SQLite URL of the embedded default database.
    pub fn sqlite_url(&self) -> String {
        format!("sqlite://{}", self.dir.join("schakel.db").display())
    }

    /// The development CA (to make extra certificates in tests).
    pub fn ca(&self) -> Result<DevCa, DevError> {
        Ok(DevCa::load(
            &read_file(&self.dir.join("ca/ca.pem"))?,
            &read_file(&self.dir.join("ca/ca.key"))?,
        )?)
    }

    fn create(&self) -> Result<(), DevError> {
        let ca = DevCa::generate("schakel development CA")?;
        let hub = ca.issue_server(&["localhost", "127.0.0.1"])?;
        write_file(&self.dir.join("hub/cert.pem"), hub.cert_pem.as_bytes(), false)?;
        write_file(&self.dir.join("hub/key.pem"), hub.key_pem.as_bytes(), true)?;
        for org in &DEMO_ORGS {
            let oin: Oin = org
                .oin
                .parse()
                .map_err(|e| DevError::Invalid(format!("demo OIN: {e}")))?;
            for &f in org.functions {
                let name = profile_name(org, f);
                let dir = self.profile(&name);
                let cert: IssuedCert =
                    ca.issue_client(&oin, org.name, &name, Validity::days_from_now(825))?;
                write_file(&dir.join("cert.pem"), cert.cert_pem.as_bytes(), false)?;
                write_file(&dir.join("key.pem"), cert.key_pem.as_bytes(), true)?;
                write_file(&dir.join("ca.pem"), ca.cert_pem().as_bytes(), false)?;
                if holds_data_key(f) {
                    // The age identity stays with the party; the hub only
                    // learns the public recipient.
                    let id = age::x25519::Identity::generate();
                    let recipient = id.to_public().to_string();
                    let text = format!(
                        "# created: {}\n# public key: {recipient}\n{}\n",
                        Timestamp::now(),
                        id.to_string().expose_secret()
                    );
                    write_file(&dir.join("age-identity.txt"), text.as_bytes(), true)?;
                    write_file(
                        &dir.join("age-recipient.txt"),
                        format!("{recipient}\n").as_bytes(),
                        false,
                    )?;
                }
            }
        }
        // The CA last: its presence marks the set-up as complete.
        write_file(&self.dir.join("ca/ca.key"), ca.key_pem().as_bytes(), true)?;
        write_file(&self.dir.join("ca/ca.pem"), ca.cert_pem().as_bytes(), false)?;
        Ok(())
    }

    /// Writes each party's `profile.toml` pointing at `hub_url`.
    pub fn write_profiles(&self, hub_url: &str) -> Result<(), DevError> {
        for org in &DEMO_ORGS {
            for &f in org.functions {
                let dir = self.profile(&profile_name(org, f));
                let profile = schakel_client::ProfileFile {
                    hub: hub_url.to_owned(),
                    server_name: "localhost".into(),
                    ca: "ca.pem".into(),
                    cert: "cert.pem".into(),
                    key: "key.pem".into(),
                    age_identity: holds_data_key(f).then(|| "age-identity.txt".into()),
                };
                let text = toml::to_string(&profile).map_err(|e| DevError::Invalid(e.to_string()))?;
                write_file(&dir.join("profile.toml"), text.as_bytes(), false)?;
            }
        }
        Ok(())
    }

    /// Registers the demo directory in the database at `url` (migrating it
    /// first), unless the operator organisation is already there.
    pub async fn seed(&self, url: &str) -> Result<(), DevError> {
        let mut opts = StoreOptions::new(url);
        opts.audit_leaf_key = Some(self.audit_signer()?.leaf_key());
        let store = Store::connect(&opts).await?;
        let result = self.seed_store(&store).await;
        store.close().await;
        result
    }

    async fn seed_store(&self, store: &Store) -> Result<(), DevError> {
        let admin: Oin = DEMO_ORGS[0]
            .oin
            .parse()
            .map_err(|e| DevError::Invalid(format!("demo OIN: {e}")))?;
        if store.get_organisation(&admin).await?.is_some() {
            return Ok(());
        }
        let regions = RegionTable::parse(BUILTIN_CSV).map_err(|e| DevError::Invalid(e.to_string()))?;
        let groningen = regions
            .get(&"GM0014".parse().map_err(|e| DevError::Invalid(format!("{e}")))?)
            .ok_or_else(|| DevError::Invalid("GM0014 missing from the region table".into()))?
            .clone();
        let now = Timestamp::now();
        // The set-up is recorded like any admin change, by the operator
        // organisation, so the audit log is complete from its first entry.
        let ctx = RequestContext::internal("schakel-hub-dev-setup")
            .map_err(|e| DevError::Invalid(e.header.into()))?;
        let audit = |party: &str| {
            ctx.entry(
                None,
                Some(DEMO_ORGS[0].oin),
                Action::AdminChange,
                Outcome::Success,
                &[party],
            )
        };
        for org in &DEMO_ORGS {
            let oin: Oin = org
                .oin
                .parse()
                .map_err(|e| DevError::Invalid(format!("demo OIN: {e}")))?;
            let in_region = org.kind != OrgKind::Admin;
            store
                .insert_organisation(
                    &NewOrganisation {
                        oin: oin.clone(),
                        kind: org.kind,
                        name: org.name.into(),
                        brin: org
                            .brin
                            .map(|b| b.parse())
                            .transpose()
                            .map_err(|e| DevError::Invalid(format!("{e}")))?,
                        gemeentecode: org
                            .gemeentecode
                            .map(|g| g.parse())
                            .transpose()
                            .map_err(|e| DevError::Invalid(format!("{e}")))?,
                        doorstroompunt_regio: in_region.then(|| groningen.rmc_code.clone()),
                        arbeidsmarktregio: in_region.then(|| groningen.am_code.clone()),
                    },
                    now,
                    audit(org.oin),
                )
                .await?;
            for &f in org.functions {
                store.add_function(&oin, f, now, audit(org.oin)).await?;
                let dir = self.profile(&profile_name(org, f));
                let pem = read_file(&dir.join("cert.pem"))?;
                let der = crate::tls::certs_from_pem("demo certificate", pem.as_bytes())
                    .map_err(|e| DevError::Invalid(e.to_string()))?;
                let facts = cert_facts(&der[0]).map_err(|e| DevError::Invalid(e.to_string()))?;
                let binding = CertificateBinding {
                    sha256: facts.sha256,
                    oin: oin.clone(),
                    function: f,
                    not_after: facts.not_after,
                };
                store.bind_certificate(&binding, now, audit(org.oin)).await?;
                if holds_data_key(f) {
                    let recipient = read_file(&dir.join("age-recipient.txt"))?.trim().to_owned();
                    let key = RecipientKey {
                        key_id: Uuid::now_v7(),
                        oin: oin.clone(),
                        function: f,
                        age_recipient: recipient,
                        valid_from: now,
                        valid_until: None,
                        revoked_at: None,
                    };
                    store.insert_recipient(&key, now, audit(org.oin)).await?;
                }
            }
        }
        self.seed_mandate(store, &ctx, now).await
    }

    /// Records [`DEMO_MANDATE`] like the operator would.
    async fn seed_mandate(
        &self,
        store: &Store,
        ctx: &RequestContext,
        now: Timestamp,
    ) -> Result<(), DevError> {
        let (gemeente, werkbedrijf, agreement) = DEMO_MANDATE;
        let oin = |s: &str| {
            s.parse::<Oin>()
                .map_err(|e| DevError::Invalid(format!("demo OIN: {e}")))
        };
        let today =
            schakel_domain::dates::amsterdam_date(now).map_err(|e| DevError::Invalid(e.to_string()))?;
        let until = today
            .checked_add(jiff::Span::new().years(2))
            .map_err(|e| DevError::Invalid(e.to_string()))?;
        let mandate = schakel_store::MandateRow {
            mandate_id: Uuid::now_v7(),
            mandating: (oin(gemeente)?, FunctionKind::Participatiewet),
            mandated: (oin(werkbedrijf)?, FunctionKind::Participatiewet),
            agreement_ref: agreement.to_owned(),
            valid_from: today,
            valid_until: until,
            ended_on: None,
            recorded_at: now,
            ended_at: None,
        };
        let entry = crate::services::mandate::change_entry(
            ctx,
            None,
            Some(DEMO_ORGS[0].oin),
            Action::MandateRecorded,
            &mandate,
        );
        store.insert_mandate(&mandate, entry).await?;
        Ok(())
    }

    /// The development hub's checkpoint signer.
    pub fn audit_signer(&self) -> Result<schakel_audit::Signer, DevError> {
        crate::config::seed_from_hex(&read_file(&self.dir.join(AUDIT_SIGNING_KEY_FILE))?)
            .and_then(|seed| schakel_audit::Signer::from_seed(DEV_LOG_ORIGIN, &seed).ok())
            .ok_or_else(|| DevError::Invalid(format!("{AUDIT_SIGNING_KEY_FILE}: must hold 64 hex digits")))
    }

    /// The note verifier of the development hub's checkpoints (what a
    /// privacy officer pins).
    pub fn audit_verifier(&self) -> Result<schakel_audit::Verifier, DevError> {
        Ok(self.audit_signer()?.verifier())
    }

    /// The file that keeps the checkpoints of the log in `database_url`
    /// outside the database: beside a SQLite file as in production; for
    /// PostgreSQL one per database in this environment (it may serve
    /// several).
    pub fn checkpoint_file(&self, database_url: &str) -> std::path::PathBuf {
        use sha2::Digest as _;
        crate::config::default_checkpoint_file(database_url).unwrap_or_else(|| {
            let digest = sha2::Sha256::digest(database_url.as_bytes());
            self.dir
                .join(format!("audit-checkpoints-{}.jsonl", hex::encode(&digest[..6])))
        })
    }

    /// The configuration file `--dev` runs with: `hub.toml` in the data
    /// directory, rewritten at every start. The hub reads it with the same
    /// loader as a production configuration, so every key and its
    /// `SCHAKEL_<KEY>` environment override (OTLP, retention, rate limits,
    /// log format, …) works in development too; copy it as a starting point
    /// for `--config`.
    pub fn write_config(&self, listen: SocketAddr, database_url: &str) -> Result<PathBuf, DevError> {
        let mut table = toml::Table::new();
        let mut set = |key: &str, value: toml::Value| {
            table.insert(key.to_owned(), value);
        };
        let text = |s: &str| toml::Value::String(s.to_owned());
        set("listen", text(&listen.to_string()));
        set("database_url", text(database_url));
        set("ca_bundle", text("ca/ca.pem"));
        set("server_cert", text("hub/cert.pem"));
        set("server_key", text("hub/key.pem"));
        set("pseudonym_key_file", text(PSEUDONYM_KEY_FILE));
        set("audit_signing_key_file", text(AUDIT_SIGNING_KEY_FILE));
        set("log_origin", text(DEV_LOG_ORIGIN));
        set("checkpoint_interval_secs", toml::Value::Integer(10));
        set(
            "checkpoint_file",
            text(&self.checkpoint_file(database_url).display().to_string()),
        );
        // The development hub serves benchmarks and tests: unlimited.
        set("rate_limit_per_second", toml::Value::Integer(0));
        let path = self.dir.join(CONFIG_FILE);
        let body = format!(
            "# Written by `schakel-hub --dev` at every start. Change a setting with its\n\
             # SCHAKEL_<KEY> environment variable (docs/operations.md lists every key),\n\
             # or copy this file as a starting point for --config.\n{table}"
        );
        std::fs::write(&path, body).map_err(io_err(&self.dir))?;
        Ok(path)
    }

    /// A hub configuration for this directory (tests and benchmarks; the
    /// `--dev` binary reads [`DevEnvironment::write_config`]'s file, which
    /// gives the same settings unless the environment overrides them).
    pub fn hub_config(&self, listen: SocketAddr, database_url: &str) -> Result<HubConfig, DevError> {
        let read = |p: &str| std::fs::read(self.dir.join(p)).map_err(io_err(&self.dir));
        Ok(HubConfig {
            listen,
            database: StoreOptions::new(database_url),
            ca_bundle_pem: read("ca/ca.pem")?,
            cert_chain_pem: read("hub/cert.pem")?,
            key_pem: crate::tls::SecretPem::new(read("hub/key.pem")?),
            regions: RegionTable::parse(BUILTIN_CSV).map_err(|e| DevError::Invalid(e.to_string()))?,
            policy: std::sync::Arc::new(
                crate::policy_files::builtin().map_err(|e| DevError::Invalid(e.to_string()))?,
            ),
            pseudonymiser: Pseudonymiser::from_hex(&read_file(&self.dir.join(PSEUDONYM_KEY_FILE))?)
                .ok_or_else(|| DevError::Invalid(format!("{PSEUDONYM_KEY_FILE}: must hold 64 hex digits")))?,
            audit_signer: std::sync::Arc::new(self.audit_signer()?),
            checkpoint_interval: std::time::Duration::from_secs(10),
            checkpoint_file: Some(self.checkpoint_file(database_url)),
            anomaly_defaults: crate::config::AnomalyDefaults::default(),
            otlp_endpoint: None,
            otlp_ca_pem: None,
            log_format: crate::telemetry::LogFormat::Text,
            retention: crate::retention::RetentionSettings::default(),
            // The development hub serves benchmarks and tests: unlimited.
            rate_limit: None,
            refused_calls_interval: std::time::Duration::from_secs(60),
            request_budget: crate::intake::DEFAULT_BUDGET,
            handshake_timeout: crate::config::HANDSHAKE_TIMEOUT,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FileConfig;

    /// `--dev` runs on the file `write_config` writes, read by the loader of
    /// every hub: the same settings as `hub_config`, and every environment
    /// override of a production hub (issue 21, item 5).
    #[test]
    fn the_dev_configuration_is_a_configuration_file_with_its_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let env = DevEnvironment::ensure(dir.path()).unwrap();
        let listen: SocketAddr = "127.0.0.1:7443".parse().unwrap();
        let path = env.write_config(listen, &env.sqlite_url()).unwrap();
        assert_eq!(path, dir.path().join(CONFIG_FILE));

        let plain = FileConfig::load_with_env(&path, |_| None).unwrap();
        let built = env.hub_config(listen, &env.sqlite_url()).unwrap();
        assert_eq!(plain.listen, built.listen);
        assert_eq!(plain.database.url, built.database.url);
        assert_eq!(plain.checkpoint_interval, built.checkpoint_interval);
        assert_eq!(plain.checkpoint_file, built.checkpoint_file);
        assert_eq!(plain.rate_limit.is_none(), built.rate_limit.is_none());
        assert_eq!(plain.audit_signer.verifier(), built.audit_signer.verifier());
        assert_eq!(plain.ca_bundle_pem, built.ca_bundle_pem);
        assert_eq!(plain.otlp_endpoint, None);

        let overridden = FileConfig::load_with_env(&path, |key| match key {
            "SCHAKEL_OTLP_ENDPOINT" => Some("http://127.0.0.1:4317".to_owned()),
            "SCHAKEL_CLOSED_RETENTION_DAYS" => Some("7".to_owned()),
            "SCHAKEL_LOG_FORMAT" => Some("json".to_owned()),
            _ => None,
        })
        .unwrap();
        assert_eq!(overridden.otlp_endpoint.as_deref(), Some("http://127.0.0.1:4317"));
        assert_eq!(
            overridden.retention.closed_retention,
            jiff::SignedDuration::from_hours(7 * 24)
        );
        assert_eq!(overridden.log_format, crate::telemetry::LogFormat::Json);
    }
}
