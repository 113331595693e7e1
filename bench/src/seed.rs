//! The data set. A [`Plan`] is drawn from a fixed random seed (same scale, same data), then
//! inserted with multi-row INSERTs in large transactions on the chat's own write connection,
//! after `Chat::start` has applied the real migrations.
//!
//! Shape: directs (most conversations), groups of 3 to 300, and post-linked conversations;
//! message counts per conversation are heavy-tailed (a few very busy groups, many quiet
//! directs); messages are written in time order, so one conversation's messages are spread
//! through the table as they are in a real database. The focus user, registered through
//! `Chat::register` so it can sign in, takes part in `member_of` conversations and has unread
//! messages in about a quarter of them.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use chat::Chat;
use protocol::{RegisterRequest, UserId};
use rand::rngs::StdRng;
use rand::seq::index;
use rand::{Rng, SeedableRng};

/// Bulk insertion of a plan.
mod insert;
/// Names, titles and words the data is made of.
mod words;

use words::{CITIES, TOPICS};

/// Same seed, same data: runs on different machines compare like with like.
const SEED: u64 = 0x0C0F_AB00;
const DAY_MS: i64 = 24 * 3600 * 1000;

pub const FOCUS_USERNAME: &str = "focus";
/// Only ever used against the benchmark's own throwaway database.
pub const FOCUS_PASSWORD: &str = "bench-focus-password";

/// How much data to make.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub users: u32,
    pub conversations: u32,
    pub messages: u32,
    /// Conversations the focus user takes part in.
    pub member_of: u32,
    pub max_group_size: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Direct,
    Group,
    PostLinked,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Group => "group",
            Self::PostLinked => "post_linked",
        }
    }
}

struct Post {
    author: u32,
    title: String,
    created_at: i64,
}

struct Conversation {
    kind: Kind,
    title: Option<String>,
    /// 1-based post id.
    post: Option<u32>,
    /// The creator comes first (the owner, for groups).
    members: Vec<u32>,
    /// Each member's `last_read_seq`, filled once messages are placed.
    read: Vec<u32>,
    created_at: i64,
    last_seq: u32,
    updated_at: i64,
}

struct Message {
    /// 0-based index into `Plan::conversations`.
    conversation: u32,
    /// Index into that conversation's `members`.
    sender: u16,
    seq: u32,
    at: i64,
}

/// Everything to insert, in memory (about 40 MB at 1M messages; bodies are made on the fly).
pub struct Plan {
    users: u32,
    now: i64,
    posts: Vec<Post>,
    conversations: Vec<Conversation>,
    /// In time order; a message's id is its index + 1.
    messages: Vec<Message>,
}

/// What seeding did.
pub struct Seeded {
    pub focus: UserId,
    pub elapsed: Duration,
    pub rows: u64,
}

/// Registers the focus user, then makes and inserts the data set. Needs a fresh database.
pub async fn seed(chat: &Chat, scale: Scale) -> Result<Seeded> {
    let started = Instant::now();
    let (focus, _session) = chat
        .register(
            RegisterRequest {
                username: FOCUS_USERNAME.to_owned(),
                display_name: "Focus User".to_owned(),
                password: FOCUS_PASSWORD.to_owned(),
                email: None,
            },
            None,
        )
        .await
        .context("registering the focus user (is the database fresh?)")?;
    // The plan numbers the other users 2..=users.
    ensure!(focus.id.0 == 1, "the database already had users");
    let plan = Plan::new(scale, 1, chrono::Utc::now().timestamp_millis())?;
    let rows = plan.insert(&mut *chat.db().write.acquire().await?).await?;
    Ok(Seeded {
        focus: focus.id,
        elapsed: started.elapsed(),
        rows: rows + 1,
    })
}

