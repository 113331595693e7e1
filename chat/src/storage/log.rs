//! Batches of sends commit without waiting for the disk; one flush of the log, beside the
//! writer, then covers every batch committed before it. While a flush runs, the next batch is
//! already being written, instead of waiting for the connection (BENCHMARKS.md). The writer
//! starts the flush as it commits, and a flush that ends with batches committed behind it
//! starts the next at once: no task between the commit and the disk.
//!
//! SQLite shows a commit to other connections when it is written, not when it is flushed. So
//! that nobody hears of anything a power loss could still take back (its versions would be
//! given again to later changes, and a client resuming from them would skip those):
//! - a batch's news and answers go out only once a flush has covered it, in commit order;
//! - a read whose answer may hold a batch's work waits, before answering, until everything
//!   committed by then is flushed ([`Log::settle_read`]);
//! - every other write (rare: edits, receipts, membership, accounts) commits with its own
//!   `fsync`, on a connection of its own, once the news of the batches before it is out.
//!
//! Batches are numbered: a batch takes its number before its statement runs, so any read that
//! sees its commit finds at least that number when it looks afterwards. A flush covers only
//! the batches whose statement had finished when it started: one still running when the flush
//! began may write after it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;

use super::{DbFile, WAIT};

/// How far batches of sends have got: written, flushed, announced. Cloned, it is the same log.
#[derive(Clone, Debug)]
pub struct Log(Arc<State>);

#[derive(Debug)]
struct State {
    /// The `-wal` file, opened once more to flush it from a thread of our own. None when it
    /// cannot be opened (an in-memory database): batches then commit with their own flush like
    /// every other write.
    wal: Option<DbFile>,
    /// The last batch number taken.
    numbered: AtomicU64,
    /// Commits written and the flushes covering them.
    flushes: Mutex<Flushes>,
    /// The last batch known to be on disk.
    durable: watch::Sender<u64>,
    /// The last batch whose news and answers have gone out.
    announced: watch::Sender<u64>,
    /// A flush failed: what the page cache held may never reach the disk, so nothing written
    /// since is ever reported durable.
    failed: AtomicBool,
}

#[derive(Debug, Default)]
struct Flushes {
    /// The last batch whose statement has finished (its commit is written, maybe not flushed).
    committed: u64,
    /// The last batch a flush already started covers.
    covered: u64,
    /// A flush is running. One at a time: two at once measured no faster (BENCHMARKS.md).
    running: bool,
}

impl Log {
    pub(super) fn new(wal: Option<DbFile>) -> Self {
        Self(Arc::new(State {
            wal,
            numbered: AtomicU64::new(0),
            flushes: Mutex::default(),
            durable: watch::Sender::new(0),
            announced: watch::Sender::new(0),
            failed: AtomicBool::new(false),
        }))
    }

