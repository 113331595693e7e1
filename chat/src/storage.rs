//! Storage goes through sqlx's `Any` driver with portable SQL, so SQLite (embedded default),
//! PostgreSQL and MySQL share one code path; the database is picked by `DATABASE_URL`. The one
//! exception is the connection batches of sends are written on, which the writer's thread
//! drives itself (`messages::send`).
//! Queries use `?` placeholders (SQLite and MySQL natively).
//!
//! SQLite allows one writer at a time; rather than let concurrent transactions fight over the
//! lock (and fail with `SQLITE_BUSY` when a read transaction upgrades), writes take turns on
//! one lock ([`Writer`]: a connection for batches of sends, flushed beside the writer by
//! [`Log`], and one for the rest) and reads go through a few others ([`Readers`]). WAL lets
//! them run side by side.
//!
//! Neither is sqlx's pool: it checks each connection given back with a round trip to SQLite's
//! thread (a ping on release), which cost CPU on every query and, for the writer, delayed the
//! next batch of sends (BENCHMARKS.md). A connection here goes straight back. A query dropped
//! half-way needs no check either: sqlx queues its end (a rollback, the statement's reset) on
//! the connection ahead of the next user's first statement.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use deadpool::unmanaged::{Object, Pool, PoolConfig, PoolError};
use sqlx::any::install_default_drivers;
use sqlx::{AnyConnection, Connection, Executor};
use tokio::runtime::Handle;
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

use crate::Result;
pub use log::Log;

mod log;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// A query that waits this long for its connection fails instead of queueing without end (a
/// hung disk must not pile up every request behind it).
const WAIT: Duration = Duration::from_secs(10);

/// A new connection to `url`, with `setup` run on it.
async fn open(url: &str, setup: &[&str]) -> sqlx::Result<AnyConnection> {
    let mut connection = AnyConnection::connect(url).await?;
    for statements in setup {
        connection.execute(*statements).await?;
    }
    Ok(connection)
}

/// The connections: `write` for anything that changes data, `read` for the rest.
#[derive(Clone, Debug)]
pub struct Db {
    pub read: Readers,
    pub write: Writer,
}

/// Connections that only read, lent out first come, first served.
#[derive(Clone, Debug)]
pub struct Readers(Pool<AnyConnection>);

/// A read connection, given back when dropped.
pub type ReadGuard = Object<AnyConnection>;

impl Readers {
    /// Reading connections; more would only queue on two cores and SQLite's own locks.
    const COUNT: usize = 8;

    async fn open(url: &str, setup: &str) -> sqlx::Result<Self> {
        let pool = Pool::from_config(&PoolConfig {
            max_size: Self::COUNT,
            timeout: Some(WAIT),
            runtime: Some(deadpool::Runtime::Tokio1),
        });
        for _ in 0..Self::COUNT {
            pool.try_add(open(url, &[setup]).await?)
                .map_err(|(_, e)| sqlx::Error::Configuration(e.into()))?;
        }
        Ok(Self(pool))
    }

    /// Waits for a connection and holds it until the guard goes.
    pub async fn acquire(&self) -> sqlx::Result<ReadGuard> {
        self.0.get().await.map_err(|e| match e {
            PoolError::Closed => sqlx::Error::PoolClosed,
            PoolError::Timeout | PoolError::NoRuntimeSpecified => sqlx::Error::PoolTimedOut,
        })
    }

    /// Closes the connections not in use and refuses later reads.
    pub async fn close(&self) {
        while let Ok(connection) = self.0.try_remove() {
            if let Err(e) = connection.close().await {
                tracing::warn!(error = %e, "closing a read connection failed");
            }
        }
        self.0.close();
    }
}

/// The write connections, taken in turn: one for batches of sends, which commit without
/// waiting for the disk ([`log`]) and are written from a thread of their own
/// (`messages::send`), and one for every other write, which commits with its own `fsync`. One
/// lock for both: SQLite lets one transaction write at a time anyway, and one that waited for
/// SQLite's lock would poll for it.
#[derive(Clone)]
pub struct Writer(Arc<WriterState>);

struct WriterState {
    /// The connection for every write but batches of sends; none once closed.
    own_flush: Mutex<Option<AnyConnection>>,
    log: Log,
}

