//! The people and conversations a load scenario needs, made the same on every target: users,
//! direct pairs and groups, a few messages each, and a token per user.
//!
//! Confab's database is written with SQL before the server starts (registering thousands of
//! users would spend minutes in argon2 for nothing), with the same rows the services write:
//! `last_seq`, `version` and the change record consistent, and a session row behind every token,
//! which is signed with the server's key the way `chat::accounts` signs it. The Socket.IO
//! baseline is seeded through its own bench endpoints.

use anyhow::{ensure, Context, Result};
use futures::{StreamExt, TryStreamExt};
use serde_json::{json, Value};
use sqlx::{AnyConnection, Connection, QueryBuilder, Row};

use super::server::{Server, Target};

/// What to make.
#[derive(Debug, Clone, Default)]
pub struct Shape {
    pub users: usize,
    /// Pairs of user indexes.
    pub directs: Vec<(usize, usize)>,
    /// Member indexes; the first is the owner.
    pub groups: Vec<Vec<usize>>,
    /// Messages already in each conversation.
    pub messages: u32,
}

impl Shape {
    /// `pairs` direct conversations between users 2i and 2i+1.
    pub fn pairs(pairs: usize) -> Self {
        Self {
            users: pairs * 2,
            directs: (0..pairs).map(|i| (2 * i, 2 * i + 1)).collect(),
            ..Self::default()
        }
    }
}

pub struct Member {
    pub id: i64,
    pub token: String,
}

pub struct Conversation {
    pub id: i64,
    pub members: Vec<usize>,
    /// The change number a client that saw everything holds.
    pub version: i64,
}

/// What was made, with the ids the server gave.
pub struct World {
    pub users: Vec<Member>,
    pub directs: Vec<Conversation>,
    pub groups: Vec<Conversation>,
}

pub async fn make(server: &mut Server, shape: &Shape) -> Result<World> {
    match server.target {
        Target::Confab => {
            let world = seed_confab(server, shape).await?;
            server.start().await?;
            Ok(world)
        }
        Target::Socketio => {
            server.start().await?;
            seed_socketio(server, shape).await
        }
        Target::Echo => {
            server.start().await?;
            Ok(numbered(shape))
        }
    }
}

/// Ids 1, 2, 3… in shape order: what the SQL seeding writes, and all the echo needs.
fn numbered(shape: &Shape) -> World {
    let convs = |offset: usize, list: Vec<Vec<usize>>| -> Vec<Conversation> {
        list.into_iter()
            .enumerate()
            .map(|(i, members)| Conversation {
                id: (offset + i + 1) as i64,
                members,
                version: i64::from(shape.messages) + 1,
            })
            .collect()
    };
    World {
        users: (0..shape.users)
            .map(|i| Member {
                id: i as i64 + 1,
                token: String::new(),
            })
            .collect(),
        directs: convs(0, shape.directs.iter().map(|&(a, b)| vec![a, b]).collect()),
        groups: convs(shape.directs.len(), shape.groups.clone()),
    }
}

/// Rows per INSERT: well under SQLite's 32,766 bound variables.
const CHUNK: usize = 500;

