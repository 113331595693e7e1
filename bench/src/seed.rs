//! The data set. A [`Plan`] is drawn from a fixed random seed (same scale, same data), then
//! inserted with multi-row INSERTs in large transactions on the chat's own write pool, after
//! `Chat::start` has applied the real migrations.
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
use sqlx::any::AnyArguments;
use sqlx::{Any, AnyPool};

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
        .register(RegisterRequest {
            username: FOCUS_USERNAME.to_owned(),
            display_name: "Focus User".to_owned(),
            password: FOCUS_PASSWORD.to_owned(),
            email: None,
        })
        .await
        .context("registering the focus user (is the database fresh?)")?;
    // The plan numbers the other users 2..=users.
    ensure!(focus.id.0 == 1, "the database already had users");
    let plan = Plan::new(scale, 1, chrono::Utc::now().timestamp_millis())?;
    let rows = plan.insert(&chat.db().write).await?;
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

type Query<'q> = sqlx::query::Query<'q, Any, AnyArguments<'q>>;

/// Rows per INSERT: a few hundred amortise parsing and the hop to SQLite's worker thread and
/// stay far below SQLite's 32,766 parameters.
const ROWS_PER_INSERT: usize = 400;
/// INSERTs per transaction: one durable commit per 40,000 rows, and the WAL is checkpointed
/// between transactions instead of growing to the size of the database.
const INSERTS_PER_TX: usize = 100;

/// Inserts `rows` into `head` ("INSERT INTO t (a, b)") with `columns` placeholders per row.
async fn bulk<T>(
    pool: &AnyPool,
    head: &str,
    columns: usize,
    rows: impl IntoIterator<Item = T>,
    bind: impl for<'q> Fn(Query<'q>, T) -> Query<'q>,
) -> Result<u64> {
    let sql = |n: usize| {
        let row = format!("({})", vec!["?"; columns].join(", "));
        format!("{head} VALUES {}", vec![row; n].join(", "))
    };
    // The same text every time, so sqlx reuses one prepared statement.
    let full = sql(ROWS_PER_INSERT);
    let mut rows = rows.into_iter().peekable();
    let mut inserted = 0;
    let mut statements = 0;
    let mut tx = pool.begin().await?;
    while rows.peek().is_some() {
        let chunk: Vec<T> = rows.by_ref().take(ROWS_PER_INSERT).collect();
        let last;
        let text = if chunk.len() == ROWS_PER_INSERT {
            &full
        } else {
            last = sql(chunk.len());
            &last
        };
        inserted += chunk.len() as u64;
        let mut query = sqlx::query(text);
        for row in chunk {
            query = bind(query, row);
        }
        query
            .execute(&mut *tx)
            .await
            .with_context(|| format!("{head} …"))?;
        statements += 1;
        if statements % INSERTS_PER_TX == 0 {
            tx.commit().await?;
            tx = pool.begin().await?;
        }
    }
    tx.commit().await?;
    Ok(inserted)
}

