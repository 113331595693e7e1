//! The `storage` scenario: seed, then time the calls the REST handlers make, server-side (the
//! `chat::Chat` services, no HTTP) and over HTTP (the real server on loopback).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use chat::conversations::ListQuery;
use chat::messages::HistoryQuery;
use chat::Chat;
use protocol::{ConversationId, SendMessage, UserId};
use rand::rngs::{OsRng, StdRng};
use rand::{Rng, SeedableRng};
use sqlx::Row;

use crate::measure::{self, Budget, Measurement};
use crate::report::{Machine, Report};
use crate::seed::{self, Scale, FOCUS_USERNAME};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 10_000)]
    users: u32,
    #[arg(long, default_value_t = 100_000)]
    conversations: u32,
    #[arg(long, default_value_t = 1_000_000)]
    messages: u32,
    /// Conversations the focus user (whose list is measured) takes part in.
    #[arg(long, default_value_t = 1_000)]
    member_of: u32,
    /// Measured calls per operation (default: 1,000 to 10,000 depending on the operation).
    #[arg(long)]
    iterations: Option<u64>,
    /// Most seconds spent measuring one operation.
    #[arg(long, default_value_t = 12)]
    max_seconds: u64,
    /// Database file to create (it must not exist); default: a temporary file, removed after.
    #[arg(long)]
    db: Option<PathBuf>,
    /// Measure the database at --db, seeded by an earlier run, instead of seeding.
    #[arg(long, requires = "db")]
    reuse: bool,
    /// Also write the results here as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Skip the HTTP measurements.
    #[arg(long)]
    no_http: bool,
    /// Only seed the database at --db (to inspect it, e.g. with EXPLAIN QUERY PLAN), then stop.
    #[arg(long, requires = "db", conflicts_with = "reuse")]
    seed_only: bool,
}

/// Calls in flight in the list's throughput figure: enough to keep every core busy.
const LIST_CALLERS: u64 = 8;
/// Sends in flight in the batched-commit figure: many people sending at once, so the writer
/// takes them in batches (group commit) as it does under load.
const SEND_CALLERS: u64 = 64;

/// Search terms typed into the list's filter: names and titles of several frequencies.
const SEARCHES: &[&str] = &["mar", "lyon", "dupont", "mentoring", "nguyen"];

