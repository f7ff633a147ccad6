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
    /// Database pool size.
    #[serde(default = "default_pool")]
    pub max_connections: u32,
}

fn default_pool() -> u32 {
    8
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
        match (listen, regions, policy, pseudonymiser) {
            (Some(listen), Some(regions), Some(policy), Some(pseudonymiser)) if problems.is_empty() => {
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
             server_cert = \"c.pem\"\nserver_key = \"k.pem\"\npseudonym_key_file = \"p.key\"\nmax_connections = 0\n",
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
                "pseudonym_key_file"
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
