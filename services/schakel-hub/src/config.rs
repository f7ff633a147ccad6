//! The hub's configuration file (TOML). Every problem is reported at once,
//! with the key it concerns.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use schakel_store::StoreOptions;

use crate::regions::{BUILTIN_CSV, RegionTable};
use crate::telemetry::LogFormat;

/// The configuration file as written by the operator. Keys marked
/// *required* are `Option` here only so that every missing one is reported
/// at once; [`FileConfig::load`] refuses the file without them.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Required. Address to listen on, e.g. `0.0.0.0:7443`.
    pub listen: Option<String>,
    /// Required. `sqlite:///var/lib/schakel/schakel.db` or `postgres://…`.
    pub database_url: Option<String>,
    /// Required. PEM CA bundle client certificates must chain to (PKIoverheid).
    pub ca_bundle: Option<PathBuf>,
    /// Required. The hub's PEM certificate chain.
    pub server_cert: Option<PathBuf>,
    /// Required. The hub's PEM private key.
    pub server_key: Option<PathBuf>,
    /// Replacement region table (CSV); the built-in table when absent.
    pub region_table: Option<PathBuf>,
    /// Directory of policy files (`*.toml`); the built-in policy when absent.
    pub policy_dir: Option<PathBuf>,
    /// Required. File holding the hub's pseudonym secret: 64 hex digits (32
    /// random bytes; `openssl rand -hex 32`). Every hub on one database needs
    /// the same file; losing it changes every youth's pseudonym.
    pub pseudonym_key_file: Option<PathBuf>,
    /// Required. File holding the Ed25519 seed that signs audit checkpoints:
    /// 64 hex digits (`openssl rand -hex 32`). Every hub on one database
    /// needs the same file; auditors pin the verifier key derived from it.
    pub audit_signing_key_file: Option<PathBuf>,
    /// Required. The audit log's origin: the first line of every checkpoint
    /// and the signing key's name, e.g. `schakel.regio-example.nl/audit`. No
    /// spaces or `+`.
    pub log_origin: Option<String>,
    /// Seconds between checkpoints while entries are appended (default 60).
    pub checkpoint_interval_secs: Option<u64>,
    /// Append-only file, outside the database, that keeps every checkpoint
    /// this hub signs (one JSON line each); the hub never signs a
    /// checkpoint that contradicts the largest one in it. Default for
    /// SQLite: the database file's name with `.checkpoints` added; for
    /// PostgreSQL set it on every hub (a local path of that hub).
    pub checkpoint_file: Option<PathBuf>,
    /// Database pool size (default 8).
    pub max_connections: Option<u32>,
    /// Milliseconds directory reads (organisations, certificate bindings,
    /// age keys) are cached (default 2000, at most 60000; 0 = not cached).
    /// Changes on this hub are seen at once, changes by other hubs on the
    /// same database within this time.
    pub directory_cache_ms: Option<u64>,
    /// OTLP/gRPC endpoint for traces and metrics, e.g.
    /// `http://otel-collector:4317`; nothing is exported when absent.
    pub otlp_endpoint: Option<String>,
    /// PEM file of the CA that signed an `https://` collector's certificate
    /// (required for `https://`: the hub trusts no public roots for it).
    pub otlp_ca: Option<PathBuf>,
    /// `text` (default) or `json` log lines on stderr.
    pub log_format: Option<String>,
    /// Seconds between runs of the retention purge (R15; default 3600, 0 =
    /// only when the operator asks).
    pub purge_interval_secs: Option<u64>,
    /// Days a declined transfer, or one withdrawn before delivery, is kept
    /// before its sealed content is purged (default 30).
    pub closed_retention_days: Option<u32>,
    /// Calls per second one organisation may make, sustained (default 100;
    /// 0 = unlimited). Over it the hub answers RESOURCE_EXHAUSTED.
    pub rate_limit_per_second: Option<u32>,
    /// Calls one organisation may make at once after a quiet period
    /// (default 1000).
    pub rate_limit_burst: Option<u32>,
    /// Seconds over which refused calls of one source (an organisation, or
    /// an address without a valid certificate), method and reason get one
    /// audit entry and a count of the rest (default 60; 1 to 86400).
    pub refused_calls_interval_secs: Option<u64>,
    /// MiB of requests all calls together may hold while they run (default
    /// 256; 16 to 65536). A call that would go over it is answered
    /// RESOURCE_EXHAUSTED with a retry delay.
    pub request_budget_mib: Option<u64>,
    /// Default thresholds of the anomaly report.
    #[serde(default)]
    pub anomalies: AnomalyDefaults,
}