/// A write connection, held until dropped.
pub type WriteGuard<'a> = MappedMutexGuard<'a, AnyConnection>;

/// The write lock, held for a batch of sends until dropped.
pub(crate) type BatchGuard<'a> = MutexGuard<'a, Option<AnyConnection>>;

impl Writer {
    fn new(own_flush: AnyConnection, log: Log) -> Self {
        Self(Arc::new(WriterState {
            own_flush: Mutex::new(Some(own_flush)),
            log,
        }))
    }

    /// The connection whose commits wait for the disk, once the news of every batch of sends
    /// before is out (first come, first served, at most [`WAIT`]); held until the guard goes.
    pub async fn acquire(&self) -> sqlx::Result<WriteGuard<'_>> {
        let guard = self.lock().await?;
        self.0.log.settle_write().await?;
        MutexGuard::try_map(guard, Option::as_mut).map_err(|_| sqlx::Error::PoolClosed)
    }

    /// The write lock for a batch of sends, and the batch's number ([`Log::durable`]). Blocks
    /// the writer's thread, which is not one of `runtime`'s.
    pub(crate) fn hold_for_batch(&self, runtime: &Handle) -> sqlx::Result<(BatchGuard<'_>, u64)> {
        let guard = runtime.block_on(self.lock())?;
        if guard.is_none() {
            return Err(sqlx::Error::PoolClosed);
        }
        Ok((guard, self.0.log.next()))
    }

    async fn lock(&self) -> sqlx::Result<MutexGuard<'_, Option<AnyConnection>>> {
        tokio::time::timeout(WAIT, self.0.own_flush.lock())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)
    }

    /// How far batches of sends have got.
    pub fn log(&self) -> &Log {
        &self.0.log
    }

    /// Closes the connection once the writer holding it is done; later writes, batches of
    /// sends included, fail.
    pub async fn close(&self) {
        if let Some(connection) = self.0.own_flush.lock().await.take() {
            if let Err(e) = connection.close().await {
                tracing::warn!(error = %e, "closing a write connection failed");
            }
        }
    }
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl Db {
    /// The connections, and the one batches of sends are written on, for the writer's thread
    /// ([`crate::messages`]).
    pub async fn connect(url: &str) -> Result<(Self, rusqlite::Connection)> {
        install_default_drivers();
        if !url.starts_with("sqlite:") {
            return Err(crate::Error::internal(
                "only sqlite: URLs are supported in this version (PostgreSQL and MySQL come next)",
            ));
        }
        // Each connection to an in-memory database would have a database of its own.
        let path = sqlite_path(url).ok_or_else(|| {
            crate::Error::internal("DATABASE_URL must name a database file, not memory")
        })?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(crate::Error::internal)?;
        }
        // mmap: reads come from the page cache instead of a small per-connection cache.
        // No automatic checkpoints: one would run inside a user's commit (every ~1,000
        // pages), making every 150th send slow; `checkpoints` runs them in the background.
        let pragmas = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                       PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
                       PRAGMA mmap_size = 1073741824; PRAGMA wal_autocheckpoint = 0;";
        // Migrations first, on a connection of their own: the writer's temp trigger names
        // tables, and SQLite refuses to rename or drop a table a trigger names.
        let mut migrator = open(url, &[pragmas]).await?;
        SQLITE_MIGRATIONS.run(&mut migrator).await?;
        migrator.close().await?;
        let own_flush = open(url, &[pragmas]).await?;
        let file = DbFile::open(path);
        let path = path.to_owned();
        let (batches, wal) = tokio::task::spawn_blocking(move || open_batches(&path, pragmas))
            .await
            .map_err(crate::Error::internal)??;
        let write = Writer::new(own_flush, Log::new(wal));
        let read = Readers::open(url, pragmas).await?;
        tokio::spawn(checkpoints(read.clone(), write.clone(), file));
        Ok((Self { read, write }, batches))
    }

    /// Waits until everything a read made before now could have seen is on disk ([`Log`]):
    /// called after reading what batches of sends write, before answering with it.
    pub async fn settle_read(&self) -> Result<()> {
        Ok(self.write.log().settle_read().await?)
    }

    /// Readiness: can we still run a query, and promise that writes last?
    pub async fn ping(&self) -> Result<()> {
        if !self.write.log().healthy() {
            return Err(crate::Error::internal(
                "a flush of the write-ahead log failed",
            ));
        }
        sqlx::query("SELECT 1")
            .execute(&mut *self.read.acquire().await?)
            .await?;
        Ok(())
    }
}

