//! Sessions lately found live in the database, kept in memory for a few seconds.
//!
//! A token's signature and expiry are checked on every request; whether its session was
//! revoked (signed out) is a lookup in `sessions`. That lookup was one of a listed page's two
//! hand-overs to SQLite's thread, each a pair of thread switches, a tenth of a served list's
//! time (BENCHMARKS.md). A sign-out on this node takes effect at once; a session deleted any
//! other way (another node, by hand in SQL) is seen within [`FRESH`], as in Mattermost's
//! session cache; the multi-node step should carry session ends to every node, as it will
//! carry the socket kicks `Hub::end_session` makes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;

/// How long a session found live is believed without asking the database again.
pub(crate) const FRESH: Duration = Duration::from_secs(10);

/// Sessions held at most: about 100 bytes each.
const CAPACITY: usize = 100_000;

#[derive(Clone)]
struct Live {
    user: i64,
    checked: Instant,
}

pub(crate) struct LiveSessions {
    cache: Cache<String, Live>,
    /// Bumped by every revocation, so a lookup that raced one does not keep what it read.
    revocations: AtomicU64,
}

/// What a lookup in the database needs to know before it starts ([`LiveSessions::keep`]).
pub(crate) struct Lookup(u64);

impl LiveSessions {
    pub(crate) fn new() -> Self {
        Self {
            cache: Cache::new(CAPACITY),
            revocations: AtomicU64::new(0),
        }
    }

    /// Whether `session` of `user` was found live within [`FRESH`].
    pub(crate) fn is_live(&self, session: &str, user: i64) -> bool {
        self.cache
            .get(session)
            .is_some_and(|live| live.user == user && live.checked.elapsed() < FRESH)
    }

    /// To call before reading the session from the database.
    pub(crate) fn lookup(&self) -> Lookup {
        Lookup(self.revocations.load(Ordering::SeqCst))
    }

    /// Keeps `session` as read live by the lookup `started`, unless a revocation came
    /// meanwhile: checked after inserting, so a revocation either sees the entry and removes
    /// it, or is seen here.
    pub(crate) fn keep(&self, started: Lookup, session: &str, user: i64) {
        let live = Live {
            user,
            checked: Instant::now(),
        };
        self.cache.insert(session.to_owned(), live);
        if self.revocations.load(Ordering::SeqCst) != started.0 {
            self.cache.remove(session);
        }
    }

    /// `session` was revoked in the database: no longer believed live.
    pub(crate) fn revoked(&self, session: &str) {
        self.revocations.fetch_add(1, Ordering::SeqCst);
        self.cache.remove(session);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_session_is_live_for_its_user_only() {
        let sessions = LiveSessions::new();
        assert!(!sessions.is_live("s", 1));
        let lookup = sessions.lookup();
        sessions.keep(lookup, "s", 1);
        assert!(sessions.is_live("s", 1));
        assert!(!sessions.is_live("s", 2));
        sessions.revoked("s");
        assert!(!sessions.is_live("s", 1));
    }

    #[test]
    fn a_lookup_that_raced_a_revocation_keeps_nothing() {
        let sessions = LiveSessions::new();
        let lookup = sessions.lookup();
        // Read live, then revoked before the lookup keeps it.
        sessions.revoked("s");
        sessions.keep(lookup, "s", 1);
        assert!(!sessions.is_live("s", 1));
    }
}