/// Top-level keys an environment variable `SCHAKEL_<KEY>` (upper case) may
/// set, overriding the file; whether the value is a number.
pub const ENV_KEYS: &[(&str, bool)] = &[
    ("listen", false),
    ("database_url", false),
    ("ca_bundle", false),
    ("server_cert", false),
    ("server_key", false),
    ("region_table", false),
    ("policy_dir", false),
    ("pseudonym_key_file", false),
    ("audit_signing_key_file", false),
    ("log_origin", false),
    ("checkpoint_interval_secs", true),
    ("checkpoint_file", false),
    ("max_connections", true),
    ("directory_cache_ms", true),
    ("otlp_endpoint", false),
    ("otlp_ca", false),
    ("log_format", false),
    ("purge_interval_secs", true),
    ("closed_retention_days", true),
    ("rate_limit_per_second", true),
    ("rate_limit_burst", true),
    ("refused_calls_interval_secs", true),
    ("request_budget_mib", true),
];

/// Keys that must be present (in the file or the environment).
const REQUIRED: &[&str] = &[
    "listen",
    "database_url",
    "ca_bundle",
    "server_cert",
    "server_key",
    "pseudonym_key_file",
    "audit_signing_key_file",
    "log_origin",
];

/// A TLS handshake that takes longer than this is dropped (the default of
/// [`HubConfig::handshake_timeout`]).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Everything a hub needs to start.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Database to use.
    pub database: StoreOptions,
    /// PEM CA bundle that client certificates must chain to.
    pub ca_bundle_pem: Vec<u8>,
    /// PEM certificate chain of the hub.
    pub cert_chain_pem: Vec<u8>,
    /// PEM private key of the hub.
    pub key_pem: crate::tls::SecretPem,
    /// The region table.
    pub regions: RegionTable,
    /// The validated policy (purposes, field catalogue, rules).
    pub policy: Arc<schakel_policy::Policy>,
    /// The secret that turns BSNs into subject pseudonyms; the same for
    /// every hub on one database.
    pub pseudonymiser: schakel_crypto::Pseudonymiser,
    /// The audit log's checkpoint signer; its name is the log origin. The
    /// same key for every hub on one database.
    pub audit_signer: Arc<schakel_audit::Signer>,
    /// How often a checkpoint is signed when entries were appended.
    pub checkpoint_interval: Duration,
    /// The append-only file outside the database that keeps every signed
    /// checkpoint too (see `checkpoint`); none: only the database keeps
    /// them, and a database editor who removes stored checkpoints can make
    /// this hub sign over a rewritten log (a warning says so at start).
    pub checkpoint_file: Option<PathBuf>,
    /// Default thresholds of the anomaly report.
    pub anomaly_defaults: AnomalyDefaults,
    /// OTLP/gRPC endpoint for traces and metrics; none = nothing exported.
    pub otlp_endpoint: Option<String>,
    /// The CA (PEM) an `https://` collector's certificate must chain to.
    pub otlp_ca_pem: Option<Vec<u8>>,
    /// How log lines are written.
    pub log_format: crate::telemetry::LogFormat,
    /// Retention purge settings (R15).
    pub retention: crate::retention::RetentionSettings,
    /// Calls per organisation; `None` = unlimited.
    pub rate_limit: Option<crate::ratelimit::RateLimit>,
    /// Refused calls of one source, method and reason get one audit entry
    /// per this interval and a count of the rest (`crate::refusals`).
    pub refused_calls_interval: Duration,
    /// A TLS handshake that takes longer is dropped ([`HANDSHAKE_TIMEOUT`]).
    pub handshake_timeout: Duration,
    /// Bytes of requests all calls together may hold while they run
    /// ([`crate::intake`]; default [`crate::intake::DEFAULT_BUDGET`]).
    pub request_budget: usize,
}