/// Copies the write-ahead log back into the database every second, off the request path.
/// The log only starts over from its beginning once it has been copied whole, and a copy that
/// runs beside the writer never is (the writer appends while it copies): under steady sends
/// the log grew without end (200 MB in 3 s) and every commit appended to the file, which costs
/// this disk more than an overwrite (BENCHMARKS.md). So readers copy the bulk (PASSIVE: they
/// wait for nobody), again while a pass takes long enough for much to pile up behind it; then
/// the writer's own connection copies the last frames, with sends held meanwhile, and the next
/// commit starts the log over, overwriting blocks the file already has.
///
/// SQLite flushes the database file only on a copy that reaches the log's end: the writer's.
/// Left to it, that flush wrote back everything the readers had copied in the second, with
/// sends held (0.6–9 ms, growing through a run). So the readers' copies are flushed here
/// first, beside the writer, and its pass flushes only its own few pages: it holds sends
/// 0.3–1.7 ms at 5,000 sends a second (BENCHMARKS.md).
async fn checkpoints(read: Readers, write: Writer, file: Option<DbFile>) {
    /// A reader's pass (and its flush) this short leaves the writer few frames to copy.
    const SHORT: Duration = Duration::from_millis(5);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let passes = async {
            for _ in 0..4 {
                let started = Instant::now();
                checkpoint(&mut *read.acquire().await?).await?;
                if let Some(file) = file {
                    file.flush().await?;
                }
                if started.elapsed() < SHORT {
                    break;
                }
            }
            let mut writer = write.acquire().await?;
            let started = Instant::now();
            checkpoint(&mut writer).await?;
            drop(writer);
            tracing::debug!(held = ?started.elapsed(), "the writer's checkpoint pass");
            Ok(())
        };
        match passes.await {
            Ok(()) => {}
            Err(sqlx::Error::PoolClosed) => return,
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
        }
    }
}

/// The connection for batches of sends, with the writer's own objects, and its write-ahead
/// log (the file SQLite itself opened, not one guessed from the URL) opened for good to flush
/// it beside the writer. Without the log, batches commit with their own flush.
fn open_batches(path: &Path, pragmas: &str) -> Result<(rusqlite::Connection, Option<DbFile>)> {
    let connection = rusqlite::Connection::open(path)?;
    connection.execute_batch(pragmas)?;
    connection.execute_batch(crate::messages::WRITER_SETUP)?;
    let wal = connection
        .path()
        .and_then(|file| DbFile::open(Path::new(&format!("{file}-wal"))));
    if wal.is_some() {
        connection.execute_batch("PRAGMA synchronous = NORMAL")?;
    }
    Ok((connection, wal))
}

/// A file of the database (the database itself, or its write-ahead log), opened once more to
/// flush it from a thread of our own.
#[derive(Clone, Copy, Debug)]
struct DbFile(&'static File);

impl DbFile {
    /// Opens the file for good: closing any descriptor of a file drops every POSIX lock this
    /// process holds on it, SQLite's own included, so this one is never closed. Without it
    /// (a path SQLite reads differently), SQLite's own commits and checkpoints flush it as
    /// before.
    fn open(path: &Path) -> Option<Self> {
        match File::open(path) {
            Ok(file) => Some(Self(Box::leak(Box::new(file)))),
            Err(e) => {
                tracing::warn!(error = %e, path = %path.display(), "a database file cannot be flushed beside the writer");
                None
            }
        }
    }

    /// Writes back what was written to the file (`fdatasync`): what checkpoints copied into
    /// the database, what batches of sends appended to the log. Blocks the thread.
    fn sync(self) -> std::io::Result<()> {
        self.0.sync_data()
    }

    /// [`DbFile::sync`] on a thread for blocking work.
    async fn flush(self) -> sqlx::Result<()> {
        tokio::task::spawn_blocking(move || self.sync())
            .await
            .map_err(|e| sqlx::Error::Io(std::io::Error::other(e)))?
            .map_err(sqlx::Error::Io)
    }
}

async fn checkpoint(connection: &mut AnyConnection) -> sqlx::Result<()> {
    sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
        .execute(connection)
        .await
        .map(drop)
}

/// The database file named by a `sqlite:` URL; none for an in-memory database.
fn sqlite_path(url: &str) -> Option<&Path> {
    let path = url
        .trim_start_matches("sqlite:")
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| Path::new(path))
}

