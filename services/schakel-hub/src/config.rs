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
                        text[..s.start.min(text.len())].lines().count().max(1)
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
        match (listen, regions) {
            (Some(listen), Some(regions)) if problems.is_empty() => Ok(HubConfig {
                listen,
                database: StoreOptions {
                    max_connections: cfg.max_connections,
                    ..StoreOptions::new(cfg.database_url)
                },
                ca_bundle_pem,
                cert_chain_pem,
                key_pem,
                regions,
            }),
            _ => Err(fail(problems)),
        }
    }
}
