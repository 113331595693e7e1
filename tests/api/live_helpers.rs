//! A WebSocket test client for `/ws` and a Server-Sent Events reader for `/api/events`, both
//! with timeouts so that a frame that never comes fails the test instead of hanging it.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::{Person, TestApp};

/// How long a test waits for a frame it expects.
pub const WAIT: Duration = Duration::from_secs(5);
/// How long a test listens to be sure a frame does not come.
pub const QUIET: Duration = Duration::from_millis(400);

/// A server with short presence grace and typing expiry, so those tests are quick.
pub async fn live_app() -> TestApp {
    TestApp::spawn_with(|config| {
        config.presence_grace_ms = 300;
        config.typing_ttl_ms = 1000;
    })
    .await
}

/// One connected device.
pub struct Socket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub user_id: i64,
}

/// How a socket ended.
#[derive(Debug)]
pub struct Closed {
    /// Text frames that came before the end.
    pub frames: Vec<Value>,
    /// The close frame, if the server sent one (a dropped connection has none).
    pub close: Option<CloseFrame>,
}

impl TestApp {
    pub fn ws_url(&self) -> String {
        format!("{}/ws", self.base.replacen("http://", "ws://", 1))
    }

    /// A handshake request for `/ws` with these extra headers.
    pub fn ws_request(&self, headers: &[(&str, &str)]) -> Request {
        let mut request = self.ws_url().into_client_request().unwrap();
        for (name, value) in headers {
            request.headers_mut().insert(
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
                    .unwrap(),
                value.parse().unwrap(),
            );
        }
        request
    }

    /// Opens a socket as `who` (Bearer token) and checks the first frame.
    pub async fn connect(&self, who: &Person) -> Socket {
        let auth = format!("Bearer {}", who.token);
        self.connect_with(who.id, self.ws_request(&[("authorization", &auth)]))
            .await
    }

    /// Opens a socket as `who` whose receive buffer is as small as the kernel allows, so that a
    /// client that stops reading soon holds the server's writes back (a phone on a bad network).
    pub async fn connect_slow_reader(&self, who: &Person) -> Socket {
        let auth = format!("Bearer {}", who.token);
        let request = self.ws_request(&[("authorization", &auth)]);
        let addr = self.base.trim_start_matches("http://").parse().unwrap();
        let tcp = tokio::net::TcpSocket::new_v4().unwrap();
        tcp.set_recv_buffer_size(1024).unwrap();
        let stream = tcp.connect(addr).await.expect("connect");
        let (ws, response) = timeout(
            WAIT,
            tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream)),
        )
        .await
        .expect("handshake timed out")
        .expect("handshake");
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        let mut socket = Socket {
            ws,
            user_id: who.id,
        };
        assert_eq!(socket.next().await["event"], "connection:established");
        socket
    }

    /// Opens a socket with a prepared request; the first frame must be
    /// `connection:established` for `user_id`.
    pub async fn connect_with(&self, user_id: i64, request: Request) -> Socket {
        let (ws, response) = timeout(WAIT, tokio_tungstenite::connect_async(request))
            .await
            .expect("handshake timed out")
            .expect("handshake");
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        let mut socket = Socket { ws, user_id };
        let first = socket.next().await;
        assert_eq!(
            first["event"], "connection:established",
            "first frame: {first}"
        );
        assert_eq!(
            first["data"]["user_id"],
            json!(user_id),
            "first frame: {first}"
        );
        socket
    }

    /// A handshake the server must refuse: returns the HTTP status and JSON body it answered.
    pub async fn refused_handshake(&self, request: Request) -> (StatusCode, Value) {
        let result = timeout(WAIT, tokio_tungstenite::connect_async(request))
            .await
            .expect("handshake timed out");
        match result {
            Err(WsError::Http(response)) => {
                let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
                let body = response.body().clone().unwrap_or_default();
                let body: Value = serde_json::from_slice(&body)
                    .unwrap_or_else(|_| panic!("error body is JSON: {body:?}"));
                (status, body)
            }
            Err(e) => panic!("expected an HTTP refusal, got {e}"),
            Ok(_) => panic!("the handshake was accepted"),
        }
    }
}

impl Socket {
    /// Sends `{"event", "data"}`.
    pub async fn send(&mut self, event: &str, data: Value) {
        self.send_text(json!({"event": event, "data": data}).to_string())
            .await;
    }

    pub async fn send_text(&mut self, text: String) {
        self.ws.send(Message::text(text)).await.expect("send frame");
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.ws.send(message).await.expect("send frame");
    }

    /// Sends a frame the server may refuse by closing before it has read it all.
    pub async fn try_send_raw(&mut self, message: Message) -> Result<(), WsError> {
        self.ws.send(message).await
    }

