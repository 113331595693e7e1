//! Sending, with group commit. Every send goes to one writer task, which takes all the sends
//! waiting at that moment (up to [`MAX_BATCH`]) and stores them in one transaction: one
//! `fsync` for the lot instead of one each. Alone, a send is written at once as before; under
//! load, the sends that arrive while a batch commits share the next commit, so throughput grows
//! with load instead of queueing behind one `fsync` per message (BENCHMARKS.md).
//!
//! Nobody hears of a send before its batch is committed: replies and live news go out after the
//! commit, news in commit order while the write connection is still held. A send that fails its
//! checks (not a member, `client_id` used elsewhere) fails before it writes anything, so the
//! others in its batch go ahead; a storage error fails the whole batch, and nothing of it is
//! stored or announced.

use protocol::{
    ClientMsgId, ConversationId, Message, MessageBody, MessageId, SendMessage, ServerEvent, UserId,
};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Column, Row};
use tokio::sync::{mpsc, oneshot};
use tracing::instrument;

use super::{message_from_row, Sent};
use crate::storage::{now_ms, rfc3339};
use crate::{Chat, Error, Result};

/// Most sends in one transaction: bounds how long the write connection is held at once.
const MAX_BATCH: usize = 256;
/// Sends waiting for the writer; past this, callers wait (backpressure, not memory growth).
pub(crate) const QUEUE: usize = 4096;

/// A send on its way to the writer task.
pub(crate) struct SendJob {
    me: UserId,
    id: ConversationId,
    body: MessageBody,
    client_id: Option<ClientMsgId>,
    reply: oneshot::Sender<Result<Sent>>,
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

    /// The writer task: one batch at a time, for as long as the service lives.
    pub(crate) async fn write_sends(self, mut jobs: mpsc::Receiver<SendJob>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
            self.write_batch(&mut batch).await;
        }
    }

    async fn write_batch(&self, batch: &mut Vec<SendJob>) {
        let mut writer = match self.db().write.acquire().await {
            Ok(writer) => writer,
            Err(e) => return fail_all(batch, &e.into()),
        };
        // The transaction opens in the first chunk's round trip and commits in the last one's:
        // a lone send is one round trip, not three.
        let stored = async {
            let mut outcomes = Vec::with_capacity(batch.len());
            let mut rest = &batch[..];
            while !rest.is_empty() {
                let size = CHUNKS.into_iter().find(|&n| n <= rest.len()).unwrap_or(1);
                let (chunk, after) = rest.split_at(size);
                let ends = Ends {
                    begin: rest.len() == batch.len(),
                    commit: after.is_empty(),
                };
                outcomes.extend(store(&mut writer, chunk, ends).await?);
                rest = after;
            }
            Ok::<_, Error>(outcomes)
        }
        .await;
        let outcomes = match stored {
            Ok(outcomes) => outcomes,
            Err(e) => {
                // Whatever the failed round trip left open is undone; without an open
                // transaction ROLLBACK fails harmlessly.
                let _ = sqlx::query("ROLLBACK").execute(&mut *writer).await;
                return fail_all(batch, &e);
            }
        };
        // News in commit order, while the write connection is still held.
        for outcome in outcomes.iter().flatten() {
            if outcome.sent.created {
                let message = &outcome.sent.message;
                let event = ServerEvent::MessageNew {
                    message: message.clone(),
                    version: outcome.sent.version,
                };
                self.publish_message(event, message, &outcome.audience);
            }
        }
        drop(writer);
        for (job, outcome) in batch.drain(..).zip(outcomes) {
            // A caller that went away (a closed request) no longer wants the answer.
            let _ = job.reply.send(outcome.map(|stored| stored.sent));
        }
    }
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

