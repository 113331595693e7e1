//! The HTTP surface: `/api` (REST, JSON errors), `/healthz` + `/readyz`, the Leptos pages and
//! server functions (`/rpc`), static files, and the layers every response goes through.

mod accounts;
mod conversations;
/// OpenAPI document and its HTML page.
mod docs;
/// Contract error bodies.
pub mod error;
/// Extractors that answer bad input with contract errors.
pub mod extract;
mod health;
mod messages;
mod posts;
mod push;
/// Security headers, origin checks and body limits.
pub mod security;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, HeaderValue, Method, Request};
use axum::middleware;
use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower::ServiceBuilder;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::state::AppState;
use error::ApiError;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Responses are compressed at the fastest level, with zstd where the client takes it (Chrome,
/// Edge and Firefox do, and prefer it) and gzip otherwise; not brotli: whatever its level, it
/// cost about 1 ms of CPU on every list page (it doubled the server's CPU at 300 pages/s),
/// where zstd cost 0.1 ms and gzip 0.2 ms (BENCHMARKS.md).
const COMPRESSION_LEVEL: CompressionLevel = CompressionLevel::Precise(1);

pub fn router(state: AppState, config: &Config) -> Router {
    let api = Router::new()
        .merge(accounts::router())
        .merge(conversations::router())
        .merge(messages::router())
        .merge(posts::router())
        .merge(push::router())
        .merge(docs::router())
        .route("/events", axum::routing::get(crate::live::sse::events))
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() });

    let routes = generate_route_list(app::App);
    let chat = state.chat.clone();
    let pages = Router::new()
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(chat.clone());
                leptos::nonce::provide_nonce();
            },
            {
                let options = state.leptos_options.clone();
                move || app::shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::shell,
        ))
        .layer(middleware::from_fn(security::static_file_headers));

    let app = Router::new()
        .route("/ws", axum::routing::get(crate::live::ws::upgrade))
        .nest("/api", api)
        .merge(health::router())
        .merge(pages);
    security::with_headers(app, config.is_production())
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                        let id = req
                            .headers()
                            .get(REQUEST_ID)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-");
                        tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
                    }),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(tower::util::option_layer(cors(&state.allowed_origins)))
                .layer(middleware::from_fn_with_state(
                    state.clone(),
                    security::same_origin_writes,
                ))
                .layer(middleware::from_fn_with_state(
                    security::BodyLimits {
                        max_bytes: config.max_body_bytes,
                        deadline: Duration::from_millis(config.http_idle_timeout_ms),
                    },
                    security::limit_body,
                ))
                .layer(DefaultBodyLimit::max(config.max_body_bytes))
                .layer(
                    CompressionLayer::new()
                        .gzip(true)
                        .no_br()
                        .zstd(true)
                        .quality(COMPRESSION_LEVEL),
                ),
        )
        .with_state(state)
}

/// Credentialed cross-origin calls only from configured origins; none by default.
fn cors(origins: &Arc<[String]>) -> Option<CorsLayer> {
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if list.is_empty() {
        return None;
    }
    let layer = CorsLayer::new()
        .allow_origin(AllowOrigin::list(list))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(600));
    Some(layer)
}

/// A layer that sets `name: value` unless the handler already did.
fn default_header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}
