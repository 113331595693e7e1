//! What a scenario measures: latencies into HDR histograms (1 µs to 60 s, 3 significant
//! digits), counts, a sample of (time, latency) points for the plot over time, and the server's
//! CPU time and memory over the measured window.

use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::time::Instant;

use super::server::Target;

/// Most points kept for the plot over time.
const MAX_POINTS: u64 = 3_000;

/// Collects one scenario's latencies; shared by every reader task.
pub struct Recorder {
    pub start: Instant,
    inner: Mutex<Recorded>,
    stride: u64,
}

#[derive(Clone)]
pub struct Recorded {
    pub latency: Histogram<u64>,
    pub ack: Histogram<u64>,
    pub received: u64,
    pub errors: u64,
    /// (seconds since start, latency in ms) of every `stride`-th sample.
    pub series: Vec<(f64, f64)>,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("constant, valid bounds")
}

impl Recorder {
    /// `expected`: about how many samples will come (to thin the plotted series).
    pub fn new(expected: u64) -> Self {
        Self {
            start: Instant::now(),
            inner: Mutex::new(Recorded {
                latency: histogram(),
                ack: histogram(),
                received: 0,
                errors: 0,
                series: Vec::new(),
            }),
            stride: (expected / MAX_POINTS).max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Micros since start: what a `client_id` carries as its send time.
    pub fn stamp(&self, at: Instant) -> u64 {
        u64::try_from(at.duration_since(self.start).as_micros()).unwrap_or(u64::MAX)
    }

    fn micros_since(&self, stamp: u64, at: Instant) -> u64 {
        self.stamp(at).saturating_sub(stamp).max(1)
    }

    /// A delivery (or a response) that was sent at `stamp` and arrived at `at`.
    pub fn delivered(&self, stamp: u64, at: Instant) {
        let micros = self.micros_since(stamp, at);
        let mut r = self.lock();
        r.latency.saturating_record(micros);
        r.received += 1;
        if r.received.is_multiple_of(self.stride) {
            let t = at.duration_since(self.start).as_secs_f64();
            r.series.push((t, micros as f64 / 1000.0));
        }
    }

    pub fn acked(&self, stamp: u64, at: Instant) {
        let micros = self.micros_since(stamp, at);
        self.lock().ack.saturating_record(micros);
    }

    pub fn error(&self) {
        self.lock().errors += 1;
    }

    pub fn received(&self) -> u64 {
        self.lock().received
    }

    /// Forgets everything so far (after a warm-up).
    pub fn reset(&self) {
        let mut r = self.lock();
        r.latency.reset();
        r.ack.reset();
        r.received = 0;
        r.errors = 0;
        r.series.clear();
    }

    pub fn snapshot(&self) -> Recorded {
        self.lock().clone()
    }
}

/// A `client_id` that carries its send time: `<tag><n>-<micros since start>`.
pub fn client_id(tag: char, n: u64, stamp: u64) -> String {
    format!("{tag}{n}-{stamp}")
}

/// The send time in a [`client_id`] with this `tag`; `None` for others (e.g. warm-up).
pub fn sent_at(client_id: &str, tag: char) -> Option<u64> {
    client_id.strip_prefix(tag)?.split_once('-')?.1.parse().ok()
}

/// One scenario's result on one target.
pub struct Outcome {
    pub scenario: String,
    pub target: Target,
    /// What was asked of the server (messages, deliveries or requests).
    pub expected: u64,
    pub recorded: Recorded,
    pub wall: Duration,
    /// CPU seconds the server used in `wall`.
    pub server_cpu: f64,
    pub server_rss: u64,
    /// Scenario-specific figures, as (name, value) for the report.
    pub notes: Vec<(String, String)>,
}

impl Outcome {
    pub fn ms(&self, q: f64) -> f64 {
        self.recorded.latency.value_at_quantile(q) as f64 / 1000.0
    }

    pub fn ack_ms(&self, q: f64) -> Option<f64> {
        (!self.recorded.ack.is_empty())
            .then(|| self.recorded.ack.value_at_quantile(q) as f64 / 1000.0)
    }

    pub fn per_second(&self) -> f64 {
        self.recorded.received as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// Server CPU as a share of one core over the window.
    pub fn cpu_cores(&self) -> f64 {
        self.server_cpu / self.wall.as_secs_f64().max(1e-9)
    }

    pub fn lost(&self) -> u64 {
        self.expected.saturating_sub(self.recorded.received)
    }
}

/// Waits until `done()` or `limit` passes.
pub async fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_carry_their_send_time() {
        let id = client_id('m', 12, 345_678);
        assert_eq!(sent_at(&id, 'm'), Some(345_678));
        assert_eq!(sent_at(&id, 'w'), None);
        assert_eq!(sent_at("junk", 'm'), None);
    }
}
