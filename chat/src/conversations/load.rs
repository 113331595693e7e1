//! Reading conversations as one participant sees them: the page (each conversation's place,
//! version and unread count) in one query, and the rest of every conversation on it (title,
//! last message, participants) from memory at that version or in one more query
//! ([`Snapshots`](super::snapshots::Snapshots)). Never a query per conversation.
//!
//! Both come back as one JSON document built in SQL: a page of 50 groups can hold hundreds of
//! members, and fetched as rows each one costs a hop from SQLite's worker thread and an
//! `AnyRow` of its own, which was most of the list's time (BENCHMARKS.md).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use protocol::{
    Conversation, ConversationId, ConversationKind, Message, MessageId, Participant, PostId,
    PostRef, Role, User, UserId,
};
use sqlx::{AnyConnection, Connection, QueryBuilder, Row};

use super::snapshots::{Member, Own, Rendered, Snapshot};
use crate::accounts::Name;
use crate::storage::{like_pattern, now_ms, parse_cursor, rfc3339};
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

/// Which of a person's memberships a walk of the list covers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Walk {
    /// Memberships keeping a copy of their conversation's activity (`activity_at` > 0).
    Kept,
    /// Memberships of wide conversations, which keep none (`activity_at` = 0).
    Wide,
}

/// Rows a page asks for: one past its length, to know whether another page follows.
fn page_rows(limit: usize) -> i64 {
    i64::try_from(limit + 1).unwrap_or(i64::MAX)
}

/// The page: the two walks merged, each row with its conversation's version and the viewer's
/// unread count, as one JSON document (one row): fetched as rows, each conversation cost a hop
/// from SQLite's worker thread and an `AnyRow` of its own. The rest of each conversation comes
/// from its snapshot ([`Chat::snapshots_of`]).
fn page_query(
    me: UserId,
    query: &ListQuery,
    cursor: Option<(i64, i64)>,
    limit: usize,
) -> QueryBuilder<'static, sqlx::Any> {
    let mut q = QueryBuilder::new("WITH page AS (SELECT * FROM (");
    // Two walks, merged: memberships that keep their conversation's activity walk
    // `participants_by_activity` in list order and stop at the page's length; those of
    // wide conversations (migration 0004) are few per person and sorted by the
    // conversation's own `updated_at`.
    push_walk(&mut q, me, query, cursor, limit, Walk::Kept);
    q.push(") UNION ALL SELECT * FROM (");
    push_walk(&mut q, me, query, cursor, limit, Walk::Wide);
    q.push(") ORDER BY activity_at DESC, id DESC LIMIT ")
        .push_bind(page_rows(limit));
    q.push(
        ") SELECT json_group_array(json_array(c.id, c.version, page.activity_at, \
         page.muted_until, CASE WHEN c.last_seq > page.last_read_seq THEN \
         (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id \
          AND m.seq > page.last_read_seq AND m.deleted = 0 AND m.sender_id <> ",
    )
    .push_bind(me.0);
    // Read conversations (most of them) skip the count.
    q.push(
        ") ELSE 0 END) ORDER BY page.activity_at DESC, c.id DESC) AS page \
         FROM page JOIN conversations c ON c.id = page.id",
    );
    q
}

/// The rows of a page ([`page_query`]), in list order.
async fn page_rows_of(
    conn: &mut AnyConnection,
    mut page: QueryBuilder<'_, sqlx::Any>,
) -> Result<Vec<PageRow>> {
    let page: String = page.build().fetch_one(&mut *conn).await?.try_get("page")?;
    serde_json::from_str(&page).map_err(Error::internal)
}

/// The conversations whose ids the one parameter lists (a JSON array) as everyone sees them,
/// each with the version it was read at, in one document: the columns of [`SnapshotRow`].
/// Participants are built as JSONB, which the outer `json_array` embeds as JSON (a subquery's
/// text would lose its JSON subtype and be quoted as a string).
const SNAPSHOTS_SQL: &str = "\
SELECT json_group_array(json_array(c.id, c.version, c.kind, c.title, c.post_id, po.title, \
  c.last_seq, c.updated_at, lm.id, lm.sender_id, lm.client_id, lm.body, lm.seq, lm.created_at, \
  lm.edited_at, lm.deleted, \
  (SELECT jsonb_group_array(jsonb_array(pm.user_id, pm.role, pm.last_read_seq) \
   ORDER BY pm.joined_at, pm.user_id) FROM participants pm WHERE pm.conversation_id = c.id))) \
  AS snapshots \
FROM conversations c \
LEFT JOIN posts po ON po.id = c.post_id \
LEFT JOIN messages lm ON lm.conversation_id = c.id AND lm.seq = c.last_seq \
WHERE c.id IN (SELECT value FROM json_each(?))";

