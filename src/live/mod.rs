//! The live transports: the WebSocket (`/ws`) and its Server-Sent Events fallback
//! (`/api/events`). Both carry the hub's frames; this module holds what their handshakes share.

/// Server-Sent Events: server → client frames for networks that block WebSockets.
pub mod sse;
/// The WebSocket: frames both ways.
pub mod ws;

use axum::http::{header, HeaderMap};
use chat::Viewer;
use protocol::ErrorCode;
use tokio::time::Instant;

use crate::http::error::ApiError;
use crate::state::AppState;

/// A handshake must come from our own pages or a configured origin (cross-site WebSocket
/// hijacking would otherwise ride on the browser's cookie). Clients that are not browsers send
/// no `Origin` and are let through: their token is their credential.
pub fn check_origin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("null");
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let ours = origin
        .split_once("://")
        .is_some_and(|(_, authority)| !host.is_empty() && authority == host);
    if ours || state.allowed_origins.iter().any(|o| o == origin) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::Forbidden,
            "this origin may not open a live connection",
        ))
    }
}

/// The caller, from the Bearer token or the session cookie.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Viewer, ApiError> {
    let token = chat::web::token_from_headers(headers).ok_or(chat::Error::Unauthenticated)?;
    Ok(state.chat.authenticate(&token).await?)
}

/// When the session token stops being valid: the connection ends then.
pub fn token_deadline(viewer: &Viewer) -> Instant {
    let left_ms = viewer.expires_at_ms.saturating_sub(chrono_now_ms()).max(0);
    Instant::now() + std::time::Duration::from_millis(u64::try_from(left_ms).unwrap_or(0))
}

fn chrono_now_ms() -> i64 {
    chat::storage::now_ms()
}
