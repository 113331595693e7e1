//! Multi-row INSERTs in large transactions, on the chat's own write connection.

use anyhow::{Context, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::any::AnyArguments;
use sqlx::{Any, AnyConnection, Connection};

use super::words::{FIRST, LAST, WORDS};
use super::{Kind, Plan, DAY_MS, SEED};

type Query<'q> = sqlx::query::Query<'q, Any, AnyArguments<'q>>;

/// Rows per INSERT: a few hundred amortise parsing and the hop to SQLite's worker thread and
/// stay far below SQLite's 32,766 parameters.
const ROWS_PER_INSERT: usize = 400;
/// INSERTs per transaction: one durable commit per 40,000 rows, and the WAL is checkpointed
/// between transactions instead of growing to the size of the database.
const INSERTS_PER_TX: usize = 100;

/// Inserts `rows` into `head` ("INSERT INTO t (a, b)") with `columns` placeholders per row.
async fn bulk<T>(
    db: &mut AnyConnection,
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
    let mut tx = db.begin().await?;
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
            tx = db.begin().await?;
        }
    }
    tx.commit().await?;
    Ok(inserted)
}

impl Plan {
    /// Inserts everything; returns the number of rows.
    pub async fn insert(&self, db: &mut AnyConnection) -> Result<u64> {
        // Index pages are updated in random order (messages arrive in time order, the indexes
        // are by conversation): a large page cache while seeding saves re-reading them.
        sqlx::query("PRAGMA cache_size = -262144")
            .execute(&mut *db)
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
            db,
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
            db,
            "INSERT INTO posts (id, author_id, title, title_key, body, search_key, created_at)",
            7,
            posts,
            |q, (id, author, title, body, at)| {
                // As the server keeps them (`chat::posts`): searched by title and body.
                let search_key = format!("{}\n{}", title.to_lowercase(), body.to_lowercase());
                q.bind(id)
                    .bind(i64::from(author))
                    .bind(title.clone())
                    .bind(title.to_lowercase())
                    .bind(body)
                    .bind(search_key)
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
            db,
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
            db,
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
            db,
            "INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, body, created_at, \
             version)",
            8,
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
                    // After the "created" change, as in the change record below.
                    .bind(i64::from(m.seq) + 1)
            },
        )
        .await?;
        eprintln!("  messages: {}", self.messages.len());

        // Each conversation's "created" change; a message is its own change (migration 0008).
        let created = self
            .conversations
            .iter()
            .enumerate()
            .map(|(i, c)| (i as i64 + 1, i64::from(c.members[0]), c.created_at));
        rows += bulk(
            db,
            "INSERT INTO changes (conversation_id, version, last_seq, kind, user_id, created_at)",
            6,
            created,
            |q, (id, creator, at)| {
                q.bind(id)
                    .bind(1)
                    .bind(0)
                    .bind("created")
                    .bind(creator)
                    .bind(at)
            },
        )
        .await?;

        // Measure with the server's own settings and a clean WAL, as a long-running server
        // would have after its checkpoints.
        sqlx::query("PRAGMA cache_size = -2000")
            .execute(&mut *db)
            .await?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut *db)
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
