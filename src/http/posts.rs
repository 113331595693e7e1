//! `/api/posts`: help-request posts.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use chat::posts::PostFilter;
use protocol::{CreatePost, ErrorBody, Post, PostId, PostList, UpdatePost, UserId};
use serde::Deserialize;

use super::conversations::parse_limit;
use super::error::ApiError;
use super::extract::{parse_flag, Auth, Json, Path, Query};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/posts", get(list).post(create))
        .route("/posts/{id}", get(show).put(update))
}

#[derive(Deserialize)]
struct ListParams {
    q: Option<String>,
    author: Option<String>,
    open: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

#[utoipa::path(get, path = "/api/posts", tag = "posts", security(("bearer" = []), ("cookie" = [])),
    params(("q" = Option<String>, Query, description = "Substring of the title or body, any case (an addition to the contract)"),
           ("author" = Option<String>, Query, description = "Only this user's requests: a user id, or `me` (an addition)"),
           ("open" = Option<bool>, Query, description = "Only requests not closed (an addition)"),
           ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page (of the same filter)"),
           ("limit" = Option<u32>, Query, description = "Default 50, at most 100")),
    responses((status = 200, description = "Newest first", body = PostList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Query(params): Query<ListParams>,
) -> Result<axum::Json<PostList>, ApiError> {
    let limit = match parse_limit(params.limit.as_deref())? {
        0 => 50,
        n => n,
    };
    let author = match params.author.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("me") => Some(viewer.user_id),
        Some(id) => {
            Some(UserId(id.parse().map_err(|_| {
                ApiError::invalid("author: must be a user id or \"me\"")
            })?))
        }
    };
    let filter = PostFilter {
        q: params.q,
        author,
        open: parse_flag("open", params.open.as_deref())?,
    };
    let cursor = params.cursor.as_deref().filter(|c| !c.is_empty());
    let (posts, next_cursor) = state.chat.list_posts(&filter, cursor, limit).await?;
    Ok(axum::Json(PostList { posts, next_cursor }))
}

#[utoipa::path(post, path = "/api/posts", tag = "posts", security(("bearer" = []), ("cookie" = [])), request_body = CreatePost,
    responses((status = 201, body = Post), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 429, description = "Over the caller's write rate (`USER_WRITE_RATE`); see Retry-After", body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Json(request): Json<CreatePost>,
) -> Result<(StatusCode, axum::Json<Post>), ApiError> {
    let post = state.chat.create_post(viewer.user_id, request).await?;
    Ok((StatusCode::CREATED, axum::Json(post)))
}

#[utoipa::path(get, path = "/api/posts/{id}", tag = "posts", security(("bearer" = []), ("cookie" = [])), params(("id" = i64, Path, description = "Post id")),
    responses((status = 200, body = Post), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn show(
    State(state): State<AppState>,
    Auth(_): Auth,
    Path(id): Path<i64>,
) -> Result<axum::Json<Post>, ApiError> {
    Ok(axum::Json(state.chat.post(PostId(id)).await?))
}

/// An addition to the contract: its author edits a request, or closes it (`closed: true`) once
/// helped, or opens it again. A closed request takes no new conversation (409); the ones it
/// has go on. A new title reaches its conversations' participants as `conversation:updated`.
#[utoipa::path(put, path = "/api/posts/{id}", tag = "posts", security(("bearer" = []), ("cookie" = [])), params(("id" = i64, Path, description = "Post id")),
    request_body = UpdatePost,
    responses((status = 200, body = Post), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, description = "Not its author", body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 429, description = "Over the caller's write rate (`USER_WRITE_RATE`); see Retry-After", body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(id): Path<i64>,
    Json(request): Json<UpdatePost>,
) -> Result<axum::Json<Post>, ApiError> {
    let post = state
        .chat
        .update_post(viewer.user_id, PostId(id), request)
        .await?;
    Ok(axum::Json(post))
}
