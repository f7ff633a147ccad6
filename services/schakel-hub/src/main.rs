//! `schakel-hub`: load configuration, start, serve until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use schakel_hub::HubConfig;
use schakel_hub::config::{ConfigError, FileConfig};
use schakel_hub::dev::DevEnvironment;
use schakel_hub::telemetry::LogFormat;

/// The schakel hub: case data exchange for Van school naar duurzaam werk.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Development mode: create (once) a data directory with a development
    /// PKI, a demo region and an embedded SQLite database, and serve on
    /// 127.0.0.1.
    #[arg(long, conflicts_with = "config")]
    dev: bool,
    /// Data directory for --dev.
    #[arg(long, default_value = ".schakel-dev", requires = "dev")]
    data_dir: PathBuf,
    /// Listen address for --dev.
    #[arg(long, default_value = "127.0.0.1:7443", requires = "dev")]
    listen: SocketAddr,
    /// Configuration file (TOML) for production; `SCHAKEL_<KEY>` environment
    /// variables override its top-level keys.
    #[arg(long, required_unless_present_any = ["dev", "check_config", "register_operator"])]
    config: Option<PathBuf>,
    /// Check a configuration file (with the environment overrides), report
    /// every problem, and exit: 0 when the hub could start with it.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["dev", "config"])]
    check_config: Option<PathBuf>,
    /// With --check-config: also connect to the database once (changing
    /// nothing) and report whether it answers and how far its schema is.
    #[arg(long, requires = "check_config")]
    check_database: bool,
    /// Register the hub operator (organisation, `admin` function and this
    /// client certificate, PEM) in a new database, then exit. Needed once,
    /// before any `schakel admin` call; run it as the schema owner (it
    /// migrates). Changes nothing when the operator exists.
    #[arg(
        long,
        value_name = "CERT_PEM",
        conflicts_with_all = ["dev", "config", "check_config"],
        requires_all = ["database", "operator_oin", "operator_name"]
    )]
    register_operator: Option<PathBuf>,
    /// With --register-operator: the database URL.
    #[arg(long, value_name = "URL", requires = "register_operator")]
    database: Option<String>,
    /// With --register-operator: the operator's OIN (the certificate's
    /// subject serialNumber).
    #[arg(long, value_name = "OIN", requires = "register_operator")]
    operator_oin: Option<String>,
    /// With --register-operator: the operator organisation's name.
    #[arg(long, value_name = "NAME", requires = "register_operator")]
    operator_name: Option<String>,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "SCHAKEL_LOG_JSON")]
    log_json: bool,
}

async fn run(cfg: HubConfig, dev: Option<DevEnvironment>) -> anyhow::Result<()> {
    if let Some(env) = dev {
        env.seed(&cfg.database.url)
            .await
            .context("registering the demo region")?;
        // Profiles dial the address; TLS checks the certificate's name `localhost`.
        let ip = if cfg.listen.ip().is_unspecified() {
            "127.0.0.1".to_owned()
        } else {
            cfg.listen.ip().to_string()
        };
        let hub_url = format!("https://{ip}:{}", cfg.listen.port());
        env.write_profiles(&hub_url).context("writing demo profiles")?;
        print_next_steps(&env);
    }
    let hub = schakel_hub::start(cfg).await?;
    eprintln!("schakel hub listening on {}", hub.addr());
    hub.serve_until(shutdown_signal()).await;
    Ok(())
}

fn print_problems(e: &ConfigError) {
    eprintln!(
        "schakel-hub: configuration {} has {} problem{}:",
        e.file.display(),
        e.problems.len(),
        if e.problems.len() == 1 { "" } else { "s" }
    );
    for p in &e.problems {
        eprintln!("  - {p}");
    }
}

