//! Sending, with group commit. Every send goes to one writer thread, which takes all the sends
//! waiting at that moment (up to [`MAX_BATCH`]) and stores them in one transaction, and one
//! flush of the log covers every batch committed while the one before it ran: alone, a send is
//! written and flushed at once; under load, sends share commits and flushes, so throughput grows
//! with load instead of queueing behind one `fsync` per message (BENCHMARKS.md).
//!
//! Nobody hears of a send before its batch is committed and on disk: replies and live news go
//! out once a flush of the log covers the batch, news in commit order
//! ([`crate::storage::Log`]). A send that fails its checks (not a member, `client_id` used
//! elsewhere) fails before it writes anything, so the others in its batch go ahead; a storage
//! error fails the whole batch, and nothing of it is stored or announced.

use protocol::{
    ClientMsgId, ConversationId, Message, MessageBody, MessageId, SendMessage, ServerEvent, UserId,
};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};
use tracing::instrument;

use super::Sent;
use crate::storage::{now_ms, rfc3339};
use crate::{Chat, Error, Result};

/// Most sends in one transaction: bounds how long the write connection is held at once.
const MAX_BATCH: usize = 256;
/// Sends waiting for the writer; past this, callers wait (backpressure, not memory growth).
pub(crate) const QUEUE: usize = 4096;
/// Committed batches waiting for a flush of the log; past this, the writer waits.
const IN_FLUSH: usize = 64;

/// A send on its way to the writer thread.
pub(crate) struct SendJob {
    me: UserId,
    id: ConversationId,
    body: MessageBody,
    client_id: Option<ClientMsgId>,
    reply: oneshot::Sender<Result<Sent>>,
}

impl SendJob {
    fn client_id(&self) -> Option<&str> {
        self.client_id.as_ref().map(ClientMsgId::as_str)
    }

    /// Whether this send repeats `other`'s `client_id`. A batch looks up earlier messages before
    /// it stores any (`send.sql`), so such a send goes in the next batch, which finds `other`.
    fn retries(&self, other: &SendJob) -> bool {
        self.client_id.is_some() && self.me == other.me && self.client_id == other.client_id
    }
}

/// What storing one send gives: the outcome, and who to tell when it was new.
struct Stored {
    sent: Sent,
    audience: Vec<UserId>,
}

impl Chat {
    /// Stores a message and tells the participants. With a `client_id` this sender used
    /// before in this conversation, the first message comes back instead and nothing new is
    /// stored.
    #[instrument(skip(self, request), fields(user_id = %me, conversation_id = %id))]
    pub async fn send_message(
        &self,
        me: UserId,
        id: ConversationId,
        request: SendMessage,
    ) -> Result<Sent> {
        self.pace(me)?;
        let body = MessageBody::parse(&request.body, self.settings().max_message_chars)?;
        let client_id = request
            .client_id
            .as_deref()
            .map(ClientMsgId::parse)
            .transpose()?;
        let (reply, answer) = oneshot::channel();
        let job = SendJob {
            me,
            id,
            body,
            client_id,
            reply,
        };
        let stopped = || Error::internal("the message writer has stopped");
        self.sends().send(job).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Starts the writer on a thread of its own, with `connection`
    /// ([`crate::storage::Db::connect`]), and the thread that flushes and announces its batches.
    pub(crate) fn start_writer(
        &self,
        connection: rusqlite::Connection,
        jobs: mpsc::Receiver<SendJob>,
    ) -> Result<()> {
        let (written, committed) = mpsc::channel(IN_FLUSH);
        let log = self.db().write.log().clone();
        let announcer = Announcer {
            live: self.inner.live.clone(),
            log,
        };
        let writer = BatchWriter {
            connection,
            lock: self.db().write.clone(),
            runtime: Handle::current(),
        };
        // Neither holds the service: a thread holding it would keep the queue's sender, so the
        // writer would never hear that the service is gone, and the announcer never that the
        // writer is.
        spawn("confab-announcer", move || announcer.run(committed))?;
        spawn("confab-writer", move || writer.run(jobs, written))
    }
}

/// Starts a named thread (the name shows in `top -H` and `perf`).
fn spawn(name: &str, run: impl FnOnce() + Send + 'static) -> Result<()> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(run)
        .map(drop)
        .map_err(Error::internal)
}

/// Tells of each batch once a flush of the log covers it, in commit order: the news of its new
/// messages, then each sender's answer. On a thread of its own, beside the writer: it flushes
/// once for every batch handed to it since its last flush, then tells their news itself, so
/// neither the flush nor the news waits for a thread or task to wake (BENCHMARKS.md).
struct Announcer {
    live: std::sync::Arc<crate::live::Live>,
    log: crate::storage::Log,
}

impl Announcer {
    /// Ends once the writer is gone.
    fn run(self, mut committed: mpsc::Receiver<Written>) {
        let mut batches = Vec::new();
        while let Some(first) = committed.blocking_recv() {
            let mut upto = first.number;
            batches.push(first);
            while let Ok(batch) = committed.try_recv() {
                upto = batch.number;
                batches.push(batch);
            }
            let failed = self.log.flush(upto).err().map(Error::from);
            for batch in batches.drain(..) {
                self.announce(batch, failed.as_ref());
            }
        }
    }

