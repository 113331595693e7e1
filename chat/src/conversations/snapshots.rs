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

use std::io::Write as _;
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
    /// The same as the list's JSON, for [`Rendered::write`].
    pub rendered: Rendered,
}

/// What a conversation shows its viewer alone: their unread count and their mute.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct Own {
    pub unread_count: i64,
    pub muted: bool,
    pub muted_until: Option<String>,
}

impl Own {
    /// The viewer's values, with their stored mute as it stands at `now`.
    pub(crate) fn new(unread_count: i64, muted_until: Option<i64>, now: i64) -> Self {
        let (muted, muted_until) = super::mute_now(muted_until, now);
        Self {
            unread_count,
            muted,
            muted_until,
        }
    }
}

/// A conversation as the list's JSON, cut where each viewer's own values go: everyone's
/// presence now, and the viewer's unread count and mute ([`Own`]). Written out, a page costs
/// copies; serialized anew, hundreds of participants' names cost escaping and allocation on
/// every call, a fifth of a served list's time (BENCHMARKS.md).
#[derive(Debug, Default)]
pub(crate) struct Rendered {
    /// The JSON without the viewer's values.
    text: Box<str>,
    /// Where they go in `text`: each member's `online`, in member order, then `unread_count`
    /// with the mute that follows it.
    holes: Box<[usize]>,
}

impl Rendered {
    const ONLINE: &str = ",\"online\":";
    const UNREAD: &str = ",\"unread_count\":";
    /// What [`Own::default`] serializes to after `UNREAD`.
    const OWN_DEFAULT: &str = "0,\"muted\":false,\"muted_until\":null";

    /// Cuts `conversation`, serialized with everyone offline, nothing unread and no mute. In
    /// serde_json's output a quote inside a string is always escaped, so `,"online":` (a comma,
    /// then an unescaped quote) is a key wherever it is found, never a piece of a name; and
    /// only a participant's user has that key, only a conversation `unread_count`.
    pub(crate) fn new(conversation: &protocol::Conversation) -> Result<Self, &'static str> {
        let json = serde_json::to_string(conversation).map_err(|_| "not serializable")?;
        let mut text = String::with_capacity(json.len());
        let mut holes = Vec::with_capacity(conversation.participants.len() + 1);
        let mut rest = json.as_str();
        for _ in &conversation.participants {
            rest = cut(rest, Self::ONLINE, "false", '}', &mut text, &mut holes)?;
        }
        rest = cut(
            rest,
            Self::UNREAD,
            Self::OWN_DEFAULT,
            ',',
            &mut text,
            &mut holes,
        )?;
        text.push_str(rest);
        Ok(Self {
            text: text.into(),
            holes: holes.into(),
        })
    }

    /// The conversation as the viewer sees it, appended to `out`: `online` in member order.
    pub(crate) fn write(
        &self,
        out: &mut Vec<u8>,
        online: impl IntoIterator<Item = bool>,
        own: &Own,
    ) {
        let text = self.text.as_bytes();
        let Some((&last, members)) = self.holes.split_last() else {
            return;
        };
        let mut from = 0;
        for (&at, online) in members.iter().zip(online) {
            out.extend_from_slice(&text[from..at]);
            out.extend_from_slice(if online { b"true" } else { b"false" });
            from = at;
        }
        out.extend_from_slice(&text[from..last]);
        // Writing to a Vec never fails.
        let _ = write!(
            out,
            "{},\"muted\":{},\"muted_until\":",
            own.unread_count, own.muted
        );
        let _ = serde_json::to_writer(&mut *out, &own.muted_until);
        out.extend_from_slice(&text[last..]);
    }

    pub(crate) fn len(&self) -> usize {
        self.text.len()
    }
}

/// Bytes held at most, roughly: 16 MB however long the bodies of the last messages are.
const CAPACITY: u64 = 16 << 20;
/// Snapshots held, for quick_cache's sizing (a guess at the mean: most conversations are
/// small).
const SNAPSHOTS: usize = 30_000;

/// A snapshot's size, roughly: its texts at their length, 32 bytes a participant (names are
/// shared with `accounts::Names`), 200 for the rest, and its JSON.
#[derive(Clone)]
struct BySize;

