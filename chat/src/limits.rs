//! Token buckets keyed by who is asking: writes per user, sign-ups per client address.
//!
//! Writes: whatever carries them (REST, server functions, sockets, event streams' REST half).
//! The socket's own bounds are per connection, and one account can hold many connections or
//! none. Every write goes through one writer, so without this one account could take the
//! server's whole write capacity from everyone else.
//!
//! Sign-ups: an account costs a password hash and a row for good, and one address creating them
//! without end is a script filling the directory with throwaway accounts.
//!
//! A bucket lets a burst pass (a client catching up on a queue of offline messages, a class
//! signing up together behind one NAT) and holds a flood to the sustained rate.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use protocol::UserId;

use crate::{Chat, Error, Result};

/// How often keys idle long enough to have a full bucket again are forgotten.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

pub(crate) struct Buckets<K: Hash + Eq + Clone> {
    /// `None`: no bound (a rate of 0 in the settings).
    buckets: Option<DefaultKeyedRateLimiter<K>>,
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    /// `count` per `period` sustained, `burst` at once (`count` when 0); a `count` of 0 is no
    /// bound.
    pub(crate) fn new(count: u32, period: Duration, burst: u32) -> Self {
        let buckets = NonZeroU32::new(count).and_then(|count| {
            let burst = NonZeroU32::new(burst).unwrap_or(count);
            let quota = Quota::with_period(period / count.get())?.allow_burst(burst);
            Some(RateLimiter::keyed(quota))
        });
        Self { buckets }
    }

    /// Takes one from `key`'s bucket, or says when the next one will be there.
    fn take(&self, key: &K) -> Result<()> {
        let Some(buckets) = &self.buckets else {
            return Ok(());
        };
        buckets.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(buckets.clock().now());
            Error::RateLimited {
                // Retry-After counts whole seconds; a client told 0 would retry at once.
                retry_after: wait.max(Duration::from_secs(1)),
            }
        })
    }

    /// Forgets the keys whose buckets are full again: they are as if never seen, and the map
    /// stays as small as the set of those asking right now.
    fn sweep(&self) {
        if let Some(buckets) = &self.buckets {
            buckets.retain_recent();
            buckets.shrink_to_fit();
        }
    }
}

/// Whether sign-ups from `client` are bounded. The machine itself is not (tests, scripts, an
/// administrator), as Mastodon's safelist has it; behind a proxy on this machine, the client's
/// own address comes from `TRUST_FORWARDED_FOR`.
fn bounded_address(client: IpAddr) -> bool {
    !client.to_canonical().is_loopback()
}

impl Chat {
    /// Counts one write by `me`: `RateLimited` (with when to retry) once they write faster than
    /// the settings allow. Called first by every write, before any work.
    pub(crate) fn pace(&self, me: UserId) -> Result<()> {
        self.inner.writes.take(&me)
    }

    /// Counts one sign-up from `client` (when known and not this machine): `RateLimited` once
    /// that address creates accounts faster than the settings allow.
    pub(crate) fn pace_signup(&self, client: Option<IpAddr>) -> Result<()> {
        match client {
            Some(ip) if bounded_address(ip) => self.inner.signups.take(&ip.to_canonical()),
            _ => Ok(()),
        }
    }

    pub(crate) async fn sweep_limits(self) {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tick.tick().await;
            self.inner.writes.sweep();
            self.inner.signups.sweep();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_holds_per_key() {
        let limit = Buckets::new(1, Duration::from_secs(1), 3);
        let (ann, bob) = (UserId(1), UserId(2));
        for _ in 0..3 {
            assert!(limit.take(&ann).is_ok());
        }
        match limit.take(&ann) {
            Err(Error::RateLimited { retry_after }) => {
                assert!(retry_after >= Duration::from_secs(1), "{retry_after:?}");
                assert!(retry_after <= Duration::from_secs(2), "{retry_after:?}");
            }
            other => panic!("expected RateLimited, got {other:?}"),
        }
        // Another user has a bucket of their own.
        assert!(limit.take(&bob).is_ok());
    }

    #[test]
    fn a_rate_per_hour_tells_when_the_next_one_comes() {
        let limit = Buckets::new(60, Duration::from_secs(3600), 2);
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        assert!(limit.take(&ip).is_ok());
        assert!(limit.take(&ip).is_ok());
        match limit.take(&ip) {
            Err(Error::RateLimited { retry_after }) => {
                assert!(retry_after > Duration::from_secs(55), "{retry_after:?}");
                assert!(retry_after <= Duration::from_secs(60), "{retry_after:?}");
            }
            other => panic!("expected RateLimited, got {other:?}"),
        }
    }

    #[test]
    fn a_rate_of_zero_is_no_bound() {
        let limit = Buckets::new(0, Duration::from_secs(1), 0);
        for _ in 0..10_000 {
            assert!(limit.take(&UserId(1)).is_ok());
        }
    }

    #[test]
    fn only_this_machine_is_unbounded() {
        for local in ["127.0.0.1", "127.8.0.1", "::1", "::ffff:127.0.0.1"] {
            assert!(!bounded_address(local.parse().unwrap()), "{local}");
        }
        for other in [
            "10.0.0.1",
            "192.168.1.2",
            "203.0.113.7",
            "2001:db8::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(bounded_address(other.parse().unwrap()), "{other}");
        }
    }
}