/// Milliseconds since the Unix epoch: the portable way every table stores time.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A case-folded substring search's LIKE pattern (with `ESCAPE '\\'`), its wildcards escaped
/// so a search for `50%` finds "50%".
pub fn like_pattern(q: &str) -> String {
    let mut pattern = String::with_capacity(q.len() + 2);
    pattern.push('%');
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// RFC 3339 in UTC with milliseconds, as the contract shows time.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// True when the error is a UNIQUE (or primary key) constraint violation.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Cuts `rows` (fetched with one extra) to `limit` and returns the cursor of the next page, if
/// any: the sort time and id of the last row kept (lists are ordered by both), `"<time>.<id>"`.
pub fn next_cursor(
    rows: &mut Vec<sqlx::any::AnyRow>,
    limit: usize,
    time_column: &str,
    id_column: &str,
) -> Result<Option<String>> {
    use sqlx::Row;
    if rows.len() <= limit {
        return Ok(None);
    }
    rows.truncate(limit);
    let Some(last) = rows.last() else {
        return Ok(None);
    };
    let time: i64 = last.try_get(time_column)?;
    let id: i64 = last.try_get(id_column)?;
    Ok(Some(format!("{time}.{id}")))
}

/// Reads a [`cursor`]; anything else is `400 invalid_input` naming `cursor`.
pub fn parse_cursor(raw: &str) -> Result<(i64, i64)> {
    raw.split_once('.')
        .and_then(|(t, id)| Some((t.parse().ok()?, id.parse().ok()?)))
        .ok_or_else(|| {
            protocol::FieldError::new("cursor", "is not a cursor this server gave out").into()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("50%_A\\"), "%50\\%\\_a\\\\%");
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_waits_a_bounded_time_for_the_connection() {
        install_default_drivers();
        let Ok(connection) = AnyConnection::connect("sqlite::memory:").await else {
            panic!("an in-memory database opens");
        };
        let writer = Writer::new(connection, Log::new(None));
        // A batch's number, taken as the writer's thread takes it: from a thread of its own.
        let batch = |writer: &Writer| {
            let (writer, runtime) = (writer.clone(), Handle::current());
            let (number, taken) = tokio::sync::oneshot::channel();
            std::thread::spawn(move || {
                let _ = number.send(writer.hold_for_batch(&runtime).map(|(_, number)| number));
            });
            taken
        };
        let held = writer.acquire().await;
        assert!(held.is_ok());
        assert!(matches!(
            batch(&writer).await,
            Ok(Err(sqlx::Error::PoolTimedOut))
        ));
        drop(held);
        assert!(matches!(batch(&writer).await, Ok(Ok(1))));
        // The batch was never announced: a write of its own waits for that, a bounded time.
        assert!(matches!(
            writer.acquire().await,
            Err(sqlx::Error::PoolTimedOut)
        ));
        writer.log().announced(1);
        assert!(writer.acquire().await.is_ok());
        writer.close().await;
        assert!(matches!(
            writer.acquire().await,
            Err(sqlx::Error::PoolClosed)
        ));
        assert!(matches!(
            batch(&writer).await,
            Ok(Err(sqlx::Error::PoolClosed))
        ));
    }

    #[test]
    fn the_database_file_is_read_from_the_url() {
        let path = |url| sqlite_path(url).and_then(Path::to_str);
        assert_eq!(
            path("sqlite://data/confab.db?mode=rwc"),
            Some("data/confab.db")
        );
        assert_eq!(path("sqlite:///tmp/c.db"), Some("/tmp/c.db"));
        assert_eq!(path("sqlite:c.db"), Some("c.db"));
        assert_eq!(path("sqlite::memory:"), None);
        assert_eq!(path("sqlite://?mode=memory"), None);
    }
}
