//! Integration tests: each test starts the real server (`Application::build`) on a random port
//! with a fresh SQLite file and talks HTTP (reqwest) and WebSocket (tokio-tungstenite) to it.

// Test code: a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used)]

mod accounts;
mod authorization;
mod connections;
mod conversations;
mod docs;
mod helpers;
mod live;
mod live_bounds;
mod live_conversations;
mod live_frames;
mod live_handshake;
mod live_helpers;
mod live_presence;
mod live_resume;
mod live_sse;
mod live_stress;
mod messages;
mod mute;
mod participants;
mod posts;
mod powercut;
mod push;
mod shell;
mod startup;
mod tokens;
mod write_limits;