impl Plan {
    pub fn new(scale: Scale, focus: u32, now: i64) -> Result<Self> {
        ensure!(scale.users >= 3, "--users must be at least 3");
        ensure!(
            scale.member_of <= scale.conversations,
            "--member-of cannot exceed --conversations"
        );
        ensure!(scale.max_group_size >= 3, "groups must allow 3 people");
        let mut rng = StdRng::seed_from_u64(SEED);
        let start = now - 365 * DAY_MS;
        let n = scale.conversations as usize;
        let with_focus: HashSet<usize> = index::sample(&mut rng, n, scale.member_of as usize)
            .into_iter()
            .collect();
        let mut draw = Draw {
            rng: &mut rng,
            users: scale.users,
            max_group: scale.max_group_size,
            directs: HashSet::new(),
        };
        let mut posts = Vec::new();
        let mut conversations = Vec::with_capacity(n);
        for i in 0..n {
            let focus = with_focus.contains(&i).then_some(focus);
            let created_at = draw.rng.gen_range(start..now - DAY_MS);
            let direct_share = if focus.is_some() { 0.6 } else { 0.7 };
            let roll: f64 = draw.rng.gen();
            let direct = if roll < direct_share {
                draw.direct(focus)
            } else {
                None
            };
            let (kind, title, post, members) = match direct {
                Some(members) => (Kind::Direct, None, None, members),
                None if roll < 0.95 => {
                    let title = format!("{} {}", draw.pick(TOPICS), draw.pick(CITIES));
                    (Kind::Group, Some(title), None, draw.group(focus))
                }
                None => {
                    let (asker, author) = draw.post_pair(focus);
                    posts.push(Post {
                        author,
                        title: format!("Looking for advice on {}", draw.pick(TOPICS)),
                        created_at: created_at - draw.rng.gen_range(0..7 * DAY_MS),
                    });
                    let post = u32::try_from(posts.len())?;
                    (Kind::PostLinked, None, Some(post), vec![asker, author])
                }
            };
            conversations.push(Conversation {
                kind,
                title,
                post,
                read: Vec::new(),
                members,
                created_at,
                last_seq: 0,
                updated_at: created_at,
            });
        }
        let messages = place_messages(&mut rng, &mut conversations, scale.messages, focus, now)?;
        Ok(Self {
            users: scale.users,
            now,
            posts,
            conversations,
            messages,
        })
    }
}

/// Random choices that need the scale.
struct Draw<'a> {
    rng: &'a mut StdRng,
    users: u32,
    max_group: u32,
    /// (low, high) pairs that already have a direct conversation.
    directs: HashSet<(u32, u32)>,
}

