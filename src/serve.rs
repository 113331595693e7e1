//! The accept loop. axum's own `serve` (0.8) gives hyper no timer, and without one hyper's
//! limit on reading a request's head does nothing: a client that opens a connection and sends
//! its headers a byte at a time, or nothing at all, holds a connection, its task and its
//! buffers (16 KiB) for as long as it likes (slowloris), and so does every idle kept-alive
//! connection. This loop is axum's (HTTP/1.1 with upgrades, graceful drain) with that bound.

use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::serve::Listener;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// Largest request head (request line and headers) the server reads, as Node's default; a
/// longer one is refused with `431`. hyper's own default is about 400 KiB.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Serves `router` on `listener` until `stop` is cancelled, then stops accepting, lets every
/// request in flight finish and returns. `idle` bounds how long a connection may go without a
/// complete request head: the time a new connection gets for its first request and a
/// kept-alive one waits for its next.
pub async fn serve<L>(mut listener: L, router: Router, idle: Duration, stop: CancellationToken)
where
    L: Listener<Io = TcpStream, Addr = SocketAddr>,
{
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(idle)
        .max_buf_size(MAX_HEAD_BYTES);
    let connections = TaskTracker::new();
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop.cancelled() => break,
        };
        let service = router
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request.map(Body::new)
            });
        let builder = builder.clone();
        let stop = stop.clone();
        connections.spawn(async move {
            // hyper starts its clock when it is asked to read a head, which a new connection
            // is not until its first byte arrives: this is the bound until then.
            tokio::select! {
                ready = tokio::time::timeout(idle, tcp.readable()) => {
                    if !matches!(ready, Ok(Ok(()))) {
                        return;
                    }
                }
                () = stop.cancelled() => return,
            }
            let service = TowerToHyperService::new(service);
            let mut conn = pin!(builder
                .serve_connection(TokioIo::new(tcp), service)
                .with_upgrades());
            let result = tokio::select! {
                result = conn.as_mut() => result,
                () = stop.cancelled() => {
                    // Finish the request under way, then close.
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::trace!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    // New clients are refused at once rather than queued behind the drain.
    drop(listener);
    connections.close();
    connections.wait().await;
}
