//! The reference for the socket path: a bare axum WebSocket server that sends every text frame
//! back as it came. Same runtime, same WebSocket stack and loopback as Confab, no chat: the
//! distance between its latency and Confab's is what the chat itself costs.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use futures::{SinkExt, StreamExt};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3200")]
    addr: String,
}

pub async fn run(args: Args) -> anyhow::Result<String> {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/ws",
            get(|ws: WebSocketUpgrade| async { ws.on_upgrade(echo) }),
        );
    // TCP_NODELAY as Confab and Node's HTTP server set it: the reference pays no Nagle delays.
    let listener = tokio::net::TcpListener::bind(&args.addr)
        .await?
        .tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
    axum::serve(listener, app).await?;
    Ok(String::new())
}

async fn echo(socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    while let Some(Ok(frame)) = stream.next().await {
        if let Message::Text(text) = frame {
            if sink.send(Message::Text(text)).await.is_err() {
                return;
            }
        }
    }
}
