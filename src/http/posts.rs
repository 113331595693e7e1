//! `/api/posts`: help-request posts.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use protocol::{CreatePost, ErrorBody, Post, PostId, PostList};
use serde::Deserialize;

use super::conversations::parse_limit;
use super::error::ApiError;
use super::extract::{Auth, Json, Path, Query};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/posts", get(list).post(create))
        .route("/posts/{id}", get(show))
}

#[derive(Deserialize)]
struct ListParams {
    cursor: Option<String>,
    limit: Option<String>,
}

#[utoipa::path(get, path = "/api/posts", tag = "posts", security(("bearer" = []), ("cookie" = [])),
    params(("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
           ("limit" = Option<u32>, Query, description = "Default 50, at most 100")),
    responses((status = 200, description = "Newest first", body = PostList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    Auth(_): Auth,
    Query(params): Query<ListParams>,
) -> Result<axum::Json<PostList>, ApiError> {
    let limit = match parse_limit(params.limit.as_deref())? {
        0 => 50,
        n => n,
    };
    let cursor = params.cursor.as_deref().filter(|c| !c.is_empty());
    let (posts, next_cursor) = state.chat.list_posts(cursor, limit).await?;
    Ok(axum::Json(PostList { posts, next_cursor }))
}

#[utoipa::path(post, path = "/api/posts", tag = "posts", security(("bearer" = []), ("cookie" = [])), request_body = CreatePost,
    responses((status = 201, body = Post), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
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
