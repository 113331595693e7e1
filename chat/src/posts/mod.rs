//! Help-request posts: any signed-in user may read and search them and open a conversation
//! about an open one; their author edits and closes them.

use protocol::posts::{parse_post_body, parse_post_title};
use protocol::{CreatePost, Post, PostId, UpdatePost, UserId};
use sqlx::any::AnyRow;
use sqlx::{Connection, QueryBuilder, Row};
use tracing::instrument;

use crate::accounts::user_from_row;
use crate::changes::{self, Change, ChangeKind};
use crate::storage::{like_pattern, next_cursor, now_ms, parse_cursor, rfc3339};
use crate::{Chat, Error, Result};

/// A post with its author and how many conversations are about it (one per helper, found in
/// the `(post_id, asker_id)` unique index).
const SELECT: &str = "SELECT p.id AS post_id, p.title, p.body, p.created_at, p.edited_at, \
                      p.closed_at, u.id, u.username, u.display_name, \
                      (SELECT count(*) FROM conversations c WHERE c.post_id = p.id) AS offers \
                      FROM posts p JOIN users u ON u.id = p.author_id";

/// Which help requests a list shows.
#[derive(Debug, Clone, Default)]
pub struct PostFilter {
    /// Case-insensitive substring of the title or the body.
    pub q: Option<String>,
    /// Only this author's.
    pub author: Option<UserId>,
    /// Only those not closed.
    pub open: bool,
}

/// What a search matches: the case-folded title and body, a line each (migration 0010).
fn search_key(title: &str, body: &str) -> String {
    format!("{}\n{}", title.to_lowercase(), body.to_lowercase())
}