async fn insert_rows<const N: usize>(
    db: &mut AnyConnection,
    head: &str,
    rows: impl Iterator<Item = [Cell; N]>,
) -> Result<()> {
    let rows: Vec<[Cell; N]> = rows.collect();
    let mut tx = db.begin().await?;
    for chunk in rows.chunks(CHUNK) {
        let mut q = QueryBuilder::new(head);
        q.push_values(chunk, |mut b, row| {
            for cell in row {
                match cell {
                    Cell::Int(v) => b.push_bind(*v),
                    Cell::Text(v) => b.push_bind(v.clone()),
                    Cell::Null => b.push_bind(None::<i64>),
                };
            }
        });
        q.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

enum Cell {
    Int(i64),
    Text(String),
    Null,
}

async fn seed_confab(server: &Server, shape: &Shape) -> Result<World> {
    let world = numbered(shape);
    let chat = chat::Chat::start(&confab_bench::settings(&server.db_path))
        .await
        .context("creating the database")?;
    let mut writer = chat.db().write.acquire().await?;
    let db = &mut *writer;
    let now = chrono::Utc::now().timestamp_millis();
    let m = i64::from(shape.messages);
    use Cell::{Int, Null, Text};
    insert_rows(
        db,
        "INSERT INTO users (id, username, username_key, display_name, display_name_key, email, \
         password_hash, created_at) ",
        world.users.iter().map(|u| {
            let name = format!("user{}", u.id);
            [
                Int(u.id),
                Text(name.clone()),
                Text(name.clone()),
                Text(format!("User {}", u.id)),
                Text(format!("user {}", u.id)),
                Null,
                // Not a password hash: these users sign in with a seeded session only.
                Text("!".into()),
                Int(now),
            ]
        }),
    )
    .await?;
    let all: Vec<(&Conversation, bool)> = world
        .directs
        .iter()
        .map(|c| (c, true))
        .chain(world.groups.iter().map(|c| (c, false)))
        .collect();
    let user_id = |i: usize| world.users[i].id;
    insert_rows(
        db,
        "INSERT INTO conversations (id, kind, title, title_key, direct_key, created_by, \
         last_seq, version, created_at, updated_at) ",
        all.iter().map(|&(c, direct)| {
            let (a, b) = (user_id(c.members[0]), user_id(c.members[1]));
            [
                Int(c.id),
                Text(if direct { "direct" } else { "group" }.into()),
                if direct {
                    Null
                } else {
                    Text(format!("Group {}", c.id))
                },
                if direct {
                    Null
                } else {
                    Text(format!("group {}", c.id))
                },
                if direct {
                    Text(format!("{}:{}", a.min(b), a.max(b)))
                } else {
                    Null
                },
                Int(a),
                Int(m),
                Int(c.version),
                Int(now),
                Int(now + c.id),
            ]
        }),
    )
    .await?;
    insert_rows(
        db,
        "INSERT INTO participants (conversation_id, user_id, role, last_read_seq, joined_at) ",
        all.iter().flat_map(|&(c, direct)| {
            c.members.iter().enumerate().map(move |(i, &u)| {
                let role = if i == 0 && !direct { "owner" } else { "member" };
                [
                    Int(c.id),
                    Int(user_id(u)),
                    Text(role.into()),
                    Int(0),
                    Int(now),
                ]
            })
        }),
    )
    .await?;
    // Each conversation's "created" change, and its messages (each its own change since
    // migration 0008, at the version after the one before).
    let mut messages = Vec::new();
    let mut changes = Vec::new();
    for &(c, _) in &all {
        changes.push([Int(c.id), Int(1), Int(0), Text("created".into()), Int(now)]);
        for seq in 1..=m {
            let sender = user_id(c.members[seq as usize % c.members.len()]);
            messages.push([
                Int(c.id),
                Int(seq),
                Int(sender),
                Text(format!("seeded message {seq}")),
                Int(now),
                Int(seq + 1),
            ]);
        }
    }
    insert_rows(
        db,
        "INSERT INTO messages (conversation_id, seq, sender_id, body, created_at, version) ",
        messages.into_iter(),
    )
    .await?;
    insert_rows(
        db,
        "INSERT INTO changes (conversation_id, version, last_seq, kind, created_at) ",
        changes.into_iter(),
    )
    .await?;
    let mut world = world;
    sign_in(db, &server.secret, &mut world.users).await?;
    drop(writer);
    chat.db().write.close().await;
    chat.db().read.close().await;
    Ok(world)
}

/// A session row and a token for each user, as signing in would make them.
async fn sign_in(db: &mut AnyConnection, secret: &str, users: &mut [Member]) -> Result<()> {
    let now = chrono::Utc::now().timestamp_millis();
    let expires = now + 24 * 3600 * 1000;
    let mut sessions = Vec::with_capacity(users.len());
    for user in users.iter_mut() {
        let jti = uuid::Uuid::new_v4().to_string();
        user.token = sign(secret, user.id, &jti, expires / 1000)?;
        sessions.push([
            Cell::Text(jti),
            Cell::Int(user.id),
            Cell::Int(now),
            Cell::Int(expires),
        ]);
    }
    insert_rows(
        db,
        "INSERT INTO sessions (id, user_id, created_at, expires_at) ",
        sessions.into_iter(),
    )
    .await
}

/// The focus user of a database seeded by `confab-bench storage --seed-only`, signed in; the
/// server is then started on that database.
pub async fn focus_of(server: &mut Server, db: &std::path::Path) -> Result<Member> {
    server.db_path = db.to_path_buf();
    let chat = chat::Chat::start(&confab_bench::settings(db))
        .await
        .context("opening the seeded database")?;
    let id: i64 = sqlx::query("SELECT id FROM users WHERE username_key = ?")
        .bind(crate::seed::FOCUS_USERNAME)
        .fetch_one(&mut *chat.db().read.acquire().await?)
        .await
        .context("no focus user: seed the database with `storage --seed-only --db`")?
        .try_get("id")?;
    let mut users = [Member {
        id,
        token: String::new(),
    }];
    sign_in(
        &mut *chat.db().write.acquire().await?,
        &server.secret,
        &mut users,
    )
    .await?;
    chat.db().write.close().await;
    chat.db().read.close().await;
    server.start().await?;
    let [focus] = users;
    Ok(focus)
}

/// A token as `chat::accounts` issues it: HS256 over `sub`, `jti`, `iat`, `nbf`, `exp`.
fn sign(secret: &str, user: i64, jti: &str, exp: i64) -> Result<String> {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"sub": user.to_string(), "jti": jti, "iat": now, "nbf": now, "exp": exp});
    Ok(jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )?)
}