    /// Tells of a batch that a flush covered, or, when it failed, tells each sender so.
    fn announce(&self, batch: Written, failed: Option<&Error>) {
        let Written {
            number,
            mut jobs,
            outcomes,
        } = batch;
        match (failed, outcomes) {
            (None, Ok(outcomes)) => {
                for outcome in outcomes.iter().flatten() {
                    if outcome.sent.created {
                        let message = &outcome.sent.message;
                        let event = ServerEvent::MessageNew {
                            message: message.clone(),
                            version: outcome.sent.version,
                        };
                        self.live.publish_message(event, message, &outcome.audience);
                    }
                }
                for (job, outcome) in jobs.drain(..).zip(outcomes) {
                    // A caller that went away (a closed request) no longer wants the answer.
                    let _ = job.reply.send(outcome.map(|stored| stored.sent));
                }
            }
            (Some(e), _) => fail_all(&mut jobs, e),
            (None, Err(e)) => fail_all(&mut jobs, &e),
        }
        self.log.announced(number);
    }
}

/// The writer: one batch at a time, for as long as the service lives. Driven from a thread of
/// its own rather than through sqlx, which hands every statement over to the connection's thread
/// and its rows back: two more threads to wake for each batch, which made a lone send's
/// statement take 3 times its work (BENCHMARKS.md).
struct BatchWriter {
    connection: rusqlite::Connection,
    /// The write lock, shared with every other write.
    lock: crate::storage::Writer,
    runtime: Handle,
}

impl BatchWriter {
    /// Each batch goes on to the [`Announcer`] as soon as it is committed, and the next one is
    /// written while the log is flushed. Ends when the service is gone.
    fn run(self, mut jobs: mpsc::Receiver<SendJob>, written: mpsc::Sender<Written>) {
        let mut batch = Vec::new();
        // A retry of a send already in the batch, which starts the next one.
        let mut next = None;
        while let Some(job) = next.take().or_else(|| jobs.blocking_recv()) {
            batch.push(job);
            while batch.len() < MAX_BATCH {
                let Ok(job) = jobs.try_recv() else { break };
                if batch.iter().any(|other| job.retries(other)) {
                    next = Some(job);
                    break;
                }
                batch.push(job);
            }
            let (held, number) = match self.lock.hold_for_batch(&self.runtime) {
                Ok(held) => held,
                Err(e) => {
                    fail_all(&mut batch, &e.into());
                    continue;
                }
            };
            let outcomes = store(&self.connection, &batch);
            drop(held);
            // Handed on with the batch; the next one grows to its own size.
            let jobs = std::mem::take(&mut batch);
            let done = Written {
                number,
                jobs,
                outcomes,
            };
            if let Err(mpsc::error::SendError(mut done)) = written.blocking_send(done) {
                fail_all(
                    &mut done.jobs,
                    &Error::internal("the announcer has stopped"),
                );
            }
        }
    }
}

/// A committed batch on its way to be announced.
struct Written {
    number: u64,
    jobs: Vec<SendJob>,
    outcomes: Result<Vec<Result<Stored>>>,
}

/// Every send of a failed batch gets the error; none of them was stored.
fn fail_all(batch: &mut Vec<SendJob>, error: &Error) {
    tracing::error!(error = %error, sends = batch.len(), "a batch of sends failed");
    for job in batch.drain(..) {
        let _ = job
            .reply
            .send(Err(Error::internal("the message could not be stored")));
    }
}

/// What the writer connection makes for itself when it connects: the `send_in` view whose
/// trigger stores one send, and the `send_out` table of answers ([`store`]).
pub(crate) const WRITER_SETUP: &str = include_str!("send.sql");

/// A batch: every send stored by one INSERT (one statement, so one transaction and one commit;
/// a storage error undoes all of it), then the answers read back, in the jobs' order. Jobs go
/// in as one JSON array, so the text is the same whatever the batch's size and is prepared
/// once; a lone send (most of them, unless the load is heavy) goes in as one row of values,
/// which skips the JSON and the copy SQLite makes of a SELECT's rows for the view's trigger
/// (BENCHMARKS.md). Each send's earlier message with its `client_id` is looked up here, for
/// every row before any is stored ([`SendJob::retries`]). SQLite's own (temp objects,
/// `json_each`, `changes()`): another backend gets its own way to do this.
const BATCH_SQL: &str = "\
INSERT INTO send_in (job, conversation_id, sender_id, client_id, body, at, earlier) \
SELECT key, value ->> 0, value ->> 1, value ->> 2, value ->> 3, ?, \
  (SELECT id FROM messages WHERE sender_id = value ->> 1 AND client_id = value ->> 2) \
FROM json_each(?) ORDER BY key";
const ONE_SQL: &str = "\
INSERT INTO send_in (job, conversation_id, sender_id, client_id, body, at, earlier) \
VALUES (0, ?1, ?2, ?3, ?4, ?5, (SELECT id FROM messages WHERE sender_id = ?2 AND client_id = ?3))";
/// In the jobs' order: `job` is the table's row id.
const ANSWERS_SQL: &str = "\
SELECT job, earlier, member, id, conversation_id, client_id, body, seq, created_at, edited_at, \
  deleted, version, audience \
FROM send_out ORDER BY job";

/// One send's answer, as the trigger left it in `send_out`: the message (the earlier one for a
/// retry, else the new one) as stored.
struct Answer {
    job: usize,
    earlier: bool,
    member: bool,
    id: i64,
    conversation_id: i64,
    client_id: Option<String>,
    body: String,
    seq: i64,
    created_at: i64,
    edited_at: Option<i64>,
    deleted: bool,
    version: Option<i64>,
    audience: Option<String>,
}

impl Answer {
    fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            job: row.get(0)?,
            earlier: row.get(1)?,
            member: row.get(2)?,
            id: row.get(3)?,
            conversation_id: row.get(4)?,
            client_id: row.get(5)?,
            body: row.get(6)?,
            seq: row.get(7)?,
            created_at: row.get(8)?,
            edited_at: row.get(9)?,
            deleted: row.get(10)?,
            version: row.get(11)?,
            audience: row.get(12)?,
        })
    }
}

