//! Batches of sends commit without waiting for the disk; one flush of the log then covers
//! every batch committed before it. While a flush runs, the next batch is already being
//! written, instead of waiting for the connection (BENCHMARKS.md). The writer hands each
//! committed batch to the thread that announces them (`messages::send`), which flushes once for
//! every batch handed to it so far and then tells their news itself: no task to wake between
//! the commit and the disk, nor between the disk and the news.
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
use std::sync::Arc;

use tokio::sync::watch;

use super::{DbFile, WAIT};

/// How far batches of sends have got: written, flushed, announced. Cloned, it is the same log.
#[derive(Clone, Debug)]
pub struct Log(Arc<State>);

#[derive(Debug)]
struct State {
    /// The `-wal` file, opened once more to flush it from a thread of our own. None when it
    /// cannot be opened: batches then commit with their own flush like every other write, and
    /// [`Log::flush`] only moves the mark.
    wal: Option<DbFile>,
    /// The last batch number taken.
    numbered: AtomicU64,
    /// The last batch known to be on disk.
    durable: watch::Sender<u64>,
    /// The last batch whose news and answers have gone out.
    announced: watch::Sender<u64>,
    /// A flush failed: what the page cache held may never reach the disk, so nothing written
    /// since is ever reported durable.
    failed: AtomicBool,
}

impl Log {
    pub(super) fn new(wal: Option<DbFile>) -> Self {
        Self(Arc::new(State {
            wal,
            numbered: AtomicU64::new(0),
            durable: watch::Sender::new(0),
            announced: watch::Sender::new(0),
            failed: AtomicBool::new(false),
        }))
    }

    /// The next batch's number; taken with the write connection held, before its statement.
    pub(super) fn next(&self) -> u64 {
        self.0.numbered.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Makes every batch up to `upto` durable, all of them committed (their statements have
    /// finished): one `fdatasync` of the log covers what was written before it began. Blocks;
    /// called by the thread that announces batches. After a failed flush, fails at once.
    pub fn flush(&self, upto: u64) -> sqlx::Result<()> {
        if self.0.failed.load(Ordering::SeqCst) {
            return Err(failed_flush());
        }
        if let Some(wal) = self.0.wal {
            if let Err(e) = wal.sync() {
                tracing::error!(error = %e, "flushing the write-ahead log failed; writes stop");
                self.0.failed.store(true, Ordering::SeqCst);
                // Wakes the waiters, who find the failure.
                self.0.durable.send_modify(|_| ());
                return Err(failed_flush());
            }
        }
        self.0.durable.send_if_modified(|durable| {
            let later = upto > *durable;
            *durable = (*durable).max(upto);
            later
        });
        Ok(())
    }

    /// Returns once batch `number` is on disk, or fails once a flush has failed. Unbounded;
    /// [`Log::settle_read`] bounds it.
    async fn durable(&self, number: u64) -> sqlx::Result<()> {
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
        let _first = log.next();
        let second = log.next();
        let third = log.next();
        let read = log.settle_read();
        tokio::pin!(read);
        assert!(futures::poll!(read.as_mut()).is_pending());
        // A flush covers only what was committed before it began: not the third batch, whose
        // statement may still be running.
        assert!(log.flush(second).is_ok());
        assert!(log.durable(second).await.is_ok());
        assert!(futures::poll!(read.as_mut()).is_pending());
        assert!(log.flush(third).is_ok());
        assert!(matches!(
            futures::poll!(read.as_mut()),
            std::task::Poll::Ready(Ok(()))
        ));
    }

    #[tokio::test]
    async fn a_write_of_its_own_waits_until_earlier_batches_are_announced() {
        let log = Log::new(None);
        let number = log.next();
        assert!(log.flush(number).is_ok());
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
