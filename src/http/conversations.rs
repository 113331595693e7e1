//! `/api/conversations…`: the conversation list, one conversation, renaming, muting,
//! participants and read state. Every handler is a thin call into `chat`; authorization lives
//! there.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use chat::conversations::ListQuery;
use protocol::{
    AddParticipant, ChangePage, ChangeRole, Conversation, ConversationId, ConversationKind,
    ConversationList, CreateConversation, ErrorBody, FieldError, MarkRead, MuteConversation,
    RenameConversation, Typing, UserId,
};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{parse_flag, Auth, Json, Path, Query};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/conversations", get(list).post(create))
        .route("/conversations/{id}", get(show).put(rename))
        .route("/conversations/{id}/read", post(read))
        .route("/conversations/{id}/mute", put(mute).delete(unmute))
        .route("/conversations/{id}/changes", get(changes))
        .route("/conversations/{id}/typing", post(typing))
        .route("/conversations/{id}/participants", post(add_participant))
        .route(
            "/conversations/{id}/participants/{user_id}",
            put(change_role).delete(remove_participant),
        )
}

#[derive(Deserialize)]
struct ListParams {
    q: Option<String>,
    kind: Option<String>,
    unread: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

/// `201` with what was made, or `200` with what already stood (idempotent creation).
pub(super) fn created_or_found(created: bool, body: impl serde::Serialize) -> Response {
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, axum::Json(body)).into_response()
}

/// Parses `limit`: absent means the default; otherwise a whole number of at least 1.
pub(super) fn parse_limit(raw: Option<&str>) -> Result<usize, ApiError> {
    match raw {
        None => Ok(0),
        Some(raw) => match raw.trim().parse::<i64>() {
            Ok(n) if n >= 1 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
            _ => Err(ApiError::invalid(
                "limit: must be a whole number of at least 1",
            )),
        },
    }
}

#[utoipa::path(get, path = "/api/conversations", tag = "conversations", security(("bearer" = []), ("cookie" = [])),
    params(("q" = Option<String>, Query, description = "Substring of a group title, post title or participant name, any case"),
           ("kind" = Option<ConversationKind>, Query, description = "Only this kind"),
           ("unread" = Option<bool>, Query, description = "Only conversations with unread messages"),
           ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
           ("limit" = Option<u32>, Query, description = "Page size: default 50, at most 100")),
    responses((status = 200, description = "Most recent activity first", body = ConversationList),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Query(params): Query<ListParams>,
) -> Result<impl IntoResponse, ApiError> {
    let kind = match params.kind.as_deref().filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => Some(ConversationKind::parse(k).ok_or_else(|| {
            ApiError::invalid("kind: must be \"direct\", \"group\" or \"post_linked\"")
        })?),
    };
    let unread = parse_flag("unread", params.unread.as_deref())?;
    let query = ListQuery {
        q: params.q,
        kind,
        unread,
        cursor: params.cursor.filter(|c| !c.is_empty()),
        limit: parse_limit(params.limit.as_deref())?,
        only: None,
    };
    // The JSON comes written from snapshots: serialized anew, the participants' names were
    // a fifth of a served list's time (BENCHMARKS.md).
    let json = state
        .chat
        .list_conversations_json(viewer.user_id, &query)
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], json))
}

#[utoipa::path(post, path = "/api/conversations", tag = "conversations", security(("bearer" = []), ("cookie" = [])), request_body = CreateConversation,
    responses((status = 201, description = "Created", body = Conversation),
              (status = 200, description = "The existing direct or post-linked conversation", body = Conversation),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, description = "No such user or post", body = ErrorBody),
              (status = 429, description = "Over the caller's write rate (`USER_WRITE_RATE`); see Retry-After", body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Json(request): Json<CreateConversation>,
) -> Result<Response, ApiError> {
    let (conversation, created) = state
        .chat
        .create_conversation(viewer.user_id, request)
        .await?;
    Ok(created_or_found(created, conversation))
}