impl Chat {
    #[instrument(skip(self, request), fields(user_id = %me))]
    pub async fn create_post(&self, me: UserId, request: CreatePost) -> Result<Post> {
        self.pace(me)?;
        let title = parse_post_title(&request.title)?;
        let body = parse_post_body(&request.body)?;
        // The write connection is held until the news is queued, so watchers hear of changes
        // in the order they were committed.
        let mut writer = self.db().write.acquire().await?;
        let row = sqlx::query(
            "INSERT INTO posts (author_id, title, title_key, body, search_key, created_at) \
             VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(me.0)
        .bind(&title)
        .bind(title.to_lowercase())
        .bind(&body)
        .bind(search_key(&title, &body))
        .bind(now_ms())
        .fetch_one(&mut *writer)
        .await?;
        let post = self.post(PostId(row.try_get("id")?)).await?;
        self.tell_post_watchers(&post);
        drop(writer);
        Ok(post)
    }

    /// Starts or stops sending a connection `post:updated` news.
    pub fn watch_posts(&self, conn: crate::live::ConnId, on: bool) {
        self.live().hub.watch_posts(conn, on);
    }

    /// Tells the connections watching help requests what a post is like now.
    fn tell_post_watchers(&self, post: &Post) {
        let event = protocol::ServerEvent::PostUpdated { post: post.clone() };
        self.live().hub.to_post_watchers(post.id, &event);
    }

    /// [`Self::tell_post_watchers`] for a post committed a moment ago, read again. The change
    /// is stored: failing to read it back only costs the watchers this news.
    pub(crate) async fn publish_post(&self, id: PostId) {
        match self.post(id).await {
            Ok(post) => self.tell_post_watchers(&post),
            Err(e) => tracing::warn!(error = %e, post_id = %id, "could not publish a post"),
        }
    }

    pub async fn post(&self, id: PostId) -> Result<Post> {
        let row = sqlx::query(&format!("{SELECT} WHERE p.id = ?"))
            .bind(id.0)
            .fetch_optional(&mut *self.db().read.acquire().await?)
            .await?
            .ok_or(Error::NotFound("post"))?;
        post_from_row(&row)
    }

    /// Newest first; `cursor` is the previous page's `next_cursor` (of the same filter).
    pub async fn list_posts(
        &self,
        filter: &PostFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Post>, Option<String>)> {
        let limit = limit.clamp(1, 100);
        let text = match filter.q.as_deref() {
            Some(q) => Some(protocol::text::clean("q", q, 0, 200, false)?),
            None => None,
        }
        .filter(|q| !q.is_empty());
        let mut q = QueryBuilder::new(SELECT);
        q.push(" WHERE TRUE");
        if let Some(author) = filter.author {
            q.push(" AND p.author_id = ").push_bind(author.0);
        }
        if filter.open {
            q.push(" AND p.closed_at IS NULL");
        }
        if let Some(text) = text {
            q.push(" AND p.search_key LIKE ")
                .push_bind(like_pattern(&text))
                .push(" ESCAPE '\\'");
        }
        if let Some(cursor) = cursor {
            let (at, id) = parse_cursor(cursor)?;
            q.push(" AND (p.created_at < ").push_bind(at);
            q.push(" OR (p.created_at = ").push_bind(at);
            q.push(" AND p.id < ").push_bind(id).push("))");
        }
        q.push(" ORDER BY p.created_at DESC, p.id DESC LIMIT ")
            .push_bind(i64::try_from(limit + 1).unwrap_or(i64::MAX));
        let mut rows = q
            .build()
            .fetch_all(&mut *self.db().read.acquire().await?)
            .await?;
        let next = next_cursor(&mut rows, limit, "created_at", "post_id")?;
        let posts = rows.iter().map(post_from_row).collect::<Result<Vec<_>>>()?;
        Ok((posts, next))
    }

    /// Its author changes a request's title or body, or closes or reopens it. A new title
    /// shows in the conversations about the request: each gets a change (`conversation:updated`
    /// to its participants, and in its resume record) that does not move it up the list.
    #[instrument(skip(self, change), fields(user_id = %me, post_id = %id))]
    pub async fn update_post(&self, me: UserId, id: PostId, change: UpdatePost) -> Result<Post> {
        self.pace(me)?;
        let title = change.title.as_deref().map(parse_post_title).transpose()?;
        let body = change.body.as_deref().map(parse_post_body).transpose()?;
        // The write connection is held until the news is queued, so the hub hears of changes
        // in the order they were committed.
        let mut writer = self.db().write.acquire().await?;
        let mut tx = writer.begin().await?;
        let row = sqlx::query(
            "SELECT author_id, title, body, edited_at, closed_at FROM posts WHERE id = ?",
        )
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(Error::NotFound("post"))?;
        if UserId(row.try_get("author_id")?) != me {
            return Err(Error::Forbidden(
                "only its author can change a help request",
            ));
        }
        let old_title: String = row.try_get("title")?;
        let old_body: String = row.try_get("body")?;
        let title = title.unwrap_or_else(|| old_title.clone());
        let body = body.unwrap_or_else(|| old_body.clone());
        let retitled = title != old_title;
        let now = now_ms();
        let edited_at = match retitled || body != old_body {
            true => Some(now),
            false => row.try_get::<Option<i64>, _>("edited_at")?,
        };
        let closed_at = match change.closed {
            Some(true) => Some(row.try_get::<Option<i64>, _>("closed_at")?.unwrap_or(now)),
            Some(false) => None,
            None => row.try_get::<Option<i64>, _>("closed_at")?,
        };
        let mut update = QueryBuilder::new("UPDATE posts SET body = ");
        update.push_bind(&body);
        update
            .push(", search_key = ")
            .push_bind(search_key(&title, &body));
        update.push(", edited_at = ").push_bind(edited_at);
        update.push(", closed_at = ").push_bind(closed_at);
        if retitled {
            // Only then: the new title rebuilds its conversations' search text (a trigger).
            update.push(", title = ").push_bind(&title);
            update
                .push(", title_key = ")
                .push_bind(title.to_lowercase());
        }
        update.push(" WHERE id = ").push_bind(id.0);
        update.build().execute(&mut *tx).await?;
        let mut retitled_conversations = Vec::new();
        if retitled {
            let rows = sqlx::query("SELECT id FROM conversations WHERE post_id = ? ORDER BY id")
                .bind(id.0)
                .fetch_all(&mut *tx)
                .await?;
            for row in rows {
                let conversation: i64 = row.try_get("id")?;
                let edited = Change::new(ChangeKind::PostEdited).user(me.0);
                changes::record(&mut tx, conversation, edited).await?;
                retitled_conversations.push(protocol::ConversationId(conversation));
            }
        }
        tx.commit().await?;
        for conversation in retitled_conversations {
            self.publish_conversation(conversation, None).await;
        }
        let post = self.post(id).await?;
        self.tell_post_watchers(&post);
        drop(writer);
        Ok(post)
    }
}

fn post_from_row(row: &AnyRow) -> Result<Post> {
    let time = |column: &str| -> Result<Option<String>> {
        Ok(row.try_get::<Option<i64>, _>(column)?.map(rfc3339))
    };
    Ok(Post {
        id: PostId(row.try_get("post_id")?),
        author: user_from_row(row)?,
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        created_at: rfc3339(row.try_get("created_at")?),
        edited_at: time("edited_at")?,
        closed_at: time("closed_at")?,
        offers: row.try_get("offers")?,
    })
}
