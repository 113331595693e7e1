//! The accept loop. axum's own `serve` (0.8) gives hyper no timer, and without one hyper's
//! limit on reading a request's head does nothing: a client that opens a connection and sends
//! its headers a byte at a time, or nothing at all, holds a connection, its task and its
//! buffers (16 KiB) for as long as it likes (slowloris), and so does every idle kept-alive
//! connection. This loop is axum's (HTTP/1.1 with upgrades, graceful drain) with that bound,
//! and bounds on the connections one address, and the whole server, hold open (`Addresses`).

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::serve::Listener;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// Largest request head (request line and headers) the server reads, as Node's default; a
/// longer one is refused with `431`. hyper's own default is about 400 KiB.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// What one connection may take.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// How long a connection may go without a complete request head: the time a new
    /// connection gets for its first request and a kept-alive one waits for its next.
    pub idle: Duration,
    /// Connections open at once from one address; 0: no bound.
    pub per_address: usize,
    /// Connections open at once in all; 0: no bound.
    pub total: usize,
}

/// Serves `router` on `listener` until `stop` is cancelled, then stops accepting, lets every
/// request in flight finish and returns.
pub async fn serve<L>(mut listener: L, router: Router, bounds: Bounds, stop: CancellationToken)
where
    L: Listener<Io = TcpStream, Addr = SocketAddr>,
{
    let Bounds {
        idle,
        per_address,
        total,
    } = bounds;
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(idle)
        .max_buf_size(MAX_HEAD_BYTES);
    let connections = TaskTracker::new();
    let addresses = Addresses::default();
    let refusals = Arc::new(Semaphore::new(REFUSALS));
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop.cancelled() => break,
        };
        let place = match addresses.admit(peer.ip(), per_address, total) {
            Ok(place) => place,
            Err(full) => {
                // Past that many refusals under way, a connection is just closed.
                if let Ok(permit) = Arc::clone(&refusals).try_acquire_owned() {
                    connections.spawn(async move {
                        refuse(tcp, idle.min(REFUSAL_WAIT), full.answer()).await;
                        drop(permit);
                    });
                }
                continue;
            }
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
                .serve_connection(TokioIo::new(Counted { tcp, _place: place }), service)
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

/// How long a refused connection is given to send its request before the answer.
const REFUSAL_WAIT: Duration = Duration::from_secs(1);
/// Refusals answered at once at most: each holds a socket for up to [`REFUSAL_WAIT`].
const REFUSALS: usize = 256;

/// The answer to a connection over its address's bound: the contract's error, then close.
const ADDRESS_FULL: &[u8] = b"HTTP/1.1 429 Too Many Requests\r\n\
content-type: application/json\r\nretry-after: 10\r\nconnection: close\r\n\
content-length: 84\r\n\r\n\
{\"error\":{\"code\":\"rate_limited\",\"message\":\"too many connections from this address\"}}";

/// The answer to a connection over the server's bound.
const SERVER_FULL: &[u8] = b"HTTP/1.1 429 Too Many Requests\r\n\
content-type: application/json\r\nretry-after: 10\r\nconnection: close\r\n\
content-length: 83\r\n\r\n\
{\"error\":{\"code\":\"rate_limited\",\"message\":\"the server is at its connection limit\"}}";

/// Reads what the client sent first (so closing does not reset the connection before it reads
/// the answer), then answers and closes.
async fn refuse(mut tcp: TcpStream, wait: Duration, answer: &'static [u8]) {
    let mut head = [0u8; 4096];
    if !matches!(
        tokio::time::timeout(wait, tcp.read(&mut head)).await,
        Ok(Ok(1..))
    ) {
        return;
    }
    let _ = tokio::time::timeout(wait, async {
        tcp.write_all(answer).await?;
        tcp.shutdown().await
    })
    .await;
}

/// Open connections, per client address and in all.
#[derive(Clone, Default)]
struct Addresses(Arc<Mutex<Open>>);

#[derive(Default)]
struct Open {
    by_address: HashMap<IpAddr, usize>,
    total: usize,
}

/// Which bound is reached.
enum Full {
    Address,
    Server,
}

impl Full {
    fn answer(&self) -> &'static [u8] {
        match self {
            Self::Address => ADDRESS_FULL,
            Self::Server => SERVER_FULL,
        }
    }
}

impl Addresses {
    /// A place for a connection from `ip`, within `per_address` and `total` (0: no bound).
    fn admit(&self, ip: IpAddr, per_address: usize, total: usize) -> Result<Place, Full> {
        let mut open = lock(&self.0);
        if total > 0 && open.total >= total {
            return Err(Full::Server);
        }
        let counted = per_address > 0;
        if counted {
            let count = open.by_address.entry(ip).or_default();
            if *count >= per_address {
                return Err(Full::Address);
            }
            *count += 1;
        }
        open.total += 1;
        Ok(Place {
            addresses: self.clone(),
            ip: counted.then_some(ip),
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One connection's place in the counts, given back when the socket closes.
struct Place {
    addresses: Addresses,
    /// Its address, when addresses are counted.
    ip: Option<IpAddr>,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut open = lock(&self.addresses.0);
        open.total -= 1;
        if let Some(ip) = self.ip {
            if let Some(count) = open.by_address.get_mut(&ip) {
                *count -= 1;
                if *count == 0 {
                    open.by_address.remove(&ip);
                }
            }
        }
    }
}

/// A connection's socket with its place: hyper hands the socket to a WebSocket or keeps it
/// for an event stream, and the place lives exactly as long.
struct Counted {
    tcp: TcpStream,
    _place: Place,
}

impl AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_whole_responses() {
        for answer in [ADDRESS_FULL, SERVER_FULL] {
            let text = std::str::from_utf8(answer).unwrap();
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            assert!(head.contains(&format!("content-length: {}", body.len())));
            let error: serde_json::Value = serde_json::from_str(body).unwrap();
            assert_eq!(error["error"]["code"], "rate_limited");
        }
    }

    #[test]
    fn places_are_given_back() {
        let addresses = Addresses::default();
        let ip: IpAddr = [10, 0, 0, 1].into();
        let a = addresses.admit(ip, 2, 0).ok();
        let b = addresses.admit(ip, 2, 0).ok();
        assert!(a.is_some() && b.is_some());
        assert!(matches!(addresses.admit(ip, 2, 0), Err(Full::Address)));
        let other = addresses.admit([10, 0, 0, 2].into(), 2, 0);
        assert!(other.is_ok(), "per address");
        drop(other);
        drop(a);
        assert!(addresses.admit(ip, 2, 0).is_ok());
        drop(b);
        assert!(addresses.admit(ip, 0, 0).is_ok());
        let open = lock(&addresses.0);
        assert!(open.by_address.is_empty(), "no address left behind");
        assert_eq!(open.total, 0);
    }

    #[test]
    fn the_server_holds_at_most_its_total() {
        let addresses = Addresses::default();
        let a = addresses.admit([10, 0, 0, 1].into(), 5, 2);
        let b = addresses.admit([10, 0, 0, 2].into(), 0, 2);
        assert!(a.is_ok() && b.is_ok());
        assert!(matches!(
            addresses.admit([10, 0, 0, 3].into(), 5, 2),
            Err(Full::Server)
        ));
        drop(b);
        assert!(addresses.admit([10, 0, 0, 3].into(), 5, 2).is_ok());
    }
}