/// One walk of the list's page: `me`'s memberships of one [`Walk`] that pass the filters, after
/// `cursor`, in list order, at most a page and one of them, as rows (`id`, `last_read_seq`,
/// `muted_until`, `activity_at`).
fn push_walk(
    q: &mut QueryBuilder<'_, sqlx::Any>,
    me: UserId,
    query: &ListQuery,
    cursor: Option<(i64, i64)>,
    limit: usize,
    walk: Walk,
) {
    let activity = match walk {
        Walk::Kept => "p.activity_at",
        Walk::Wide => "c.updated_at",
    };
    let text = query.q.as_deref().map(str::trim).filter(|t| !t.is_empty());
    q.push(format_args!(
        "SELECT p.conversation_id AS id, p.last_read_seq AS last_read_seq, \
         p.muted_until AS muted_until, {activity} AS activity_at FROM participants p"
    ));
    // The kept walk reads the index alone unless a filter needs the conversation: joined
    // anyway, each row of the page cost a lookup more.
    if walk == Walk::Wide || query.kind.is_some() || query.unread {
        q.push(" JOIN conversations c ON c.id = p.conversation_id");
    }
    if text.is_some() {
        q.push(" JOIN conversation_search cs ON cs.conversation_id = p.conversation_id");
    }
    q.push(" WHERE p.user_id = ");
    q.push_bind(me.0);
    q.push(match walk {
        Walk::Kept => " AND p.activity_at > 0",
        Walk::Wide => " AND p.activity_at = 0",
    });
    if let Some(only) = query.only {
        q.push(" AND p.conversation_id = ").push_bind(only.0);
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
    if let Some(text) = text {
        // Titles and every participant's names, folded and kept in one text per conversation
        // (migration 0006): one LIKE instead of a lookup in `users` per participant.
        q.push(" AND cs.text LIKE ")
            .push_bind(like_pattern(text))
            .push(" ESCAPE '\\'");
    }
    if let Some((at, after)) = cursor {
        q.push(format_args!(" AND ({activity} < ")).push_bind(at);
        q.push(format_args!(" OR ({activity} = ")).push_bind(at);
        q.push(" AND p.conversation_id < ")
            .push_bind(after)
            .push("))");
    }
    q.push(format_args!(
        " ORDER BY {activity} DESC, p.conversation_id DESC LIMIT "
    ))
    .push_bind(page_rows(limit));
}

impl Chat {
    /// A page of `me`'s list: each conversation's row and snapshot, and who on it is online.
    pub(crate) async fn load_conversations(&self, me: UserId, query: &ListQuery) -> Result<Page> {
        let limit = match query.limit {
            0 => ListQuery::DEFAULT_LIMIT,
            n => n.min(ListQuery::MAX_LIMIT),
        };
        let cursor = query.cursor.as_deref().map(parse_cursor).transpose()?;
        let mut conn = self.db().read.acquire().await?;
        let mut rows = page_rows_of(&mut conn, page_query(me, query, cursor, limit)).await?;
        // A conversation that changed between the page and its snapshot: read both again in
        // one transaction, so the page shows one version of it (rare: the two reads are
        // microseconds apart).
        let mut snapshots = match self.snapshots_of(&mut conn, &rows).await? {
            Some(snapshots) => snapshots,
            None => {
                let mut tx = conn.begin().await?;
                rows = page_rows_of(&mut tx, page_query(me, query, cursor, limit)).await?;
                let snapshots = self
                    .snapshots_of(&mut tx, &rows)
                    .await?
                    .ok_or_else(|| Error::internal("a snapshot changed inside a transaction"))?;
                tx.commit().await?;
                snapshots
            }
        };
        drop(conn);
        self.db().settle_read().await?;
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            snapshots.truncate(limit);
            rows.last().map(|r| format!("{}.{}", r.activity_at, r.id))
        } else {
            None
        };
        // Who is online: one look at the hub for the whole page.
        let people: Vec<UserId> = snapshots
            .iter()
            .flat_map(|snapshot| &snapshot.members)
            .map(|member| member.user)
            .collect();
        let online = self.live().hub.online_among(&people).into_iter().collect();
        Ok(Page {
            rows,
            snapshots,
            online,
            next_cursor,
        })
    }

    /// Every conversation on `rows` at the version the row shows: from memory where held
    /// ([`Snapshots`](super::snapshots::Snapshots)), the rest in one query on `conn`. `None`
    /// when a conversation has moved on since `rows` were read.
    async fn snapshots_of(
        &self,
        conn: &mut AnyConnection,
        rows: &[PageRow],
    ) -> Result<Option<Vec<Arc<Snapshot>>>> {
        let snapshots = self.snapshots();
        let held: Vec<Option<Arc<Snapshot>>> =
            rows.iter().map(|r| snapshots.at(r.id, r.version)).collect();
        let missing: Vec<i64> = rows
            .iter()
            .zip(&held)
            .filter(|(_, held)| held.is_none())
            .map(|(row, _)| row.id)
            .collect();
        if missing.is_empty() {
            return Ok(Some(held.into_iter().flatten().collect()));
        }
        let ids = serde_json::to_string(&missing).map_err(Error::internal)?;
        let read: String = sqlx::query(SNAPSHOTS_SQL)
            .bind(ids)
            .fetch_one(&mut *conn)
            .await?
            .try_get("snapshots")?;
        let read: Vec<SnapshotRow> = serde_json::from_str(&read).map_err(Error::internal)?;
        // Names come from memory (`accounts::Names`): joined from `users` here they were half
        // of the page's time.
        let people = read.iter().flat_map(|r| &r.members).map(|member| member.0);
        let names = self.accounts().names().of(&mut *conn, people).await?;
        let mut read: HashMap<i64, Arc<Snapshot>> = read
            .into_iter()
            .map(|row| {
                let id = row.id;
                let snapshot = Arc::new(snapshot(row, &names)?);
                snapshots.keep(id, Arc::clone(&snapshot));
                Ok((id, snapshot))
            })
            .collect::<Result<_>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for (row, held) in rows.iter().zip(held) {
            match held.or_else(|| read.remove(&row.id)) {
                Some(snapshot) if snapshot.version == row.version => out.push(snapshot),
                _ => return Ok(None),
            }
        }
        Ok(Some(out))
    }
}

