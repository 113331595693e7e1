//! Conversations as they were at a version, kept in memory for the list.
//!
//! Every change to a conversation (a message sent, edited or deleted, a read, a join, a
//! departure, a role, a rename) bumps its `version` in the transaction that makes it, so what a
//! conversation shows everyone at one version never changes: its title, its last message, its
//! participants with their read positions. A page of the list reads each conversation's
//! version with its place and unread count (those are the viewer's own), and asks SQL for the
//! rest only where no snapshot at that version is held. A page of the benchmark's database
//! names 600 participants, 268 of them in one group: built in SQL for every call, they and the
//! last messages were most of the list's time (BENCHMARKS.md). Nothing goes stale and several
//! nodes need no invalidation: the database says which version is current. Bounded by size:
//! the least used are dropped, and read again when next listed.

use std::sync::Arc;

use protocol::{ConversationKind, Message, PostRef, Role, UserId};
use quick_cache::sync::Cache;
use quick_cache::Weighter;

use crate::accounts::Name;

/// One participant as a snapshot holds them, names included (they never change: see
/// `accounts::names`), so a page read from memory looks nobody up.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub user: UserId,
    pub name: Arc<Name>,
    pub role: Role,
    pub last_read_seq: i64,
}

/// What a conversation shows everyone at one version.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub version: i64,
    pub kind: ConversationKind,
    pub title: Option<String>,
    pub post: Option<PostRef>,
    pub last_seq: i64,
    pub updated_at: i64,
    pub last_message: Option<Message>,
    /// In the order the contract lists them (by joining time).
    pub members: Vec<Member>,
}

/// Bytes held at most, roughly: 16 MB however long the bodies of the last messages are.
const CAPACITY: u64 = 16 << 20;
/// Snapshots held, for quick_cache's sizing (a guess at the mean: most conversations are
/// small).
const SNAPSHOTS: usize = 30_000;

/// A snapshot's size, roughly: its texts at their length, 32 bytes a participant (names are
/// shared with `accounts::Names`), 200 for the rest.
#[derive(Clone)]
struct BySize;

impl Weighter<i64, Arc<Snapshot>> for BySize {
    fn weight(&self, _: &i64, snapshot: &Arc<Snapshot>) -> u64 {
        let text = snapshot.title.as_ref().map_or(0, String::len)
            + snapshot.post.as_ref().map_or(0, |post| post.title.len())
            + snapshot.last_message.as_ref().map_or(0, |message| {
                message.body.len() + message.client_id.as_ref().map_or(0, String::len)
            });
        200 + 32 * snapshot.members.len() as u64 + text as u64
    }
}

pub(crate) struct Snapshots {
    cache: Cache<i64, Arc<Snapshot>, BySize>,
}

impl Snapshots {
    pub(crate) fn new() -> Self {
        Self {
            cache: Cache::with_weighter(SNAPSHOTS, CAPACITY, BySize),
        }
    }

    /// The snapshot of `conversation` at exactly `version`, if held.
    pub(crate) fn at(&self, conversation: i64, version: i64) -> Option<Arc<Snapshot>> {
        self.cache
            .get(&conversation)
            .filter(|snapshot| snapshot.version == version)
    }

    /// Keeps a snapshot read from the database; an older one never replaces a newer.
    pub(crate) fn keep(&self, conversation: i64, snapshot: Arc<Snapshot>) {
        if self
            .cache
            .get(&conversation)
            .is_none_or(|held| held.version < snapshot.version)
        {
            self.cache.insert(conversation, snapshot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(version: i64) -> Arc<Snapshot> {
        Arc::new(Snapshot {
            version,
            kind: ConversationKind::Group,
            title: Some("g".into()),
            post: None,
            last_seq: 0,
            updated_at: 0,
            last_message: None,
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
    fn a_snapshot_serves_its_own_version_only() {
        let snapshots = Snapshots::new();
        snapshots.keep(7, snapshot(3));
        assert_eq!(snapshots.at(7, 3).map(|s| s.version), Some(3));
        assert!(snapshots.at(7, 4).is_none());
        assert!(snapshots.at(8, 3).is_none());
    }

    #[test]
    fn an_older_snapshot_never_replaces_a_newer() {
        let snapshots = Snapshots::new();
        snapshots.keep(7, snapshot(5));
        snapshots.keep(7, snapshot(4));
        assert!(snapshots.at(7, 4).is_none());
        assert!(snapshots.at(7, 5).is_some());
        snapshots.keep(7, snapshot(6));
        assert!(snapshots.at(7, 6).is_some());
    }
}
