//! Conversations: creation (direct, group, post-linked), reading, the list, renaming.

mod access;
mod load;
mod mute;
mod participants;
mod snapshots;

use protocol::{
    Conversation, ConversationId, ConversationKind, CreateConversation, FieldError, GroupTitle,
    NewConversation, PostId, Role, UserId,
};
use sqlx::{AnyConnection, Connection, Row};
use tracing::instrument;

use crate::changes::{self, Change, ChangeKind};
use crate::storage::{is_unique_violation, now_ms};
use crate::{Chat, Error, Result};
pub(crate) use access::{membership, Membership};
pub use load::ListQuery;
pub(crate) use mute::mute_now;
pub(crate) use snapshots::{Own, Snapshots};

impl Chat {
    /// Creates a conversation, or for direct and post-linked ones returns the existing one.
    /// The flag says whether it was created.
    #[instrument(skip(self, request), fields(user_id = %me))]
    pub async fn create_conversation(
        &self,
        me: UserId,
        request: CreateConversation,
    ) -> Result<(Conversation, bool)> {
        self.pace(me)?;
        let request = request.parse()?;
        // The write connection is held until the news is queued, so the hub hears of changes
        // in the order they were committed.
        let mut writer = self.db().write.acquire().await?;
        let (id, created) = match request {
            NewConversation::Direct { user_id } => {
                self.open_direct(&mut writer, me, user_id).await?
            }
            NewConversation::Group { title, user_ids } => (
                self.create_group(&mut writer, me, &title, user_ids).await?,
                true,
            ),
            NewConversation::PostLinked { post_id } => {
                let opened = self.open_post_linked(&mut writer, me, post_id).await?;
                if opened.1 {
                    // One more offer of help.
                    self.publish_post(post_id).await;
                }
                opened
            }
        };
        if created {
            self.publish_conversation(id, None).await;
        }
        drop(writer);
        Ok((self.conversation(me, id).await?, created))
    }

    /// One conversation as `me` sees it; 404 unless `me` takes part.
    pub async fn conversation(&self, me: UserId, id: ConversationId) -> Result<Conversation> {
        let query = ListQuery {
            only: Some(id),
            ..ListQuery::default()
        };
        self.load_conversations(me, &query)
            .await?
            .conversations()
            .pop()
            .ok_or(Error::NotFound("conversation"))
    }

    /// `me`'s conversations, most recent activity first, one page at a time.
    pub async fn list_conversations(
        &self,
        me: UserId,
        query: &ListQuery,
    ) -> Result<(Vec<Conversation>, Option<String>)> {
        let page = self.load_conversations(me, query).await?;
        Ok((page.conversations(), page.next_cursor))
    }

    /// The same page as [`Chat::list_conversations`], as the JSON of a
    /// `protocol::ConversationList`, byte for byte what serializing it gives, written from
    /// snapshots already in that form (`conversations::snapshots::Rendered`).
    pub async fn list_conversations_json(&self, me: UserId, query: &ListQuery) -> Result<Vec<u8>> {
        self.load_conversations(me, query).await?.to_json()
    }

    /// Renames a group; owners and admins only.
    #[instrument(skip(self, title), fields(user_id = %me, conversation_id = %id))]
    pub async fn rename_conversation(
        &self,
        me: UserId,
        id: ConversationId,
        title: &str,
    ) -> Result<Conversation> {
        self.pace(me)?;
        let title = GroupTitle::parse(title)?;
        // The write connection is held until the news is queued, so the hub hears of changes
        // in the order they were committed.
        let mut writer = self.db().write.acquire().await?;
        let mut tx = writer.begin().await?;
        let member = membership(&mut *tx, id, me).await?;
        if member.kind != ConversationKind::Group {
            return Err(FieldError::new("title", "only group conversations have a title").into());
        }
        if !member.role.manages() {
            return Err(Error::Forbidden(
                "only the group's owner or an admin can rename it",
            ));
        }
        sqlx::query("UPDATE conversations SET title = ?, title_key = ? WHERE id = ?")
            .bind(title.as_str())
            .bind(title.as_str().to_lowercase())
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        changes::record(&mut tx, id.0, Change::new(ChangeKind::Renamed).user(me.0)).await?;
        tx.commit().await?;
        self.publish_conversation(id, None).await;
        drop(writer);
        self.conversation(me, id).await
    }

    async fn open_direct(
        &self,
        conn: &mut AnyConnection,
        me: UserId,
        other: UserId,
    ) -> Result<(ConversationId, bool)> {
        if other == me {
            return Err(FieldError::new(
                "user_id",
                "cannot start a direct conversation with yourself",
            )
            .into());
        }
        self.user(other).await?;
        let key = format!("{}:{}", me.0.min(other.0), me.0.max(other.0));
        let existing = "SELECT id FROM conversations WHERE direct_key = ?";
        let mut tx = conn.begin().await?;
        if let Some(row) = sqlx::query(existing)
            .bind(&key)
            .fetch_optional(&mut *tx)
            .await?
        {
            return Ok((ConversationId(row.try_get("id")?), false));
        }
        let id = insert_conversation(
            &mut tx,
            ConversationKind::Direct,
            me,
            NewRow {
                direct_key: Some(&key),
                ..NewRow::default()
            },
        )
        .await;
        let id = match id {
            Err(Error::Database(e)) if is_unique_violation(&e) => {
                // Someone else created it first (possible on databases with several writers).
                drop(tx);
                let row = sqlx::query(existing)
                    .bind(&key)
                    .fetch_one(&mut *conn)
                    .await?;
                return Ok((ConversationId(row.try_get("id")?), false));
            }
            other => other?,
        };
        add_member(&mut tx, id, me, Role::Member, 0).await?;
        add_member(&mut tx, id, other, Role::Member, 0).await?;
        tx.commit().await?;
        tracing::info!(conversation_id = %id, "direct conversation created");
        Ok((id, true))
    }