impl Weighter<i64, Arc<Snapshot>> for BySize {
    fn weight(&self, _: &i64, snapshot: &Arc<Snapshot>) -> u64 {
        let text = snapshot.title.as_ref().map_or(0, String::len)
            + snapshot.post.as_ref().map_or(0, |post| post.title.len())
            + snapshot.last_message.as_ref().map_or(0, |message| {
                message.body.len() + message.client_id.as_ref().map_or(0, String::len)
            });
        200 + 32 * snapshot.members.len() as u64 + (text + snapshot.rendered.len()) as u64
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

/// Moves `rest` up to `key` (found followed by `value` and `then`) into `text`, marks the
/// place of `value` as a hole, and returns what follows `value`.
fn cut<'a>(
    rest: &'a str,
    key: &str,
    value: &str,
    then: char,
    text: &mut String,
    holes: &mut Vec<usize>,
) -> Result<&'a str, &'static str> {
    let at = rest
        .find(&format!("{key}{value}{then}"))
        .ok_or("a viewer's value not found")?;
    text.push_str(&rest[..at + key.len()]);
    holes.push(text.len());
    Ok(&rest[at + key.len() + value.len()..])
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
            rendered: Rendered::default(),
        })
    }

    /// Names, titles and bodies that look like the keys `Rendered` cuts at.
    fn tricky() -> protocol::Conversation {
        use protocol::{
            Conversation, ConversationId, Message, MessageId, Participant, PostRef, User,
        };
        let names = [
            r#"x","online":false},{"a"#,
            r#",\"online\":false}"#,
            r#"\"#,
            r#","unread_count":0,"#,
            r#","unread_count":0,"muted":false,"muted_until":null,"#,
        ];
        let participants = names
            .iter()
            .enumerate()
            .map(|(i, name)| Participant {
                user: User {
                    id: UserId(i as i64 + 1),
                    username: format!("u{i}"),
                    display_name: (*name).to_owned(),
                    online: false,
                },
                role: Role::Member,
                last_read_seq: 3,
            })
            .collect();
        Conversation {
            id: ConversationId(9),
            kind: ConversationKind::PostLinked,
            title: Some(r#","unread_count":0,"online":false}"#.into()),
            post: Some(PostRef {
                id: protocol::PostId(4),
                title: r#"{"online":false}"#.into(),
            }),
            participants,
            last_message: Some(Message {
                id: MessageId(5),
                conversation_id: ConversationId(9),
                sender_id: UserId(1),
                client_id: Some(r#","unread_count":0,"#.into()),
                body: "line\n\t,\"online\":false} ✓".into(),
                seq: 3,
                created_at: "2026-12-03T00:00:00.000Z".into(),
                edited_at: None,
                deleted: false,
            }),
            last_seq: 3,
            unread_count: 0,
            muted: false,
            muted_until: None,
            updated_at: "2026-12-03T00:00:00.000Z".into(),
            version: 12,
        }
    }

    #[test]
    fn rendered_gives_the_bytes_serde_gives_for_every_viewer() {
        let plain = tricky();
        let rendered = Rendered::new(&plain).unwrap();
        let muted_until = Some("2027-01-15T08:00:00.000Z".to_owned());
        for (online, unread_count, muted, muted_until) in [
            ([false, false, false, false, false], 0, false, None),
            ([true, false, true, true, false], 7, true, None),
            ([true, true, true, true, true], -1, true, muted_until),
        ] {
            let own = Own {
                unread_count,
                muted,
                muted_until,
            };
            let mut seen = plain.clone();
            for (participant, online) in seen.participants.iter_mut().zip(online) {
                participant.user.online = online;
            }
            seen.unread_count = own.unread_count;
            seen.muted = own.muted;
            seen.muted_until.clone_from(&own.muted_until);
            let mut out = Vec::new();
            rendered.write(&mut out, online, &own);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&seen).unwrap()
            );
        }
    }

    #[test]
    fn a_conversation_without_participants_renders_too() {
        let mut plain = tricky();
        plain.participants.clear();
        plain.unread_count = 0;
        let rendered = Rendered::new(&plain).unwrap();
        let mut out = Vec::new();
        rendered.write(&mut out, [], &Own::default());
        assert_eq!(out, serde_json::to_vec(&plain).unwrap());
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
