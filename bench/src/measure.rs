//! The timing loops. [`run`] makes its calls one after another (one client), so a figure is the
//! latency of one request on an otherwise idle server, and throughput is what one client gets.
//! [`run_concurrent`] keeps many calls in flight, for what the service does when busy.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
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
    let mut histogram = histogram()?;
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

/// Like [`run`], with `callers` calls in flight: each caller makes its next call as soon as its
/// last one returns (a closed loop), so `per_second` is what the service sustains at that
/// concurrency and a latency includes the wait behind the other callers' calls.
pub async fn run_concurrent<F, Fut>(
    name: &str,
    budget: Budget,
    callers: u64,
    op: F,
) -> Result<Measurement>
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    eprintln!("  {name}");
    let next = AtomicU64::new(0);
    // Call numbers run on from the warm-up: an operation may need them unique (client ids).
    let calls = |end: u64, deadline: Duration| {
        let (op, next) = (&op, &next);
        let started = Instant::now();
        futures::future::try_join_all((0..callers).map(move |_| async move {
            let mut histogram = histogram()?;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= end || started.elapsed() >= deadline {
                    return anyhow::Ok(histogram);
                }
                let call = op(i);
                let t = Instant::now();
                call.await?;
                histogram
                    .saturating_record(u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX));
            }
        }))
    };
    calls(budget.warmup * callers, budget.max_time / 10).await?;
    let first = next.load(Ordering::Relaxed);
    let started = Instant::now();
    let mut histogram = histogram()?;
    for part in calls(first + budget.iterations, budget.max_time).await? {
        histogram.add(part)?;
    }
    Ok(Measurement {
        name: name.to_owned(),
        histogram,
        elapsed: started.elapsed(),
    })
}

/// 1 ns to 60 s at 3 significant digits.
fn histogram() -> Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, 60_000_000_000, 3)?)
}