const DEFAULT_POOL: u32 = 8;
const DEFAULT_CHECKPOINT_INTERVAL: u64 = 60;

/// Default thresholds of the anomaly report (`[anomalies]` in the file); a
/// privacy officer may override them per report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnomalyDefaults {
    /// Office hours start (hour, Europe/Amsterdam).
    pub office_hours_start: u8,
    /// Office hours end (hour, exclusive).
    pub office_hours_end: u8,
    /// Distinct youths one end user may access per day before it is reported.
    pub max_subjects_per_user_per_day: u32,
    /// Distinct end users that may read one youth's data in the window.
    pub max_users_per_subject: u32,
    /// Refused submissions from one sender that make a burst …
    pub refusal_burst_count: u32,
    /// … within this many minutes.
    pub refusal_burst_minutes: u32,
}

impl Default for AnomalyDefaults {
    fn default() -> Self {
        Self {
            office_hours_start: 6,
            office_hours_end: 19,
            max_subjects_per_user_per_day: 40,
            max_users_per_subject: 5,
            refusal_burst_count: 10,
            refusal_burst_minutes: 10,
        }
    }
}

impl AnomalyDefaults {
    /// The thresholds of the report crate.
    pub fn thresholds(&self) -> schakel_audit_report::Thresholds {
        schakel_audit_report::Thresholds {
            office_hours_start: self.office_hours_start,
            office_hours_end: self.office_hours_end,
            max_subjects_per_user_per_day: self.max_subjects_per_user_per_day,
            max_users_per_subject: self.max_users_per_subject,
            refusal_burst_count: self.refusal_burst_count,
            refusal_burst_minutes: self.refusal_burst_minutes,
        }
    }

    /// Every problem with these thresholds, as `(key, problem)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        self.thresholds().validate().err().unwrap_or_default()
    }
}

/// Reads a 32-byte secret written as 64 hex digits (surrounding whitespace
/// ignored).
pub fn seed_from_hex(text: &str) -> Option<zeroize::Zeroizing<[u8; 32]>> {
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text.trim(), &mut seed[..]).ok()?;
    Some(seed)
}

/// Why a configuration was refused: every problem found.
#[derive(Debug, thiserror::Error)]
#[error("configuration {file}: {}", problems.join("; "))]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// Each problem, prefixed with its key.
    pub problems: Vec<String>,
}

/// The 1-based line of `text` where top-level key `key` is set, if found.
fn line_of(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|i| i + 1)
}

impl FileConfig {
    /// Reads, parses and checks `path` with environment overrides
    /// (`SCHAKEL_<KEY>`, see [`ENV_KEYS`]); relative paths inside are
    /// relative to the file's directory.
    pub fn load(path: &Path) -> Result<HubConfig, ConfigError> {
        Self::load_with_env(path, |k| std::env::var(k).ok())
    }

