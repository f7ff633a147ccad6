//! `schakel-bench`: starts real hubs on loopback and measures them against
//! same-run baselines; prints a Markdown table. See `docs/performance.md`.
#![forbid(unsafe_code)]

use std::time::Duration;

use clap::Parser;

/// Benchmark harness of schakel (issue 7).
#[derive(Debug, Parser)]
#[command(name = "schakel-bench")]
struct Args {
    /// Seconds measured per cell (after a warm-up of up to 1 s).
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Run only these scenarios (comma-separated or repeated): echo, raw,
    /// crypto, submit-sqlite, inbox, submit-pg, submit-pg2, size, audit,
    /// audit-db, rss.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Everything tiny, a few seconds in all (CI); the figures mean nothing.
    #[arg(long)]
    smoke: bool,
    /// Audit entries for the verification run (default 10,000,000).
    #[arg(long)]
    audit_entries: Option<u64>,
    /// Log sizes for the proof and start-up figures (comma-separated;
    /// default 1000000,10000000). `audit-db` builds a SQLite log of each.
    #[arg(long, value_delimiter = ',')]
    proof_sizes: Vec<u64>,
    /// Stored transfers at which the `rss` scenario reads the hub's memory
    /// (comma-separated, ascending; default 100000). 1000000 takes long: the
    /// hub is filled through real submits.
    #[arg(long, value_delimiter = ',')]
    rss_transfers: Vec<u64>,
    /// Internal: run one hub for the `rss` scenario in this process
    /// (development directory, database URL) until stdin closes.
    #[arg(long, num_args = 2, value_names = ["DEV_DIR", "DATABASE_URL"], hide = true)]
    serve_hub: Vec<String>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let [dir, url] = args.serve_hub.as_slice() {
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        return rt.block_on(schakel_bench::rss::serve_child(std::path::Path::new(dir), url));
    }
    let mut opts = if args.smoke {
        schakel_bench::Options::smoke()
    } else {
        schakel_bench::Options::full(Duration::from_secs(args.duration.max(1)))
    };
    opts.only = args.only;
    if let Some(n) = args.audit_entries {
        opts.audit_entries = n;
    }
    if !args.proof_sizes.is_empty() {
        opts.proof_sizes = args.proof_sizes;
    }
    if !args.rss_transfers.is_empty() {
        opts.rss_sizes = args.rss_transfers;
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let report = rt.block_on(schakel_bench::run(&opts))?;
    print!("{}", report.markdown());
    // Hubs and pools are closed; do not wait for stray background tasks.
    rt.shutdown_timeout(Duration::from_secs(2));
    Ok(())
}