/// One send, in one round trip to the database: SQLite runs the statements one after the other
/// in its own thread, binding `?1`…`?5` in each. Issued one by one, the eight statements of a
/// send spent most of their time handing over between threads, not in SQLite (BENCHMARKS.md).
///
/// 1. the sender's earlier message with this `client_id`, if any, its version (kept on the
///    message since migration 0005) and whether the sender is a member here (a retry gets the
///    first message back);
/// 2. otherwise the numbering: `last_seq` and `version` bumped, only for a member (no row back:
///    404); the triggers move every member's `activity_at` unless the conversation is wide;
/// 3. the message, 4. its change record and 5. the sender's read position, each only when the
///    statement before it wrote its one row (`changes() = 1`);
/// 6. who to tell.
///
/// SQLite's own functions (`changes()`, `last_insert_rowid()`) make this text SQLite's; another
/// backend gets its own (a data-modifying CTE on PostgreSQL).
const SEND_SQL: &str = "\
SELECT 1 AS earlier, m.id, m.conversation_id, m.sender_id, m.client_id, m.body, m.seq, \
  m.created_at, m.edited_at, m.deleted, \
  coalesce(m.version, (SELECT ch.version FROM changes ch \
   WHERE ch.conversation_id = m.conversation_id AND ch.message_id = m.id \
   AND ch.kind = 'message_new')) AS earlier_version, \
  EXISTS (SELECT 1 FROM participants WHERE conversation_id = ?1 AND user_id = ?2) AS member \
FROM messages m WHERE m.sender_id = ?2 AND m.client_id = ?3; \
UPDATE conversations SET last_seq = last_seq + 1, version = version + 1, updated_at = ?4 \
WHERE id = ?1 AND EXISTS (SELECT 1 FROM participants WHERE conversation_id = ?1 AND user_id = ?2) \
AND NOT EXISTS (SELECT 1 FROM messages WHERE sender_id = ?2 AND client_id = ?3) \
RETURNING last_seq AS new_seq, version AS new_version; \
INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, created_at, deleted, \
  version) \
SELECT id, last_seq, ?2, ?3, ?5, ?4, 0, version FROM conversations WHERE id = ?1 AND changes() = 1 \
RETURNING id AS new_id; \
INSERT INTO changes (conversation_id, version, kind, message_id, user_id, seq, created_at) \
SELECT id, version, 'message_new', last_insert_rowid(), NULL, last_seq, ?4 \
FROM conversations WHERE id = ?1 AND changes() = 1; \
UPDATE participants SET last_read_seq = (SELECT last_seq FROM conversations WHERE id = ?1) \
WHERE conversation_id = ?1 AND user_id = ?2 AND changes() = 1; \
SELECT group_concat(user_id) AS audience FROM participants WHERE conversation_id = ?1";

/// Sends per round trip: a batch goes in chunks of these sizes, largest first, so that each
/// size's statement text is prepared once and cached, and a busy batch costs a few round trips
/// instead of one per send.
const CHUNKS: [usize; 3] = [16, 4, 1];

/// Whether a chunk's round trip also opens (`BEGIN`) or commits the batch's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ends {
    begin: bool,
    commit: bool,
}

impl Ends {
    /// Which of the four texts of a chunk size this is.
    fn index(self) -> usize {
        usize::from(self.begin) * 2 + usize::from(self.commit)
    }
}

/// [`SEND_SQL`] repeated `sends` times with plain `?` placeholders, wrapped in `BEGIN` and/or
/// `COMMIT` as `ends` says, and which of the five parameters each `?` of one copy takes. Plain
/// `?` bind in order across all the statements; numbered ones would not: sqlx counts a
/// statement's unused lower numbers as plain `?` too, and in a later copy runs out of values
/// before it reaches the real ones. `None` for a count that is not one of [`CHUNKS`].
fn chunk_sql(sends: usize, ends: Ends) -> Option<(&'static str, &'static [usize])> {
    static TEXTS: std::sync::OnceLock<(Vec<[String; 4]>, Vec<usize>)> = std::sync::OnceLock::new();
    let (texts, order) = TEXTS.get_or_init(|| {
        let (one, order) = plain(SEND_SQL);
        let texts = CHUNKS
            .iter()
            .map(|&n| {
                let body = vec![one.as_str(); n].join("; ");
                [
                    body.clone(),
                    format!("{body}; COMMIT"),
                    format!("BEGIN; {body}"),
                    format!("BEGIN; {body}; COMMIT"),
                ]
            })
            .collect();
        (texts, order)
    });
    let index = CHUNKS.iter().position(|&n| n == sends)?;
    Some((texts.get(index)?.get(ends.index())?.as_str(), order))
}

/// `sql` with every `?N` made a plain `?`, and the N of each, in order.
fn plain(sql: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(sql.len());
    let mut order = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '?' {
            let mut n = 0usize;
            while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                n = n * 10 + d as usize;
                chars.next();
            }
            order.push(n);
        }
    }
    (out, order)
}