    /// As [`FileConfig::load`], with `env` looking up environment variables.
    pub fn load_with_env(
        path: &Path,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<HubConfig, ConfigError> {
        let fail = |problems: Vec<String>| ConfigError {
            file: path.to_owned(),
            problems,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(vec![e.to_string()]))?;
        let mut table: toml::Table = toml::from_str(&text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    format!(
                        "line {}: ",
                        text.as_bytes()[..s.start.min(text.len())]
                            .iter()
                            .filter(|&&b| b == b'\n')
                            .count()
                            + 1
                    )
                })
                .unwrap_or_default();
            fail(vec![format!("{at}{}", e.message())])
        })?;
        let mut problems = Vec::new();
        for (key, numeric) in ENV_KEYS {
            let var = format!("SCHAKEL_{}", key.to_ascii_uppercase());
            let Some(value) = env(&var) else { continue };
            let value = if *numeric {
                match value.trim().parse::<i64>() {
                    Ok(n) => toml::Value::Integer(n),
                    Err(_) => {
                        problems.push(format!(
                            "{key}: environment variable {var} must be a whole number"
                        ));
                        continue;
                    }
                }
            } else {
                toml::Value::String(value)
            };
            table.insert((*key).to_owned(), value);
        }
        // Every unknown and every missing key at once, before the details.
        let known = |k: &str| k == "anomalies" || ENV_KEYS.iter().any(|(key, _)| *key == k);
        let unknown: Vec<String> = table.keys().filter(|k| !known(k)).cloned().collect();
        for key in unknown {
            table.remove(&key);
            let at = line_of(&text, &key)
                .map(|l| format!("line {l}: "))
                .unwrap_or_default();
            problems.push(format!("{at}{key}: unknown key"));
        }
        for key in REQUIRED {
            if !table.contains_key(*key) {
                problems.push(format!(
                    "{key}: required (in the file or as SCHAKEL_{})",
                    key.to_ascii_uppercase()
                ));
            }
        }
        let cfg: FileConfig = match table.try_into() {
            Ok(c) => c,
            Err(e) => {
                problems.push(e.message().to_owned());
                return Err(fail(problems));
            }
        };
        let base = path.parent().unwrap_or(Path::new("."));
        let listen: Option<SocketAddr> = match cfg.listen.as_deref().map(str::parse) {
            Some(Ok(a)) => Some(a),
            Some(Err(_)) => {
                problems.push("listen: must be an address with a port, e.g. 0.0.0.0:7443".into());
                None
            }
            None => None,
        };
        let database_url = cfg.database_url.clone().unwrap_or_default();
        if cfg.database_url.is_some()
            && !(database_url.starts_with("sqlite:") || database_url.starts_with("postgres"))
        {
            problems.push("database_url: must start with sqlite: or postgres:".into());
        }
        let max_connections = cfg.max_connections.unwrap_or(DEFAULT_POOL);
        if max_connections == 0 {
            problems.push("max_connections: must be at least 1".into());
        }
        let directory_cache_ms = cfg.directory_cache_ms.unwrap_or(2000);
        if directory_cache_ms > 60_000 {
            problems.push(
                "directory_cache_ms: must be at most 60000 (a revocation elsewhere must be seen soon)".into(),
            );
        }
        let mut read = |key: &str, p: Option<&PathBuf>| match p.map(|p| (p, std::fs::read(base.join(p)))) {
            Some((_, Ok(b))) => b,
            Some((p, Err(e))) => {
                problems.push(format!("{key}: {}: {e}", base.join(p).display()));
                Vec::new()
            }
            None => Vec::new(),
        };
        let ca_bundle_pem = read("ca_bundle", cfg.ca_bundle.as_ref());
        let otlp_ca_read = cfg.otlp_ca.as_ref().map(|p| read("otlp_ca", Some(p)));
        let cert_chain_pem = read("server_cert", cfg.server_cert.as_ref());
        let key_pem = zeroize::Zeroizing::new(read("server_key", cfg.server_key.as_ref()));
        let pseudonym_text = zeroize::Zeroizing::new(
            String::from_utf8(read("pseudonym_key_file", cfg.pseudonym_key_file.as_ref()))
                .unwrap_or_default(),
        );
        let signing_text = zeroize::Zeroizing::new(
            String::from_utf8(read(
                "audit_signing_key_file",
                cfg.audit_signing_key_file.as_ref(),
            ))
            .unwrap_or_default(),
        );
        let region_csv = match &cfg.region_table {
            Some(p) => String::from_utf8(read("region_table", Some(p))).unwrap_or_default(),
            None => BUILTIN_CSV.to_owned(),
        };
        let regions = match RegionTable::parse(&region_csv) {
            Ok(r) => Some(r),
            Err(e) => {
                problems.push(format!("region_table: {e}"));
                None
            }
        };
        let policy = match &cfg.policy_dir {
            Some(dir) => crate::policy_files::load_dir(&base.join(dir)),
            None => crate::policy_files::builtin(),
        };
        let policy = match policy {
            Ok(p) => Some(p),
            Err(e) => {
                problems.push(format!("policy_dir: {e}"));
                None
            }
        };
        let pseudonymiser = schakel_crypto::Pseudonymiser::from_hex(&pseudonym_text);
        if pseudonymiser.is_none() && !pseudonym_text.is_empty() {
            problems.push("pseudonym_key_file: must hold 64 hex digits (32 random bytes)".into());
        }
        let signer = match (seed_from_hex(&signing_text), cfg.log_origin.as_deref()) {
            (Some(seed), Some(origin)) => match schakel_audit::Signer::from_seed(origin, &seed) {
                Ok(s) => Some(s),
                Err(_) => {
                    problems.push("log_origin: must be a non-empty name without spaces or '+'".into());
                    None
                }
            },
            (None, _) if !signing_text.is_empty() => {
                problems
                    .push("audit_signing_key_file: must hold 64 hex digits (a 32-byte Ed25519 seed)".into());
                None
            }
            _ => None,
        };
        let checkpoint_interval = cfg
            .checkpoint_interval_secs
            .unwrap_or(DEFAULT_CHECKPOINT_INTERVAL);
        if checkpoint_interval == 0 || checkpoint_interval > 86_400 {
            problems.push("checkpoint_interval_secs: must be between 1 and 86400".into());
        }
        if let Some(e) = &cfg.otlp_endpoint
            && !((e.starts_with("http://") || e.starts_with("https://"))
                && e.len() > 8
                && !e.contains(char::is_whitespace))
        {
            problems.push(
                "otlp_endpoint: must be an http:// or https:// URL, e.g. http://otel-collector:4317".into(),
            );
        }
        let https = cfg
            .otlp_endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("https://"));
        let otlp_ca_pem = match otlp_ca_read {
            Some(pem) => {
                if !pem.is_empty() && !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
                    problems
                        .push("otlp_ca: must hold a PEM certificate (-----BEGIN CERTIFICATE-----)".into());
                }
                if !https {
                    problems.push("otlp_ca: only for an https:// otlp_endpoint".into());
                }
                Some(pem)
            }
            None if https => {
                problems.push(
                    "otlp_ca: an https:// otlp_endpoint needs the CA of the collector's certificate (PEM)"
                        .into(),
                );
                None
            }
            None => None,
        };
        let log_format = match cfg.log_format.as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(_) => {
                problems.push("log_format: must be text or json".into());
                LogFormat::Text
            }
        };
        let closed_days = cfg.closed_retention_days.unwrap_or(30);
        if closed_days > 3650 {
            problems.push("closed_retention_days: must be at most 3650".into());
        }
        let purge_interval = cfg.purge_interval_secs.unwrap_or(3600);
        if purge_interval > 7 * 86_400 {
            problems.push("purge_interval_secs: must be at most 604800 (a week); 0 turns the job off".into());
        }
        let retention = crate::retention::RetentionSettings {
            closed_retention: jiff::SignedDuration::from_hours(i64::from(closed_days) * 24),
            interval: (purge_interval > 0).then(|| std::time::Duration::from_secs(purge_interval)),
            clock: crate::retention::RetentionClock::default(),
        };
        let rate = cfg.rate_limit_per_second.unwrap_or(100);
        let burst = cfg.rate_limit_burst.unwrap_or(1000);
        if rate > 0 && burst == 0 {
            problems.push("rate_limit_burst: must be at least 1 when rate_limit_per_second is set".into());
        }
        let rate_limit = (rate > 0).then(|| crate::ratelimit::RateLimit {
            per_second: f64::from(rate),
            burst: f64::from(burst.max(1)),
        });
        let refused_interval = cfg.refused_calls_interval_secs.unwrap_or(60);
        if !(1..=86_400).contains(&refused_interval) {
            problems.push("refused_calls_interval_secs: must be 1 to 86400".into());
        }
        let budget_mib = cfg
            .request_budget_mib
            .unwrap_or((crate::intake::DEFAULT_BUDGET / (1024 * 1024)) as u64);
        if !(16..=65_536).contains(&budget_mib) {
            problems.push("request_budget_mib: must be 16 to 65536".into());
        }
        for (key, problem) in cfg.anomalies.problems() {
            problems.push(format!("anomalies.{key}: {problem}"));
        }
        match (listen, regions, policy, pseudonymiser, signer) {
            (Some(listen), Some(regions), Some(policy), Some(pseudonymiser), Some(signer))
                if problems.is_empty() =>
            {
                Ok(HubConfig {
                    listen,
                    database: StoreOptions {
                        max_connections,
                        directory_cache_ttl: std::time::Duration::from_millis(directory_cache_ms),
                        ..StoreOptions::new(database_url.clone())
                    },
                    ca_bundle_pem,
                    cert_chain_pem,
                    key_pem: crate::tls::SecretPem::new(key_pem.to_vec()),
                    regions,
                    policy: std::sync::Arc::new(policy),
                    pseudonymiser,
                    audit_signer: std::sync::Arc::new(signer),
                    checkpoint_interval: std::time::Duration::from_secs(checkpoint_interval),
                    checkpoint_file: cfg
                        .checkpoint_file
                        .as_ref()
                        .map(|p| base.join(p))
                        .or_else(|| default_checkpoint_file(&database_url)),
                    anomaly_defaults: cfg.anomalies,
                    otlp_endpoint: cfg.otlp_endpoint,
                    otlp_ca_pem,
                    log_format,
                    retention,
                    rate_limit,
                    refused_calls_interval: std::time::Duration::from_secs(refused_interval),
                    handshake_timeout: HANDSHAKE_TIMEOUT,
                    request_budget: usize::try_from(budget_mib * 1024 * 1024).unwrap_or(usize::MAX),
                })
            }
            _ => Err(fail(problems)),
        }
    }
}

