//! The `confab` host: one binary that serves the REST API, the server-rendered Leptos app and
//! the live channel (WebSocket, Server-Sent Events), over the `chat` domain.
//!
//! Layout:
//! - [`config`]: typed configuration from flags and environment, checked fail-closed.
//! - [`startup`]: [`Application::build`] and graceful shutdown; tests call the same `build`.
//! - [`state`]: the one `AppState` shared by handlers and server functions.
//! - [`http`]: the router, its layers (security headers, limits, tracing) and REST handlers.
//! - [`live`]: `/ws` and `/api/events`, the hub's frames to connected clients.
//! - [`serve`]: the accept loop, with a bound on how long a connection may idle.
//! - [`telemetry`]: tracing set-up.

/// Configuration, loaded once in `main`.
pub mod config;
/// HTTP: router, middleware and handlers by resource.
pub mod http;
/// The live transports: WebSocket and Server-Sent Events.
pub mod live;
/// The accept loop.
pub mod serve;
/// Building and running the server.
pub mod startup;
/// Shared application state.
pub mod state;
/// Logs.
pub mod telemetry;

pub use config::{AppEnv, Config};
pub use startup::Application;