    /// Opens `conversation` in this connection (its typing events come here) and waits until
    /// the server has done so.
    pub async fn join(&mut self, conversation: i64) {
        self.send(
            "conversation:join",
            json!({"conversation_id": conversation}),
        )
        .await;
        self.sync().await;
    }

    /// Returns once the server has handled every frame sent before: it handles a connection's
    /// frames in order, and a join of a conversation that does not exist is answered.
    pub async fn sync(&mut self) {
        self.send("conversation:join", json!({"conversation_id": 0}))
            .await;
        let data = self.next_event("error").await;
        assert_eq!(data["code"], "not_found", "{data}");
    }

    /// The `message:new` (or other message event) about message `id`, skipping news of
    /// other messages and other events.
    pub async fn next_message(&mut self, event: &str, id: &Value) -> Value {
        loop {
            let data = self.next_event(event).await;
            if &data["message"]["id"] == id {
                return data;
            }
        }
    }

    /// The next text frame, parsed; fails the test after [`WAIT`] or if the socket ends.
    pub async fn next(&mut self) -> Value {
        match self.next_within(WAIT).await {
            Some(frame) => frame,
            None => panic!("user {}: no frame within {WAIT:?}", self.user_id),
        }
    }

    /// The next text frame within `window`, or `None`. Pings and pongs are skipped; the end
    /// of the socket fails the test.
    pub async fn next_within(&mut self, window: Duration) -> Option<Value> {
        let deadline = Instant::now() + window;
        loop {
            let message = match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return None,
                Ok(message) => message,
            };
            match message {
                Some(Ok(Message::Text(text))) => {
                    return Some(serde_json::from_str(text.as_str()).expect("frame is JSON"));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                other => panic!("user {}: socket ended: {other:?}", self.user_id),
            }
        }
    }

    /// Reads for `window`, answering pings as every client library does, and returns how many
    /// pings came. Text frames are dropped; the end of the socket fails the test.
    pub async fn count_pings(&mut self, window: Duration) -> usize {
        let deadline = Instant::now() + window;
        let mut pings = 0;
        while let Ok(message) = tokio::time::timeout_at(deadline, self.ws.next()).await {
            match message {
                Some(Ok(Message::Ping(_))) => pings += 1,
                Some(Ok(Message::Text(_) | Message::Pong(_))) => {}
                other => panic!("user {}: socket ended: {other:?}", self.user_id),
            }
        }
        pings
    }

    /// The next frame whose event is one of `names`, skipping others (presence, say).
    pub async fn next_of(&mut self, names: &[&str]) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(frame) = self.next_within(left).await else {
                panic!("user {}: no {names:?} within {WAIT:?}", self.user_id);
            };
            if names.iter().any(|n| frame["event"] == *n) {
                return frame;
            }
        }
    }

    /// The data of the next `name` frame, skipping frames of other events.
    pub async fn next_event(&mut self, name: &str) -> Value {
        self.next_of(&[name]).await["data"].clone()
    }

    /// Asserts that no `name` frame arrives within `window` (other frames are dropped).
    pub async fn assert_no(&mut self, name: &str, window: Duration) {
        self.assert_none_of(&[name], window).await;
    }

    /// Asserts that no frame of these events arrives within `window` (others are dropped).
    pub async fn assert_none_of(&mut self, names: &[&str], window: Duration) {
        let deadline = Instant::now() + window;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_within(left).await {
                None => return,
                Some(frame) if names.iter().any(|n| frame["event"] == *n) => {
                    panic!("user {}: unexpected frame {frame}", self.user_id)
                }
                Some(_) => {}
            }
        }
    }

    /// Asserts that no frame at all arrives within `window`.
    pub async fn assert_silent(&mut self, window: Duration) {
        if let Some(frame) = self.next_within(window).await {
            panic!("user {}: unexpected frame {frame}", self.user_id);
        }
    }

    /// Waits for the server to end the socket, collecting the text frames sent before.
    pub async fn closed(mut self) -> Closed {
        let mut frames = Vec::new();
        let deadline = Instant::now() + WAIT;
        loop {
            let message = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("socket still open after {WAIT:?}: {frames:?}"));
            match message {
                Some(Ok(Message::Text(text))) => {
                    frames.push(serde_json::from_str(text.as_str()).expect("frame is JSON"));
                }
                Some(Ok(Message::Close(close))) => return Closed { frames, close },
                Some(Ok(_)) => {}
                None | Some(Err(_)) => {
                    return Closed {
                        frames,
                        close: None,
                    };
                }
            }
        }
    }

    /// Closes from the client side and waits for the server to answer with its close frame
    /// (the closing handshake of RFC 6455 §7).
    pub async fn close(mut self) {
        self.ws.close(None).await.expect("send close");
        let answered = timeout(WAIT, async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Close(_))) => return true,
                    Some(Ok(_)) => {}
                    None | Some(Err(_)) => return false,
                }
            }
        })
        .await
        .expect("the server answers a close");
        assert!(
            answered,
            "user {}: the server answers a close with a close",
            self.user_id
        );
    }
}

