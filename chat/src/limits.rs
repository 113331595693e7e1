//! A per-user bound on writes, whatever carries them (REST, server functions, sockets, event
//! streams' REST half): the socket's own bounds are per connection, and one account can hold
//! many connections or none. Every write goes through one writer, so without this one account
//! could take the server's whole write capacity from everyone else.
//!
//! A token bucket per user: a burst (a client catching up on a queue of offline messages, a
//! script importing a thread) passes; a flood is held to the sustained rate.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use protocol::UserId;

use crate::{Chat, Error, Result};

/// How often users idle long enough to have a full bucket again are forgotten.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

pub(crate) struct WriteLimit {
    /// `None`: no bound (a rate of 0 in the settings).
    buckets: Option<DefaultKeyedRateLimiter<UserId>>,
}

impl WriteLimit {
    pub(crate) fn new(per_second: u32, burst: u32) -> Self {
        let buckets = NonZeroU32::new(per_second).map(|rate| {
            let burst = NonZeroU32::new(burst).unwrap_or(rate);
            RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        Self { buckets }
    }

    /// Takes one write from `user`'s bucket, or says when the next one will be there.
    fn take(&self, user: UserId) -> Result<()> {
        let Some(buckets) = &self.buckets else {
            return Ok(());
        };
        buckets.check_key(&user).map_err(|not_until| {
            let wait = not_until.wait_time_from(buckets.clock().now());
            Error::RateLimited {
                // Retry-After counts whole seconds; a client told 0 would retry at once.
                retry_after: wait.max(Duration::from_secs(1)),
            }
        })
    }

    /// Forgets the users whose buckets are full again: they are as if never seen, and the
    /// map stays as small as the set of users writing right now.
    fn sweep(&self) {
        if let Some(buckets) = &self.buckets {
            buckets.retain_recent();
            buckets.shrink_to_fit();
        }
    }
}

impl Chat {
    /// Counts one write by `me`: `RateLimited` (with when to retry) once they write faster than
    /// the settings allow. Called first by every write, before any work.
    pub(crate) fn pace(&self, me: UserId) -> Result<()> {
        self.inner.writes.take(me)
    }

    pub(crate) async fn sweep_write_limits(self) {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tick.tick().await;
            self.inner.writes.sweep();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_holds_per_user() {
        let limit = WriteLimit::new(1, 3);
        let (ann, bob) = (UserId(1), UserId(2));
        for _ in 0..3 {
            assert!(limit.take(ann).is_ok());
        }
        match limit.take(ann) {
            Err(Error::RateLimited { retry_after }) => {
                assert!(retry_after >= Duration::from_secs(1), "{retry_after:?}");
                assert!(retry_after <= Duration::from_secs(2), "{retry_after:?}");
            }
            other => panic!("expected RateLimited, got {other:?}"),
        }
        // Another user has a bucket of their own.
        assert!(limit.take(bob).is_ok());
    }

    #[test]
    fn a_rate_of_zero_is_no_bound() {
        let limit = WriteLimit::new(0, 0);
        for _ in 0..10_000 {
            assert!(limit.take(UserId(1)).is_ok());
        }
    }
}
