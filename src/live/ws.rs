//! `GET /ws`: one task per socket. It `select!`s over the client's frames, the hub's frames
//! for this connection, a heartbeat, the token's expiry and server shutdown. Frames from the
//! client are handled one at a time, so their answers keep their order.

use std::future::Future;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chat::live::{ConnId, Connection, Frame, Kick, Queued};
use chat::{Chat, Viewer};
use futures::future::{FutureExt, OptionFuture};
use futures::stream::StreamExt;
use futures::SinkExt;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use protocol::{ClientEvent, ErrorCode, SendMessage, ServerEvent};
use tokio::io::AsyncWriteExt;
use tokio::time::{sleep_until, Instant};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

use super::Pace;
use crate::http::error::ApiError;
use crate::state::{AppState, Heartbeat};

/// Largest frame or message a client may send (axum's default would be 64 MiB).
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Most bytes a socket's write buffer holds: a client that stops reading cannot grow it past
/// this. Also the largest `changes:page` frame the socket sends ([`page_frame`]).
const MAX_WRITE_BUFFER: usize = MAX_FRAME_BYTES * 4;
/// How long the server waits for the client to answer its close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// Close codes (RFC 6455 §7.4.1).
const GOING_AWAY: u16 = 1001;
const UNSUPPORTED: u16 = 1003;
const POLICY: u16 = 1008;

/// The socket: tokio-tungstenite's own stream rather than axum's wrapper, for the raw writes of
/// [`write_direct`].
type WebSocket = WebSocketStream<TokioIo<Upgraded>>;
type WsError = tokio_tungstenite::tungstenite::Error;

/// Frames larger than this skip tungstenite's write buffer ([`write_direct`]).
const DIRECT_BYTES: usize = 8 * 1024;

pub async fn upgrade(State(state): State<AppState>, mut request: Request) -> Response {
    let headers = request.headers();
    if let Err(e) = super::check_origin(&state, headers) {
        return e.into_response();
    }
    let viewer = match super::authenticate(&state, headers).await {
        Ok(viewer) => viewer,
        Err(e) => return e.into_response(),
    };
    let Some(accept) = handshake_key(request.method(), headers)
        .map(derive_accept_key)
        .and_then(|key| HeaderValue::from_str(&key).ok())
    else {
        return ApiError::invalid("expected a WebSocket upgrade request").into_response();
    };
    // Registered before the upgrade: a user over their bound hears `429` over HTTP, and news
    // committed after the `101` reaches the socket.
    let conn = match state.chat.connect(&viewer, false).await {
        Ok(conn) => conn,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let on_upgrade = hyper::upgrade::on(&mut request);
    // Only what the socket uses moves into its task: every idle socket keeps it.
    let AppState {
        chat,
        shutdown,
        heartbeat,
        ..
    } = state;
    // Combinators rather than an `async` block: a block keeps what it captures for its whole
    // life, beside the copies moved into `serve`; each stage here gives its values on.
    let task = on_upgrade
        .then(|upgraded| {
            OptionFuture::from(upgraded.ok().map(|upgraded| {
                WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(config()),
                )
            }))
        })
        .then(move |socket| {
            OptionFuture::from(
                socket.map(|socket| serve(socket, conn, chat, shutdown, heartbeat, viewer)),
            )
        });
    tokio::spawn(task);
    (
        StatusCode::SWITCHING_PROTOCOLS,
        [
            (header::CONNECTION, HeaderValue::from_static("upgrade")),
            (header::UPGRADE, HeaderValue::from_static("websocket")),
            (header::SEC_WEBSOCKET_ACCEPT, accept),
        ],
    )
        .into_response()
}

/// The client's `Sec-WebSocket-Key` when the request is a WebSocket upgrade (RFC 6455 §4.2.1):
/// a GET asking to upgrade the connection to `websocket`, version 13.
fn handshake_key<'a>(method: &Method, headers: &'a HeaderMap) -> Option<&'a [u8]> {
    let has = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    let upgrade = method == Method::GET
        && has(header::CONNECTION, "upgrade")
        && has(header::UPGRADE, "websocket")
        && headers
            .get(header::SEC_WEBSOCKET_VERSION)
            .is_some_and(|v| v == "13");
    upgrade
        .then(|| headers.get(header::SEC_WEBSOCKET_KEY))
        .flatten()
        .map(HeaderValue::as_bytes)
}

fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES))
        // Small buffers: most connections sit idle, and idle memory is what limits how many
        // one server holds. Chat frames are small; big ones still work, in more reads.
        .read_buffer_size(256)
        // Frames are buffered until `forward` flushes a batch; the bound keeps a client that
        // stops reading from growing it (the hub's queue is bounded too).
        .write_buffer_size(64 * 1024)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
}

/// Why a socket ends, and what the client is told first.
struct Ending {
    code: u16,
    reason: &'static str,
    error: Option<(ErrorCode, &'static str)>,
}

impl Ending {
    fn new(code: u16, reason: &'static str) -> Self {
        Self {
            code,
            reason,
            error: None,
        }
    }

    fn with_error(code: u16, error: ErrorCode, reason: &'static str) -> Self {
        Self {
            code,
            reason,
            error: Some((error, reason)),
        }
    }
}

/// Per-connection limits: a burst is fine, a flood is refused, and a client that keeps
/// flooding after being told is disconnected.
struct Limits {
    frames: DefaultDirectRateLimiter,
    sends: DefaultDirectRateLimiter,
    typing: DefaultDirectRateLimiter,
    strikes: DefaultDirectRateLimiter,
}

fn per_second(rate: u32, burst: u32) -> DefaultDirectRateLimiter {
    let rate = NonZeroU32::new(rate).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    RateLimiter::direct(Quota::per_second(rate).allow_burst(burst))
}

impl Limits {
    fn new() -> Self {
        Self {
            frames: per_second(50, 100),
            sends: per_second(20, 40),
            typing: per_second(5, 10),
            // Twenty refusals are forgiven over a minute; more is abuse.
            strikes: RateLimiter::direct(
                Quota::per_minute(NonZeroU32::new(20).unwrap_or(NonZeroU32::MIN))
                    .allow_burst(NonZeroU32::new(20).unwrap_or(NonZeroU32::MIN)),
            ),
        }
    }
}

/// The socket comes unsplit (`select!` drops the other branches' futures before a handler
/// runs, so one `&mut` serves reading and writing): no shared lock, no extra allocation.
///
/// A function returning an `async move` block, not an `async fn`: an `async fn` keeps its
/// arguments once as received and once as the body's own variables, and this future is
/// every idle socket's task (856 bytes with what `upgrade` wraps around it; BENCHMARKS.md).
#[expect(
    clippy::manual_async_fn,
    reason = "an async fn keeps its arguments twice"
)]
fn serve(
    mut socket: WebSocket,
    mut conn: Connection,
    chat: Chat,
    shutdown: CancellationToken,
    heartbeat: Heartbeat,
    viewer: Viewer,
) -> impl Future<Output = ()> + Send {
    async move {
        // Every await but the idle one is boxed: the task is as big as its largest await,
        // and every idle socket keeps the task (BENCHMARKS.md).
        let hello = Box::pin(send(
            &mut socket,
            &ServerEvent::ConnectionEstablished {
                user_id: viewer.user_id,
            },
        ));
        if hello.await.is_err() {
            return;
        }
        // One timer for the whole connection, due at the next ping or the token's expiry, whichever
        // comes first: a `sleep_until` inside the loop would register and drop a timer entry for
        // every frame, and each timer is a hundred bytes more in every idle socket.
        let expires = super::token_deadline(&viewer);
        let mut next_ping = Instant::now() + heartbeat.every;
        let timer = sleep_until(next_ping.min(expires));
        tokio::pin!(timer);
        let mut pace = Pace::default();
        let mut last_heard = Instant::now();
        // Made at the first frame from the client: a socket that only listens never pays for it.
        let mut limits: Option<Box<Limits>> = None;
        // Made once: a fresh `cancelled()` in the loop would join and leave the token's waiter list
        // for every frame.
        let stopping = shutdown.cancelled_owned();
        tokio::pin!(stopping);

        let ending: Option<Ending> = loop {
            // The wake-up is reduced to a small value before anything is awaited: what a
            // `select!` branch holds while its body awaits stays in every idle socket's task.
            let woke = tokio::select! {
                () = &mut stopping => Woke::End(Some(Ending::new(GOING_AWAY, "server is restarting"))),
                kick = &mut conn.kicked => Woke::End(Some(match kick {
                    Ok(Kick::SignedOut) => Ending::with_error(POLICY, ErrorCode::Unauthenticated, "signed out"),
                    Ok(Kick::TooSlow) | Err(_) => Ending::with_error(POLICY, ErrorCode::RateLimited, "too slow to keep up"),
                })),
                queued = conn.frames.recv_async() => match queued {
                    Ok(queued) => Woke::Queued(queued),
                    Err(_) => Woke::End(None),
                },
                incoming = socket.next() => {
                    let Some(Ok(message)) = incoming else { break None };
                    last_heard = Instant::now();
                    match message {
                        Message::Text(text) => Woke::Text(text),
                        Message::Binary(_) => Woke::End(Some(Ending::with_error(UNSUPPORTED, ErrorCode::InvalidInput, "frames are JSON text"))),
                        Message::Close(_) => Woke::Closing,
                        // tungstenite answers pings itself; a pong only proves the client is there.
                        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
                    }
                }
                () = &mut timer => Woke::Timer,
            };
            match woke {
                Woke::End(ending) => break ending,
                Woke::Queued(queued) => {
                    if matches!(queued, Queued::States) && pace.hold() {
                        timer.as_mut().reset(wake_at(next_ping, expires, &pace));
                        continue;
                    }
                    let held = pace.take_held();
                    match Box::pin(forward(&mut socket, held, Some(queued), &conn)).await {
                        Ok(true) => pace.sent(),
                        Ok(false) => {}
                        Err(_) => break None,
                    }
                }
                Woke::Text(text) => {
                    // Boxed: the handler's database futures are large, and inline they would
                    // make every idle socket's task as big as its busiest moment.
                    let limits = limits.get_or_insert_with(|| Box::new(Limits::new()));
                    let handled =
                        Box::pin(handle(&chat, &viewer, conn.id, limits, &mut socket, text));
                    if let Err(ending) = handled.await {
                        break ending;
                    }
                }
                Woke::Closing => {
                    // tungstenite has queued the answering close frame: send it, so the client
                    // sees a clean close rather than a dropped connection.
                    let _ = Box::pin(tokio::time::timeout(CLOSE_WAIT, socket.flush())).await;
                    break None;
                }
                Woke::Timer => {
                    let now = Instant::now();
                    if now >= expires {
                        break Some(Ending::with_error(
                            POLICY,
                            ErrorCode::Unauthenticated,
                            "session expired",
                        ));
                    }
                    if pace.due().is_some_and(|due| now >= due) {
                        pace.take_held();
                        if Box::pin(forward(&mut socket, true, None, &conn))
                            .await
                            .is_err()
                        {
                            break None;
                        }
                        pace.sent();
                    }
                    if now >= next_ping {
                        if now.duration_since(last_heard) > heartbeat.idle {
                            break Some(Ending::new(GOING_AWAY, "idle"));
                        }
                        if Box::pin(socket.send(Message::Ping(Default::default())))
                            .await
                            .is_err()
                        {
                            break None;
                        }
                        next_ping = now + heartbeat.every;
                    }
                    timer.as_mut().reset(wake_at(next_ping, expires, &pace));
                }
            }
        };
        if let Some(ending) = ending {
            // Boxed: the goodbye's timers live only while it lasts, not in every socket's task.
            Box::pin(close(&mut socket, ending)).await;
        }
        // `conn.guard` drops here: the hub forgets the connection.
    }
}

