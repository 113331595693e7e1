//! `GET /api/events`: the same server → client frames as the WebSocket, as Server-Sent Events
//! (each event is named after the frame's `event`, its data is the whole frame), for networks
//! that block WebSockets. Clients send over REST. Such a stream cannot join conversations, so
//! it receives typing events for all of its user's conversations; nor send `posts:watch`, so
//! it asks for news of help requests when opened (`?posts=true`).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chat::live::{Connection, Frame, Queued};
use futures::stream::{self, Stream};
use protocol::{ErrorCode, ServerEvent};
use serde::Deserialize;
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use super::Pace;
use crate::http::error::ApiError;
use crate::http::extract::{parse_flag, Query};
use crate::state::AppState;

/// `GET /api/events` takes `posts=true` where a socket would send `posts:watch`.
#[derive(Deserialize)]
pub struct EventsParams {
    posts: Option<String>,
}

pub async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<EventsParams>,
) -> Response {
    if let Err(e) = super::check_origin(&state, &headers) {
        return e.into_response();
    }
    let watch_posts = match parse_flag("posts", params.posts.as_deref()) {
        Ok(on) => on,
        Err(e) => return e.into_response(),
    };
    let viewer = match super::authenticate(&state, &headers).await {
        Ok(viewer) => viewer,
        Err(e) => return e.into_response(),
    };
    let conn = match state.chat.connect(&viewer, true).await {
        Ok(conn) => conn,
        Err(e) => return ApiError::from(e).into_response(),
    };
    state.chat.watch_posts(conn.id, watch_posts);
    let hello = ServerEvent::ConnectionEstablished {
        user_id: viewer.user_id,
    };
    let open = Open {
        conn,
        shutdown: state.shutdown.clone(),
        expires: super::token_deadline(&viewer),
        hello: Some(hello),
        states: Vec::new(),
        more_states: false,
        pace: Pace::default(),
        after_states: None,
        done: false,
    };
    Sse::new(stream_of(open))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(20)))
        .into_response()
}

struct Open {
    /// Holds the hub registration: dropping the stream unregisters it.
    conn: Connection,
    shutdown: CancellationToken,
    expires: Instant,
    hello: Option<ServerEvent>,
    /// Presence and typing taken from the hub, still to go out (last first).
    states: Vec<Arc<Frame>>,
    /// The hub has more of the batch being sent.
    more_states: bool,
    pace: Pace,
    /// A frame that came while a batch was held: it goes out after that batch.
    after_states: Option<Arc<Frame>>,
    done: bool,
}

/// Presence and typing frames taken from the hub at a time.
const STATES_BATCH: usize = 64;

impl Open {
    /// Starts taking the batch of state news due, and the pace after it.
    fn take_batch(&mut self) {
        self.more_states = true;
        self.pace.sent();
    }

    /// The next presence or typing frame of the batch under way, if any.
    fn next_state(&mut self) -> Option<Event> {
        loop {
            if let Some(frame) = self.states.pop() {
                return Some(event_of(&frame));
            }
            if !self.more_states {
                return None;
            }
            let (mut frames, more) = self.conn.take_states(STATES_BATCH);
            frames.reverse();
            (self.states, self.more_states) = (frames, more);
        }
    }
}

fn event_of(frame: &Frame) -> Event {
    let text = String::from_utf8_lossy(&frame.json).into_owned();
    Event::default().event(frame.event).data(text)
}

fn event(frame: &ServerEvent) -> Event {
    Event::default().event(frame.name()).data(frame.to_json())
}

fn stream_of(open: Open) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(open, |mut open| async move {
        if open.done {
            return None;
        }
        if let Some(hello) = open.hello.take() {
            return Some((Ok(event(&hello)), open));
        }
        let closing = |code, message: &str| ServerEvent::ConnectionError {
            code,
            message: message.to_owned(),
        };
        let next = loop {
            if let Some(state) = open.next_state() {
                break state;
            }
            if let Some(frame) = open.after_states.take() {
                break event_of(&frame);
            }
            tokio::select! {
                queued = open.conn.frames.recv_async() => match queued {
                    Ok(Queued::Frame(frame)) => {
                        if !open.pace.take_held() {
                            break event_of(&frame);
                        }
                        open.take_batch();
                        open.after_states = Some(frame);
                    }
                    Ok(Queued::States) => {
                        if !open.pace.hold() {
                            open.take_batch();
                        }
                    }
                    Err(_) => return None,
                },
                () = sleep_until(open.pace.due().unwrap_or(open.expires)), if open.pace.due().is_some() => {
                    open.pace.take_held();
                    open.take_batch();
                }
                kick = &mut open.conn.kicked => {
                    open.done = true;
                    let message = match kick {
                        Ok(chat::live::Kick::SignedOut) => closing(ErrorCode::Unauthenticated, "signed out"),
                        _ => closing(ErrorCode::RateLimited, "too slow to keep up"),
                    };
                    break event(&message);
                }
                () = sleep_until(open.expires) => {
                    open.done = true;
                    break event(&closing(ErrorCode::Unauthenticated, "session expired"));
                }
                () = open.shutdown.cancelled() => return None,
            }
        };
        Some((Ok(next), open))
    })
}
