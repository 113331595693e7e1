//! The timing loop. Calls run one after another (one client), so a figure is the latency of
//! one request on an otherwise idle server, and throughput is what one client gets.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::Result;
use hdrhistogram::Histogram;

/// How long one operation is measured.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Untimed calls first: warm caches and prepared statements, as on a running server.
    pub warmup: u64,
    pub iterations: u64,
    /// Stop early past this, so a slow operation cannot stretch the run.
    pub max_time: Duration,
}

/// One operation's latencies, in nanoseconds.
pub struct Measurement {
    pub name: String,
    pub histogram: Histogram<u64>,
    pub elapsed: Duration,
}

impl Measurement {
    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    pub fn per_second(&self) -> f64 {
        self.count() as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// The latency at `quantile` (0..=1), in milliseconds.
    pub fn ms(&self, quantile: f64) -> f64 {
        self.histogram.value_at_quantile(quantile) as f64 / 1e6
    }

    pub fn max_ms(&self) -> f64 {
        self.histogram.max() as f64 / 1e6
    }
}

/// Times `op(i)` for i = 0, 1, 2… within `budget`. Building the future (picking inputs) is
/// not timed; awaiting it is.
pub async fn run<F, Fut>(name: &str, budget: Budget, mut op: F) -> Result<Measurement>
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    eprintln!("  {name}");
    let started = Instant::now();
    for i in 0..budget.warmup {
        op(i).await?;
        if started.elapsed() > budget.max_time / 10 {
            break;
        }
    }
    // 1 ns to 60 s at 3 significant digits.
    let mut histogram = Histogram::new_with_bounds(1, 60_000_000_000, 3)?;
    let started = Instant::now();
    for i in 0..budget.iterations {
        let call = op(budget.warmup + i);
        let t = Instant::now();
        call.await?;
        histogram.saturating_record(u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX));
        if started.elapsed() >= budget.max_time {
            break;
        }
    }
    Ok(Measurement {
        name: name.to_owned(),
        histogram,
        elapsed: started.elapsed(),
    })
}
