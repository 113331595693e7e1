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
use sqlx::{AnyConnection, Connection, Row};
use tokio::sync::{mpsc, oneshot};
use tracing::instrument;

use super::{advance_read, message_from_row, Sent, COLUMNS};
use crate::changes::{self, Change, ChangeKind};
use crate::conversations::membership;
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
        let stored = async {
            let mut tx = writer.begin().await?;
            let mut outcomes = Vec::with_capacity(batch.len());
            for job in batch.iter() {
                outcomes.push(store(&mut tx, job).await?);
            }
            tx.commit().await?;
            Ok::<_, Error>(outcomes)
        }
        .await;
        let outcomes = match stored {
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

/// Stores one send inside the batch's transaction. The outer error is a storage failure (the
/// batch fails); the inner one is this send's own refusal, made before it wrote anything.
async fn store(tx: &mut AnyConnection, job: &SendJob) -> Result<Result<Stored>> {
    let SendJob { me, id, .. } = *job;
    if let Some(client_id) = &job.client_id {
        if let Some(earlier) = earlier_send(tx, me, id, client_id).await? {
            return Ok(earlier);
        }
    }
    let now = now_ms();
    // Numbering and the membership check in one statement: no row back means no such
    // conversation for this user (404).
    let Some(row) = sqlx::query(
        "UPDATE conversations SET last_seq = last_seq + 1, version = version + 1, updated_at = ? \
         WHERE id = ? AND EXISTS (SELECT 1 FROM participants \
         WHERE conversation_id = ? AND user_id = ?) RETURNING last_seq, version",
    )
    .bind(now)
    .bind(id.0)
    .bind(id.0)
    .bind(me.0)
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(Err(Error::NotFound("conversation")));
    };
    let seq: i64 = row.try_get("last_seq")?;
    let version: i64 = row.try_get("version")?;
    let client_id = job.client_id.as_ref().map(ClientMsgId::as_str);
    let message_id: i64 = sqlx::query(
        "INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, created_at, deleted) \
         VALUES (?, ?, ?, ?, ?, ?, 0) RETURNING id",
    )
    .bind(id.0)
    .bind(seq)
    .bind(me.0)
    .bind(client_id)
    .bind(job.body.as_str())
    .bind(now)
    .fetch_one(&mut *tx)
    .await?
    .try_get("id")?;
    let change = Change::new(ChangeKind::MessageNew).message(message_id, seq);
    changes::insert(tx, id.0, version, change, now).await?;
    // Sending marks the conversation read up to this message, for the sender.
    advance_read(tx, id, me, seq).await?;
    let audience = crate::live::participant_ids(&mut *tx, id).await?;
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
        audience,
    }))
}

/// The message this sender already sent with `client_id`, if any: a retry gets it back, from
/// a conversation the sender is still in (404 otherwise) and only from the same conversation.
async fn earlier_send(
    tx: &mut AnyConnection,
    me: UserId,
    id: ConversationId,
    client_id: &ClientMsgId,
) -> Result<Option<Result<Stored>>> {
    let sql = format!(
        "SELECT {COLUMNS}, (SELECT ch.version FROM changes ch \
         WHERE ch.conversation_id = m.conversation_id AND ch.message_id = m.id \
         AND ch.kind = 'message_new') AS new_version \
         FROM messages m WHERE sender_id = ? AND client_id = ?"
    );
    let Some(row) = sqlx::query(&sql)
        .bind(me.0)
        .bind(client_id.as_str())
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(None);
    };
    let message = message_from_row(&row, "")?;
    let version: i64 = row.try_get("new_version")?;
    if let Err(e) = membership(&mut *tx, id, me).await {
        return match e {
            Error::NotFound(_) => Ok(Some(Err(e))),
            other => Err(other),
        };
    }
    if message.conversation_id != id {
        return Ok(Some(Err(Error::Conflict(
            "client_id was already used for another conversation",
        ))));
    }
    Ok(Some(Ok(Stored {
        sent: Sent {
            message,
            created: false,
            version,
        },
        audience: Vec::new(),
    })))
}
