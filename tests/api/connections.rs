//! HTTP connections are bounded in time and size: a client that sends no request, sends its
//! headers or its body too slowly or leaves a kept-alive connection idle is disconnected after
//! `HTTP_IDLE_TIMEOUT_MS`; busy connections and WebSockets are not.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout, Instant};

use crate::helpers::TestApp;

const IDLE: Duration = Duration::from_millis(1000);

async fn app() -> TestApp {
    TestApp::spawn_with(|config| config.http_idle_timeout_ms = IDLE.as_millis() as u64).await
}

async fn open(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads until the server closes the connection (an end of stream or a reset); returns what
/// it sent and how long that took. Fails if it stays open for 10 s.
async fn until_closed(tcp: &mut TcpStream) -> (String, Duration) {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match timeout(Duration::from_secs(10), tcp.read(&mut chunk)).await {
            Err(_) => panic!(
                "still open after 10 s; got {:?}",
                String::from_utf8_lossy(&got)
            ),
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => got.extend_from_slice(&chunk[..n]),
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), start.elapsed())
}

/// [`until_closed`], which must not come before the idle bound (less a margin for timers).
async fn closed_once_idle(tcp: &mut TcpStream) -> String {
    let (got, after) = until_closed(tcp).await;
    assert!(
        after >= IDLE - Duration::from_millis(300),
        "closed after {after:?}"
    );
    got
}

/// A whole `GET /healthz` request.
const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: confab\r\n\r\n";

