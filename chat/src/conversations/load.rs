//! Reading conversations as one participant sees them. The page of conversations comes from
//! one query (last message and unread count included); their participants from one more, for
//! the whole page. Never a query per conversation.

use std::collections::HashMap;

use protocol::{
    Conversation, ConversationId, ConversationKind, Participant, PostId, PostRef, Role, User,
    UserId,
};
use sqlx::any::AnyRow;
use sqlx::{QueryBuilder, Row};

use crate::messages::message_from_row;
use crate::storage::{next_cursor, parse_cursor, rfc3339};
use crate::{Chat, Error, Result};

/// Filters and paging for the conversation list.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Case-insensitive substring of a title, post title or participant name.
    pub q: Option<String>,
    pub kind: Option<ConversationKind>,
    /// Only conversations with unread messages.
    pub unread: bool,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size; 0 means the default.
    pub limit: usize,
    /// Just this conversation (used to read one).
    pub only: Option<ConversationId>,
}

impl ListQuery {
    pub const DEFAULT_LIMIT: usize = 50;
    pub const MAX_LIMIT: usize = 100;
}

/// Escapes LIKE wildcards so a search for `50%` finds "50%".
fn like_pattern(q: &str) -> String {
    let mut pattern = String::with_capacity(q.len() + 2);
    pattern.push('%');
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

impl Chat {
    pub(crate) async fn load_conversations(
        &self,
        me: UserId,
        query: &ListQuery,
    ) -> Result<(Vec<Conversation>, Option<String>)> {
        let limit = match query.limit {
            0 => ListQuery::DEFAULT_LIMIT,
            n => n.min(ListQuery::MAX_LIMIT),
        };
        let mut q = QueryBuilder::new(
            "WITH page AS (SELECT c.id AS id, p.last_read_seq AS last_read_seq \
             FROM participants p JOIN conversations c ON c.id = p.conversation_id \
             LEFT JOIN posts po ON po.id = c.post_id WHERE p.user_id = ",
        );
        q.push_bind(me.0);
        if let Some(id) = query.only {
            q.push(" AND c.id = ").push_bind(id.0);
        }
        if let Some(kind) = query.kind {
            q.push(" AND c.kind = ").push_bind(kind.as_str());
        }
        if query.unread {
            q.push(
                // `last_seq` past the read position is cheap to check and needed for any unread.
                " AND c.last_seq > p.last_read_seq \
                 AND EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id \
                 AND m.seq > p.last_read_seq AND m.deleted = 0 AND m.sender_id <> ",
            )
            .push_bind(me.0)
            .push(")");
        }
        if let Some(text) = query.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            let pattern = like_pattern(text);
            q.push(" AND (c.title_key LIKE ").push_bind(pattern.clone());
            q.push(" ESCAPE '\\' OR po.title_key LIKE ")
                .push_bind(pattern.clone());
            q.push(
                " ESCAPE '\\' OR EXISTS (SELECT 1 FROM participants p2 JOIN users u \
                 ON u.id = p2.user_id WHERE p2.conversation_id = c.id AND \
                 (u.display_name_key LIKE ",
            )
            .push_bind(pattern.clone());
            q.push(" ESCAPE '\\' OR u.username_key LIKE ")
                .push_bind(pattern);
            q.push(" ESCAPE '\\')))");
        }
        if let Some(cursor) = query.cursor.as_deref() {
            let (at, id) = parse_cursor(cursor)?;
            q.push(" AND (c.updated_at < ").push_bind(at);
            q.push(" OR (c.updated_at = ").push_bind(at);
            q.push(" AND c.id < ").push_bind(id).push("))");
        }
        q.push(" ORDER BY c.updated_at DESC, c.id DESC LIMIT ")
            .push_bind(i64::try_from(limit + 1).unwrap_or(i64::MAX));
        q.push(
            ") SELECT c.id, c.kind, c.title, c.post_id, po.title AS post_title, c.last_seq, \
             c.version, c.updated_at, page.last_read_seq, \
             (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id \
              AND m.seq > page.last_read_seq AND m.deleted = 0 AND m.sender_id <> ",
        )
        .push_bind(me.0);
        q.push(
            ") AS unread_count, lm.id AS lm_id, lm.conversation_id AS lm_conversation_id, \
             lm.sender_id AS lm_sender_id, lm.client_id AS lm_client_id, lm.body AS lm_body, \
             lm.seq AS lm_seq, lm.created_at AS lm_created_at, lm.edited_at AS lm_edited_at, \
             lm.deleted AS lm_deleted \
             FROM page JOIN conversations c ON c.id = page.id \
             LEFT JOIN posts po ON po.id = c.post_id \
             LEFT JOIN messages lm ON lm.conversation_id = c.id AND lm.seq = c.last_seq \
             ORDER BY c.updated_at DESC, c.id DESC",
        );
        let mut rows = q.build().fetch_all(&self.db().read).await?;

        let next_cursor = next_cursor(&mut rows, limit, "updated_at", "id")?;
        let mut conversations = rows
            .iter()
            .map(conversation_from_row)
            .collect::<Result<Vec<_>>>()?;
        self.fill_participants(&mut conversations).await?;
        Ok((conversations, next_cursor))
    }

    async fn fill_participants(&self, conversations: &mut [Conversation]) -> Result<()> {
        if conversations.is_empty() {
            return Ok(());
        }
        let mut q = QueryBuilder::new(
            "SELECT p.conversation_id, p.role, p.last_read_seq, u.id, u.username, u.display_name \
             FROM participants p JOIN users u ON u.id = p.user_id WHERE p.conversation_id IN (",
        );
        let mut ids = q.separated(", ");
        for c in conversations.iter() {
            ids.push_bind(c.id.0);
        }
        q.push(") ORDER BY p.conversation_id, p.joined_at, u.id");
        let rows = q.build().fetch_all(&self.db().read).await?;
        let mut by_conversation: HashMap<i64, Vec<Participant>> = HashMap::new();
        for row in &rows {
            let role: String = row.try_get("role")?;
            by_conversation
                .entry(row.try_get("conversation_id")?)
                .or_default()
                .push(Participant {
                    user: User {
                        id: UserId(row.try_get("id")?),
                        username: row.try_get("username")?,
                        display_name: row.try_get("display_name")?,
                        online: self.live().hub.is_online(UserId(row.try_get("id")?)),
                    },
                    role: Role::parse(&role).ok_or_else(|| Error::internal("bad role"))?,
                    last_read_seq: row.try_get("last_read_seq")?,
                });
        }
        for c in conversations.iter_mut() {
            c.participants = by_conversation.remove(&c.id.0).unwrap_or_default();
        }
        Ok(())
    }
}