impl Closed {
    pub fn code(&self) -> Option<u16> {
        self.close.as_ref().map(|c| u16::from(c.code))
    }

    /// The data of the `connection:error` frame sent before the close.
    pub fn connection_error(&self) -> &Value {
        let frame = self
            .frames
            .iter()
            .find(|f| f["event"] == "connection:error")
            .unwrap_or_else(|| panic!("no connection:error before the close: {:?}", self.frames));
        &frame["data"]
    }
}

/// What a test reads frames from: a socket or an event stream.
pub(crate) trait Frames {
    /// The next frame; fails the test after [`WAIT`].
    async fn next_frame(&mut self) -> Value;
}

impl Frames for Socket {
    async fn next_frame(&mut self) -> Value {
        self.next().await
    }
}

impl Frames for EventStream {
    async fn next_frame(&mut self) -> Value {
        self.next().await
    }
}

/// Builds `{"event", "data"}` frames from a Server-Sent Events stream.
pub struct EventStream {
    chunks: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<Vec<u8>>> + Send>>,
    buffer: Vec<u8>,
}

impl TestApp {
    /// Opens `GET /api/events` as `who`; the first event must be `connection:established`.
    pub async fn events(&self, who: &Person) -> EventStream {
        self.events_at(who, "/api/events").await
    }

    /// [`Self::events`] at `path`: `/api/events` with a query.
    pub async fn events_at(&self, who: &Person, path: &str) -> EventStream {
        let res = self.get(who, path).await;
        assert_eq!(res.status(), StatusCode::OK, "open the event stream");
        let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(kind.starts_with("text/event-stream"), "content type {kind}");
        let mut stream = EventStream {
            chunks: Box::pin(res.bytes_stream().map(|chunk| chunk.map(|b| b.to_vec()))),
            buffer: Vec::new(),
        };
        let first = stream.next().await;
        assert_eq!(first["event"], "connection:established");
        assert_eq!(first["data"]["user_id"], json!(who.id));
        stream
    }
}

impl EventStream {
    /// The next whole event already received, if any: checks that its SSE name is the
    /// frame's `event` and returns the frame. Keep-alive comments are skipped.
    fn take(&mut self) -> Option<Value> {
        // One event ends at a blank line.
        while let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
            let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
            let block = String::from_utf8(block).expect("SSE is UTF-8");
            let mut name = None;
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = Some(v.trim_start().to_owned());
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            if data.is_empty() {
                continue;
            }
            let frame: Value = serde_json::from_str(&data.join("\n")).expect("SSE data is JSON");
            assert_eq!(
                name.as_deref(),
                frame["event"].as_str(),
                "SSE event name is the frame's event"
            );
            return Some(frame);
        }
        None
    }

    /// Reads more of the stream; `false` when it ended. Fails the test at `deadline`.
    async fn fill(&mut self, deadline: Instant) -> bool {
        let chunk = tokio::time::timeout_at(deadline, self.chunks.next())
            .await
            .unwrap_or_else(|_| panic!("no server-sent event within {WAIT:?}"));
        match chunk {
            Some(Ok(chunk)) => {
                self.buffer
                    .extend(chunk.into_iter().filter(|b| *b != b'\r'));
                true
            }
            None | Some(Err(_)) => false,
        }
    }

    /// The next event's frame. Fails the test after [`WAIT`] or if the stream ends.
    pub async fn next(&mut self) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(frame) = self.take() {
                return frame;
            }
            assert!(self.fill(deadline).await, "the event stream ended");
        }
    }

    /// Waits for the server to end the stream; returns the frames that came before.
    pub async fn ended(mut self) -> Vec<Value> {
        let mut frames = Vec::new();
        let deadline = Instant::now() + WAIT;
        loop {
            while let Some(frame) = self.take() {
                frames.push(frame);
            }
            if !self.fill(deadline).await {
                return frames;
            }
        }
    }

    /// The data of the next `name` event, skipping others.
    pub async fn next_event(&mut self, name: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.next())
                .await
                .unwrap_or_else(|_| panic!("no {name} event within {WAIT:?}"));
            if frame["event"] == name {
                return frame["data"].clone();
            }
        }
    }
}