/// One `GET /healthz` on a kept-alive connection; returns the status line.
async fn healthz(tcp: &mut TcpStream) -> String {
    tcp.write_all(HEALTHZ).await.unwrap();
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    // The head, then the body by its length.
    while !got.ends_with(b"\r\n\r\n") {
        assert_eq!(tcp.read(&mut byte).await.unwrap(), 1, "closed mid-response");
        got.push(byte[0]);
    }
    let head = String::from_utf8(got).unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .expect("content-length");
    let mut body = vec![0u8; length];
    tcp.read_exact(&mut body).await.unwrap();
    head.lines().next().unwrap().to_owned()
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed() {
    let app = app().await;
    let mut tcp = open(&app).await;
    assert_eq!(closed_once_idle(&mut tcp).await, "");
}

#[tokio::test]
async fn headers_sent_too_slowly_are_cut_off() {
    let app = app().await;
    let mut tcp = open(&app).await;
    let (mut read, mut write) = tcp.split();
    let dribble = async {
        // A header line every 100 ms, never the blank line that ends the head.
        let _ = write
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: confab\r\n")
            .await;
        for i in 0..100 {
            sleep(Duration::from_millis(100)).await;
            if write
                .write_all(format!("X-Slow-{i}: a\r\n").as_bytes())
                .await
                .is_err()
            {
                break;
            }
        }
    };
    let closed = async {
        let mut got = Vec::new();
        let start = Instant::now();
        let _ = timeout(Duration::from_secs(10), read.read_to_end(&mut got)).await;
        (String::from_utf8_lossy(&got).into_owned(), start.elapsed())
    };
    let (_, (got, after)) = tokio::join!(dribble, closed);
    assert!(!got.contains("200 OK"), "{got}");
    assert!(after < Duration::from_secs(5), "open for {after:?}");
}

#[tokio::test]
async fn a_kept_alive_connection_stays_while_busy_and_closes_once_idle() {
    let app = app().await;
    let mut tcp = open(&app).await;
    let start = Instant::now();
    // Requests every 200 ms for twice the idle bound: the connection is busy, so it stays.
    while start.elapsed() < IDLE * 2 {
        assert_eq!(healthz(&mut tcp).await, "HTTP/1.1 200 OK");
        sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(closed_once_idle(&mut tcp).await, "");
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_refused() {
    let app = app().await;
    let mut tcp = open(&app).await;
    // A sign-in whose body stops after 11 of the 100 bytes it announces.
    tcp.write_all(
        b"POST /api/auth/login HTTP/1.1\r\nHost: confab\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"username\"",
    )
    .await
    .unwrap();
    let got = closed_once_idle(&mut tcp).await;
    assert!(got.starts_with("HTTP/1.1 400"), "{got}");
    assert!(
        got.contains("invalid_input") && got.contains("within"),
        "{got}"
    );
}

#[tokio::test]
async fn a_request_head_over_16_kib_is_refused_with_431() {
    let app = app().await;
    let head_of = |kib: usize| {
        format!(
            "GET /healthz HTTP/1.1\r\nHost: confab\r\nX-Big: {}\r\n\r\n",
            "a".repeat(kib * 1024)
        )
    };
    let mut tcp = open(&app).await;
    let _ = tcp.write_all(head_of(17).as_bytes()).await;
    let (got, _) = until_closed(&mut tcp).await;
    assert!(got.starts_with("HTTP/1.1 431"), "{got}");
    // A head just under the bound is served.
    let mut tcp = open(&app).await;
    tcp.write_all(head_of(15).as_bytes()).await.unwrap();
    let mut status = [0u8; 15];
    tcp.read_exact(&mut status).await.unwrap();
    assert_eq!(&status, b"HTTP/1.1 200 OK");
}

#[tokio::test]
async fn a_websocket_outlives_the_http_idle_bound() {
    let app = app().await;
    let ann = app.person("ann").await;
    let mut socket = app.connect(&ann).await;
    sleep(IDLE * 2).await;
    socket.sync().await;
}

#[tokio::test]
async fn an_event_stream_outlives_the_http_idle_bound() {
    let app = app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    // A response that lasts: hyper reads no next request head while it streams.
    let mut events = app.events(&ann).await;
    sleep(IDLE * 2).await;
    app.direct(&bob, &ann).await;
    events.next_event("conversation:updated").await;
}

#[tokio::test]
async fn shutting_down_closes_a_connection_waiting_for_its_first_request_at_once() {
    let app = TestApp::spawn().await;
    let mut tcp = open(&app).await;
    sleep(Duration::from_millis(100)).await;
    app.shut_down();
    let (got, after) = until_closed(&mut tcp).await;
    assert_eq!(got, "");
    assert!(after < Duration::from_secs(5), "closed after {after:?}");
}

/// A server that lets one address hold three connections at once.
async fn app_of_three() -> TestApp {
    TestApp::spawn_with(|config| config.max_connections_per_address = 3).await
}

/// Sends `GET /healthz` on a new connection and reads until the server closes it: the
/// refusal a connection over a bound gets.
async fn refused(app: &TestApp) -> String {
    let mut tcp = open(app).await;
    tcp.write_all(HEALTHZ).await.unwrap();
    until_closed(&mut tcp).await.0
}

/// What an address over its bound is told.
const ADDRESS_FULL: &str = "too many connections from this address";
/// What a connection over the server's bound is told.
const SERVER_FULL: &str = "the server is at its connection limit";

/// The contract's `429 rate_limited`, with `message`, then the end of the connection.
fn assert_refused_as(got: &str, message: &str) {
    assert!(
        got.starts_with("HTTP/1.1 429 Too Many Requests\r\n"),
        "{got}"
    );
    assert!(got.contains("retry-after: 10\r\n"), "{got}");
    let body = format!(r#"{{"error":{{"code":"rate_limited","message":"{message}"}}}}"#);
    assert!(got.ends_with(&body), "{got}");
}

/// A new connection's `GET /healthz` succeeds within a few seconds: the server gives a place
/// back once it has seen a connection close. Until then it is refused with `refusal`.
async fn served_again(app: &TestApp, refusal: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut tcp = open(app).await;
        tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: confab\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let (got, _) = until_closed(&mut tcp).await;
        if got.starts_with("HTTP/1.1 200 OK") {
            return;
        }
        assert_refused_as(&got, refusal);
        assert!(Instant::now() < deadline, "no place came back");
        sleep(Duration::from_millis(50)).await;
    }
}

/// With three connections held, a fourth is refused with `refusal`; the held ones still serve,
/// and a place comes back when one closes.
async fn holds_three(app: &TestApp, refusal: &str) {
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut tcp = open(app).await;
        assert_eq!(healthz(&mut tcp).await, "HTTP/1.1 200 OK");
        held.push(tcp);
    }
    assert_refused_as(&refused(app).await, refusal);
    // The kept-alive connections still serve.
    assert_eq!(healthz(&mut held[0]).await, "HTTP/1.1 200 OK");
    drop(held.pop());
    served_again(app, refusal).await;
}

#[tokio::test]
async fn an_address_holds_a_bounded_number_of_connections() {
    holds_three(&app_of_three().await, ADDRESS_FULL).await;
}

#[tokio::test]
async fn a_websocket_keeps_its_place_until_it_closes() {
    let app = app_of_three().await;
    // The test client's kept-alive connection is one place, two sockets the others.
    let ann = app.person("ann").await;
    let first = app.connect(&ann).await;
    let mut second = app.connect(&ann).await;
    assert_refused_as(&refused(&app).await, ADDRESS_FULL);
    second.sync().await;
    drop(first);
    served_again(&app, ADDRESS_FULL).await;
}

#[tokio::test]
async fn the_server_holds_a_bounded_number_of_connections() {
    let app = TestApp::spawn_with(|config| config.max_connections = 3).await;
    holds_three(&app, SERVER_FULL).await;
}
