//! Messages: send (numbered 1, 2, 3… per conversation, idempotent on the sender's `client_id`),
//! history pages, edit, delete, and read state.

/// Sending, with group commit.
mod send;

pub(crate) use send::{SendJob, QUEUE as SEND_QUEUE, WRITER_SETUP};

use protocol::{
    ConversationId, ConversationKind, FieldError, Message, MessageBody, MessageId, ServerEvent,
    UserId,
};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Connection, Row};
use tracing::instrument;

use crate::changes::{self, Change, ChangeKind};
use crate::conversations::membership;
use crate::storage::{now_ms, rfc3339};
use crate::{Chat, Error, Result};

const COLUMNS: &str =
    "id, conversation_id, sender_id, client_id, body, seq, created_at, edited_at, deleted";

/// A message from a row holding the [`COLUMNS`].
pub(crate) fn message_from_row(row: &AnyRow) -> Result<Message> {
    Ok(Message {
        id: MessageId(row.try_get("id")?),
        conversation_id: ConversationId(row.try_get("conversation_id")?),
        sender_id: UserId(row.try_get("sender_id")?),
        client_id: row.try_get("client_id")?,
        body: row.try_get("body")?,
        seq: row.try_get("seq")?,
        created_at: rfc3339(row.try_get("created_at")?),
        edited_at: row.try_get::<Option<i64>, _>("edited_at")?.map(rfc3339),
        deleted: row.try_get::<i64, _>("deleted")? != 0,
    })
}

/// The outcome of a send.
#[derive(Debug, Clone)]
pub struct Sent {
    pub message: Message,
    /// False when the `client_id` was used before: `message` is the first one, nothing new
    /// was stored.
    pub created: bool,
    /// The conversation's change number for this message.
    pub version: i64,
}

/// A page of history, oldest first.
#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    /// Only messages with a smaller seq; `None` for the newest page.
    pub before: Option<i64>,
    /// Page size; 0 means the default.
    pub limit: usize,
}

impl HistoryQuery {
    pub const DEFAULT_LIMIT: usize = 50;
    pub const MAX_LIMIT: usize = 100;
}

impl Chat {
    /// A page of history, oldest first, and whether older messages remain.
    pub async fn history(
        &self,
        me: UserId,
        id: ConversationId,
        query: &HistoryQuery,
    ) -> Result<(Vec<Message>, bool)> {
        let mut reader = self.db().read.acquire().await?;
        membership(&mut *reader, id, me).await?;
        let limit = match query.limit {
            0 => HistoryQuery::DEFAULT_LIMIT,
            n => n.min(HistoryQuery::MAX_LIMIT),
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM messages WHERE conversation_id = ? AND seq < ? \
             ORDER BY seq DESC LIMIT ?"
        );
        let rows = sqlx::query(&sql)
            .bind(id.0)
            .bind(query.before.unwrap_or(i64::MAX))
            .bind(i64::try_from(limit + 1).unwrap_or(i64::MAX))
            .fetch_all(&mut *reader)
            .await?;
        drop(reader);
        self.db().settle_read().await?;
        let has_more = rows.len() > limit;
        let mut messages = rows
            .iter()
            .take(limit)
            .map(message_from_row)
            .collect::<Result<Vec<_>>>()?;
        messages.reverse();
        Ok((messages, has_more))
    }

    /// Replaces a message's body; its sender only, and not once deleted.
    #[instrument(skip(self, body), fields(user_id = %me, message_id = %id))]
    pub async fn edit_message(&self, me: UserId, id: MessageId, body: &str) -> Result<Message> {
        self.pace(me)?;
        let body = MessageBody::parse(body, self.settings().max_message_chars)?;
        // The write connection is held until the news is queued, so the hub hears of changes
        // in the order they were committed.
        let mut writer = self.db().write.acquire().await?;
        let mut tx = writer.begin().await?;
        let (message, _) = visible_message(&mut tx, me, id).await?;
        if message.sender_id != me {
            return Err(Error::Forbidden("only its sender can edit a message"));
        }
        if message.deleted {
            return Err(Error::Conflict("the message was deleted"));
        }
        let sql =
            format!("UPDATE messages SET body = ?, edited_at = ? WHERE id = ? RETURNING {COLUMNS}");
        let row = sqlx::query(&sql)
            .bind(body.as_str())
            .bind(now_ms())
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await?;
        let edited = message_from_row(&row)?;
        let change = Change::new(ChangeKind::MessageEdited).message(id.0, edited.seq);
        let version = changes::record(&mut tx, edited.conversation_id.0, change).await?;
        let audience = crate::live::participant_ids(&mut *tx, edited.conversation_id).await?;
        tx.commit().await?;
        let event = ServerEvent::MessageEdited {
            message: edited.clone(),
            version,
        };
        self.live().publish_message(event, &edited, &audience);
        drop(writer);
        Ok(edited)
    }

