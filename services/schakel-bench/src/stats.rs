//! A closed-loop load driver and latency statistics.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What one measured cell gave.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    /// Operations completed in the measured window.
    pub ops: u64,
    /// Length of the measured window.
    pub elapsed: Duration,
    /// Latency percentiles (ms): p50, p99, max; absent for pure throughput runs.
    pub latency: Option<Latency>,
    /// CPU time of the whole process (hub, client and everything else in
    /// it) per operation in the measured window, in ms: what one call costs
    /// the machine, whatever the concurrency.
    pub cpu_ms_per_op: Option<f64>,
}

/// CPU time (user + system, all threads) this process has used so far, from
/// `/proc/self/stat` (Linux; clock ticks of 10 ms).
pub fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
}

impl Measured {
    /// Operations per second.
    pub fn rate(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 { self.ops as f64 / s } else { 0.0 }
    }
}

/// Percentiles of latencies given in microseconds.
pub fn latency(mut us: Vec<u32>) -> Option<Latency> {
    if us.is_empty() {
        return None;
    }
    us.sort_unstable();
    let at = |q: f64| {
        let i = ((us.len() as f64 - 1.0) * q).round() as usize;
        f64::from(us[i.min(us.len() - 1)]) / 1000.0
    };
    Some(Latency {
        p50: at(0.50),
        p99: at(0.99),
        max: f64::from(*us.last().unwrap_or(&0)) / 1000.0,
    })
}

/// Runs `op` in `concurrency` tasks, each calling it again as soon as the
/// previous call returned, for `warmup` (not recorded) and then `duration`
/// (recorded). `op(worker, n)` gets a run-wide unique `n`. The first error
/// stops the run and is returned.
pub async fn drive<F, Fut>(
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
    op: F,
) -> anyhow::Result<Measured>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let op = Arc::new(op);
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let measure_from = start + warmup;
    let deadline = measure_from + duration;
    let cpu_at_start = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from.into()).await;
        process_cpu()
    });
    let mut tasks = Vec::with_capacity(concurrency);
    for w in 0..concurrency {
        let op = op.clone();
        let counter = counter.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat: Vec<u32> = Vec::new();
            loop {
                let t0 = Instant::now();
                if t0 >= deadline {
                    break;
                }
                let n = counter.fetch_add(1, Ordering::Relaxed);
                op(w, n).await?;
                if t0 >= measure_from {
                    let us = t0.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                    lat.push(us);
                }
            }
            anyhow::Ok(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    // The window closes when the last in-flight call started before the
    // deadline has returned.
    let end = Instant::now();
    let cpu = match (cpu_at_start.await.ok().flatten(), process_cpu()) {
        (Some(a), Some(b)) if !all.is_empty() => {
            Some(b.saturating_sub(a).as_secs_f64() * 1000.0 / all.len() as f64)
        }
        _ => None,
    };
    Ok(Measured {
        ops: all.len() as u64,
        elapsed: end.saturating_duration_since(measure_from),
        latency: latency(all),
        cpu_ms_per_op: cpu,
    })
}

/// Runs the CPU-bound `op` on `threads` OS threads for `duration`; returns
/// the operations completed (throughput only).
pub fn spin<F>(threads: usize, duration: Duration, op: F) -> Measured
where
    F: Fn(u64) + Send + Sync + 'static,
{
    let op = Arc::new(op);
    let start = Instant::now();
    let deadline = start + duration;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let op = op.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    // Check the clock every few operations only.
                    for _ in 0..8 {
                        op((t as u64) << 40 | n);
                        n += 1;
                    }
                }
                n
            })
        })
        .collect();
    let ops = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    Measured {
        ops,
        elapsed: start.elapsed(),
        latency: None,
        cpu_ms_per_op: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_cpu_time_grows_while_this_process_works() {
        let before = process_cpu().expect("/proc/self/stat has utime and stime");
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut x = 0u64;
        while process_cpu().is_some_and(|now| now < before + Duration::from_millis(30)) {
            assert!(Instant::now() < deadline, "no CPU time counted while spinning");
            for i in 0..100_000u64 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
            }
        }
    }

    #[test]
    fn percentiles_of_microseconds() {
        let l = latency((1..=100).map(|ms| ms * 1000).collect()).unwrap();
        assert_eq!((l.p50, l.p99, l.max), (51.0, 99.0, 100.0));
        assert!(latency(Vec::new()).is_none());
    }
}
