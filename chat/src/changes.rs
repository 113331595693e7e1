//! The change record (see `migrations/sqlite/0002_conversations.sql`): every change to a
//! conversation gets the next number of that conversation's `version`, inside the transaction
//! that makes the change.

use sqlx::{AnyConnection, Row};

use crate::storage::now_ms;
use crate::Result;

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

/// Writes a change whose `version` the caller already bumped (sends bump it with `last_seq`).
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