pub async fn run(args: Args) -> Result<String> {
    let temp = tempfile::tempdir()?;
    let path = args
        .db
        .clone()
        .unwrap_or_else(|| temp.path().join("bench.db"));
    if path.exists() != args.reuse {
        bail!(
            "{}: {}",
            path.display(),
            if args.reuse {
                "no such database to reuse"
            } else {
                "already exists; remove it, or pass --reuse to measure it as it is"
            }
        );
    }
    let settings = confab_bench::settings(&path);
    let chat = Chat::start(&settings)
        .await
        .context("opening the database")?;

    let (focus, seeding, rows) = if args.reuse {
        let row = sqlx::query("SELECT id FROM users WHERE username_key = ?")
            .bind(FOCUS_USERNAME)
            .fetch_one(&mut *chat.db().read.acquire().await?)
            .await
            .context("no focus user: was this database seeded by confab-bench?")?;
        (UserId(row.try_get("id")?), None, 0)
    } else {
        eprintln!("seeding {}", path.display());
        let scale = Scale {
            users: args.users,
            conversations: args.conversations,
            messages: args.messages,
            member_of: args.member_of,
            max_group_size: u32::try_from(settings.max_group_size)?,
        };
        let seeded = seed::seed(&chat, scale).await?;
        eprintln!("  done in {:.1} s", seeded.elapsed.as_secs_f64());
        (seeded.focus, Some(seeded.elapsed), seeded.rows)
    };
    if args.seed_only {
        return Ok(format!("seeded {} ({rows} rows)\n", path.display()));
    }
    let mine = focus_conversations(&chat, focus).await?;
    if mine.is_empty() {
        bail!("the focus user takes part in no conversation: nothing to measure");
    }
    let scale = measured_scale(&chat, mine.len()).await?;

    let budget = |default: u64| Budget {
        warmup: 50,
        iterations: args.iterations.unwrap_or(default),
        max_time: Duration::from_secs(args.max_seconds),
    };
    eprintln!("measuring (server-side)");
    let mut measurements = reads(&chat, focus, &mine, &budget).await?;
    // Sends move conversations up the list and mark them read: measure every read on the
    // seeded state first, so the HTTP and server-side lists show the same page.
    if !args.no_http {
        eprintln!("measuring (HTTP, loopback)");
        measurements.extend(crate::http::measure(&settings, &mine, &budget).await?);
    }
    measurements.push(send(&chat, focus, &mine, &budget).await?);
    measurements.push(send_concurrent(&chat, focus, &mine, &budget).await?);
    measurements.push(sync_floor(&path, &budget).await?);

    let report = Report {
        machine: Machine::detect(),
        scale,
        seeding,
        rows,
        measurements,
    };
    if let Some(out) = &args.json {
        let text = serde_json::to_string_pretty(&report.json())?;
        std::fs::write(out, text).with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(report.text())
}

/// What is really in the database (a reused one may differ from the flags).
async fn measured_scale(chat: &Chat, member_of: usize) -> Result<Scale> {
    let read = &chat.db().read;
    let count = |table: &str| {
        let sql = format!("SELECT count(*) AS n FROM {table}");
        async move {
            let n: i64 = sqlx::query(&sql)
                .fetch_one(&mut *read.acquire().await?)
                .await?
                .try_get("n")?;
            anyhow::Ok(u32::try_from(n)?)
        }
    };
    Ok(Scale {
        users: count("users").await?,
        conversations: count("conversations").await?,
        messages: count("messages").await?,
        member_of: u32::try_from(member_of)?,
        max_group_size: u32::try_from(chat.settings().max_group_size)?,
    })
}

/// The focus user's conversations and their `last_seq`.
async fn focus_conversations(chat: &Chat, focus: UserId) -> Result<Vec<(ConversationId, i64)>> {
    let rows = sqlx::query(
        "SELECT c.id, c.last_seq FROM participants p JOIN conversations c \
         ON c.id = p.conversation_id WHERE p.user_id = ? ORDER BY c.id",
    )
    .bind(focus.0)
    .fetch_all(&mut *chat.db().read.acquire().await?)
    .await?;
    rows.iter()
        .map(|r| Ok((ConversationId(r.try_get("id")?), r.try_get("last_seq")?)))
        .collect()
}

/// The list as `GET /api/conversations` serves it, its JSON written (since the eighth session:
/// the figures before left serializing out), and history pages.
async fn reads(
    chat: &Chat,
    focus: UserId,
    mine: &[(ConversationId, i64)],
    budget: &impl Fn(u64) -> Budget,
) -> Result<Vec<Measurement>> {
    let mut rng = StdRng::seed_from_u64(7);
    let mut out = Vec::new();

    out.push(
        measure::run("list: first page", budget(3_000), |_| async move {
            let page = chat
                .list_conversations_json(focus, &ListQuery::default())
                .await?;
            anyhow::ensure!(
                !page.starts_with(b"{\"conversations\":[]"),
                "the list came back empty"
            );
            Ok(())
        })
        .await?,
    );
    out.push(
        measure::run_concurrent(
            &format!("list: first page, {LIST_CALLERS} callers"),
            budget(6_000),
            LIST_CALLERS,
            |_| async move {
                chat.list_conversations_json(focus, &ListQuery::default())
                    .await?;
                Ok(())
            },
        )
        .await?,
    );
    out.push(
        measure::run("list: search (q)", budget(1_000), |i| {
            let query = ListQuery {
                q: Some(SEARCHES[i as usize % SEARCHES.len()].to_owned()),
                ..ListQuery::default()
            };
            async move {
                chat.list_conversations_json(focus, &query).await?;
                Ok(())
            }
        })
        .await?,
    );
    out.push(
        measure::run("list: unread only", budget(1_000), |_| async move {
            let query = ListQuery {
                unread: true,
                ..ListQuery::default()
            };
            chat.list_conversations_json(focus, &query).await?;
            Ok(())
        })
        .await?,
    );
    out.push(
        measure::run("history: newest page", budget(10_000), |_| {
            let (id, _) = mine[rng.gen_range(0..mine.len())];
            async move {
                chat.history(focus, id, &HistoryQuery::default()).await?;
                Ok(())
            }
        })
        .await?,
    );
    out.push(
        measure::run("history: older page", budget(10_000), |_| {
            let (id, last) = mine[rng.gen_range(0..mine.len())];
            let query = HistoryQuery {
                before: Some(rng.gen_range(1..=last.max(1))),
                limit: 0,
            };
            async move {
                chat.history(focus, id, &query).await?;
                Ok(())
            }
        })
        .await?,
    );
    out.push(
        measure::run(
            "changes: a page after an older version",
            budget(10_000),
            |_| {
                let (id, last) = mine[rng.gen_range(0..mine.len())];
                // Seeded conversations hold their creation and then messages only, so any
                // version up to `last` is one a client could hold.
                let after = rng.gen_range(0..=last);
                async move {
                    chat.changes_since(focus, id, after, 0).await?;
                    Ok(())
                }
            },
        )
        .await?,
    );
    Ok(out)
}

/// What the disk alone costs a durable commit: a 4 KiB append and `fdatasync` next to the
/// database, in the same run, so the send's figures can be read against it.
async fn sync_floor(db: &std::path::Path, budget: &impl Fn(u64) -> Budget) -> Result<Measurement> {
    use std::io::Write;
    let path = db.with_extension("sync-floor");
    let file = std::sync::Arc::new(std::sync::Mutex::new(
        std::fs::File::create(&path).context("creating the fdatasync test file")?,
    ));
    let measured = measure::run(
        "disk floor: 4 KiB append + fdatasync",
        budget(5_000),
        |_| {
            let file = file.clone();
            async move {
                tokio::task::spawn_blocking(move || {
                    let mut file = file.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
                    file.write_all(&[0u8; 4096])?;
                    file.sync_data()?;
                    Ok(())
                })
                .await?
            }
        },
    )
    .await;
    let _ = std::fs::remove_file(&path);
    measured
}

async fn send(
    chat: &Chat,
    focus: UserId,
    mine: &[(ConversationId, i64)],
    budget: &impl Fn(u64) -> Budget,
) -> Result<Measurement> {
    let mut rng = StdRng::seed_from_u64(13);
    // A random run id keeps client ids unique when a database is measured again (--reuse):
    // a repeated id would take the cheaper "already sent" path.
    let run_id: u32 = OsRng.gen();
    measure::run("send (durable commit)", budget(5_000), |i| {
        let (id, _) = mine[rng.gen_range(0..mine.len())];
        send_new(chat, focus, id, i, format!("bench-{run_id:08x}-{i}"))
    })
    .await
}

/// Send number `i`, which must be stored as a new message (its client id never used before).
async fn send_new(
    chat: &Chat,
    focus: UserId,
    id: ConversationId,
    i: u64,
    client_id: String,
) -> Result<()> {
    let request = SendMessage {
        body: format!("benchmark message {i}: see you at the meetup on Friday"),
        client_id: Some(client_id),
    };
    let sent = chat.send_message(focus, id, request).await?;
    anyhow::ensure!(sent.created, "a send was taken for a repeat");
    Ok(())
}

/// Sends from [`SEND_CALLERS`] callers at once: what the service persists per second when
/// sends arrive faster than one commit takes (every commit still fsyncs; batches share one).
async fn send_concurrent(
    chat: &Chat,
    focus: UserId,
    mine: &[(ConversationId, i64)],
    budget: &impl Fn(u64) -> Budget,
) -> Result<Measurement> {
    let run_id: u32 = OsRng.gen();
    let name = format!("send, {SEND_CALLERS} callers (batched commits)");
    measure::run_concurrent(&name, budget(100_000), SEND_CALLERS, |i| {
        // Spread over the focus user's conversations without a shared random generator.
        let (id, _) = mine[(i.wrapping_mul(2_654_435_761) % mine.len() as u64) as usize];
        send_new(chat, focus, id, i, format!("bench-{run_id:08x}-c{i}"))
    })
    .await
}
