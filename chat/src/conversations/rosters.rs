//! Each conversation's participants (who, role, read position), kept in memory by version.
//!
//! A page of the list carries every participant of 50 conversations: 600 on the focus user's
//! first page of the benchmark's database, 268 of them in one group. Built in SQL for every
//! call, they were most of the list's time (BENCHMARKS.md). Every change to a participant (a
//! join, a departure, a role, a read position) records a change and so bumps the
//! conversation's `version` in the same transaction; a roster kept under the version it was
//! read at is therefore exactly what the database holds at that version. The list reads each
//! conversation's version with its page and asks SQL only for the rosters not held at that
//! version. Nothing goes stale and several nodes need no invalidation: the database says which
//! version is current.

use std::sync::Arc;

use protocol::{Role, UserId};
use quick_cache::sync::Cache;
use quick_cache::Weighter;

use crate::accounts::Name;

/// One participant as a roster holds them, names included (they never change: see
/// `accounts::names`), so a page read from memory looks nobody up.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub user: UserId,
    pub name: Arc<Name>,
    pub role: Role,
    pub last_read_seq: i64,
}

/// A conversation's participants at one version, in the order the contract lists them (by
/// joining time).
#[derive(Debug)]
pub(crate) struct Roster {
    pub version: i64,
    pub members: Vec<Member>,
}

/// Participants held at most, over all rosters: 32 bytes each (names are shared), so 8 MB.
const CAPACITY: u64 = 250_000;
/// Rosters held, for quick_cache's sizing (a guess at the mean: most conversations are small).
const ROSTERS: usize = 50_000;

#[derive(Clone)]
struct ByMembers;

impl Weighter<i64, Arc<Roster>> for ByMembers {
    fn weight(&self, _: &i64, roster: &Arc<Roster>) -> u64 {
        1 + roster.members.len() as u64
    }
}

pub(crate) struct Rosters {
    cache: Cache<i64, Arc<Roster>, ByMembers>,
}

impl Rosters {
    pub(crate) fn new() -> Self {
        Self {
            cache: Cache::with_weighter(ROSTERS, CAPACITY, ByMembers),
        }
    }

    /// The roster of `conversation` at exactly `version`, if held.
    pub(crate) fn at(&self, conversation: i64, version: i64) -> Option<Arc<Roster>> {
        self.cache
            .get(&conversation)
            .filter(|roster| roster.version == version)
    }

    /// Keeps a roster read from the database; an older one never replaces a newer.
    pub(crate) fn keep(&self, conversation: i64, roster: Arc<Roster>) {
        if self
            .cache
            .get(&conversation)
            .is_none_or(|held| held.version < roster.version)
        {
            self.cache.insert(conversation, roster);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roster(version: i64) -> Arc<Roster> {
        Arc::new(Roster {
            version,
            members: vec![Member {
                user: UserId(1),
                name: Arc::new(Name {
                    username: "ada".into(),
                    display_name: "Ada".into(),
                }),
                role: Role::Owner,
                last_read_seq: version,
            }],
        })
    }

    #[test]
    fn a_roster_serves_its_own_version_only() {
        let rosters = Rosters::new();
        rosters.keep(7, roster(3));
        assert_eq!(rosters.at(7, 3).map(|r| r.version), Some(3));
        assert!(rosters.at(7, 4).is_none());
        assert!(rosters.at(8, 3).is_none());
    }

    #[test]
    fn an_older_roster_never_replaces_a_newer() {
        let rosters = Rosters::new();
        rosters.keep(7, roster(5));
        rosters.keep(7, roster(4));
        assert!(rosters.at(7, 4).is_none());
        assert!(rosters.at(7, 5).is_some());
        rosters.keep(7, roster(6));
        assert!(rosters.at(7, 6).is_some());
    }
}
