use axum::extract::FromRef;
use leptos::config::LeptosOptions;

/// Everything handlers need; cheap to clone (the domain sits behind an `Arc`).
#[derive(Clone, FromRef)]
pub struct AppState {
    pub chat: chat::Chat,
    pub leptos_options: LeptosOptions,
    /// Origins besides our own that may send credentialed requests.
    pub allowed_origins: std::sync::Arc<[String]>,
    /// Cancelled when the server begins to stop: live connections close with "going away".
    pub shutdown: tokio_util::sync::CancellationToken,
    /// The WebSocket's heartbeat.
    pub heartbeat: Heartbeat,
}

/// A ping goes out every `every`; a client silent (not even a pong) for `idle` is gone.
#[derive(Clone, Copy, Debug)]
pub struct Heartbeat {
    pub every: std::time::Duration,
    pub idle: std::time::Duration,
}
