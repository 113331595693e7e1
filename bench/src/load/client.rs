//! One benchmark client socket, in the dialect of its target: Confab's `{"event","data"}`
//! frames, Socket.IO 4 over Engine.IO 4 (`42[...]` packets, `2`/`3` pings), or the echo.
//!
//! A client's writes go through a queue to a writer task that batches them into one flush;
//! its reads are handled by a reader task that hands each frame to the scenario. Frames are
//! only scanned for the two fields the scenarios need, not parsed: this process shares the
//! machine's two cores with the server it measures, so it must stay cheap.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::server::Target;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What a scenario learns from a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `message:new` (or, from the echo, the frame sent).
    New,
    Ack,
    /// `changes:page`, the answer to [`Client::fetch_changes`]; its `client_id` is that of the
    /// first message in the page.
    Page,
    Error,
}

/// A frame the scenario cares about, with the sender and `client_id` it carries.
pub struct Event<'a> {
    pub kind: Kind,
    pub client_id: Option<&'a str>,
    pub sender_id: Option<i64>,
}

/// Called by the reader task for every frame of interest, with the time it arrived.
pub type Handler = Arc<dyn Fn(&Event<'_>, Instant) + Send + Sync>;

/// A connected client; dropping it closes the socket.
pub struct Client {
    target: Target,
    out: mpsc::UnboundedSender<String>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Client {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Small buffers: this process holds as many sockets as the server.
fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
}

/// Connects with Nagle's algorithm off, as browsers do: a frame is never held back waiting for
/// the server's delayed ACK.
async fn dial(request: impl IntoClientRequest + Unpin) -> Result<Socket> {
    let (socket, _) =
        tokio_tungstenite::connect_async_with_config(request, Some(config()), true).await?;
    Ok(socket)
}

async fn next_text(socket: &mut Socket) -> Result<String> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .context("no frame within 30 s")?
            .context("socket closed")??;
        if let Message::Text(text) = frame {
            return Ok(text.to_string());
        }
    }
}