impl Plan {
    /// Inserts everything; returns the number of rows.
    pub async fn insert(&self, pool: &AnyPool) -> Result<u64> {
        // Index pages are updated in random order (messages arrive in time order, the indexes
        // are by conversation): a large page cache while seeding saves re-reading them.
        sqlx::query("PRAGMA cache_size = -262144")
            .execute(pool)
            .await?;
        let mut rows = 0;
        let mut names = StdRng::seed_from_u64(SEED + 1);
        let users = (2..=self.users).map(|id| {
            let display = format!(
                "{} {}",
                FIRST[names.gen_range(0..FIRST.len())],
                LAST[names.gen_range(0..LAST.len())]
            );
            (id, display)
        });
        let created = self.now - 400 * DAY_MS;
        rows += bulk(
            pool,
            "INSERT INTO users (id, username, username_key, display_name, display_name_key, \
             password_hash, created_at)",
            7,
            users,
            |q, (id, display)| {
                let username = format!("user{id:05}");
                q.bind(i64::from(id))
                    .bind(username.clone())
                    .bind(username)
                    .bind(display.clone())
                    .bind(display.to_lowercase())
                    .bind("seeded: cannot sign in")
                    .bind(created)
            },
        )
        .await?;
        eprintln!("  users: {}", self.users);

        let mut bodies = StdRng::seed_from_u64(SEED + 2);
        let posts = self.posts.iter().enumerate().map(|(i, p)| {
            let body = sentence(&mut bodies, 10..=60);
            (i as i64 + 1, p.author, p.title.clone(), body, p.created_at)
        });
        rows += bulk(
            pool,
            "INSERT INTO posts (id, author_id, title, title_key, body, created_at)",
            6,
            posts,
            |q, (id, author, title, body, at)| {
                q.bind(id)
                    .bind(i64::from(author))
                    .bind(title.clone())
                    .bind(title.to_lowercase())
                    .bind(body)
                    .bind(at)
            },
        )
        .await?;

        let conversations = self.conversations.iter().enumerate().map(|(i, c)| {
            let direct_key = (c.kind == Kind::Direct).then(|| {
                let (a, b) = (c.members[0], c.members[1]);
                format!("{}:{}", a.min(b), a.max(b))
            });
            let asker = c.post.map(|_| i64::from(c.members[0]));
            (i as i64 + 1, c, direct_key, asker)
        });
        rows += bulk(
            pool,
            "INSERT INTO conversations (id, kind, title, title_key, post_id, asker_id, \
             direct_key, created_by, last_seq, version, created_at, updated_at)",
            12,
            conversations,
            |q, (id, c, direct_key, asker)| {
                q.bind(id)
                    .bind(c.kind.as_str())
                    .bind(c.title.clone())
                    .bind(c.title.as_deref().map(str::to_lowercase))
                    .bind(c.post.map(i64::from))
                    .bind(asker)
                    .bind(direct_key)
                    .bind(i64::from(c.members[0]))
                    .bind(i64::from(c.last_seq))
                    // The "created" change, then one per message.
                    .bind(i64::from(c.last_seq) + 1)
                    .bind(c.created_at)
                    .bind(c.updated_at)
            },
        )
        .await?;
        eprintln!("  conversations: {}", self.conversations.len());

        let participants = self.conversations.iter().enumerate().flat_map(|(i, c)| {
            c.members
                .iter()
                .zip(&c.read)
                .enumerate()
                .map(move |(j, (&user, &read))| {
                    let role = if c.kind == Kind::Group && j == 0 {
                        "owner"
                    } else {
                        "member"
                    };
                    (i as i64 + 1, user, role, read, c.created_at)
                })
        });
        rows += bulk(
            pool,
            "INSERT INTO participants (conversation_id, user_id, role, last_read_seq, joined_at)",
            5,
            participants,
            |q, (id, user, role, read, at)| {
                q.bind(id)
                    .bind(i64::from(user))
                    .bind(role)
                    .bind(i64::from(read))
                    .bind(at)
            },
        )
        .await?;

        let messages = self.messages.iter().enumerate().map(|(i, m)| {
            let c = &self.conversations[m.conversation as usize];
            let sender = c.members[usize::from(m.sender)];
            (i as i64 + 1, m, sender, sentence(&mut bodies, 2..=30))
        });
        rows += bulk(
            pool,
            "INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, body, created_at)",
            7,
            messages,
            |q, (id, m, sender, body)| {
                q.bind(id)
                    .bind(i64::from(m.conversation) + 1)
                    .bind(i64::from(m.seq))
                    .bind(i64::from(sender))
                    // Clients send an idempotency key with every message.
                    .bind(format!("seed-{id}"))
                    .bind(body)
                    .bind(m.at)
            },
        )
        .await?;
        eprintln!("  messages: {}", self.messages.len());

        let created = self.conversations.iter().enumerate().map(|(i, c)| {
            let creator = Some(i64::from(c.members[0]));
            (
                i as i64 + 1,
                1,
                "created",
                None,
                creator,
                None,
                c.created_at,
            )
        });
        let sent = self.messages.iter().enumerate().map(|(i, m)| {
            let seq = i64::from(m.seq);
            let id = Some(i as i64 + 1);
            let conversation = i64::from(m.conversation) + 1;
            (
                conversation,
                seq + 1,
                "message_new",
                id,
                None,
                Some(seq),
                m.at,
            )
        });
        rows += bulk(
            pool,
            "INSERT INTO changes (conversation_id, version, kind, message_id, user_id, seq, \
             created_at)",
            7,
            created.chain(sent),
            |q, (id, version, kind, message, user, seq, at)| {
                q.bind(id)
                    .bind(version)
                    .bind(kind)
                    .bind(message)
                    .bind(user)
                    .bind(seq)
                    .bind(at)
            },
        )
        .await?;

        // Measure with the server's own settings and a clean WAL, as a long-running server
        // would have after its checkpoints.
        sqlx::query("PRAGMA cache_size = -2000")
            .execute(pool)
            .await?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(pool)
            .await?;
        Ok(rows)
    }
}

