use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::serve::ListenerExt;
use axum::Router;
use leptos::config::{Env, LeptosOptions};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::state::AppState;

/// Every connection is a file: a soft limit of 1,024 (the usual default) would refuse sockets
/// long before memory or CPU run out. Raised to the hard limit, as Go's runtime does for its
/// servers; the hard limit is the operator's to set.
fn raise_open_files() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(open_files) => {
            tracing::info!(open_files, "open files allowed");
            Some(open_files)
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the open files limit");
            None
        }
    }
}

/// Descriptors kept out of the connections' bound: the database's files, logs, and accepts
/// refused with an answer rather than failing with "too many open files".
const FILES_KEPT: u64 = 512;

/// `MAX_CONNECTIONS`, or when it is 0 the open-files limit less [`FILES_KEPT`] (half the limit
/// when that leaves less).
fn connection_bound(configured: usize, open_files: Option<u64>) -> usize {
    match (configured, open_files) {
        (0, Some(files)) => {
            let bound = files.saturating_sub(FILES_KEPT).max(files / 2);
            usize::try_from(bound).unwrap_or(usize::MAX)
        }
        (configured, _) => configured,
    }
}

/// A built server, bound to its port and ready to run.
pub struct Application {
    listener: TcpListener,
    router: Router,
    addr: SocketAddr,
    bounds: crate::serve::Bounds,
    shutdown: CancellationToken,
}

impl Application {
    /// Checks configuration (fail-closed), opens and migrates the database, binds the port.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let (jwt_secret, generated) = config.signing_secret()?;
        if generated {
            tracing::warn!(
                "JWT_SECRET is not set: using a random signing key made for this run \
                 (development only; sessions end when the server restarts)"
            );
        }
        let settings = chat::Settings {
            database_url: config.database_url.clone(),
            jwt_secret,
            token_ttl: config.token_ttl(),
            cookie_secure: config.cookie_secure(),
            trust_forwarded_for: config.trust_forwarded_for,
            max_message_chars: config.max_message_chars,
            max_group_size: config.max_group_size,
            presence_grace: std::time::Duration::from_millis(config.presence_grace_ms),
            typing_ttl: std::time::Duration::from_millis(config.typing_ttl_ms),
            max_live_per_user: config.max_live_connections_per_user,
            write_rate: config.user_write_rate,
            write_burst: config.user_write_burst,
            signups_per_hour: config.signups_per_hour,
            signup_burst: config.signup_burst,
            push: config.push()?,
        };
        let chat = chat::Chat::start(&settings)
            .await
            .context("could not open the database")?;

        let open_files = raise_open_files();
        let listener = listen(config.site_addr)
            .with_context(|| format!("could not listen on {}", config.site_addr))?;
        let addr = listener.local_addr()?;
        let env = if config.leptos_env.eq_ignore_ascii_case("dev") {
            Env::DEV
        } else {
            Env::PROD
        };
        let leptos_options = LeptosOptions::builder()
            .output_name("confab")
            .site_root(config.site_root.as_str())
            .site_pkg_dir("pkg")
            .site_addr(addr)
            .reload_port(config.reload_port)
            .env(env)
            .build();
        let shutdown = CancellationToken::new();
        let state = AppState {
            chat,
            leptos_options,
            allowed_origins: Arc::from(config.allowed_origins.clone()),
            shutdown: shutdown.clone(),
            heartbeat: crate::state::Heartbeat {
                every: std::time::Duration::from_millis(config.ws_heartbeat_ms),
                idle: std::time::Duration::from_millis(config.ws_idle_timeout_ms),
            },
        };
        let router = crate::http::router(state, &config);
        Ok(Self {
            listener,
            router,
            addr,
            bounds: crate::serve::Bounds {
                idle: Duration::from_millis(config.http_idle_timeout_ms),
                // Behind a proxy every connection is the proxy's.
                per_address: if config.trust_forwarded_for {
                    0
                } else {
                    config.max_connections_per_address
                },
                total: connection_bound(config.max_connections, open_files),
            },
            shutdown,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Cancel it to stop the server as SIGTERM would (tests use it).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Serves until SIGTERM, Ctrl-C or the shutdown token, then closes live connections with
    /// "going away" and lets requests in flight finish.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        tracing::info!("Confab is listening on http://{}", self.addr);
        let token = self.shutdown.clone();
        let stopped = async move {
            tokio::select! {
                () = shutdown_signal() => {},
                () = token.cancelled() => {},
            }
            token.cancel();
        };
        tokio::spawn(stopped);
        crate::serve::serve(
            self.listener.tap_io(no_delay),
            self.router,
            self.bounds,
            self.shutdown,
        )
        .await;
        tracing::info!("Confab stopped");
        Ok(())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// Connections waiting to be accepted. The standard library's 128 overflows when thousands of
/// clients reconnect at once (a server restart, a network coming back): the kernel drops their
/// handshakes and each client waits a second to retry. The kernel caps it at `somaxconn`.
const LISTEN_BACKLOG: u32 = 4096;

/// Small frames leave at once. With Nagle's algorithm on, a frame written while the one before is
/// still unacknowledged waits for the peer's delayed ACK (up to 40 ms on Linux): a burst of live
/// events to one socket, such as a busy group's messages, would come out in stalls.
fn no_delay(tcp: &mut tokio::net::TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!(error = %e, "cannot set TCP_NODELAY on a connection");
    }
}

fn listen(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

#[cfg(test)]
mod tests {
    use axum::serve::{Listener, ListenerExt};

    #[tokio::test]
    async fn accepted_connections_send_small_frames_without_delay() {
        let mut listener = super::listen("127.0.0.1:0".parse().unwrap())
            .unwrap()
            .tap_io(super::no_delay);
        let addr = listener.local_addr().unwrap();
        let client = tokio::net::TcpStream::connect(addr);
        let (accepted, client) = tokio::join!(listener.accept(), client);
        client.unwrap();
        assert!(accepted.0.nodelay().unwrap());
    }

    #[test]
    fn the_connection_bound_follows_the_open_files_limit_unless_set() {
        use super::connection_bound;
        assert_eq!(connection_bound(0, Some(20_000)), 19_488);
        assert_eq!(
            connection_bound(0, Some(600)),
            300,
            "half when little is left"
        );
        assert_eq!(connection_bound(0, None), 0);
        assert_eq!(connection_bound(300, Some(20_000)), 300);
    }
}
