//! The live transports: the WebSocket (`/ws`) and its Server-Sent Events fallback
//! (`/api/events`). Both carry the hub's frames; this module holds what their handshakes share.

/// Server-Sent Events: server → client frames for networks that block WebSockets.
pub mod sse;
/// The WebSocket: frames both ways.
pub mod ws;

use std::time::Duration;

use axum::http::HeaderMap;
use chat::Viewer;
use protocol::ErrorCode;
use tokio::time::Instant;

use crate::http::error::ApiError;
use crate::state::AppState;

/// A socket or event stream sends state news (presence, typing) at most once per this: news
/// that comes sooner waits in the hub, where it joins what is already waiting and newer news of
/// a contact or typist replaces the older. When a group's members all connect at once, each is
/// told of every other one: without a pace that was one wake-up and one write per member for
/// each member (BENCHMARKS.md). Other frames are never held: one queued behind waiting state
/// news takes that news out with it, in order.
pub const STATE_PACE: Duration = Duration::from_millis(50);

/// One connection's [`STATE_PACE`]: when state news may next go out, and whether a batch of it
/// is due from the hub and waits for that.
pub struct Pace {
    next: Instant,
    held: bool,
}

impl Default for Pace {
    fn default() -> Self {
        Self {
            next: Instant::now(),
            held: false,
        }
    }
}

impl Pace {
    /// A batch of state news is due: true when it must wait (it is then held).
    pub fn hold(&mut self) -> bool {
        if self.held || Instant::now() >= self.next {
            return false;
        }
        self.held = true;
        true
    }

    /// Whether a batch was held; it is not any more (the caller sends it now).
    pub fn take_held(&mut self) -> bool {
        std::mem::take(&mut self.held)
    }

    /// State news went out: the next waits a pace.
    pub fn sent(&mut self) {
        self.next = Instant::now() + STATE_PACE;
    }

    /// When the held batch may go out, if one is held.
    pub fn due(&self) -> Option<Instant> {
        self.held.then_some(self.next)
    }
}

/// A handshake must come from our own pages or a configured origin (cross-site WebSocket
/// hijacking would otherwise ride on the browser's cookie). Clients that are not browsers send
/// no `Origin` and are let through: their token is their credential.
pub fn check_origin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    if crate::http::security::origin_allowed(headers, &state.allowed_origins) {
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
    let left_ms = viewer.expires_at_ms.saturating_sub(chat::storage::now_ms());
    Instant::now() + std::time::Duration::from_millis(u64::try_from(left_ms).unwrap_or(0))
}
