//! The change record (see `migrations/sqlite/0002_conversations.sql`): every change to a
//! conversation gets the next number of that conversation's `version`, inside the transaction
//! that makes the change.

use protocol::{ChangeEntry, ChangePage, ConversationId, FieldError, Message, ServerEvent, UserId};
use sqlx::{AnyConnection, Row};

use crate::conversations::membership;
use crate::storage::now_ms;
use crate::{Chat, Error, Result};

/// What changed; stored as text so the record stays readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Created,
    Renamed,
    MessageNew,
    MessageEdited,
    MessageDeleted,
    Read,
    MemberAdded,
    MemberRemoved,
    RoleChanged,
}

impl ChangeKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Renamed => "renamed",
            Self::MessageNew => "message_new",
            Self::MessageEdited => "message_edited",
            Self::MessageDeleted => "message_deleted",
            Self::Read => "read",
            Self::MemberAdded => "member_added",
            Self::MemberRemoved => "member_removed",
            Self::RoleChanged => "role_changed",
        }
    }

    /// Changes people see as activity move the conversation up the list; receipts do not.
    fn is_activity(self) -> bool {
        !matches!(
            self,
            Self::Read | Self::MessageEdited | Self::MessageDeleted
        )
    }
}

/// One change to record.
#[derive(Debug, Clone, Copy)]
pub struct Change {
    pub kind: ChangeKind,
    pub message_id: Option<i64>,
    pub user_id: Option<i64>,
    pub seq: Option<i64>,
}

impl Change {
    pub fn new(kind: ChangeKind) -> Self {
        Self {
            kind,
            message_id: None,
            user_id: None,
            seq: None,
        }
    }

    pub fn user(mut self, user: i64) -> Self {
        self.user_id = Some(user);
        self
    }

    pub fn message(mut self, id: i64, seq: i64) -> Self {
        self.message_id = Some(id);
        self.seq = Some(seq);
        self
    }

    pub fn seq(mut self, seq: i64) -> Self {
        self.seq = Some(seq);
        self
    }
}

/// Bumps the conversation's `version` and writes the change under it; returns the version.
pub async fn record(conn: &mut AnyConnection, conversation: i64, change: Change) -> Result<i64> {
    let now = now_ms();
    let sql = if change.kind.is_activity() {
        "UPDATE conversations SET version = version + 1, updated_at = ? WHERE id = ? RETURNING version"
    } else {
        "UPDATE conversations SET version = version + 1, updated_at = updated_at + 0 * ? \
         WHERE id = ? RETURNING version"
    };
    let version: i64 = sqlx::query(sql)
        .bind(now)
        .bind(conversation)
        .fetch_one(&mut *conn)
        .await?
        .try_get("version")?;
    insert(conn, conversation, version, change, now).await?;
    Ok(version)
}

/// Writes a change whose `version` the caller already set (a new conversation starts at 1).
pub async fn insert(
    conn: &mut AnyConnection,
    conversation: i64,
    version: i64,
    change: Change,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO changes (conversation_id, version, kind, message_id, user_id, seq, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(conversation)
    .bind(version)
    .bind(change.kind.as_str())
    .bind(change.message_id)
    .bind(change.user_id)
    .bind(change.seq)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

impl Chat {
    /// The changes to a conversation after version `after`, oldest first, as the frames a
    /// connected client received for them: how a client that was away catches up, exactly
    /// once and in order, however long it was gone.
    pub async fn changes_since(
        &self,
        me: UserId,
        id: ConversationId,
        after: i64,
        limit: usize,
    ) -> Result<ChangePage> {
        if after < 0 {
            return Err(FieldError::new("after", NOT_A_VERSION).into());
        }
        let mut reader = self.db().read.acquire().await?;
        membership(&mut *reader, id, me).await?;
        let limit = match limit {
            0 => DEFAULT_PAGE,
            n => n.min(MAX_PAGE),
        };
        let rows = sqlx::query(
            "SELECT version, kind, message_id, user_id, seq FROM changes \
             WHERE conversation_id = ? AND version > ? ORDER BY version LIMIT ?",
        )
        .bind(id.0)
        .bind(after)
        .bind(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .fetch_all(&mut *reader)
        .await?;
        // Given back before the messages' own read takes one.
        drop(reader);
        let has_more = rows.len() > limit;
        let rows = &rows[..rows.len().min(limit)];

        let message_ids: Vec<i64> = rows
            .iter()
            .filter_map(|r| r.try_get::<Option<i64>, _>("message_id").ok().flatten())
            .collect();
        let messages = self.messages_by_id(&message_ids).await?;
        let mut conversation = None;
        let mut changes = Vec::with_capacity(rows.len());
        for row in rows {
            let version: i64 = row.try_get("version")?;
            let kind: String = row.try_get("kind")?;
            let message = || -> Result<Message> {
                let mid: Option<i64> = row.try_get("message_id")?;
                mid.and_then(|m| messages.get(&m).cloned())
                    .ok_or_else(|| Error::internal("change without its message"))
            };
            let frame = match kind.as_str() {
                "message_new" => ServerEvent::MessageNew {
                    message: message()?,
                    version,
                },
                "message_edited" => ServerEvent::MessageEdited {
                    message: message()?,
                    version,
                },
                "message_deleted" => ServerEvent::MessageDeleted {
                    message: message()?,
                    version,
                },
                "read" => ServerEvent::MessageRead {
                    conversation_id: id,
                    user_id: UserId(
                        row.try_get::<Option<i64>, _>("user_id")?
                            .unwrap_or_default(),
                    ),
                    seq: row.try_get::<Option<i64>, _>("seq")?.unwrap_or_default(),
                    version,
                },
                _ => {
                    if conversation.is_none() {
                        conversation = Some(self.conversation(me, id).await?);
                    }
                    let conversation = conversation
                        .clone()
                        .ok_or_else(|| Error::internal("no conversation"))?;
                    ServerEvent::ConversationUpdated { conversation }
                }
            };
            changes.push(ChangeEntry { version, frame });
        }
        let version: i64 = sqlx::query("SELECT version FROM conversations WHERE id = ?")
            .bind(id.0)
            .fetch_one(&mut *self.db().read.acquire().await?)
            .await?
            .try_get("version")?;
        Ok(ChangePage {
            changes,
            has_more,
            version,
        })
    }
}

/// Why an `after` was refused, wherever it came from.
pub const NOT_A_VERSION: &str = "must be a version (a whole number, 0 or more)";

/// Changes per page unless asked otherwise, and at most.
pub const DEFAULT_PAGE: usize = 200;
pub const MAX_PAGE: usize = 1000;