fn sentence(rng: &mut StdRng, words: std::ops::RangeInclusive<usize>) -> String {
    let n = rng.gen_range(words);
    let mut text = String::with_capacity(n * 7);
    for i in 0..n {
        if i > 0 {
            text.push(' ');
        }
        text.push_str(WORDS[rng.gen_range(0..WORDS.len())]);
    }
    text
}

const FIRST: &[&str] = &[
    "Alice", "Amina", "Antoine", "Bruno", "Camille", "Chloé", "David", "Elena", "Emma", "Farid",
    "Gabriel", "Hugo", "Inès", "Jules", "Karim", "Léa", "Lucas", "Manon", "Marc", "Marie",
    "Martin", "Mathis", "Nadia", "Nina", "Noah", "Olivia", "Paul", "Quentin", "Rose", "Sami",
    "Sarah", "Sofia", "Théo", "Thomas", "Victor", "Yasmine", "Zoé", "Ana", "Ben", "Irene",
];

const LAST: &[&str] = &[
    "Bernard",
    "Bonnet",
    "Chevalier",
    "Dubois",
    "Dupont",
    "Durand",
    "Faure",
    "Fontaine",
    "Garcia",
    "Girard",
    "Guerin",
    "Lambert",
    "Laurent",
    "Lefebvre",
    "Leroy",
    "Martin",
    "Mercier",
    "Michel",
    "Moreau",
    "Morel",
    "Nguyen",
    "Petit",
    "Richard",
    "Robert",
    "Roux",
    "Simon",
    "Thomas",
    "Vincent",
    "Silva",
    "Rossi",
    "Novak",
    "Kowalski",
    "Haddad",
    "Mensah",
    "Okafor",
    "Tanaka",
    "Kim",
    "Singh",
    "Costa",
    "Weber",
];

const TOPICS: &[&str] = &[
    "Class of 2009",
    "Class of 2014",
    "Data science",
    "Product managers",
    "Founders",
    "Job board",
    "Mentoring",
    "Finance",
    "Design",
    "Rowing club",
    "Climate tech",
    "Consulting",
    "Health care",
    "Law",
    "PhD students",
    "Relocation",
];

const CITIES: &[&str] = &[
    "Paris",
    "Lyon",
    "London",
    "Berlin",
    "Montréal",
    "Dakar",
    "Singapore",
    "Boston",
    "Madrid",
    "Milan",
    "Nairobi",
    "Tokyo",
    "Toronto",
    "Geneva",
    "Lisbon",
    "remote",
];

const WORDS: &[&str] = &[
    "hello",
    "thanks",
    "the",
    "a",
    "meeting",
    "tomorrow",
    "I",
    "you",
    "we",
    "can",
    "could",
    "help",
    "with",
    "your",
    "question",
    "about",
    "job",
    "offer",
    "interview",
    "next",
    "week",
    "call",
    "me",
    "when",
    "free",
    "sounds",
    "good",
    "great",
    "idea",
    "let's",
    "talk",
    "later",
    "sent",
    "the",
    "slides",
    "link",
    "here",
    "maybe",
    "Friday",
    "coffee",
    "in",
    "town",
    "and",
    "it",
    "was",
    "really",
    "useful",
    "see",
    "you",
    "soon",
    "👍",
    "ok",
    "sure",
    "why",
    "not",
    "project",
    "team",
    "hiring",
    "remote",
    "salary",
    "advice",
    "CV",
    "review",
    "deadline",
];

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;
    use sqlx::Row;

    async fn count(pool: &AnyPool, sql: &str) -> i64 {
        sqlx::query(sql)
            .fetch_one(pool)
            .await
            .unwrap()
            .try_get(0)
            .unwrap()
    }

    #[tokio::test]
    async fn seeded_data_keeps_the_invariants_the_server_relies_on() {
        let dir = tempfile::tempdir().unwrap();
        let chat = Chat::start(&chat::Settings {
            database_url: format!("sqlite://{}/bench.db?mode=rwc", dir.path().display()),
            jwt_secret: SecretString::from("x".repeat(48)),
            token_ttl: Duration::from_secs(3600),
            cookie_secure: false,
            trust_forwarded_for: false,
            max_message_chars: 4000,
            max_group_size: 1000,
            presence_grace: Duration::from_secs(3),
            typing_ttl: Duration::from_secs(6),
        })
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
             OR c.version <> (SELECT max(version) FROM changes h WHERE h.conversation_id = c.id)";
        assert_eq!(count(pool, broken).await, 0);
        let over_read = "SELECT count(*) FROM participants p JOIN conversations c \
             ON c.id = p.conversation_id WHERE p.last_read_seq > c.last_seq";
        assert_eq!(count(pool, over_read).await, 0);
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
        // A new message continues the numbering.
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
    }
}