/// `<database file>.checkpoints` for a SQLite database in a file; none for
/// PostgreSQL or an in-memory database.
pub fn default_checkpoint_file(database_url: &str) -> Option<PathBuf> {
    let mut file = schakel_store::sqlite_file(database_url)?.into_os_string();
    file.push(".checkpoints");
    Some(PathBuf::from(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checkpoint_file_defaults_beside_a_sqlite_file() {
        for (url, want) in [
            (
                "sqlite:///var/lib/schakel/schakel.db",
                Some("/var/lib/schakel/schakel.db.checkpoints"),
            ),
            ("sqlite://data/hub.db?mode=rwc", Some("data/hub.db.checkpoints")),
            ("sqlite:hub.db", Some("hub.db.checkpoints")),
            ("sqlite::memory:", None),
            ("postgres://hub@db/schakel", None),
        ] {
            assert_eq!(default_checkpoint_file(url), want.map(PathBuf::from), "{url}");
        }
    }

    /// A configuration printed for a diagnosis does not show the hub's
    /// private key (issue 19, item 8).
    #[test]
    fn debug_output_holds_no_private_key() {
        let dir = tempfile::tempdir().unwrap();
        let env = crate::dev::DevEnvironment::ensure(dir.path()).unwrap();
        let cfg = env
            .hub_config("127.0.0.1:0".parse().unwrap(), "sqlite::memory:")
            .unwrap();
        let key = std::fs::read_to_string(dir.path().join("hub/key.pem")).unwrap();
        let body = key.lines().nth(1).unwrap();
        assert_eq!(cfg.key_pem.expose(), key.as_bytes());
        let shown = format!("{cfg:?}");
        assert!(!shown.contains(body) && !shown.contains("PRIVATE KEY"), "{shown}");
        assert!(shown.contains("SecretPem(redacted)"));
        // Nor the other secrets it holds.
        for file in ["hub/pseudonym.key", "hub/audit-signing.key"] {
            let secret = std::fs::read_to_string(dir.path().join(file)).unwrap();
            for part in secret
                .split(|c: char| c.is_whitespace() || c == '+')
                .filter(|p| p.len() >= 16)
            {
                assert!(!shown.contains(part), "{file} is shown");
            }
        }
    }

    #[test]
    fn the_deploy_example_parses() {
        let text = include_str!("../../../deploy/schakel-hub.example.toml");
        let cfg: FileConfig = toml::from_str(text).unwrap();
        assert!(cfg.database_url.unwrap().starts_with("postgres://"));
        for key in REQUIRED {
            assert!(line_of(text, key).is_some(), "the example sets {key}");
        }
    }

    #[test]
    fn every_problem_is_listed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.toml");
        std::fs::write(
            &path,
            "listen = \"nowhere\"\ndatabase_url = \"mysql://x\"\nca_bundle = \"ca.pem\"\n\
             server_cert = \"c.pem\"\nserver_key = \"k.pem\"\npseudonym_key_file = \"p.key\"\nmax_connections = 0\n\
             audit_signing_key_file = \"a.key\"\nlog_origin = \"x\"\ncheckpoint_interval_secs = 0\n\
             [anomalies]\noffice_hours_start = 20\n",
        )
        .unwrap();
        let e = FileConfig::load_with_env(&path, |_| None).unwrap_err();
        let keys: Vec<&str> = e
            .problems
            .iter()
            .map(|p| p.split(':').next().unwrap_or(""))
            .collect();
        assert_eq!(
            keys,
            [
                "listen",
                "database_url",
                "max_connections",
                "ca_bundle",
                "server_cert",
                "server_key",
                "pseudonym_key_file",
                "audit_signing_key_file",
                "checkpoint_interval_secs",
                "anomalies.office_hours_start"
            ]
        );
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:1\"\nlistn = 2\n").unwrap();
        let e = FileConfig::load_with_env(&path, |_| None).unwrap_err();
        assert!(
            e.problems.contains(&"line 2: listn: unknown key".to_owned()),
            "{e}"
        );
        // Every missing required key is named too, not only the first.
        for key in REQUIRED.iter().filter(|k| **k != "listen") {
            assert!(
                e.problems
                    .iter()
                    .any(|p| p.starts_with(&format!("{key}: required"))),
                "{key}: {e}"
            );
        }
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:1\"\nmax_connections = 4\n").unwrap();
        let env = |k: &str| match k {
            "SCHAKEL_LISTEN" => Some("nowhere".to_owned()),
            "SCHAKEL_MAX_CONNECTIONS" => Some("many".to_owned()),
            "SCHAKEL_LOG_FORMAT" => Some("yaml".to_owned()),
            "SCHAKEL_OTLP_ENDPOINT" => Some("collector:4317".to_owned()),
            _ => None,
        };
        let e = FileConfig::load_with_env(&path, env).unwrap_err();
        let has = |prefix: &str| e.problems.iter().any(|p| p.starts_with(prefix));
        assert!(
            has("max_connections: environment variable SCHAKEL_MAX_CONNECTIONS"),
            "{e}"
        );
        assert!(has("listen: must be an address"), "{e}");
        assert!(has("log_format: must be text or json"), "{e}");
        assert!(has("otlp_endpoint: must be an http"), "{e}");
        assert!(
            has("database_url: required (in the file or as SCHAKEL_DATABASE_URL)"),
            "{e}"
        );
    }

    /// An `https://` collector needs the CA of its certificate; a CA for a
    /// plain `http://` one is a mistake worth saying.
    #[test]
    fn an_https_collector_needs_its_ca() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.toml");
        let problems = |toml: &str| {
            std::fs::write(&path, toml).unwrap();
            FileConfig::load_with_env(&path, |_| None)
                .unwrap_err()
                .problems
                .into_iter()
                .filter(|p| p.starts_with("otlp_ca"))
                .collect::<Vec<_>>()
        };
        let found = problems("otlp_endpoint = \"https://collector:4317\"\n");
        assert!(found.iter().any(|p| p.contains("needs the CA")), "{found:?}");
        std::fs::write(dir.path().join("ca.pem"), "not a certificate").unwrap();
        let found = problems("otlp_endpoint = \"http://collector:4317\"\notlp_ca = \"ca.pem\"\n");
        assert!(found.iter().any(|p| p.contains("only for an https")), "{found:?}");
        assert!(found.iter().any(|p| p.contains("PEM certificate")), "{found:?}");
        let found = problems("otlp_endpoint = \"https://collector:4317\"\notlp_ca = \"missing.pem\"\n");
        assert!(found.iter().any(|p| p.contains("missing.pem")), "{found:?}");
    }
}
