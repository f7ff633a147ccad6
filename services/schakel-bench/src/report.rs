//! The report: each product figure next to its same-run baselines and the
//! ratio, as a Markdown table.

use std::fmt::Write as _;

use crate::Options;
use crate::stats::{Latency, Measured};

/// How a row's value reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Operations per second (higher is better).
    Rate(&'static str),
    /// Milliseconds per operation (lower is better).
    Millis,
}

/// One measurement.
#[derive(Debug, Clone)]
pub struct Row {
    /// Stable key, e.g. `submit.sqlite.c64`.
    pub key: String,
    /// What was measured.
    pub label: String,
    /// The figure.
    pub value: f64,
    /// Its unit.
    pub kind: Kind,
    /// Latency percentiles, for request/response loads.
    pub latency: Option<Latency>,
    /// Process CPU per operation (ms), for request/response loads.
    pub cpu_ms: Option<f64>,
    /// Keys of the baselines it is compared with.
    pub baselines: Vec<String>,
}

impl Row {
    /// Calls per second with latencies.
    pub fn calls(key: String, label: String, m: &Measured) -> Self {
        Self {
            key,
            label,
            value: m.rate(),
            kind: Kind::Rate("/s"),
            latency: m.latency,
            cpu_ms: m.cpu_ms_per_op,
            baselines: Vec::new(),
        }
    }

    /// A throughput figure.
    pub fn rate(key: String, label: String, value: f64, unit: &'static str) -> Self {
        Self {
            key,
            label,
            value,
            kind: Kind::Rate(unit),
            latency: None,
            cpu_ms: None,
            baselines: Vec::new(),
        }
    }

    /// A time per operation.
    pub fn millis(key: String, label: String, ms: f64) -> Self {
        Self {
            key,
            label,
            value: ms,
            kind: Kind::Millis,
            latency: None,
            cpu_ms: None,
            baselines: Vec::new(),
        }
    }

    /// Compares with the baseline `key`.
    pub fn vs(mut self, key: &str) -> Self {
        self.baselines.push(key.to_owned());
        self
    }

    fn show(&self) -> String {
        match self.kind {
            Kind::Rate(unit) => format!("{} {unit}", thousands(self.value)),
            Kind::Millis => format!("{} ms", millis(self.value)),
        }
    }
}

/// All measurements of a run.
#[derive(Debug, Clone)]
pub struct Report {
    threads: usize,
    duration_s: f64,
    smoke: bool,
    rows: Vec<Row>,
    notes: Vec<String>,
}

impl Report {
    /// An empty report.
    pub fn new(threads: usize, opts: &Options) -> Self {
        Self {
            threads,
            duration_s: opts.duration.as_secs_f64(),
            smoke: opts.smoke,
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn push(&mut self, row: Row) {
        self.rows.push(row);
    }

    /// Adds a note under the table.
    pub fn note(&mut self, text: String) {
        self.notes.push(text);
    }

    /// The rows.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The row with `key`.
    pub fn get(&self, key: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.key == key)
    }

    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "schakel-bench: {} hardware threads, {:.1} s measured per cell{}\n",
            self.threads,
            self.duration_s,
            if self.smoke {
                " (SMOKE RUN: figures mean nothing)"
            } else {
                ""
            }
        );
        s.push_str(
            "| measurement | result | p50 ms | p99 ms | max ms | CPU ms/op | baseline (same run) | ratio |\n",
        );
        s.push_str("|---|---:|---:|---:|---:|---:|---|---:|\n");
        for row in &self.rows {
            let (p50, p99, max) = row.latency.map_or_else(
                || ("".into(), "".into(), "".into()),
                |l| (millis(l.p50), millis(l.p99), millis(l.max)),
            );
            let mut base = Vec::new();
            let mut ratio = Vec::new();
            for key in &row.baselines {
                if let Some(b) = self.get(key) {
                    base.push(format!("{}: {}", b.key, b.show()));
                    let r = if b.value > 0.0 {
                        row.value / b.value
                    } else {
                        f64::NAN
                    };
                    ratio.push(format!("{r:.2}"));
                }
            }
            let _ = writeln!(
                s,
                "| {} <br>`{}` | {} | {p50} | {p99} | {max} | {} | {} | {} |",
                row.label,
                row.key,
                row.show(),
                row.cpu_ms.map(millis).unwrap_or_default(),
                base.join("<br>"),
                ratio.join("<br>")
            );
        }
        if !self.notes.is_empty() {
            s.push('\n');
            for n in &self.notes {
                let _ = writeln!(s, "- {n}");
            }
        }
        s
    }
}

/// `12345.6` as `12,346`; small values keep a decimal.
pub fn thousands(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    if v < 100.0 {
        return format!("{v:.1}");
    }
    let n = v.round() as u64;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn millis(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}