/// When the socket's one timer is due: the next ping, the token's expiry or held state news,
/// whichever comes first.
fn wake_at(next_ping: Instant, expires: Instant, pace: &Pace) -> Instant {
    let due = next_ping.min(expires);
    pace.due().map_or(due, |held| due.min(held))
}

/// What woke a socket's task, as little as it needs to carry.
enum Woke {
    End(Option<Ending>),
    Queued(Queued),
    Text(Utf8Bytes),
    /// The client's close frame.
    Closing,
    Timer,
}

/// Tells the client why the connection ends, then waits (briefly) for its close frame.
async fn close(socket: &mut WebSocket, ending: Ending) {
    if let Some((code, message)) = ending.error {
        let event = ServerEvent::ConnectionError {
            code,
            message: message.to_owned(),
        };
        let _ = send(socket, &event).await;
    }
    let close = CloseFrame {
        code: CloseCode::from(ending.code),
        reason: Utf8Bytes::from_static(ending.reason),
    };
    let _ = socket.send(Message::Close(Some(close))).await;
    // Read on until the client answers the close: a socket dropped with frames still
    // unread is reset by the kernel, and the client would lose the frames just sent.
    let _ = tokio::time::timeout(CLOSE_WAIT, async {
        while let Some(Ok(message)) = socket.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

/// Most queued frames written with one `send` syscall.
const WRITE_BATCH: usize = 64;

/// Writes the state news `held` back, `first`, and whatever else is already queued for this
/// connection, then flushes once: under load a busy socket costs one syscall per batch instead
/// of one per frame. Presence and typing (a frame per contact or typist) are taken from the hub
/// [`WRITE_BATCH`] frames at a time, a flush each: while a client that reads slowly holds a
/// flush back, the rest waits in the hub, where newer news of the same contact or typist
/// replaces the older. Answers whether state news went out.
async fn forward(
    socket: &mut WebSocket,
    held: bool,
    first: Option<Queued>,
    conn: &Connection,
) -> Result<bool, WsError> {
    let queued = conn.frames.try_iter().take(WRITE_BATCH - 1);
    let mut states = false;
    for item in held
        .then_some(Queued::States)
        .into_iter()
        .chain(first)
        .chain(queued)
    {
        match item {
            Queued::Frame(frame) => feed(socket, &frame).await?,
            Queued::States => loop {
                states = true;
                let (frames, more) = conn.take_states(WRITE_BATCH);
                for frame in &frames {
                    feed(socket, frame).await?;
                }
                if !more {
                    break;
                }
                socket.flush().await?;
            },
        }
    }
    socket.flush().await?;
    Ok(states)
}

/// Queues one of the hub's frames for the next flush, or writes a big one straight away.
async fn feed(socket: &mut WebSocket, frame: &Frame) -> Result<(), WsError> {
    // Frames are serialised from `ServerEvent`s, so this check (a scan of one short frame per
    // delivery) never fails.
    match Utf8Bytes::try_from(frame.json.clone()) {
        Ok(text) => feed_text(socket, text).await,
        Err(_) => Ok(()),
    }
}

/// Queues a text frame for the next flush, or, over [`DIRECT_BYTES`], writes it straight away.
async fn feed_text(socket: &mut WebSocket, text: Utf8Bytes) -> Result<(), WsError> {
    if text.len() > DIRECT_BYTES {
        // Boxed: the raw write's state would otherwise enlarge every socket's task.
        Box::pin(write_direct(socket, text.into())).await
    } else {
        socket.feed(Message::Text(text)).await
    }
}

/// Serialises `event` now, so the future does not hold the event while the socket writes.
fn send<'a>(
    socket: &'a mut WebSocket,
    event: &ServerEvent,
) -> impl Future<Output = Result<(), WsError>> + Send + 'a {
    send_json(socket, event.to_json())
}

/// Sends a frame already serialised.
async fn send_json(socket: &mut WebSocket, json: String) -> Result<(), WsError> {
    feed_text(socket, json.into()).await?;
    socket.flush().await
}

/// Writes one text frame straight to the connection, past tungstenite's write buffer. That
/// buffer keeps the size of the largest frame it ever held for as long as the socket lives: one
/// rename of a 1,000-member group (a 115 KB `conversation:updated` each) left the server holding
/// 118 MiB more (BENCHMARKS.md). A server's frames are not masked, so a frame is a header of 2
/// to 10 bytes and the shared payload as it is, not copied.
async fn write_direct(
    socket: &mut WebSocket,
    payload: tokio_tungstenite::tungstenite::Bytes,
) -> Result<(), WsError> {
    // What tungstenite holds goes first: frames keep their order.
    socket.flush().await?;
    let io = socket.get_mut();
    io.write_all(&text_frame_header(payload.len())).await?;
    io.write_all(&payload).await?;
    io.flush().await?;
    Ok(())
}

/// The header of a final, unmasked text frame with `len` bytes of payload (RFC 6455 §5.2).
fn text_frame_header(len: usize) -> Vec<u8> {
    let mut header = Vec::with_capacity(10);
    header.push(0x81);
    match (u8::try_from(len), u16::try_from(len)) {
        (Ok(short), _) if short < 126 => header.push(short),
        (_, Ok(medium)) => {
            header.push(126);
            header.extend_from_slice(&medium.to_be_bytes());
        }
        _ => {
            header.push(127);
            header.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    header
}

/// Answers one client frame. `Err` ends the connection (abuse, or the client is gone).
async fn handle(
    chat: &Chat,
    viewer: &Viewer,
    conn: ConnId,
    limits: &mut Limits,
    socket: &mut WebSocket,
    text: Utf8Bytes,
) -> Result<(), Option<Ending>> {
    let gone = |_| None;
    let parsed = ClientEvent::parse(text.as_str());
    let client_id = match &parsed {
        Ok(ClientEvent::Send { client_id, .. }) => Some(client_id.clone()),
        Ok(ClientEvent::FetchChanges { client_id, .. }) => client_id.clone(),
        Ok(_) => None,
        Err(e) => e.client_id.clone(),
    };
    let limiter = match &parsed {
        Ok(ClientEvent::Send { .. }) => Some(&limits.sends),
        Ok(ClientEvent::TypingStart { .. } | ClientEvent::TypingStop { .. }) => {
            Some(&limits.typing)
        }
        _ => None,
    };
    // Every frame counts, readable or not: a flood of junk costs a parse and a reply each.
    let limited = limits.frames.check().is_err() || limiter.is_some_and(|l| l.check().is_err());
    if limited {
        if limits.strikes.check().is_err() {
            return Err(Some(Ending::with_error(
                POLICY,
                ErrorCode::RateLimited,
                "too many frames",
            )));
        }
        let reply = error(ErrorCode::RateLimited, "slow down".to_owned(), client_id);
        return send(socket, &reply).await.map_err(gone);
    }
    let event = match parsed {
        Ok(event) => event,
        Err(e) => {
            let reply = error(ErrorCode::InvalidInput, e.message, e.client_id);
            return send(socket, &reply).await.map_err(gone);
        }
    };
    let me = viewer.user_id;
    let outcome = match event {
        ClientEvent::Join { conversation_id } => chat.join(me, conn, conversation_id).await,
        ClientEvent::Leave { conversation_id } => {
            chat.leave(conn, conversation_id);
            Ok(())
        }
        ClientEvent::Send {
            conversation_id,
            client_id,
            body,
        } => {
            let request = SendMessage {
                body,
                client_id: Some(client_id.clone()),
            };
            match chat.send_message(me, conversation_id, request).await {
                Ok(sent) => {
                    let ack = ServerEvent::MessageAck {
                        client_id,
                        message: sent.message,
                        version: sent.version,
                    };
                    return send(socket, &ack).await.map_err(gone);
                }
                Err(e) => Err(e),
            }
        }
        ClientEvent::TypingStart { conversation_id } => {
            chat.typing(me, conversation_id, true).await
        }
        ClientEvent::TypingStop { conversation_id } => {
            chat.typing(me, conversation_id, false).await
        }
        ClientEvent::Read {
            conversation_id,
            seq,
        } => chat.mark_read(me, conversation_id, seq).await.map(drop),
        ClientEvent::WatchPosts {} => {
            chat.watch_posts(conn, true);
            Ok(())
        }
        ClientEvent::UnwatchPosts {} => {
            chat.watch_posts(conn, false);
            Ok(())
        }
        ClientEvent::FetchChanges {
            conversation_id,
            after,
            limit,
            client_id,
        } => match chat.changes_since(me, conversation_id, after, limit).await {
            Ok(mut page) => {
                page.fit(PAGE_BYTES);
                let frame = page_frame(conversation_id, page, client_id, MAX_WRITE_BUFFER);
                return send_json(socket, frame).await.map_err(gone);
            }
            Err(e) => Err(e),
        },
    };
    match outcome {
        Ok(()) => Ok(()),
        Err(e) => {
            if e.code() == ErrorCode::Internal {
                tracing::error!(error = %e, "socket event failed");
            }
            let reply = error(e.code(), e.public_message(), client_id);
            send(socket, &reply).await.map_err(gone)
        }
    }
}

/// Bytes of changes in one `changes:page` frame: a page of long messages is cut short (and says
/// more follows). Chosen when a large frame stayed in the socket's write buffer for good (it no
/// longer does: [`write_direct`]); kept so that one answer is a short write ahead of the live
/// events queued behind it.
const PAGE_BYTES: usize = 16 * 1024;

/// The `changes:page` frame as JSON, or an `error` pointing to REST when even the page's first
/// entry makes a frame over `max_bytes` (a `conversation:updated` of a huge group): the socket's
/// frames stay bounded, and REST has no such bound.
fn page_frame(
    conversation_id: protocol::ConversationId,
    page: protocol::ChangePage,
    client_id: Option<String>,
    max_bytes: usize,
) -> String {
    let json = ServerEvent::ChangesPage {
        conversation_id,
        page,
        client_id: client_id.clone(),
    }
    .to_json();
    if json.len() <= max_bytes {
        return json;
    }
    let message = format!(
        "the next change is too large for a frame: \
         fetch it with GET /api/conversations/{conversation_id}/changes"
    );
    error(ErrorCode::InvalidInput, message, client_id).to_json()
}

fn error(code: ErrorCode, message: String, client_id: Option<String>) -> ServerEvent {
    ServerEvent::Error {
        code,
        message,
        client_id,
    }
}

#[cfg(test)]
mod tests {
    use protocol::{ChangeEntry, ChangePage, ConversationId, ServerEvent, UserId};

    use super::*;

    #[test]
    fn frame_headers_take_the_length_in_its_three_sizes() {
        assert_eq!(text_frame_header(0), [0x81, 0]);
        assert_eq!(text_frame_header(125), [0x81, 125]);
        assert_eq!(text_frame_header(126), [0x81, 126, 0, 126]);
        assert_eq!(text_frame_header(65_535), [0x81, 126, 0xff, 0xff]);
        assert_eq!(
            text_frame_header(65_536),
            [0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]
        );
    }

    #[test]
    fn a_page_too_large_for_a_frame_points_to_rest() {
        let page = ChangePage {
            changes: (1..=50)
                .map(|v| ChangeEntry {
                    version: v,
                    frame: ServerEvent::UserOnline { user_id: UserId(v) },
                })
                .collect(),
            has_more: false,
            version: 50,
        };
        let id = ConversationId(7);
        let tag = Some("r1".to_owned());
        let fits: ServerEvent =
            serde_json::from_str(&page_frame(id, page.clone(), tag.clone(), MAX_WRITE_BUFFER))
                .unwrap();
        assert!(
            matches!(fits, ServerEvent::ChangesPage { ref client_id, .. } if *client_id == tag)
        );
        match serde_json::from_str(&page_frame(id, page, tag.clone(), 1000)).unwrap() {
            ServerEvent::Error {
                code,
                message,
                client_id,
            } => {
                assert_eq!(code, ErrorCode::InvalidInput);
                assert!(
                    message.contains("/api/conversations/7/changes"),
                    "{message}"
                );
                assert_eq!(client_id, tag);
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }
}
