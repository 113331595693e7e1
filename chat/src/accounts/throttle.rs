//! Counts failed sign-ins per key (account or client address) in a fixed window. Only failures
//! count, so people signing in successfully from one address (a campus NAT) are not throttled.
//! Memory is bounded: past `capacity` keys, expired entries are swept and, failing that, the
//! oldest goes.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::{Error, Result};

pub(super) struct FailureThrottle<K> {
    max_failures: u32,
    window: Duration,
    capacity: usize,
    entries: Mutex<HashMap<K, (u32, Instant)>>,
}

impl<K: Eq + Hash + Clone> FailureThrottle<K> {
    pub(super) fn new(max_failures: u32, window: Duration, capacity: usize) -> Self {
        Self {
            max_failures,
            window,
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Refuses with `RateLimited` (and when to retry) once `key` used up its failures.
    pub(super) fn check(&self, key: &K) -> Result<()> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(key) {
            Some(&(count, since)) if count >= self.max_failures => {
                let elapsed = since.elapsed();
                if elapsed < self.window {
                    let retry_after = (self.window - elapsed).max(Duration::from_secs(1));
                    return Err(Error::RateLimited { retry_after });
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    pub(super) fn fail(&self, key: K) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, (_, since)| now.duration_since(*since) < self.window);
            if entries.len() >= self.capacity {
                if let Some(oldest) = entries
                    .iter()
                    .min_by_key(|(_, (_, t))| *t)
                    .map(|(k, _)| k.clone())
                {
                    entries.remove(&oldest);
                }
            }
        }
        let entry = entries.entry(key).or_insert((0, now));
        if now.duration_since(entry.1) >= self.window {
            *entry = (0, now);
        }
        entry.0 = entry.0.saturating_add(1);
    }

    pub(super) fn clear(&self, key: &K) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_after_max_failures_and_clears_on_success() {
        let t = FailureThrottle::new(3, Duration::from_secs(60), 10);
        for _ in 0..3 {
            assert!(t.check(&"a").is_ok());
            t.fail("a");
        }
        assert!(matches!(t.check(&"a"), Err(Error::RateLimited { .. })));
        assert!(t.check(&"b").is_ok());
        t.clear(&"a");
        assert!(t.check(&"a").is_ok());
    }

    #[test]
    fn stays_within_capacity() {
        let t = FailureThrottle::new(3, Duration::from_secs(60), 4);
        for i in 0..100 {
            t.fail(i);
        }
        assert!(t.entries.lock().unwrap().len() <= 4);
    }
}
