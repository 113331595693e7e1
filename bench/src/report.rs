//! Results as a Markdown table (pasted as is into BENCHMARKS.md) and as JSON.

use std::fmt::Write;
use std::time::Duration;

use serde_json::{json, Value};

use crate::measure::Measurement;
use crate::seed::Scale;

/// What the numbers were measured on.
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_gib: f64,
}

impl Machine {
    /// Read from /proc on Linux; "unknown" elsewhere.
    pub fn detect() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or_else(|| "unknown".to_owned(), |(_, m)| m.trim().to_owned());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kib: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0.0);
        Self {
            cpus: std::thread::available_parallelism().map_or(0, usize::from),
            cpu_model,
            memory_gib: memory_kib / (1024.0 * 1024.0),
        }
    }
}

pub struct Report {
    pub machine: Machine,
    pub scale: Scale,
    /// `None` when an existing database was measured.
    pub seeding: Option<Duration>,
    pub rows: u64,
    pub measurements: Vec<Measurement>,
}

impl Report {
    pub fn text(&self) -> String {
        let m = &self.machine;
        let s = &self.scale;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "machine: {}, {} cpus, {:.1} GiB",
            m.cpu_model, m.cpus, m.memory_gib
        );
        let _ = writeln!(
            out,
            "scale: {} users, {} conversations, {} messages; focus user in {} conversations",
            s.users, s.conversations, s.messages, s.member_of
        );
        match self.seeding {
            Some(t) => {
                let _ = writeln!(
                    out,
                    "seeding: {:.1} s ({} rows, {:.0} rows/s)\n",
                    t.as_secs_f64(),
                    self.rows,
                    self.rows as f64 / t.as_secs_f64().max(f64::EPSILON)
                );
            }
            None => out.push_str("seeding: skipped (existing database)\n\n"),
        }
        out.push_str(
            "| operation | calls | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | calls/s |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for r in &self.measurements {
            let _ = writeln!(
                out,
                "| {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.0} |",
                r.name,
                r.count(),
                r.ms(0.5),
                r.ms(0.9),
                r.ms(0.99),
                r.ms(0.999),
                r.max_ms(),
                r.per_second()
            );
        }
        out
    }

    pub fn json(&self) -> Value {
        let m = &self.machine;
        let s = &self.scale;
        let results: Vec<Value> = self
            .measurements
            .iter()
            .map(|r| {
                json!({
                    "operation": r.name,
                    "calls": r.count(),
                    "p50_ms": r.ms(0.5),
                    "p90_ms": r.ms(0.9),
                    "p99_ms": r.ms(0.99),
                    "p999_ms": r.ms(0.999),
                    "max_ms": r.max_ms(),
                    "mean_ms": r.histogram.mean() / 1e6,
                    "calls_per_s": r.per_second(),
                })
            })
            .collect();
        json!({
            "machine": { "cpus": m.cpus, "cpu_model": m.cpu_model, "memory_gib": m.memory_gib },
            "scale": {
                "users": s.users,
                "conversations": s.conversations,
                "messages": s.messages,
                "member_of": s.member_of,
            },
            "seeding_s": self.seeding.map(|t| t.as_secs_f64()),
            "rows": self.rows,
            "results": results,
        })
    }
}
