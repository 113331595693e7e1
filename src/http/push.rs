//! `/api/push`: Web Push subscriptions, an addition to the contract. A browser subscribes with
//! the server's key; new messages then reach it with no page of the app open.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use protocol::{ErrorBody, PushEndpoint, PushKey, PushSubscription};

use super::error::ApiError;
use super::extract::{Auth, Json};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/push/key", get(key))
        .route("/push/subscriptions", post(subscribe).delete(unsubscribe))
}

#[utoipa::path(get, path = "/api/push/key", tag = "push",
    responses((status = 200, description = "The VAPID public key, for `pushManager.subscribe`'s `applicationServerKey`", body = PushKey),
              (status = 404, description = "This server does not push (no `VAPID_PRIVATE_KEY`)", body = ErrorBody)))]
async fn key(State(state): State<AppState>) -> Result<axum::Json<PushKey>, ApiError> {
    let public_key = state.chat.push_key()?;
    Ok(axum::Json(PushKey { public_key }))
}

/// New messages to the caller's conversations (but their own) are pushed to this browser
/// until this session signs out or the subscription is deleted. Subscribing again is no
/// error; an endpoint known under another account becomes the caller's.
#[utoipa::path(post, path = "/api/push/subscriptions", tag = "push", security(("bearer" = []), ("cookie" = [])),
    request_body = PushSubscription,
    responses((status = 204, description = "Subscribed"),
              (status = 400, description = "Not a known push service's endpoint (`PUSH_SERVICES`), or keys that are not a P-256 key and a 16-byte secret", body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 404, description = "This server does not push", body = ErrorBody),
              (status = 429, description = "Over the caller's write rate (`USER_WRITE_RATE`); see Retry-After", body = ErrorBody)))]
async fn subscribe(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Json(subscription): Json<PushSubscription>,
) -> Result<StatusCode, ApiError> {
    state.chat.subscribe_push(&viewer, subscription).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/push/subscriptions", tag = "push", security(("bearer" = []), ("cookie" = [])),
    request_body = PushEndpoint,
    responses((status = 204, description = "No longer pushed to (also when it was not the caller's)"),
              (status = 401, body = ErrorBody),
              (status = 404, description = "This server does not push", body = ErrorBody),
              (status = 429, description = "Over the caller's write rate (`USER_WRITE_RATE`); see Retry-After", body = ErrorBody)))]
async fn unsubscribe(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Json(request): Json<PushEndpoint>,
) -> Result<StatusCode, ApiError> {
    state
        .chat
        .unsubscribe_push(&viewer, &request.endpoint)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