#[utoipa::path(get, path = "/api/conversations/{id}", tag = "conversations", security(("bearer" = []), ("cookie" = [])), params(("id" = i64, Path, description = "Conversation id")),
    responses((status = 200, body = Conversation), (status = 401, body = ErrorBody),
              (status = 404, description = "Missing, or the caller takes no part", body = ErrorBody)))]
async fn show(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(id): Path<i64>,
) -> Result<axum::Json<Conversation>, ApiError> {
    Ok(axum::Json(
        state
            .chat
            .conversation(viewer.user_id, ConversationId(id))
            .await?,
    ))
}

#[utoipa::path(put, path = "/api/conversations/{id}", tag = "conversations", security(("bearer" = []), ("cookie" = [])), params(("id" = i64, Path, description = "Conversation id")),
    request_body = RenameConversation,
    responses((status = 200, body = Conversation), (status = 400, description = "Bad title, or not a group", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, description = "Not the owner or an admin", body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 429, description = "Over the caller's write rate (`USER_WRITE_RATE`); see Retry-After", body = ErrorBody)))]
async fn rename(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(id): Path<i64>,
    Json(request): Json<RenameConversation>,
) -> Result<axum::Json<Conversation>, ApiError> {
    let conversation = state
        .chat
        .rename_conversation(viewer.user_id, ConversationId(id), &request.title)
        .await?;
    Ok(axum::Json(conversation))
}

#[utoipa::path(post, path = "/api/conversations/{id}/read", tag = "conversations", security(("bearer" = []), ("cookie" = [])), params(("id" = i64, Path, description = "Conversation id")),
    request_body = MarkRead,
    responses((status = 204, description = "Read up to `seq` (never backwards; clamped to the last message)"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 429, description = "Over the caller's write rate (`USER_WRITE_RATE`); see Retry-After", body = ErrorBody)))]
async fn read(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(id): Path<i64>,
    Json(request): Json<MarkRead>,
) -> Result<StatusCode, ApiError> {
    state
        .chat
        .mark_read(viewer.user_id, ConversationId(id), request.seq)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/api/conversations/{id}/mute", tag = "conversations", security(("bearer" = []), ("cookie" = [])), params(("id" = i64, Path, description = "Conversation id")),
    request_body = MuteConversation,
    responses((status = 200, description = "Muted for the caller alone: no notifications or pushes of its messages on their devices until `until`, or without it until unmuted", body = Conversation),
              (status = 400, description = "`until` not an RFC 3339 time in the future", body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 429, description = "Over the caller's write rate (`USER_WRITE_RATE`); see Retry-After", body = ErrorBody)))]
async fn mute(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(id): Path<i64>,
    Json(request): Json<MuteConversation>,
) -> Result<axum::Json<Conversation>, ApiError> {
    let conversation = state
        .chat
        .mute_conversation(viewer.user_id, ConversationId(id), &request)
        .await?;
    Ok(axum::Json(conversation))
}

#[utoipa::path(delete, path = "/api/conversations/{id}/mute", tag = "conversations", security(("bearer" = []), ("cookie" = [])), params(("id" = i64, Path, description = "Conversation id")),
    responses((status = 200, description = "Not muted any more (or never was)", body = Conversation),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 429, description = "Over the caller's write rate (`USER_WRITE_RATE`); see Retry-After", body = ErrorBody)))]
async fn unmute(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(id): Path<i64>,
) -> Result<axum::Json<Conversation>, ApiError> {
    let conversation = state
        .chat
        .unmute_conversation(viewer.user_id, ConversationId(id))
        .await?;
    Ok(axum::Json(conversation))
}

#[utoipa::path(post, path = "/api/conversations/{id}/participants", tag = "participants", security(("bearer" = []), ("cookie" = [])),
    params(("id" = i64, Path, description = "Conversation id")), request_body = AddParticipant,
    responses((status = 201, body = Conversation), (status = 400, description = "Not a group, or the group is full", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "Already a participant", body = ErrorBody),
              (status = 429, description = "Over the caller's write rate (`USER_WRITE_RATE`); see Retry-After", body = ErrorBody)))]