    /// Deletes a message (its id and seq stay; the body goes): its sender, or an owner or
    /// admin of the group. Deleting it again changes nothing.
    #[instrument(skip(self), fields(user_id = %me, message_id = %id))]
    pub async fn delete_message(&self, me: UserId, id: MessageId) -> Result<Option<Message>> {
        self.pace(me)?;
        // The write connection is held until the news is queued, so the hub hears of changes
        // in the order they were committed.
        let mut writer = self.db().write.acquire().await?;
        let mut tx = writer.begin().await?;
        let (message, member) = visible_message(&mut tx, me, id).await?;
        let moderates = member.kind == ConversationKind::Group && member.role.manages();
        if message.sender_id != me && !moderates {
            return Err(Error::Forbidden(
                "only its sender or a group admin can delete a message",
            ));
        }
        if message.deleted {
            return Ok(None);
        }
        let sql =
            format!("UPDATE messages SET body = '', deleted = 1 WHERE id = ? RETURNING {COLUMNS}");
        let row = sqlx::query(&sql).bind(id.0).fetch_one(&mut *tx).await?;
        let deleted = message_from_row(&row)?;
        let change = Change::new(ChangeKind::MessageDeleted).message(id.0, deleted.seq);
        let version = changes::record(&mut tx, deleted.conversation_id.0, change).await?;
        let audience = crate::live::participant_ids(&mut *tx, deleted.conversation_id).await?;
        tx.commit().await?;
        let event = ServerEvent::MessageDeleted {
            message: deleted.clone(),
            version,
        };
        self.live().publish_message(event, &deleted, &audience);
        drop(writer);
        Ok(Some(deleted))
    }

    /// Marks the conversation read up to `seq` (clamped to the last message). Never moves
    /// back. Returns the read position when it moved.
    #[instrument(skip(self), fields(user_id = %me, conversation_id = %id))]
    pub async fn mark_read(&self, me: UserId, id: ConversationId, seq: i64) -> Result<Option<i64>> {
        self.pace(me)?;
        if seq < 0 {
            return Err(FieldError::new("seq", "must not be negative").into());
        }
        // The write connection is held until the news is queued, so the hub hears of changes
        // in the order they were committed.
        let mut writer = self.db().write.acquire().await?;
        let mut tx = writer.begin().await?;
        let member = membership(&mut *tx, id, me).await?;
        let seq = seq.min(member.last_seq);
        if seq <= member.last_read_seq {
            return Ok(None);
        }
        advance_read(&mut tx, id, me, seq).await?;
        let version = changes::record(
            &mut tx,
            id.0,
            Change::new(ChangeKind::Read).user(me.0).seq(seq),
        )
        .await?;
        let audience = crate::live::participant_ids(&mut *tx, id).await?;
        tx.commit().await?;
        let event = ServerEvent::MessageRead {
            conversation_id: id,
            user_id: me,
            seq,
            version,
        };
        self.live().hub.to_users(&audience, &event);
        drop(writer);
        Ok(Some(seq))
    }
}

/// The message, if `me` takes part in its conversation (404 otherwise), and `me`'s place there.
async fn visible_message(
    conn: &mut AnyConnection,
    me: UserId,
    id: MessageId,
) -> Result<(Message, crate::conversations::Membership)> {
    let sql = format!("SELECT {COLUMNS} FROM messages WHERE id = ?");
    let row = sqlx::query(&sql)
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(Error::NotFound("message"))?;
    let message = message_from_row(&row)?;
    let member = membership(&mut *conn, message.conversation_id, me)
        .await
        .map_err(|_| Error::NotFound("message"))?;
    Ok((message, member))
}

async fn advance_read(
    conn: &mut AnyConnection,
    id: ConversationId,
    user: UserId,
    seq: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE participants SET last_read_seq = ? \
         WHERE conversation_id = ? AND user_id = ? AND last_read_seq < ?",
    )
    .bind(seq)
    .bind(id.0)
    .bind(user.0)
    .bind(seq)
    .execute(conn)
    .await?;
    Ok(())
}
