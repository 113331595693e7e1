//! `/api/conversations/:id/messages` (history, send) and `/api/messages/:id` (edit, delete).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, put};
use axum::Router;
use chat::messages::HistoryQuery;
use protocol::{
    ConversationId, EditMessage, ErrorBody, Message, MessageId, MessagePage, SendMessage,
};
use serde::Deserialize;

use super::conversations::{created_or_found, parse_limit};
use super::error::ApiError;
use super::extract::{Auth, Json, Path, Query};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/conversations/{id}/messages", get(history).post(send))
        .route("/messages/{id}", put(edit).delete(delete))
}

#[derive(Deserialize)]
struct HistoryParams {
    before: Option<String>,
    limit: Option<String>,
}

#[utoipa::path(get, path = "/api/conversations/{id}/messages", tag = "messages", security(("bearer" = []), ("cookie" = [])),
    params(("id" = i64, Path, description = "Conversation id"), ("before" = Option<i64>, Query, description = "Only messages with a smaller seq; absent: the newest page"),
           ("limit" = Option<u32>, Query, description = "Default 50, at most 100")),
    responses((status = 200, description = "Oldest first", body = MessagePage), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn history(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(id): Path<i64>,
    Query(params): Query<HistoryParams>,
) -> Result<axum::Json<MessagePage>, ApiError> {
    let before = match params.before.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(
            raw.trim()
                .parse::<i64>()
                .map_err(|_| ApiError::invalid("before: must be a whole number (a seq)"))?,
        ),
    };
    let query = HistoryQuery {
        before,
        limit: parse_limit(params.limit.as_deref())?,
    };
    let (messages, has_more) = state
        .chat
        .history(viewer.user_id, ConversationId(id), &query)
        .await?;
    Ok(axum::Json(MessagePage { messages, has_more }))
}

#[utoipa::path(post, path = "/api/conversations/{id}/messages", tag = "messages", security(("bearer" = []), ("cookie" = [])), params(("id" = i64, Path, description = "Conversation id")),
    request_body = SendMessage,
    responses((status = 201, body = Message), (status = 200, description = "This `client_id` was sent before: the first message", body = Message),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "The `client_id` was used in another conversation", body = ErrorBody),
              (status = 429, description = "Over the caller's write rate (`USER_WRITE_RATE`); see Retry-After", body = ErrorBody)))]
async fn send(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(id): Path<i64>,
    Json(request): Json<SendMessage>,
) -> Result<Response, ApiError> {
    let sent = state
        .chat
        .send_message(viewer.user_id, ConversationId(id), request)
        .await?;
    Ok(created_or_found(sent.created, sent.message))
}

#[utoipa::path(put, path = "/api/messages/{id}", tag = "messages", security(("bearer" = []), ("cookie" = [])),
    params(("id" = i64, Path, description = "Message id")), request_body = EditMessage,
    responses((status = 200, body = Message), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, description = "Not its sender", body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "The message was deleted", body = ErrorBody),
              (status = 429, description = "Over the caller's write rate (`USER_WRITE_RATE`); see Retry-After", body = ErrorBody)))]
async fn edit(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(id): Path<i64>,
    Json(request): Json<EditMessage>,
) -> Result<axum::Json<Message>, ApiError> {
    let message = state
        .chat
        .edit_message(viewer.user_id, MessageId(id), &request.body)
        .await?;
    Ok(axum::Json(message))
}

#[utoipa::path(delete, path = "/api/messages/{id}", tag = "messages", security(("bearer" = []), ("cookie" = [])),
    params(("id" = i64, Path, description = "Message id")),
    responses((status = 204, description = "Deleted (its id and seq stay)"), (status = 401, body = ErrorBody),
              (status = 403, description = "Neither its sender nor a group owner/admin", body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 429, description = "Over the caller's write rate (`USER_WRITE_RATE`); see Retry-After", body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state
        .chat
        .delete_message(viewer.user_id, MessageId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