/// Stores a batch. The outer error is a storage failure (the batch fails); an inner one is that
/// send's own refusal, made before it wrote anything.
fn store(connection: &rusqlite::Connection, jobs: &[SendJob]) -> Result<Vec<Result<Stored>>> {
    let now = now_ms();
    if let [job] = jobs {
        connection
            .prepare_cached(ONE_SQL)?
            .execute(rusqlite::params![
                job.id.0,
                job.me.0,
                job.client_id(),
                job.body.as_str(),
                now
            ])?;
    } else {
        let input: Vec<_> = jobs
            .iter()
            .map(|job| (job.id.0, job.me.0, job.client_id(), job.body.as_str()))
            .collect();
        let input = serde_json::to_string(&input).map_err(Error::internal)?;
        connection
            .prepare_cached(BATCH_SQL)?
            .execute(rusqlite::params![now, input])?;
    }
    let mut answers = connection.prepare_cached(ANSWERS_SQL)?;
    let mut answers = answers
        .query_map([], Answer::read)?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .peekable();
    jobs.iter()
        .enumerate()
        .map(|(i, job)| match answers.next_if(|a| a.job == i) {
            Some(answer) => outcome(job, answer),
            // Neither an earlier message nor a new one: not a member here.
            None => Ok(Err(Error::NotFound("conversation"))),
        })
        .collect()
}

/// One send's result, from its answer.
fn outcome(job: &SendJob, answer: Answer) -> Result<Result<Stored>> {
    if answer.earlier && !answer.member {
        return Ok(Err(Error::NotFound("conversation")));
    }
    if answer.conversation_id != job.id.0 {
        return Ok(Err(Error::Conflict(
            "client_id was already used for another conversation",
        )));
    }
    let message = Message {
        id: MessageId(answer.id),
        conversation_id: job.id,
        sender_id: job.me,
        client_id: answer.client_id,
        body: answer.body,
        seq: answer.seq,
        created_at: rfc3339(answer.created_at),
        edited_at: answer.edited_at.map(rfc3339),
        deleted: answer.deleted,
    };
    let created = !answer.earlier;
    Ok(Ok(Stored {
        sent: Sent {
            message,
            created,
            version: answer
                .version
                .ok_or_else(|| Error::internal("a stored message without a version"))?,
        },
        audience: crate::live::parse_ids(answer.audience.as_deref())?,
    }))
}