impl Draw<'_> {
    fn pick(&mut self, list: &[&'static str]) -> &'static str {
        list[self.rng.gen_range(0..list.len())]
    }

    /// Anyone but the focus user (who is only where the plan puts them) and `not`.
    fn other(&mut self, not: u32) -> u32 {
        loop {
            let u = self.rng.gen_range(2..=self.users);
            if u != not {
                return u;
            }
        }
    }

    /// A pair without a direct conversation yet; `None` once pairs are hard to find.
    fn direct(&mut self, focus: Option<u32>) -> Option<Vec<u32>> {
        for _ in 0..100 {
            let a = match focus {
                Some(f) => f,
                None => self.rng.gen_range(2..=self.users),
            };
            let b = self.other(a);
            if self.directs.insert((a.min(b), a.max(b))) {
                return Some(vec![a, b]);
            }
        }
        None
    }

    fn group(&mut self, focus: Option<u32>) -> Vec<u32> {
        let roll: f64 = self.rng.gen();
        let size = if roll < 0.8 {
            self.rng.gen_range(3..=10)
        } else if roll < 0.98 {
            self.rng.gen_range(11..=50)
        } else {
            self.rng.gen_range(51..=300)
        };
        let size = size.min(self.max_group).min(self.users - 1);
        let others = size - u32::from(focus.is_some());
        let mut members: Vec<u32> =
            index::sample(self.rng, (self.users - 1) as usize, others as usize)
                .into_iter()
                .map(|i| i as u32 + 2)
                .collect();
        if let Some(f) = focus {
            // The focus user created some of their groups and was added to the others.
            if self.rng.gen_bool(0.3) {
                members.insert(0, f);
            } else {
                members.push(f);
            }
        }
        members
    }

    /// (asker, post author).
    fn post_pair(&mut self, focus: Option<u32>) -> (u32, u32) {
        match focus {
            Some(f) if self.rng.gen_bool(0.5) => (f, self.other(f)),
            Some(f) => (self.other(f), f),
            None => {
                let asker = self.rng.gen_range(2..=self.users);
                (asker, self.other(asker))
            }
        }
    }
}

/// Spreads messages over conversations with heavy-tailed weights (Pareto, α = 1.5; groups
/// twice as busy), orders them by time, numbers them per conversation and sets read positions.
fn place_messages(
    rng: &mut StdRng,
    conversations: &mut [Conversation],
    count: u32,
    focus: u32,
    now: i64,
) -> Result<Vec<Message>> {
    let mut cumulative = Vec::with_capacity(conversations.len());
    let mut total = 0.0;
    for c in conversations.iter() {
        let busy = if c.kind == Kind::Group { 2.0 } else { 1.0 };
        total += (1.0 - rng.gen::<f64>()).powf(-1.0 / 1.5) * busy;
        cumulative.push(total);
    }
    let mut messages = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let x = rng.gen::<f64>() * total;
        let i = cumulative
            .partition_point(|&v| v <= x)
            .min(conversations.len().saturating_sub(1));
        let c = &conversations[i];
        messages.push(Message {
            conversation: u32::try_from(i)?,
            sender: u16::try_from(rng.gen_range(0..c.members.len()))?,
            seq: 0,
            at: rng.gen_range(c.created_at + 1..now),
        });
    }
    messages.sort_unstable_by_key(|m| m.at);

    let mut last_sent: Vec<Vec<u32>> = conversations
        .iter()
        .map(|c| vec![0; c.members.len()])
        .collect();
    for m in &mut messages {
        let c = &mut conversations[m.conversation as usize];
        c.last_seq += 1;
        c.updated_at = m.at;
        m.seq = c.last_seq;
        last_sent[m.conversation as usize][usize::from(m.sender)] = m.seq;
    }

    for (c, sent) in conversations.iter_mut().zip(last_sent) {
        let last = c.last_seq;
        c.read = c
            .members
            .iter()
            .zip(sent)
            .map(|(&user, sent)| {
                let seen = if user == focus {
                    if last > 0 && rng.gen_bool(0.25) {
                        last - rng.gen_range(1..=last.min(20))
                    } else {
                        last
                    }
                } else if rng.gen_bool(0.7) {
                    last
                } else {
                    rng.gen_range(0..=last)
                };
                // Sending marks read, so nobody has unread messages before their own last one.
                seen.max(sent)
            })
            .collect();
    }
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Row;

    async fn count(pool: &chat::storage::Readers, sql: &str) -> i64 {
        sqlx::query(sql)
            .fetch_one(&mut *pool.acquire().await.unwrap())
            .await
            .unwrap()
            .try_get(0)
            .unwrap()
    }

    #[tokio::test]
    async fn seeded_data_keeps_the_invariants_the_server_relies_on() {
        let dir = tempfile::tempdir().unwrap();
        let chat = Chat::start(&confab_bench::settings(&dir.path().join("bench.db")))
            .await
            .unwrap();
        let scale = Scale {
            users: 60,
            conversations: 400,
            messages: 3000,
            member_of: 40,
            max_group_size: 1000,
        };
        let focus = seed(&chat, scale).await.unwrap().focus;
        let pool = &chat.db().read;

        assert_eq!(count(pool, "SELECT count(*) FROM messages").await, 3000);
        let focus_in = format!(
            "SELECT count(*) FROM participants WHERE user_id = {}",
            focus.0
        );
        assert_eq!(count(pool, &focus_in).await, 40);
        // seq is 1..=last_seq without gaps, and version counts every change.
        let broken = "SELECT count(*) FROM conversations c WHERE c.last_seq <> \
             (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) \
             OR c.last_seq <> (SELECT coalesce(max(seq), 0) FROM messages m \
                               WHERE m.conversation_id = c.id) \
             OR c.version <> (SELECT count(*) FROM changes h WHERE h.conversation_id = c.id) \
                + c.last_seq \
             OR c.version <> (SELECT max(v) FROM (\
                 SELECT version AS v FROM changes h WHERE h.conversation_id = c.id UNION ALL \
                 SELECT version FROM messages m WHERE m.conversation_id = c.id))";
        assert_eq!(count(pool, broken).await, 0);
        let over_read = "SELECT count(*) FROM participants p JOIN conversations c \
             ON c.id = p.conversation_id WHERE p.last_read_seq > c.last_seq";
        assert_eq!(count(pool, over_read).await, 0);
        // Memberships copy their conversation's activity unless it is wide (more than 20
        // members: migration 0004), and then none does.
        let wrong_activity = "SELECT count(*) FROM participants p JOIN conversations c \
             ON c.id = p.conversation_id WHERE p.activity_at <> \
             CASE WHEN c.wide = 1 THEN 0 ELSE c.updated_at END \
             OR c.wide <> ((SELECT count(*) FROM participants q \
                            WHERE q.conversation_id = c.id) > 20)";
        assert_eq!(count(pool, wrong_activity).await, 0);
        assert!(count(pool, "SELECT count(*) FROM conversations WHERE wide = 1").await > 0);
        // The search text (migration 0006) holds every participant's names, kept by triggers.
        let stale_search = "SELECT count(*) FROM conversations c \
             LEFT JOIN conversation_search cs ON cs.conversation_id = c.id \
             WHERE cs.text IS NULL OR length(cs.text) <> length(coalesce(c.title_key, '')) + 1 \
             + coalesce((SELECT length(title_key) FROM posts WHERE id = c.post_id), 0) \
             + (SELECT coalesce(sum(length(u.display_name_key) + length(u.username_key) + 2), 0) \
                FROM participants p JOIN users u ON u.id = p.user_id \
                WHERE p.conversation_id = c.id)";
        assert_eq!(count(pool, stale_search).await, 0);
        // Posts are searched by title and body (migration 0010), as the server keeps them.
        let unsearchable = "SELECT count(*) FROM posts \
             WHERE search_key <> title_key || char(10) || lower(body)";
        assert_eq!(count(pool, unsearchable).await, 0);
        assert!(count(pool, "SELECT count(*) FROM posts").await > 0);
        let odd_directs = "SELECT count(*) FROM conversations c WHERE c.kind = 'direct' AND \
             (SELECT count(*) FROM participants p WHERE p.conversation_id = c.id) <> 2";
        assert_eq!(count(pool, odd_directs).await, 0);
        // The focus user has something unread somewhere, as the unread filter needs.
        let (page, _) = chat
            .list_conversations(
                focus,
                &chat::conversations::ListQuery {
                    unread: true,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(!page.is_empty());
        // A new message continues the numbering; its resend is answered with it.
        let id = page[0].id;
        let sent = chat
            .send_message(
                focus,
                id,
                protocol::SendMessage {
                    body: "after the seed".into(),
                    client_id: Some("t-1".into()),
                },
            )
            .await
            .unwrap();
        assert!(sent.created);
        assert_eq!(sent.message.seq, page[0].last_seq + 1);

        // Every message is its own change (migration 0008): after the last change row before
        // it, the versions up to it are messages, one seq each, as a resume counts on.
        let misplaced = "SELECT count(*) FROM messages m WHERE m.version IS NULL \
             OR m.seq IS NOT (SELECT last_seq + (m.version - version) FROM changes \
                              WHERE conversation_id = m.conversation_id AND version < m.version \
                              ORDER BY version DESC LIMIT 1)";
        assert_eq!(count(pool, misplaced).await, 0);
        let again = chat
            .send_message(
                focus,
                id,
                protocol::SendMessage {
                    body: "after the seed".into(),
                    client_id: Some("t-1".into()),
                },
            )
            .await
            .unwrap();
        assert!(!again.created);
        assert_eq!(
            (again.message.id, again.version),
            (sent.message.id, sent.version)
        );
    }
}
