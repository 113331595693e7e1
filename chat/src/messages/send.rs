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
use sqlx::{AnyConnection, Row};
use tokio::sync::{mpsc, oneshot};
use tracing::instrument;

use super::Sent;
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
        let outcomes = match store(&mut writer, batch).await {
            Ok(outcomes) => outcomes,
            Err(e) => return fail_all(batch, &e),
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

/// What the writer connection makes for itself when it connects: the `send_in` view whose
/// trigger stores one send, and the `send_out` table of answers ([`store`]).
pub(crate) const WRITER_SETUP: &str = include_str!("send.sql");

/// A batch: every send stored by one INSERT (one statement, so one transaction and one commit;
/// a storage error undoes all of it), and the answers read back as one JSON document. Jobs go
/// in as one JSON array, so the text is the same whatever the batch's size and is prepared
/// once. SQLite's own (temp objects, `json_each`, `changes()`): another backend gets its own
/// way to do this.
const BATCH_SQL: &str = "\
INSERT INTO send_in (job, conversation_id, sender_id, client_id, body, at) \
SELECT key, value ->> 0, value ->> 1, value ->> 2, value ->> 3, ? FROM json_each(?) ORDER BY key; \
SELECT json_group_array(json_object('job', job, 'earlier', earlier, 'member', member, 'id', id, \
  'conversation_id', conversation_id, 'client_id', client_id, \
  'body', body, 'seq', seq, 'created_at', created_at, 'edited_at', edited_at, \
  'deleted', deleted, 'version', version, 'audience', audience) ORDER BY job) AS answers \
FROM send_out";

/// One send's answer, as the trigger left it in `send_out`: the message (the earlier one for a
/// retry, else the new one) as stored.
#[derive(serde::Deserialize)]
struct Answer {
    job: usize,
    earlier: i64,
    member: i64,
    id: i64,
    conversation_id: i64,
    client_id: Option<String>,
    body: String,
    seq: i64,
    created_at: i64,
    edited_at: Option<i64>,
    deleted: i64,
    version: Option<i64>,
    audience: Option<String>,
}

/// Stores a batch in one round trip. The outer error is a storage failure (the batch fails);
/// an inner one is that send's own refusal, made before it wrote anything.
async fn store(writer: &mut AnyConnection, jobs: &[SendJob]) -> Result<Vec<Result<Stored>>> {
    let now = now_ms();
    let input: Vec<_> = jobs
        .iter()
        .map(|job| {
            let client_id = job.client_id.as_ref().map(ClientMsgId::as_str);
            (job.id.0, job.me.0, client_id, job.body.as_str())
        })
        .collect();
    let input = serde_json::to_string(&input).map_err(Error::internal)?;
    let rows = sqlx::query(BATCH_SQL)
        .bind(now)
        .bind(input)
        .fetch_all(&mut *writer)
        .await?;
    let answers: String = rows
        .first()
        .ok_or_else(|| Error::internal("a batch without answers"))?
        .try_get("answers")?;
    let answers: Vec<Answer> = serde_json::from_str(&answers).map_err(Error::internal)?;
    let mut answers = answers.into_iter().peekable();
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
    if answer.earlier == 1 && answer.member == 0 {
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
        deleted: answer.deleted != 0,
    };
    let created = answer.earlier == 0;
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
