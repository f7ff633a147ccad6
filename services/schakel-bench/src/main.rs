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
    /// crypto, submit-sqlite, inbox, submit-pg, submit-pg2, size, audit.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Everything tiny, a few seconds in all (CI); the figures mean nothing.
    #[arg(long)]
    smoke: bool,
    /// Audit entries for the verification run (default 10,000,000).
    #[arg(long)]
    audit_entries: Option<u64>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut opts = if args.smoke {
        schakel_bench::Options::smoke()
    } else {
        schakel_bench::Options::full(Duration::from_secs(args.duration.max(1)))
    };
    opts.only = args.only;
    if let Some(n) = args.audit_entries {
        opts.audit_entries = n;
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let report = rt.block_on(schakel_bench::run(&opts))?;
    print!("{}", report.markdown());
    // Hubs and pools are closed; do not wait for stray background tasks.
    rt.shutdown_timeout(Duration::from_secs(2));
    Ok(())
}