/// `--check-config`: every problem, or what the hub would run with. The
/// database URL is not printed (it may hold a password).
async fn check_config(path: &std::path::Path, check_database: bool) -> ExitCode {
    match FileConfig::load(path) {
        Ok(cfg) => {
            // What the hub would only find out when it starts (issue 22).
            let mut problems = schakel_hub::tls::server_identity_problems(
                &cfg.cert_chain_pem,
                cfg.key_pem.expose(),
                &cfg.ca_bundle_pem,
            );
            let database = if check_database {
                match schakel_store::probe(&cfg.database).await {
                    Ok(p) if p.new_file => " (a new file: the hub creates it)".to_owned(),
                    Ok(p) if p.applied > p.known => {
                        problems.push(format!(
                            "database: its schema has {} migrations, this hub knows {}: it belongs to a newer hub",
                            p.applied, p.known
                        ));
                        String::new()
                    }
                    Ok(p) if p.applied == p.known => " (answers; schema up to date)".to_owned(),
                    Ok(p) => format!(
                        " (answers; schema at migration {} of {}: the hub applies the rest at start)",
                        p.applied, p.known
                    ),
                    Err(e) => {
                        problems.push(format!("database: {e}"));
                        String::new()
                    }
                }
            } else {
                String::new()
            };
            if !problems.is_empty() {
                eprintln!("configuration {} cannot be used:", path.display());
                for p in &problems {
                    eprintln!("  - {p}");
                }
                return ExitCode::FAILURE;
            }
            println!("configuration {} is valid", path.display());
            println!("  listen            {}", cfg.listen);
            println!(
                "  database          {}{database}",
                cfg.database.url.split(':').next().unwrap_or("?")
            );
            println!("  policy version    {}", cfg.policy.version());
            println!("  log origin        {}", cfg.audit_signer.name());
            println!("  verifier key      {}", cfg.audit_signer.verifier().vkey());
            println!("  checkpoints every {} s", cfg.checkpoint_interval.as_secs());
            println!(
                "  OTLP export       {}",
                cfg.otlp_endpoint.as_deref().unwrap_or("off")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            print_problems(&e);
            ExitCode::FAILURE
        }
    }
}

fn print_next_steps(env: &DevEnvironment) {
    let p = |name: &str| env.profile(name).display().to_string();
    eprintln!(
        "\nDevelopment hub. Demo profiles are in {}/parties. Try, in another terminal:\n\n  \
         cargo run -p schakel-cli -- --profile {} whoami\n  \
         cargo run -p schakel-cli -- --profile {} whoami\n  \
         cargo run -p schakel-cli -- --profile {} orgs\n  \
         cargo run -p schakel-cli -- --profile {} admin --help\n\n\
         Every party has its own profile; an age identity (age-identity.txt) stays with the party.\n",
        env.dir().display(),
        p("mbo-school"),
        p("gemeente-participatiewet"),
        p("admin"),
        p("admin"),
    );
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    eprintln!("shutting down");
}

/// `--register-operator`.
async fn register_operator(args: &Args, cert: &std::path::Path) -> ExitCode {
    let pem = match std::fs::read(cert) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("schakel-hub: {}: {e}", cert.display());
            return ExitCode::FAILURE;
        }
    };
    let (db, oin, name) = (
        args.database.as_deref().unwrap_or_default(),
        args.operator_oin.as_deref().unwrap_or_default(),
        args.operator_name.as_deref().unwrap_or_default(),
    );
    match schakel_hub::bootstrap::register_operator(db, oin, name, &pem).await {
        Ok(msg) => {
            println!("{msg}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("schakel-hub: {e}");
            ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(path) = &args.check_config {
        return check_config(path, args.check_database).await;
    }
    if let Some(cert) = &args.register_operator {
        return register_operator(&args, cert).await;
    }
    // `--dev` writes a configuration file into its data directory and reads
    // it like any other: the same keys and environment overrides apply.
    let (path, dev) = if args.dev {
        let prepared = DevEnvironment::ensure(&args.data_dir)
            .and_then(|env| Ok((env.write_config(args.listen, &env.sqlite_url())?, env)));
        match prepared {
            Ok((path, env)) => (path, Some(env)),
            Err(e) => {
                eprintln!("schakel-hub: preparing the development data directory: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        match &args.config {
            Some(path) => (path.clone(), None),
            None => {
                eprintln!("schakel-hub: --config is required without --dev");
                return ExitCode::FAILURE;
            }
        }
    };
    let cfg = match FileConfig::load(&path) {
        Ok(cfg) => cfg,
        Err(e) => {
            print_problems(&e);
            return ExitCode::FAILURE;
        }
    };
    let format = if args.log_json {
        LogFormat::Json
    } else {
        cfg.log_format
    };
    let otlp = cfg
        .otlp_endpoint
        .as_deref()
        .map(|endpoint| schakel_hub::telemetry::Otlp {
            endpoint,
            ca_pem: cfg.otlp_ca_pem.as_deref(),
        });
    let telemetry = match schakel_hub::telemetry::init_with(format, otlp) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("schakel-hub: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = match run(cfg, dev).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("schakel-hub: {e:#}");
            ExitCode::FAILURE
        }
    };
    telemetry.shutdown();
    code
}