    async fn create_group(
        &self,
        conn: &mut AnyConnection,
        me: UserId,
        title: &GroupTitle,
        user_ids: Vec<UserId>,
    ) -> Result<ConversationId> {
        let mut others: Vec<UserId> = user_ids.into_iter().filter(|u| *u != me).collect();
        others.sort_unstable();
        others.dedup();
        let max = self.settings().max_group_size;
        if others.len() + 1 > max {
            return Err(
                FieldError::new("user_ids", format!("a group has at most {max} members")).into(),
            );
        }
        let mut tx = conn.begin().await?;
        for chunk in others.chunks(500) {
            let mut q = sqlx::QueryBuilder::new("SELECT count(*) AS n FROM users WHERE id IN (");
            let mut list = q.separated(", ");
            for u in chunk {
                list.push_bind(u.0);
            }
            q.push(")");
            let found: i64 = q.build().fetch_one(&mut *tx).await?.try_get("n")?;
            if usize::try_from(found).unwrap_or(0) != chunk.len() {
                return Err(Error::NotFound("user"));
            }
        }
        let id = insert_conversation(
            &mut tx,
            ConversationKind::Group,
            me,
            NewRow {
                title: Some(title.as_str()),
                ..NewRow::default()
            },
        )
        .await?;
        add_member(&mut tx, id, me, Role::Owner, 0).await?;
        for user in others {
            add_member(&mut tx, id, user, Role::Member, 0).await?;
        }
        tx.commit().await?;
        tracing::info!(conversation_id = %id, "group created");
        Ok(id)
    }

    async fn open_post_linked(
        &self,
        conn: &mut AnyConnection,
        me: UserId,
        post_id: PostId,
    ) -> Result<(ConversationId, bool)> {
        let mut tx = conn.begin().await?;
        // Read on the write connection: a close committed before this cannot be missed.
        let post = sqlx::query("SELECT author_id, closed_at FROM posts WHERE id = ?")
            .bind(post_id.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(Error::NotFound("post"))?;
        let author = UserId(post.try_get("author_id")?);
        if author == me {
            return Err(FieldError::new(
                "post_id",
                "you cannot start a conversation about your own post",
            )
            .into());
        }
        let existing = "SELECT id FROM conversations WHERE post_id = ? AND asker_id = ?";
        let found = sqlx::query(existing)
            .bind(post_id.0)
            .bind(me.0)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = found {
            return Ok((ConversationId(row.try_get("id")?), false));
        }
        // Those who have a conversation about it keep it; nobody starts a new one once closed.
        if post.try_get::<Option<i64>, _>("closed_at")?.is_some() {
            return Err(Error::Conflict("the help request is closed"));
        }
        let id = insert_conversation(
            &mut tx,
            ConversationKind::PostLinked,
            me,
            NewRow {
                post: Some((post_id, me)),
                ..NewRow::default()
            },
        )
        .await;
        let id = match id {
            Err(Error::Database(e)) if is_unique_violation(&e) => {
                drop(tx);
                let row = sqlx::query(existing)
                    .bind(post_id.0)
                    .bind(me.0)
                    .fetch_one(&mut *conn)
                    .await?;
                return Ok((ConversationId(row.try_get("id")?), false));
            }
            other => other?,
        };
        add_member(&mut tx, id, me, Role::Member, 0).await?;
        add_member(&mut tx, id, author, Role::Member, 0).await?;
        tx.commit().await?;
        Ok((id, true))
    }
}

#[derive(Default)]
struct NewRow<'a> {
    title: Option<&'a str>,
    direct_key: Option<&'a str>,
    /// The post and the user asking about it.
    post: Option<(PostId, UserId)>,
}

async fn insert_conversation(
    conn: &mut AnyConnection,
    kind: ConversationKind,
    creator: UserId,
    new: NewRow<'_>,
) -> Result<ConversationId> {
    let now = now_ms();
    let row = sqlx::query(
        "INSERT INTO conversations (kind, title, title_key, post_id, asker_id, direct_key, \
         created_by, last_seq, version, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, 0, 1, ?, ?) RETURNING id",
    )
    .bind(kind.as_str())
    .bind(new.title)
    .bind(new.title.map(str::to_lowercase))
    .bind(new.post.map(|(p, _)| p.0))
    .bind(new.post.map(|(_, u)| u.0))
    .bind(new.direct_key)
    .bind(creator.0)
    .bind(now)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let id: i64 = row.try_get("id")?;
    changes::insert(
        conn,
        id,
        changes::Position {
            version: 1,
            last_seq: 0,
        },
        Change::new(ChangeKind::Created).user(creator.0),
        now,
    )
    .await?;
    Ok(ConversationId(id))
}

async fn add_member(
    conn: &mut AnyConnection,
    conversation: ConversationId,
    user: UserId,
    role: Role,
    last_read_seq: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO participants (conversation_id, user_id, role, last_read_seq, joined_at) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(conversation.0)
    .bind(user.0)
    .bind(role.as_str())
    .bind(last_read_seq)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}