fn conversation_from_row(row: &AnyRow) -> Result<Conversation> {
    let kind: String = row.try_get("kind")?;
    let post = match row.try_get::<Option<i64>, _>("post_id")? {
        Some(id) => Some(PostRef {
            id: PostId(id),
            title: row.try_get("post_title")?,
        }),
        None => None,
    };
    let last_message = match row.try_get::<Option<i64>, _>("lm_id")? {
        Some(_) => Some(message_from_row(row, "lm_")?),
        None => None,
    };
    Ok(Conversation {
        id: ConversationId(row.try_get("id")?),
        kind: ConversationKind::parse(&kind).ok_or_else(|| Error::internal("bad kind"))?,
        title: row.try_get("title")?,
        post,
        participants: Vec::new(),
        last_message,
        last_seq: row.try_get("last_seq")?,
        unread_count: row.try_get("unread_count")?,
        updated_at: rfc3339(row.try_get("updated_at")?),
        version: row.try_get("version")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("50%_A\\"), "%50\\%\\_a\\\\%");
    }

    #[test]
    fn cursors_are_read_and_garbage_is_refused() {
        assert_eq!(
            parse_cursor("1700000000000.42").unwrap(),
            (1_700_000_000_000, 42)
        );
        assert!(parse_cursor("nope").is_err());
        assert!(parse_cursor("1.x").is_err());
    }
}