    /// The next batch's number; taken with the write connection held, before its statement.
    pub(super) fn next(&self) -> u64 {
        self.0.numbered.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Batch `number`'s statement has finished: a flush that starts from now on covers it. One
    /// starts at once, on a thread for blocking work, unless one is running (which then flushes
    /// again when it ends). Called by the writer, in batch order, from the runtime.
    pub fn committed(&self, number: u64) {
        let Some(wal) = self.0.wal else {
            self.0.durable.send_replace(number);
            return;
        };
        let mut flushes = self.flushes();
        flushes.committed = number;
        if flushes.running || self.0.failed.load(Ordering::SeqCst) {
            return;
        }
        flushes.running = true;
        flushes.covered = number;
        drop(flushes);
        let log = self.clone();
        tokio::task::spawn_blocking(move || log.flush(wal, number));
    }

    /// Flushes the log until a flush covers every batch committed: each `fdatasync` makes
    /// durable what was written before it began, so it covers the batches committed by then.
    fn flush(&self, wal: DbFile, mut upto: u64) {
        loop {
            if let Err(e) = wal.sync() {
                tracing::error!(error = %e, "flushing the write-ahead log failed; writes stop");
                self.0.failed.store(true, Ordering::SeqCst);
                // Wakes the waiters, who find the failure.
                self.0.durable.send_modify(|_| ());
            } else {
                self.0.durable.send_if_modified(|durable| {
                    let later = upto > *durable;
                    *durable = (*durable).max(upto);
                    later
                });
            }
            let mut flushes = self.flushes();
            if self.0.failed.load(Ordering::SeqCst) || flushes.committed == flushes.covered {
                flushes.running = false;
                return;
            }
            upto = flushes.committed;
            flushes.covered = upto;
        }
    }

    fn flushes(&self) -> std::sync::MutexGuard<'_, Flushes> {
        // Nothing panics while holding it; were it poisoned, its numbers would still be sound.
        self.0
            .flushes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Returns once batch `number` (committed) is on disk, or fails once a flush has failed.
    /// Unbounded: a flush that hangs holds back the news of what it covers, as it must.
    pub async fn durable(&self, number: u64) -> sqlx::Result<()> {
        let mut durable = self.0.durable.subscribe();
        let failed = || self.0.failed.load(Ordering::SeqCst);
        let reached = durable
            .wait_for(|at| *at >= number || failed())
            .await
            .map(|at| *at >= number);
        match reached {
            Ok(true) => Ok(()),
            Ok(false) => Err(failed_flush()),
            Err(_) => Err(sqlx::Error::PoolClosed),
        }
    }

    /// Batch `number`'s news and answers have gone out.
    pub fn announced(&self, number: u64) {
        self.0.announced.send_replace(number);
    }

    /// Waits until every batch written so far has been announced: a write about to commit on
    /// its own then tells its news after theirs. Taken with the write connection held, so no
    /// batch is written meanwhile.
    pub(super) async fn settle_write(&self) -> sqlx::Result<()> {
        wait(&self.0.announced, self.0.numbered.load(Ordering::SeqCst)).await
    }

    /// Waits until everything a read made before this call could have seen is on disk. Called
    /// after reading messages or positions a batch may have written, before answering.
    /// Bounded by [`WAIT`]; a failed flush fails it at once.
    pub async fn settle_read(&self) -> sqlx::Result<()> {
        let upto = self.0.numbered.load(Ordering::SeqCst);
        tokio::time::timeout(WAIT, self.durable(upto))
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
    }

    /// False once a flush has failed: the server can no longer promise durable writes.
    pub fn healthy(&self) -> bool {
        !self.0.failed.load(Ordering::SeqCst)
    }
}

/// Waits (at most [`WAIT`]) until `mark` reaches `upto`.
async fn wait(mark: &watch::Sender<u64>, upto: u64) -> sqlx::Result<()> {
    if *mark.borrow() >= upto {
        return Ok(());
    }
    let mut seen = mark.subscribe();
    let waited = tokio::time::timeout(WAIT, async {
        seen.wait_for(|at| *at >= upto).await.map(drop)
    })
    .await;
    match waited {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(sqlx::Error::PoolClosed),
        Err(_) => Err(sqlx::Error::PoolTimedOut),
    }
}

fn failed_flush() -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::other(
        "an earlier flush of the write-ahead log failed",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_read_waits_for_the_flush_of_what_it_could_have_seen() {
        let wal = tempfile::NamedTempFile::new()
            .ok()
            .and_then(|f| DbFile::open(f.path()));
        assert!(wal.is_some(), "a file to flush");
        let log = Log::new(wal);
        assert!(log.settle_read().await.is_ok());
        let first = log.next();
        let second = log.next();
        let third = log.next();
        let read = log.settle_read();
        tokio::pin!(read);
        assert!(futures::poll!(read.as_mut()).is_pending());
        log.committed(first);
        log.committed(second);
        assert!(log.durable(second).await.is_ok());
        // Flushes cover only batches committed before they began: not one whose statement is
        // still running, which may write after them.
        assert_eq!(*log.0.durable.borrow(), second);
        assert!(futures::poll!(read.as_mut()).is_pending());
        log.committed(third);
        assert!(log.durable(third).await.is_ok());
        // Awaited, not polled once: the flush's thread moves the mark before it wakes those
        // waiting, so a wait that starts in between sees the mark first (within `WAIT`).
        assert!(read.await.is_ok());
    }

    #[tokio::test]
    async fn a_write_of_its_own_waits_until_earlier_batches_are_announced() {
        let log = Log::new(None);
        let number = log.next();
        log.committed(number);
        assert!(log.durable(number).await.is_ok());
        let settle = log.settle_write();
        tokio::pin!(settle);
        // Durable is not enough: their news must be out first.
        assert!(futures::poll!(settle.as_mut()).is_pending());
        log.announced(number);
        assert!(futures::poll!(settle.as_mut()).is_ready());
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_never_flushed_fails_reads_after_a_bounded_wait() {
        let log = Log::new(None);
        log.next();
        assert!(matches!(
            log.settle_read().await,
            Err(sqlx::Error::PoolTimedOut)
        ));
    }
}
