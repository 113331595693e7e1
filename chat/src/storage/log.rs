//! Batches of sends commit without waiting for the disk; one flush of the log, beside the
//! writer, then covers every batch committed before it. While a flush runs, the next batch is
//! already being written, instead of waiting for the connection (BENCHMARKS.md).
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

use tokio::sync::watch;

use super::{DbFile, WAIT};

/// How far batches of sends have got: written, flushed, announced.
#[derive(Debug)]
pub struct Log {
    /// The `-wal` file, opened once more to flush it from a thread of our own. None when it
    /// cannot be opened (an in-memory database): batches then commit with their own flush like
    /// every other write.
    wal: Option<DbFile>,
    /// The last batch number taken.
    numbered: AtomicU64,
    /// The last batch whose statement has finished (its commit is written, not yet flushed).
    committed: AtomicU64,
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
        Self {
            wal,
            numbered: AtomicU64::new(0),
            committed: AtomicU64::new(0),
            durable: watch::Sender::new(0),
            announced: watch::Sender::new(0),
            failed: AtomicBool::new(false),
        }
    }

    /// The next batch's number; taken with the write connection held, before its statement.
    pub(super) fn next(&self) -> u64 {
        self.numbered.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Batch `number`'s statement has finished: a flush that starts from now on covers it.
    /// Called by the writer, in batch order.
    pub fn committed(&self, number: u64) {
        self.committed.store(number, Ordering::SeqCst);
    }

    /// Returns once batch `number` (committed) is on disk: at once when a flush since has
    /// covered it, else after flushing the log, which covers every batch committed so far.
    /// Called by one task, in batch order.
    pub async fn flush_through(&self, number: u64) -> sqlx::Result<()> {
        if self.failed.load(Ordering::SeqCst) {
            return Err(failed());
        }
        if *self.durable.borrow() >= number {
            return Ok(());
        }
        let upto = self.committed.load(Ordering::SeqCst);
        debug_assert!(
            upto >= number,
            "batch {number} flushed before it was committed"
        );
        if let Some(wal) = self.wal {
            if let Err(e) = wal.flush().await {
                self.failed.store(true, Ordering::SeqCst);
                tracing::error!(error = %e, "flushing the write-ahead log failed; writes stop");
                return Err(e);
            }
        }
        self.durable.send_replace(upto);
        Ok(())
    }

    /// Batch `number`'s news and answers have gone out.
    pub fn announced(&self, number: u64) {
        self.announced.send_replace(number);
    }

    /// Waits until every batch written so far has been announced: a write about to commit on
    /// its own then tells its news after theirs. Taken with the write connection held, so no
    /// batch is written meanwhile.
    pub(super) async fn settle_write(&self) -> sqlx::Result<()> {
        wait(&self.announced, self.numbered.load(Ordering::SeqCst)).await
    }

    /// Waits until everything a read made before this call could have seen is on disk. Called
    /// after reading messages or positions a batch may have written, before answering.
    pub async fn settle_read(&self) -> sqlx::Result<()> {
        let upto = self.numbered.load(Ordering::SeqCst);
        if self.failed.load(Ordering::SeqCst) && *self.durable.borrow() < upto {
            return Err(failed());
        }
        wait(&self.durable, upto).await
    }

    /// False once a flush has failed: the server can no longer promise durable writes.
    pub fn healthy(&self) -> bool {
        !self.failed.load(Ordering::SeqCst)
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

fn failed() -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::other(
        "an earlier flush of the write-ahead log failed",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_read_waits_for_the_flush_of_what_it_could_have_seen() {
        let log = Log::new(None);
        assert!(log.settle_read().await.is_ok());
        let first = log.next();
        let second = log.next();
        let third = log.next();
        let read = log.settle_read();
        tokio::pin!(read);
        assert!(futures::poll!(read.as_mut()).is_pending());
        log.committed(first);
        log.committed(second);
        // One flush covers every batch committed before it...
        assert!(log.flush_through(first).await.is_ok());
        assert_eq!(*log.durable.borrow(), second);
        // ...but not one whose statement was still running: it may write after the flush.
        assert!(futures::poll!(read.as_mut()).is_pending());
        log.committed(third);
        assert!(log.flush_through(third).await.is_ok());
        assert!(futures::poll!(read.as_mut()).is_ready());
    }

    #[tokio::test]
    async fn a_write_of_its_own_waits_until_earlier_batches_are_announced() {
        let log = Log::new(None);
        let number = log.next();
        log.committed(number);
        assert!(log.flush_through(number).await.is_ok());
        let settle = log.settle_write();
        tokio::pin!(settle);
        // Flushed is not enough: their news must be out first.
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
