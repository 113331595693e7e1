use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use http_body_util::Limited;
use hyper::body::{Frame, SizeHint};

use super::default_header;
use super::error::ApiError;
use crate::state::AppState;

/// Headers for every response. HTML pages set their own CSP with a per-response nonce
/// (see `app::shell`); everything else gets one that allows nothing.
pub fn with_headers(router: Router<AppState>, production: bool) -> Router<AppState> {
    let hsts = if production {
        "max-age=31536000; includeSubDomains"
    } else {
        "max-age=0"
    };
    router
        .layer(default_header(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ))
        .layer(default_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(default_header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(default_header(header::REFERRER_POLICY, "same-origin"))
        .layer(default_header(
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ))
        .layer(default_header(
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), payment=()",
        ))
        .layer(default_header(header::STRICT_TRANSPORT_SECURITY, hsts))
}

/// Refuses state-changing requests sent by another site's page (cross-site request forgery):
/// when a browser says where the request comes from, it must be us or a configured origin.
pub async fn same_origin_writes(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && !origin_allowed(request.headers(), &state.allowed_origins) {
        return ApiError::new(
            protocol::ErrorCode::Forbidden,
            "cross-origin request refused",
        )
        .into_response();
    }
    next.run(request).await
}

/// True when the request says no `Origin` (not a browser), or our own (same host), or one of
/// the configured ones.
pub fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let origin = origin.to_str().unwrap_or("null");
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let ours = origin
        .split_once("://")
        .is_some_and(|(_, authority)| !host.is_empty() && authority == host);
    ours || allowed.iter().any(|o| o == origin)
}

/// What a request body may be: its size, and how long it may take to arrive.
#[derive(Clone, Copy)]
pub struct BodyLimits {
    pub max_bytes: usize,
    /// The head has its own bound (`crate::serve`); without this one, a client could send a
    /// body a byte at a time and hold its connection for hours.
    pub deadline: Duration,
}

/// Caps every request body (REST and server functions alike): larger is a contract `413`,
/// slower than the deadline fails the read (`400` from the JSON extractors) and the connection.
pub async fn limit_body(
    State(limits): State<BodyLimits>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limits.max_bytes as u64) {
        return ApiError::too_large().into_response();
    }
    next.run(request.map(|body| {
        let body = Body::new(Limited::new(body, limits.max_bytes));
        if body.is_end_stream() {
            return body;
        }
        Body::new(Deadline {
            inner: body,
            sleep: Box::pin(tokio::time::sleep(limits.deadline)),
            after: limits.deadline,
        })
    }))
    .await
}

/// A body that must arrive in full before its timer ends.
struct Deadline {
    inner: Body,
    sleep: Pin<Box<tokio::time::Sleep>>,
    after: Duration,
}

#[derive(Debug, thiserror::Error)]
#[error("not received in full within {0:?}")]
struct TooSlow(Duration);

impl HttpBody for Deadline {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        ready!(self.sleep.as_mut().poll(cx));
        Poll::Ready(Some(Err(axum::Error::new(TooSlow(self.after)))))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The built WASM, JS and CSS keep their names between builds, so browsers must revalidate them
/// (a cheap 304) rather than run a stale bundle against new server-rendered HTML. The service
/// worker runs under its own response's CSP: it may talk to its own origin (renewing a push
/// subscription), and nothing else.
pub async fn static_file_headers(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let is_pkg = path.starts_with("/pkg/");
    let is_worker = path == "/sw.js";
    let mut response = next.run(request).await;
    if is_pkg {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-cache"),
        );
    }
    if is_worker {
        response.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            header::HeaderValue::from_static(
                "default-src 'none'; connect-src 'self'; frame-ancestors 'none'",
            ),
        );
    }
    response
}
