//! Who may see a conversation: its participants, and nobody else (others get 404).

use protocol::{ConversationId, ConversationKind, Role, UserId};
use sqlx::{Any, Executor, Row};

use crate::{Error, Result};

/// The caller's place in a conversation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Membership {
    pub kind: ConversationKind,
    pub role: Role,
    pub last_read_seq: i64,
    pub last_seq: i64,
}

/// `user`'s membership of `conversation`, or 404 when there is none (or no such conversation).
pub(crate) async fn membership<'e, E>(
    executor: E,
    conversation: ConversationId,
    user: UserId,
) -> Result<Membership>
where
    E: Executor<'e, Database = Any>,
{
    let row = sqlx::query(
        "SELECT c.kind, c.last_seq, p.role, p.last_read_seq FROM participants p \
         JOIN conversations c ON c.id = p.conversation_id \
         WHERE p.conversation_id = ? AND p.user_id = ?",
    )
    .bind(conversation.0)
    .bind(user.0)
    .fetch_optional(executor)
    .await?
    .ok_or(Error::NotFound("conversation"))?;
    let kind: String = row.try_get("kind")?;
    let role: String = row.try_get("role")?;
    Ok(Membership {
        kind: ConversationKind::parse(&kind).ok_or_else(|| Error::internal("bad kind"))?,
        role: Role::parse(&role).ok_or_else(|| Error::internal("bad role"))?,
        last_read_seq: row.try_get("last_read_seq")?,
        last_seq: row.try_get("last_seq")?,
    })
}
