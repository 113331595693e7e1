//! The `confab` host: one binary that serves the REST API, the server-rendered Leptos app and
//! (next) the WebSocket channel, over the `chat` domain.
//!
//! Layout:
//! - [`config`]: typed configuration from flags and environment, checked fail-closed.
//! - [`startup`]: [`Application::build`] and graceful shutdown; tests call the same `build`.
//! - [`state`]: the one `AppState` shared by handlers and server functions.
//! - [`http`]: the router, its layers (security headers, limits, tracing) and REST handlers.
//! - [`telemetry`]: tracing set-up.

/// Configuration, loaded once in `main`.
pub mod config;
/// HTTP: router, middleware and handlers by resource.
pub mod http;
/// Building and running the server.
pub mod startup;
/// Shared application state.
pub mod state;
/// Logs.
pub mod telemetry;

pub use config::{AppEnv, Config};
pub use startup::Application;