impl Client {
    /// Connects with `token` and, on Socket.IO, joins `rooms` (its rooms are how it hears of
    /// messages; Confab delivers to every device of every participant without a join).
    pub async fn connect(
        target: Target,
        addr: &str,
        token: &str,
        rooms: &[i64],
        handler: Handler,
    ) -> Result<Self> {
        let socket = match target {
            Target::Confab => {
                let mut request = format!("ws://{addr}/ws").into_client_request()?;
                request
                    .headers_mut()
                    .insert("authorization", format!("Bearer {token}").parse()?);
                let mut socket = dial(request).await?;
                let first = next_text(&mut socket).await?;
                if !first.contains("connection:established") {
                    bail!("first frame was not connection:established: {first}");
                }
                socket
            }
            Target::Socketio => {
                let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
                let mut socket = dial(url).await?;
                let open = next_text(&mut socket).await?;
                if !open.starts_with('0') {
                    bail!("expected an Engine.IO open packet, got {open}");
                }
                socket
                    .send(Message::text(format!(r#"40{{"token":"{token}"}}"#)))
                    .await?;
                let connected = next_text(&mut socket).await?;
                if !connected.starts_with("40") {
                    bail!("Socket.IO refused the connection: {connected}");
                }
                // Joins with acknowledgements, so the rooms are joined before anything is timed.
                for (n, room) in rooms.iter().enumerate() {
                    socket
                        .send(Message::text(format!(
                            r#"42{n}["conversation:join",{{"conversation_id":{room}}}]"#
                        )))
                        .await?;
                }
                let mut acked = 0;
                while acked < rooms.len() {
                    let frame = next_text(&mut socket).await?;
                    if frame.starts_with("43") {
                        if !frame.contains(r#""ok":true"#) {
                            bail!("join refused: {frame}");
                        }
                        acked += 1;
                    } else if frame == "2" {
                        socket.send(Message::text("3")).await?;
                    }
                }
                socket
            }
            Target::Echo => {
                // In its rooms, the echo relays a frame to the room's other sockets.
                let rooms: Vec<String> = rooms.iter().map(i64::to_string).collect();
                let url = format!("ws://{addr}/ws?rooms={}", rooms.join(","));
                dial(url).await?
            }
        };
        let (mut sink, mut stream) = socket.split();
        let (out, mut queue) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            while let Some(first) = queue.recv().await {
                if sink.feed(Message::text(first)).await.is_err() {
                    return;
                }
                while let Ok(more) = queue.try_recv() {
                    if sink.feed(Message::text(more)).await.is_err() {
                        return;
                    }
                }
                if sink.flush().await.is_err() {
                    return;
                }
            }
            let _ = sink.close().await;
        });
        let pong = out.clone();
        let reader = tokio::spawn(async move {
            while let Some(Ok(frame)) = stream.next().await {
                let Message::Text(text) = frame else { continue };
                let at = Instant::now();
                if target == Target::Socketio && text.as_str() == "2" {
                    let _ = pong.send("3".to_owned());
                    continue;
                }
                if let Some(event) = scan(target, text.as_str()) {
                    handler(&event, at);
                }
            }
        });
        Ok(Self {
            target,
            out,
            reader,
        })
    }

    /// Queues a `changes:fetch` (Confab only): resume over the socket, answered by a
    /// [`Kind::Page`] frame.
    pub fn fetch_changes(&self, conversation: i64, after: i64) {
        let frame = format!(
            r#"{{"event":"changes:fetch","data":{{"conversation_id":{conversation},"after":{after}}}}}"#
        );
        let _ = self.out.send(frame);
    }

    /// Queues a `message:send`.
    pub fn send(&self, conversation: i64, client_id: &str, body: &str) {
        let data = format!(
            r#"{{"conversation_id":{conversation},"client_id":"{client_id}","body":"{body}"}}"#
        );
        let frame = match self.target {
            Target::Confab | Target::Echo => {
                format!(r#"{{"event":"message:send","data":{data}}}"#)
            }
            Target::Socketio => format!(r#"42["message:send",{data}]"#),
        };
        let _ = self.out.send(frame);
    }
}

/// The event name a frame carries, and the fields the scenarios read.
fn scan(target: Target, text: &str) -> Option<Event<'_>> {
    let name = match target {
        Target::Confab => text.strip_prefix(r#"{"event":""#)?,
        Target::Socketio => text.strip_prefix(r#"42[""#)?,
        // The echo relays what it got: the `message:send` arrives as if delivered.
        Target::Echo => {
            return text
                .starts_with(r#"{"event":"message:send""#)
                .then(|| Event {
                    kind: Kind::New,
                    client_id: field_str(text, "client_id"),
                    sender_id: None,
                })
        }
    };
    let kind = if name.starts_with("message:new\"") {
        Kind::New
    } else if name.starts_with("message:ack\"") {
        Kind::Ack
    } else if name.starts_with("changes:page\"") {
        Kind::Page
    } else if name.starts_with("error\"") {
        Kind::Error
    } else {
        return None;
    };
    Some(Event {
        kind,
        client_id: field_str(text, "client_id"),
        sender_id: field_int(text, "sender_id"),
    })
}

/// The first `"name":"value"` in `text` (benchmark ids hold no quotes or escapes).
fn field_str<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("\"{name}\":\"");
    let start = text.find(&key)? + key.len();
    let len = text[start..].find('"')?;
    Some(&text[start..start + len])
}

fn field_int(text: &str, name: &str) -> Option<i64> {
    let key = format!("\"{name}\":");
    let start = text.find(&key)? + key.len();
    let digits = text[start..]
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len() - start);
    text[start..start + digits].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_of_each_dialect_are_scanned() {
        let confab = r#"{"event":"message:new","data":{"message":{"id":7,"conversation_id":1,"sender_id":42,"client_id":"r-1-99","body":"x"},"version":3}}"#;
        let e = scan(Target::Confab, confab).expect("message:new");
        assert_eq!(e.kind, Kind::New);
        assert_eq!(e.client_id, Some("r-1-99"));
        assert_eq!(e.sender_id, Some(42));
        let sio = r#"42["message:ack",{"client_id":"r-2-5","message":{"sender_id":3}}]"#;
        let e = scan(Target::Socketio, sio).expect("message:ack");
        assert_eq!(
            (e.kind, e.client_id, e.sender_id),
            (Kind::Ack, Some("r-2-5"), Some(3))
        );
        assert!(scan(
            Target::Confab,
            r#"{"event":"user:online","data":{"user_id":1}}"#
        )
        .is_none());
        let page = r#"{"event":"changes:page","data":{"conversation_id":1,"changes":[{"version":2,"event":"message:new","data":{"message":{"id":7,"sender_id":4,"client_id":"x-1-0"}}}],"has_more":false,"version":2}}"#;
        let e = scan(Target::Confab, page).expect("changes:page");
        assert_eq!((e.kind, e.client_id), (Kind::Page, Some("x-1-0")));
        let echo = r#"{"event":"message:send","data":{"conversation_id":1,"client_id":"r-3-1","body":"b"}}"#;
        assert_eq!(scan(Target::Echo, echo).map(|e| e.kind), Some(Kind::New));
    }
}
