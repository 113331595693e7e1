//! The reference for the socket path: a bare axum WebSocket server with no chat in it. Same
//! runtime, same WebSocket stack and loopback as Confab: the distance between its latency and
//! Confab's is what the chat itself costs.
//!
//! A socket opened with `?rooms=1,2` is in those rooms, and each text frame it sends is relayed
//! as it came to the room's other sockets (the room is the frame's `conversation_id`), through a
//! queue and a task per socket as Confab's hub does: the floor for 1:1 delivery and fan-out.
//! Without rooms, a frame is sent back to its sender.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3200")]
    addr: String,
}

/// A socket in a room: its id and its outbound queue.
type Member = (u64, mpsc::UnboundedSender<Utf8Bytes>);

/// Who is in each room.
#[derive(Default)]
struct Rooms {
    next: AtomicU64,
    members: Mutex<HashMap<i64, Vec<Member>>>,
}

#[derive(serde::Deserialize)]
struct Joined {
    rooms: Option<String>,
}

pub async fn run(args: Args) -> anyhow::Result<String> {
    let rooms = Arc::new(Rooms::default());
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/ws",
            get(
                |ws: WebSocketUpgrade, Query(joined): Query<Joined>, State(rooms)| async move {
                    let ids: Vec<i64> = joined
                        .rooms
                        .unwrap_or_default()
                        .split(',')
                        .filter_map(|id| id.parse().ok())
                        .collect();
                    ws.on_upgrade(move |socket| async move {
                        if ids.is_empty() {
                            echo(socket).await;
                        } else {
                            relay(socket, rooms, ids).await;
                        }
                    })
                },
            ),
        )
        .with_state(rooms);
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

/// One socket in `ids`: frames queued for it go out in one write, as in Confab; its frames go
/// to the other members of the room they name.
async fn relay(socket: WebSocket, rooms: Arc<Rooms>, ids: Vec<i64>) {
    let me = rooms.next.fetch_add(1, Ordering::Relaxed);
    let (tx, mut queue) = mpsc::unbounded_channel::<Utf8Bytes>();
    {
        let mut members = rooms.members.lock().unwrap_or_else(|e| e.into_inner());
        for id in &ids {
            members.entry(*id).or_default().push((me, tx.clone()));
        }
    }
    let (mut sink, mut stream) = socket.split();
    let writer = tokio::spawn(async move {
        while let Some(first) = queue.recv().await {
            if sink.feed(Message::Text(first)).await.is_err() {
                return;
            }
            while let Ok(more) = queue.try_recv() {
                if sink.feed(Message::Text(more)).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });
    while let Some(Ok(frame)) = stream.next().await {
        let Message::Text(text) = frame else { continue };
        let Some(room) = conversation_id(text.as_str()) else {
            continue;
        };
        let members = rooms.members.lock().unwrap_or_else(|e| e.into_inner());
        for (id, member) in members.get(&room).into_iter().flatten() {
            if *id != me {
                let _ = member.send(text.clone());
            }
        }
    }
    let mut members = rooms.members.lock().unwrap_or_else(|e| e.into_inner());
    for id in &ids {
        if let Some(list) = members.get_mut(id) {
            list.retain(|(member, _)| *member != me);
        }
    }
    writer.abort();
}

/// The `conversation_id` of a `message:send` frame, read without parsing the rest.
fn conversation_id(frame: &str) -> Option<i64> {
    let after = frame.split_once(r#""conversation_id":"#)?.1;
    let digits = after
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(after.len());
    after.get(..digits)?.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_room_of_a_frame() {
        let frame = r#"{"event":"message:send","data":{"conversation_id":42,"body":"b"}}"#;
        assert_eq!(super::conversation_id(frame), Some(42));
        assert_eq!(super::conversation_id(r#"{"conversation_id":"x"}"#), None);
    }
}
