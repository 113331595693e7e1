//! The change record (see `migrations/sqlite/0002_conversations.sql`): every change to a
//! conversation gets the next number of that conversation's `version`, inside the transaction
//! that makes the change. A new message is its own record (its row keeps its `version`); the
//! `changes` table holds every other change, each with the conversation's `last_seq` at the
//! time, so a page can find the messages after any version (migration 0008, `PAGE_SQL`).

use protocol::{ChangeEntry, ChangePage, ConversationId, FieldError, Message, ServerEvent, UserId};
use sqlx::{AnyConnection, Connection, Row};

use crate::conversations::membership;
use crate::messages::message_from_row;
use crate::storage::now_ms;
use crate::{Chat, Error, Result};

/// What changed; stored as text so the record stays readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Created,
    Renamed,
    MessageEdited,
    MessageDeleted,
    Read,
    MemberAdded,
    MemberRemoved,
    RoleChanged,
    /// The help request a post-linked conversation is about has a new title.
    PostEdited,
}

impl ChangeKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Renamed => "renamed",
            Self::MessageEdited => "message_edited",
            Self::MessageDeleted => "message_deleted",
            Self::Read => "read",
            Self::MemberAdded => "member_added",
            Self::MemberRemoved => "member_removed",
            Self::RoleChanged => "role_changed",
            Self::PostEdited => "post_edited",
        }
    }

    /// Changes people see as activity move the conversation up the list; receipts do not.
    fn is_activity(self) -> bool {
        !matches!(
            self,
            Self::Read | Self::MessageEdited | Self::MessageDeleted | Self::PostEdited
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
        "UPDATE conversations SET version = version + 1, updated_at = ? WHERE id = ? \
         RETURNING version, last_seq"
    } else {
        "UPDATE conversations SET version = version + 1, updated_at = updated_at + 0 * ? \
         WHERE id = ? RETURNING version, last_seq"
    };
    let row = sqlx::query(sql)
        .bind(now)
        .bind(conversation)
        .fetch_one(&mut *conn)
        .await?;
    let version: i64 = row.try_get("version")?;
    let at = Position {
        version,
        last_seq: row.try_get("last_seq")?,
    };
    insert(conn, conversation, at, change, now).await?;
    Ok(version)
}

/// Where a change falls: its version, and how many messages the conversation had by then
/// (migration 0008).
#[derive(Debug, Clone, Copy)]
pub struct Position {
    pub version: i64,
    pub last_seq: i64,
}

/// Writes a change at a position the caller already set (a new conversation starts at
/// version 1 with no messages).
pub async fn insert(
    conn: &mut AnyConnection,
    conversation: i64,
    at: Position,
    change: Change,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO changes (conversation_id, version, last_seq, kind, message_id, user_id, seq, \
         created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(conversation)
    .bind(at.version)
    .bind(at.last_seq)
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
        let limit = match limit {
            0 => DEFAULT_PAGE,
            n => n.min(MAX_PAGE),
        };
        // One read transaction: the page and the version it reports are one moment of the
        // conversation, so nothing committed meanwhile can fall between them.
        let mut reader = self.db().read.acquire().await?;
        let mut tx = reader.begin().await?;
        membership(&mut *tx, id, me).await?;
        let rows = sqlx::query(PAGE_SQL)
            .bind(id.0)
            .bind(after)
            .bind(i64::try_from(limit + 1).unwrap_or(i64::MAX))
            .fetch_all(&mut *tx)
            .await?;
        let version: i64 = sqlx::query("SELECT version FROM conversations WHERE id = ?")
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await?
            .try_get("version")?;
        tx.commit().await?;
        // Given back before the conversation's own read takes one.
        drop(reader);
        self.db().settle_read().await?;
        let has_more = rows.len() > limit;

        let mut conversation = None;
        let mut changes = Vec::with_capacity(rows.len().min(limit));
        for row in rows.iter().take(limit) {
            let version: i64 = row.try_get("version")?;
            let kind: String = row.try_get("kind")?;
            let message = || -> Result<Message> {
                match row.try_get::<Option<i64>, _>("id")? {
                    Some(_) => message_from_row(row),
                    None => Err(Error::internal("change without its message")),
                }
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
                    seq: row
                        .try_get::<Option<i64>, _>("read_seq")?
                        .unwrap_or_default(),
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
        Ok(ChangePage {
            changes,
            has_more,
            version,
        })
    }
}

/// A page of changes after a version (`?1` the conversation, `?2` the version, `?3` how many):
/// the change record's rows, each with its message if it has one, and the new messages (each
/// its own change since migration 0008), merged in version order. The messages after the
/// version start past `last_seq + (?2 - version)` of the last change row at or before it
/// (every version between is a message), so a page is a walk of its own length however far
/// back it starts. Each side is cut to the page's length before the merge.
const PAGE_SQL: &str = "\
SELECT * FROM (\
  SELECT ch.version, ch.kind, ch.user_id, ch.seq AS read_seq, m.id, m.conversation_id, \
    m.sender_id, m.client_id, m.body, m.seq, m.created_at, m.edited_at, m.deleted \
  FROM changes ch LEFT JOIN messages m ON m.id = ch.message_id \
  WHERE ch.conversation_id = ?1 AND ch.version > ?2 ORDER BY ch.version LIMIT ?3) \
UNION ALL \
SELECT * FROM (\
  SELECT m.version, 'message_new', NULL, NULL, m.id, m.conversation_id, m.sender_id, \
    m.client_id, m.body, m.seq, m.created_at, m.edited_at, m.deleted \
  FROM messages m \
  WHERE m.conversation_id = ?1 AND m.version > ?2 AND m.seq > coalesce(\
    (SELECT last_seq + (?2 - version) FROM changes \
     WHERE conversation_id = ?1 AND version <= ?2 ORDER BY version DESC LIMIT 1), 0) \
  ORDER BY m.seq LIMIT ?3) \
ORDER BY version LIMIT ?3";

/// Why an `after` was refused, wherever it came from.
pub const NOT_A_VERSION: &str = "must be a version (a whole number, 0 or more)";

/// Changes per page unless asked otherwise, and at most.
pub const DEFAULT_PAGE: usize = 200;
pub const MAX_PAGE: usize = 1000;