async fn add_participant(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(id): Path<i64>,
    Json(request): Json<AddParticipant>,
) -> Result<Response, ApiError> {
    let conversation = state
        .chat
        .add_participant(
            viewer.user_id,
            ConversationId(id),
            request.user_id,
            request.role,
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(conversation)).into_response())
}

#[utoipa::path(put, path = "/api/conversations/{id}/participants/{user_id}", tag = "participants", security(("bearer" = []), ("cookie" = [])),
    params(("id" = i64, Path, description = "Conversation id"), ("user_id" = i64, Path, description = "The participant")), request_body = ChangeRole,
    responses((status = 200, body = Conversation), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, description = "Not the owner", body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 429, description = "Over the caller's write rate (`USER_WRITE_RATE`); see Retry-After", body = ErrorBody)))]
async fn change_role(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path((id, user)): Path<(i64, i64)>,
    Json(request): Json<ChangeRole>,
) -> Result<axum::Json<Conversation>, ApiError> {
    let conversation = state
        .chat
        .set_role(
            viewer.user_id,
            ConversationId(id),
            UserId(user),
            request.role,
        )
        .await?;
    Ok(axum::Json(conversation))
}

#[utoipa::path(delete, path = "/api/conversations/{id}/participants/{user_id}", tag = "participants", security(("bearer" = []), ("cookie" = [])),
    params(("id" = i64, Path, description = "Conversation id"), ("user_id" = i64, Path, description = "The participant; yourself to leave")),
    responses((status = 204, description = "Removed"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, description = "Not allowed (the owner cannot be removed)", body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 429, description = "Over the caller's write rate (`USER_WRITE_RATE`); see Retry-After", body = ErrorBody)))]
async fn remove_participant(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path((id, user)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    state
        .chat
        .remove_participant(viewer.user_id, ConversationId(id), UserId(user))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::from(chat::Error::from(e))
    }
}

#[derive(Deserialize)]
struct ChangesParams {
    after: Option<String>,
    limit: Option<String>,
}

#[utoipa::path(get, path = "/api/conversations/{id}/changes", tag = "live", security(("bearer" = []), ("cookie" = [])),
    params(("id" = i64, Path, description = "Conversation id"),
           ("after" = Option<i64>, Query, description = "The last version the client applied (0 or absent: from the start)"),
           ("limit" = Option<u32>, Query, description = "Default 200, at most 1000")),
    responses((status = 200, description = "Changes after `after`, oldest first, each `{version, event, data}` as the socket sent it", body = ChangePage),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, description = "Missing, or the caller is no longer a participant", body = ErrorBody)))]
async fn changes(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(id): Path<i64>,
    Query(params): Query<ChangesParams>,
) -> Result<axum::Json<ChangePage>, ApiError> {
    let after = match params.after.as_deref().map(str::trim) {
        None | Some("") => 0,
        // A negative number is refused by the service, with the same words.
        Some(raw) => raw
            .parse::<i64>()
            .map_err(|_| ApiError::invalid(format!("after: {}", chat::changes::NOT_A_VERSION)))?,
    };
    let limit = parse_limit(params.limit.as_deref())?;
    let page = state
        .chat
        .changes_since(viewer.user_id, ConversationId(id), after, limit)
        .await?;
    Ok(axum::Json(page))
}

#[utoipa::path(post, path = "/api/conversations/{id}/typing", tag = "live", security(("bearer" = []), ("cookie" = [])),
    params(("id" = i64, Path, description = "Conversation id")), request_body = Typing,
    responses((status = 204, description = "Participants who have the conversation open are told"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 429, description = "Over the caller's write rate (`USER_WRITE_RATE`); see Retry-After", body = ErrorBody)))]
async fn typing(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(id): Path<i64>,
    Json(request): Json<Typing>,
) -> Result<StatusCode, ApiError> {
    state
        .chat
        .typing(viewer.user_id, ConversationId(id), request.typing)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
