//! Help-request posts: any signed-in user may read them and open a conversation about one.

use protocol::posts::{parse_post_body, parse_post_title};
use protocol::{CreatePost, Post, PostId, UserId};
use sqlx::any::AnyRow;
use sqlx::{QueryBuilder, Row};
use tracing::instrument;

use crate::accounts::user_from_row;
use crate::storage::{next_cursor, now_ms, parse_cursor, rfc3339};
use crate::{Chat, Error, Result};

const SELECT: &str = "SELECT p.id AS post_id, p.title, p.body, p.created_at, u.id, u.username, \
                      u.display_name FROM posts p JOIN users u ON u.id = p.author_id";

impl Chat {
    #[instrument(skip(self, request), fields(user_id = %me))]
    pub async fn create_post(&self, me: UserId, request: CreatePost) -> Result<Post> {
        let title = parse_post_title(&request.title)?;
        let body = parse_post_body(&request.body)?;
        let row = sqlx::query(
            "INSERT INTO posts (author_id, title, title_key, body, created_at) \
             VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(me.0)
        .bind(&title)
        .bind(title.to_lowercase())
        .bind(&body)
        .bind(now_ms())
        .fetch_one(&mut *self.db().write.acquire().await?)
        .await?;
        self.post(PostId(row.try_get("id")?)).await
    }

    pub async fn post(&self, id: PostId) -> Result<Post> {
        let row = sqlx::query(&format!("{SELECT} WHERE p.id = ?"))
            .bind(id.0)
            .fetch_optional(&mut *self.db().read.acquire().await?)
            .await?
            .ok_or(Error::NotFound("post"))?;
        post_from_row(&row)
    }

    /// Newest first; `cursor` is the previous page's `next_cursor`.
    pub async fn list_posts(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Post>, Option<String>)> {
        let limit = limit.clamp(1, 100);
        let mut q = QueryBuilder::new(SELECT);
        if let Some(cursor) = cursor {
            let (at, id) = parse_cursor(cursor)?;
            q.push(" WHERE p.created_at < ").push_bind(at);
            q.push(" OR (p.created_at = ").push_bind(at);
            q.push(" AND p.id < ").push_bind(id).push(")");
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
}

fn post_from_row(row: &AnyRow) -> Result<Post> {
    Ok(Post {
        id: PostId(row.try_get("post_id")?),
        author: user_from_row(row)?,
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        created_at: rfc3339(row.try_get("created_at")?),
    })
}