/// Stores a chunk of sends in the batch's transaction (opening or committing it as `ends`
/// says), in one round trip. The outer error is a storage failure (the batch fails); an inner
/// one is that send's own refusal, made before it wrote anything.
async fn store(
    writer: &mut AnyConnection,
    jobs: &[SendJob],
    ends: Ends,
) -> Result<Vec<Result<Stored>>> {
    let now = now_ms();
    let (sql, order) = chunk_sql(jobs.len(), ends)
        .ok_or_else(|| Error::internal("no statement for this many sends"))?;
    let mut query = sqlx::query(sql);
    for job in jobs {
        for &parameter in order {
            query = match parameter {
                1 => query.bind(job.id.0),
                2 => query.bind(job.me.0),
                3 => query.bind(job.client_id.as_ref().map(ClientMsgId::as_str)),
                4 => query.bind(now),
                _ => query.bind(job.body.as_str()),
            };
        }
    }
    let rows = query.fetch_all(&mut *writer).await?;
    // Each send's rows end with its one `audience` row.
    let mut outcomes = Vec::with_capacity(jobs.len());
    let mut start = 0;
    for (i, row) in rows.iter().enumerate() {
        if has(row, "audience") {
            let job = jobs
                .get(outcomes.len())
                .ok_or_else(|| Error::internal("more sends stored than asked"))?;
            outcomes.push(outcome(job, &rows[start..=i], now)?);
            start = i + 1;
        }
    }
    if outcomes.len() != jobs.len() {
        return Err(Error::internal("a send of the chunk gave no answer"));
    }
    Ok(outcomes)
}

fn has(row: &AnyRow, column: &str) -> bool {
    row.columns().iter().any(|c| c.name() == column)
}

/// One send's result, from its rows of the chunk's answer.
fn outcome(job: &SendJob, rows: &[AnyRow], now: i64) -> Result<Result<Stored>> {
    let SendJob { me, id, .. } = *job;
    let client_id = job.client_id.as_ref().map(ClientMsgId::as_str);
    let find = |column: &str| rows.iter().find(|row| has(row, column));
    if let Some(row) = find("earlier") {
        if row.try_get::<i64, _>("member")? == 0 {
            return Ok(Err(Error::NotFound("conversation")));
        }
        let message = message_from_row(row)?;
        if message.conversation_id != id {
            return Ok(Err(Error::Conflict(
                "client_id was already used for another conversation",
            )));
        }
        return Ok(Ok(Stored {
            sent: Sent {
                message,
                created: false,
                version: row.try_get("earlier_version")?,
            },
            audience: Vec::new(),
        }));
    }
    let Some(numbered) = find("new_seq") else {
        return Ok(Err(Error::NotFound("conversation")));
    };
    let seq: i64 = numbered.try_get("new_seq")?;
    let version: i64 = numbered.try_get("new_version")?;
    let message_id: i64 = find("new_id")
        .ok_or_else(|| Error::internal("the message was numbered but not stored"))?
        .try_get("new_id")?;
    let audience: Option<String> = find("audience")
        .ok_or_else(|| Error::internal("no audience"))?
        .try_get("audience")?;
    let message = Message {
        id: MessageId(message_id),
        conversation_id: id,
        sender_id: me,
        client_id: client_id.map(str::to_owned),
        body: job.body.as_str().to_owned(),
        seq,
        created_at: rfc3339(now),
        edited_at: None,
        deleted: false,
    };
    Ok(Ok(Stored {
        sent: Sent {
            message,
            created: true,
            version,
        },
        audience: crate::live::parse_ids(audience.as_deref())?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_parameters_become_plain_ones_in_order() {
        assert_eq!(
            plain("a = ?1 AND b = ?12 OR c = ?1"),
            ("a = ? AND b = ? OR c = ?".to_owned(), vec![1, 12, 1])
        );
        let both = Ends {
            begin: true,
            commit: true,
        };
        let (sql, order) = chunk_sql(4, both).unwrap();
        assert!(chunk_sql(3, both).is_none());
        assert!(sql.starts_with("BEGIN; ") && sql.ends_with("; COMMIT"));
        assert_eq!(sql.matches('?').count(), 4 * order.len());
        assert!(order.iter().all(|p| (1..=5).contains(p)));
    }
}
