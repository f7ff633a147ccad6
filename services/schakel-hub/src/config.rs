//! The hub's configuration file (TOML). Every problem is reported at once,
//! with the key it concerns.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use schakel_store::StoreOptions;

use crate::regions::{BUILTIN_CSV, RegionTable};
use crate::server::HubConfig;

/// The configuration file as written by the operator.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Address to listen on, e.g. `0.0.0.0:7443`.
    pub listen: String,
    /// `sqlite:///var/lib/schakel/schakel.db` or `postgres://…`.
    pub database_url: String,
    /// PEM CA bundle client certificates must chain to (PKIoverheid).
    pub ca_bundle: PathBuf,
    /// The hub's PEM certificate chain.
    pub server_cert: PathBuf,
    /// The hub's PEM private key.
    pub server_key: PathBuf,
    /// Replacement region table (CSV); the built-in table when absent.
    #[serde(default)]
    pub region_table: Option<PathBuf>,
    /// Directory of policy files (`*.toml`); the built-in policy when absent.
    #[serde(default)]
    pub policy_dir: Option<PathBuf>,
    /// File holding the hub's pseudonym secret: 64 hex digits (32 random
    /// bytes; `openssl rand -hex 32`). Every hub on one database needs the
    /// same file; losing it changes every youth's pseudonym.
    pub pseudonym_key_file: PathBuf,
    /// File holding the Ed25519 seed that signs audit checkpoints: 64 hex
    /// digits (`openssl rand -hex 32`). Every hub on one database needs the
    /// same file; auditors pin the verifier key derived from it.
    pub audit_signing_key_file: PathBuf,
    /// The audit log's origin: the first line of every checkpoint and the
    /// signing key's name, e.g. `schakel.regio-example.nl/audit`. No spaces
    /// or `+`.
    pub log_origin: String,
    /// Seconds between checkpoints while entries are appended.
    #[serde(default = "default_checkpoint_interval")]
    pub checkpoint_interval_secs: u64,
    /// Default thresholds of the anomaly report.
    #[serde(default)]
    pub anomalies: AnomalyDefaults,
    /// Database pool size.
    #[serde(default = "default_pool")]
    pub max_connections: u32,
}

fn default_pool() -> u32 {
    8
}

fn default_checkpoint_interval() -> u64 {
    60
}

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
    /// Every problem with these thresholds, as `(key, problem)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.office_hours_start > 23 {
            out.push(("office_hours_start", "must be an hour 0–23".to_owned()));
        }
        if self.office_hours_end > 24 || self.office_hours_end <= self.office_hours_start {
            out.push((
                "office_hours_end",
                "must be an hour after office_hours_start, at most 24".to_owned(),
            ));
        }
        for (key, v) in [
            (
                "max_subjects_per_user_per_day",
                self.max_subjects_per_user_per_day,
            ),
            ("max_users_per_subject", self.max_users_per_subject),
            ("refusal_burst_count", self.refusal_burst_count),
            ("refusal_burst_minutes", self.refusal_burst_minutes),
        ] {
            if v == 0 {
                out.push((key, "must be at least 1".to_owned()));
            }
        }
        out
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

impl FileConfig {
    /// Reads, parses and checks `path`; relative paths inside are relative
    /// to the file's directory.
    pub fn load(path: &Path) -> Result<HubConfig, ConfigError> {
        let fail = |problems: Vec<String>| ConfigError {
            file: path.to_owned(),
            problems,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(vec![e.to_string()]))?;
        let cfg: FileConfig = toml::from_str(&text).map_err(|e| {
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
        let base = path.parent().unwrap_or(Path::new("."));
        let mut problems = Vec::new();
        let listen: Option<SocketAddr> = match cfg.listen.parse() {
            Ok(a) => Some(a),
            Err(_) => {
                problems.push("listen: must be an address with a port, e.g. 0.0.0.0:7443".into());
                None
            }
        };
        if !(cfg.database_url.starts_with("sqlite:") || cfg.database_url.starts_with("postgres")) {
            problems.push("database_url: must start with sqlite: or postgres:".into());
        }
        if cfg.max_connections == 0 {
            problems.push("max_connections: must be at least 1".into());
        }
        let mut read = |key: &str, p: &Path| match std::fs::read(base.join(p)) {
            Ok(b) => b,
            Err(e) => {
                problems.push(format!("{key}: {}: {e}", base.join(p).display()));
                Vec::new()
            }
        };
        let ca_bundle_pem = read("ca_bundle", &cfg.ca_bundle);
        let cert_chain_pem = read("server_cert", &cfg.server_cert);
        let key_pem = read("server_key", &cfg.server_key);
        let pseudonym_text =
            String::from_utf8(read("pseudonym_key_file", &cfg.pseudonym_key_file)).unwrap_or_default();
        let signing_text = zeroize::Zeroizing::new(
            String::from_utf8(read("audit_signing_key_file", &cfg.audit_signing_key_file))
                .unwrap_or_default(),
        );
        let region_csv = match &cfg.region_table {
            Some(p) => String::from_utf8(read("region_table", p)).unwrap_or_default(),
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
        let signer = match seed_from_hex(&signing_text) {
            Some(seed) => match schakel_audit::Signer::from_seed(&cfg.log_origin, &seed) {
                Ok(s) => Some(s),
                Err(_) => {
                    problems.push("log_origin: must be a non-empty name without spaces or '+'".into());
                    None
                }
            },
            None => {
                if !signing_text.is_empty() {
                    problems.push(
                        "audit_signing_key_file: must hold 64 hex digits (a 32-byte Ed25519 seed)".into(),
                    );
                }
                None
            }
        };
        if cfg.checkpoint_interval_secs == 0 || cfg.checkpoint_interval_secs > 86_400 {
            problems.push("checkpoint_interval_secs: must be between 1 and 86400".into());
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
                        max_connections: cfg.max_connections,
                        ..StoreOptions::new(cfg.database_url)
                    },
                    ca_bundle_pem,
                    cert_chain_pem,
                    key_pem,
                    regions,
                    policy: std::sync::Arc::new(policy),
                    pseudonymiser,
                    audit_signer: std::sync::Arc::new(signer),
                    checkpoint_interval: std::time::Duration::from_secs(cfg.checkpoint_interval_secs),
                    anomaly_defaults: cfg.anomalies,
                })
            }
            _ => Err(fail(problems)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deploy_example_parses() {
        let text = include_str!("../../../deploy/schakel-hub.example.toml");
        let cfg: FileConfig = toml::from_str(text).unwrap();
        assert!(cfg.database_url.starts_with("postgres://"));
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
        let e = FileConfig::load(&path).unwrap_err();
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
                "anomalies.office_hours_end"
            ]
        );
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:1\"\nlistn = 2\n").unwrap();
        let e = FileConfig::load(&path).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
    }
}