/// A conversation as [`SNAPSHOTS_SQL`] read it.
fn snapshot(row: SnapshotRow, names: &HashMap<i64, Arc<Name>>) -> Result<Snapshot> {
    let post = row.post_id.map(|id| PostRef {
        id: PostId(id),
        title: row.post_title.unwrap_or_default(),
    });
    let last_message = match (row.lm_id, row.lm_seq) {
        (Some(id), Some(seq)) => Some(Message {
            id: MessageId(id),
            conversation_id: ConversationId(row.id),
            sender_id: UserId(row.lm_sender_id.unwrap_or_default()),
            client_id: row.lm_client_id,
            body: row.lm_body.unwrap_or_default(),
            seq,
            created_at: rfc3339(row.lm_created_at.unwrap_or_default()),
            edited_at: row.lm_edited_at.map(rfc3339),
            deleted: row.lm_deleted.unwrap_or_default() != 0,
        }),
        _ => None,
    };
    let members = row
        .members
        .into_iter()
        .map(|MemberRow(user, role, last_read_seq)| {
            Ok(Member {
                user: UserId(user),
                name: names
                    .get(&user)
                    .cloned()
                    .ok_or_else(|| Error::internal("a participant without an account"))?,
                role: Role::parse(&role).ok_or_else(|| Error::internal("bad role"))?,
                last_read_seq,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut snapshot = Snapshot {
        version: row.version,
        kind: ConversationKind::parse(&row.kind).ok_or_else(|| Error::internal("bad kind"))?,
        title: row.title,
        post,
        last_seq: row.last_seq,
        updated_at: row.updated_at,
        last_message,
        members,
        rendered: Rendered::default(),
    };
    let nobody = Own::default();
    snapshot.rendered = Rendered::new(&conversation(row.id, &nobody, &snapshot, &HashSet::new()))
        .map_err(Error::internal)?;
    Ok(snapshot)
}

/// One page of a person's list, as [`Chat::load_conversations`] read it.
pub(crate) struct Page {
    rows: Vec<PageRow>,
    snapshots: Vec<Arc<Snapshot>>,
    online: HashSet<UserId>,
    pub next_cursor: Option<String>,
}

impl Page {
    /// The page's conversations as the viewer sees them.
    pub(crate) fn conversations(&self) -> Vec<Conversation> {
        let now = now_ms();
        self.rows
            .iter()
            .zip(&self.snapshots)
            .map(|(row, snapshot)| conversation(row.id, &row.own(now), snapshot, &self.online))
            .collect()
    }

    /// The page as `ConversationList` JSON, written from each snapshot's [`Rendered`] form:
    /// the same bytes as serializing [`Page::conversations`], at a fraction of the cost.
    pub(crate) fn to_json(&self) -> Result<Vec<u8>> {
        let size: usize = self.snapshots.iter().map(|s| s.rendered.len() + 64).sum();
        let mut out = Vec::with_capacity(size + 64);
        let now = now_ms();
        out.extend_from_slice(b"{\"conversations\":[");
        for (i, (row, snapshot)) in self.rows.iter().zip(&self.snapshots).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let online = snapshot
                .members
                .iter()
                .map(|member| self.online.contains(&member.user));
            snapshot.rendered.write(&mut out, online, &row.own(now));
        }
        out.extend_from_slice(b"],\"next_cursor\":");
        serde_json::to_writer(&mut out, &self.next_cursor).map_err(Error::internal)?;
        out.push(b'}');
        Ok(out)
    }
}

/// A conversation as `me` sees it: its snapshot, with the viewer's own values and everyone's
/// presence now.
fn conversation(id: i64, own: &Own, snapshot: &Snapshot, online: &HashSet<UserId>) -> Conversation {
    let participants = snapshot
        .members
        .iter()
        .map(|member| Participant {
            user: User {
                id: member.user,
                username: member.name.username.clone(),
                display_name: member.name.display_name.clone(),
                online: online.contains(&member.user),
            },
            role: member.role,
            last_read_seq: member.last_read_seq,
        })
        .collect();
    Conversation {
        id: ConversationId(id),
        kind: snapshot.kind,
        title: snapshot.title.clone(),
        post: snapshot.post.clone(),
        participants,
        last_message: snapshot.last_message.clone(),
        last_seq: snapshot.last_seq,
        unread_count: own.unread_count,
        muted: own.muted,
        muted_until: own.muted_until.clone(),
        updated_at: rfc3339(snapshot.updated_at),
        version: snapshot.version,
    }
}

/// One conversation of the page, in the order [`page_query`]'s `json_array` lists the columns.
#[derive(serde::Deserialize)]
struct PageRow {
    id: i64,
    version: i64,
    activity_at: i64,
    muted_until: Option<i64>,
    unread_count: i64,
}

impl PageRow {
    fn own(&self, now: i64) -> Own {
        Own::new(self.unread_count, self.muted_until, now)
    }
}

/// One conversation in the order [`SNAPSHOTS_SQL`]'s `json_array` lists the columns.
#[derive(serde::Deserialize)]
struct SnapshotRow {
    id: i64,
    version: i64,
    kind: String,
    title: Option<String>,
    post_id: Option<i64>,
    post_title: Option<String>,
    last_seq: i64,
    updated_at: i64,
    lm_id: Option<i64>,
    lm_sender_id: Option<i64>,
    lm_client_id: Option<String>,
    lm_body: Option<String>,
    lm_seq: Option<i64>,
    lm_created_at: Option<i64>,
    lm_edited_at: Option<i64>,
    lm_deleted: Option<i64>,
    members: Vec<MemberRow>,
}

/// One participant: user id, role, read position (an array, not an object: shorter to build
/// and to parse).
#[derive(serde::Deserialize)]
struct MemberRow(i64, String, i64);

#[cfg(test)]
mod tests {
    use super::*;

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