async fn seed_socketio(server: &Server, shape: &Shape) -> Result<World> {
    let http = reqwest::Client::new();
    let url = |path: &str| format!("http://{}{path}", server.addr);
    http.post(url("/api/bench/reset"))
        .send()
        .await?
        .error_for_status()?;
    let mut users = Vec::with_capacity(shape.users);
    while users.len() < shape.users {
        let count = (shape.users - users.len()).min(20_000);
        let made: Value = http
            .post(url("/api/bench/users"))
            .json(&json!({ "count": count }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        for u in made["users"].as_array().context("users")? {
            users.push(Member {
                id: u["id"].as_i64().context("user id")?,
                token: u["token"].as_str().context("token")?.to_owned(),
            });
        }
    }
    ensure!(
        users.len() == shape.users,
        "the baseline made the wrong number of users"
    );
    let create = |kind: &'static str, members: Vec<usize>| {
        let ids: Vec<i64> = members.iter().map(|&i| users[i].id).collect();
        let http = http.clone();
        let url = url("/api/bench/conversations");
        let messages_url = url.replace("conversations", "messages");
        async move {
            let made: Value = http
                .post(&url)
                .json(&json!({ "kind": kind, "user_ids": ids, "title": "bench" }))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let id = made["id"].as_i64().context("conversation id")?;
            if shape.messages > 0 {
                http.post(&messages_url)
                    .json(&json!({ "conversation_id": id, "count": shape.messages }))
                    .send()
                    .await?
                    .error_for_status()?;
            }
            anyhow::Ok(Conversation {
                id,
                members,
                version: 0,
            })
        }
    };
    let directs = futures::stream::iter(
        shape
            .directs
            .iter()
            .map(|&(a, b)| create("direct", vec![a, b])),
    )
    .buffered(16)
    .try_collect()
    .await?;
    let groups = futures::stream::iter(shape.groups.iter().map(|g| create("group", g.clone())))
        .buffered(16)
        .try_collect()
        .await?;
    Ok(World {
        users,
        directs,
        groups,
    })
}
