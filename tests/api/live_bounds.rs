//! Where a socket ends: rate-limit abuse, token expiry, logout of its session, server
//! shutdown and silence, each with the frame and close code the contract promises.

use std::time::Duration;

use jsonwebtoken::{encode, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{assert_error, Person, TestApp, TEST_SECRET};
use crate::live_helpers::{live_app, Socket, QUIET};

/// Policy violation (RFC 6455 §7.4.1).
const POLICY: u16 = 1008;
const GOING_AWAY: u16 = 1001;

/// Sends `frames` copies of `text` and returns the `error` frames that came back, stopping at
/// the first `connection:error` (returned separately).
async fn flood(socket: &mut Socket, text: &str, frames: usize) -> Vec<Value> {
    for _ in 0..frames {
        // The server may close part-way through the flood.
        if socket
            .try_send_raw(Message::text(text.to_owned()))
            .await
            .is_err()
        {
            break;
        }
    }
    let mut errors = Vec::new();
    while let Some(frame) = socket.next_within(QUIET).await {
        if frame["event"] == "error" {
            errors.push(frame["data"].clone());
        }
    }
    errors
}

#[tokio::test]
async fn a_typing_flood_is_refused_and_then_the_socket_still_works() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    let conv = app.direct(&ann, &bob).await;
    let mut ann1 = app.connect(&ann).await;
    let typing = json!({"event": "typing:start", "data": {"conversation_id": conv}}).to_string();
    // 15 at once: above the burst of 10, below the 20 refusals that end a socket.
    let errors = flood(&mut ann1, &typing, 15).await;
    assert!(!errors.is_empty(), "some typing frames are refused");
    assert!(errors.len() <= 5, "{errors:?}");
    for error in &errors {
        assert_eq!(error["code"], "rate_limited");
    }
    // Other frames are still welcome.
    let send = json!({"conversation_id": conv, "client_id": "after-flood", "body": "calm now"});
    ann1.send("message:send", send).await;
    assert_eq!(
        ann1.next_event("message:ack").await["client_id"],
        "after-flood"
    );
}

#[tokio::test]
async fn continued_abuse_ends_the_socket_with_connection_error() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    let conv = app.direct(&ann, &bob).await;
    let mut bob1 = app.connect(&bob).await;
    let mut ann1 = app.connect(&ann).await;
    let typing = json!({"event": "typing:start", "data": {"conversation_id": conv}}).to_string();
    for _ in 0..60 {
        if ann1
            .try_send_raw(Message::text(typing.clone()))
            .await
            .is_err()
        {
            break;
        }
    }
    let closed = ann1.closed().await;
    let refused = closed
        .frames
        .iter()
        .filter(|f| f["event"] == "error" && f["data"]["code"] == "rate_limited")
        .count();
    assert!(refused >= 1, "told to slow down first: {:?}", closed.frames);
    assert_eq!(closed.connection_error()["code"], "rate_limited");
    assert_eq!(closed.code(), Some(POLICY));
    // The server is fine; bob's socket still works.
    let sent = app.send(&ann, conv, "sorry").await;
    assert_eq!(
        bob1.next_event("message:new").await["message"]["id"],
        sent["id"]
    );
}

#[tokio::test]
async fn a_flood_of_bad_frames_is_limited_too() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let mut ann1 = app.connect(&ann).await;
    // Far above 50 frames a second with a burst of 100.
    for _ in 0..300 {
        if ann1.try_send_raw(Message::text("junk")).await.is_err() {
            break;
        }
    }
    let closed = ann1.closed().await;
    assert_eq!(closed.connection_error()["code"], "rate_limited");
    assert_eq!(closed.code(), Some(POLICY));
}

fn claims_of(token: &str) -> Value {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn a_socket_ends_when_its_token_expires() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let mut claims = claims_of(&ann.token);
    claims["exp"] = json!(chrono::Utc::now().timestamp() + 2);
    let short = encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .unwrap();
    let short_lived = Person {
        id: ann.id,
        token: short,
    };
    let socket = app.connect(&short_lived).await;
    let mut long_lived = app.connect(&ann).await;
    let closed = socket.closed().await;
    assert_eq!(closed.connection_error()["code"], "unauthenticated");
    assert_eq!(closed.code(), Some(POLICY));
    // The same session with a longer token is not affected.
    long_lived.assert_silent(QUIET).await;
}

#[tokio::test]
async fn logging_out_ends_that_sessions_sockets_only() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    let conv = app.direct(&ann, &bob).await;
    // A second session of ann (another browser).
    let res = app.login("ann", "correct horse battery").await;
    assert_eq!(res.status(), StatusCode::OK);
    let other: Value = res.json().await.unwrap();
    let other = Person {
        id: ann.id,
        token: other["token"].as_str().unwrap().to_owned(),
    };
    let first = app.connect(&ann).await;
    let second = app.connect(&ann).await;
    let mut elsewhere = app.connect(&other).await;

    let res = app.post(&ann, "/api/auth/logout", json!({})).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    for socket in [first, second] {
        let closed = socket.closed().await;
        assert_eq!(closed.connection_error()["code"], "unauthenticated");
        assert_eq!(closed.code(), Some(POLICY));
    }
    // The token no longer opens a socket.
    let auth = format!("Bearer {}", ann.token);
    let (status, _) = app
        .refused_handshake(app.ws_request(&[("authorization", &auth)]))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The other session's socket still hears everything.
    let sent = app.send(&bob, conv, "still there?").await;
    assert_eq!(
        elsewhere.next_event("message:new").await["message"]["id"],
        sent["id"]
    );
}

/// A server that pings every 200 ms and gives up on a client silent for 700 ms.
async fn quick_heartbeat_app() -> TestApp {
    TestApp::spawn_with(|config| {
        config.ws_heartbeat_ms = 200;
        config.ws_idle_timeout_ms = 700;
    })
    .await
}

#[tokio::test]
async fn a_client_that_answers_pings_stays_connected() {
    let app = quick_heartbeat_app().await;
    let ann = app.person("ann").await;
    let mut socket = app.connect(&ann).await;
    // Two idle timeouts long: only the pongs keep it open.
    let pings = socket.count_pings(Duration::from_millis(1500)).await;
    assert!(pings >= 4, "pings in 1.5 s at one per 200 ms: {pings}");
    socket.sync().await;
}

#[tokio::test]
async fn a_silent_client_is_closed_as_idle() {
    let app = quick_heartbeat_app().await;
    let ann = app.person("ann").await;
    let socket = app.connect(&ann).await;
    // Not reading means not answering pings: the server hears nothing.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let closed = socket.closed().await;
    assert_eq!(closed.code(), Some(GOING_AWAY), "{closed:?}");
    assert_eq!(
        closed.close.as_ref().map(|c| c.reason.as_str()),
        Some("idle")
    );
}

#[tokio::test]
async fn shutting_down_closes_sockets_with_going_away() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    app.direct(&ann, &bob).await;
    let sockets = vec![
        app.connect(&ann).await,
        app.connect(&ann).await,
        app.connect(&bob).await,
    ];
    app.shut_down();
    for socket in sockets {
        let closed = socket.closed().await;
        assert_eq!(closed.code(), Some(GOING_AWAY), "{closed:?}");
    }
}

#[tokio::test]
async fn a_close_from_the_client_is_answered_and_ends_the_connection() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    app.direct(&ann, &bob).await;
    let mut bob1 = app.connect(&bob).await;
    let ann1 = app.connect(&ann).await;
    assert_eq!(
        bob1.next_event("user:online").await["user_id"],
        json!(ann.id)
    );
    // `close` asserts that the server answers with a close frame of its own.
    ann1.close().await;
    // And the server lets the connection go: ann is offline after the grace period.
    assert_eq!(
        bob1.next_event("user:offline").await["user_id"],
        json!(ann.id)
    );
}

#[tokio::test]
async fn a_user_holds_a_bounded_number_of_live_connections() {
    let app = TestApp::spawn_with(|config| config.max_live_connections_per_user = 3).await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    let conv = app.direct(&ann, &bob).await;
    let first = app.connect(&ann).await;
    let mut second = app.connect(&ann).await;
    // An event stream is a live connection too.
    let mut stream = app.events(&ann).await;
    let auth = format!("Bearer {}", ann.token);
    let (status, body) = app
        .refused_handshake(app.ws_request(&[("authorization", &auth)]))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    let res = app.get(&ann, "/api/events").await;
    assert_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // The bound is per user, and what is held keeps working.
    let mut bob1 = app.connect(&bob).await;
    let sent = app.send(&bob, conv, "still here?").await;
    assert_eq!(
        second.next_event("message:new").await["message"]["id"],
        sent["id"]
    );
    assert_eq!(
        stream.next_event("message:new").await["message"]["id"],
        sent["id"]
    );
    assert_eq!(
        bob1.next_event("message:new").await["message"]["id"],
        sent["id"]
    );
    // A place comes back once a connection closes.
    first.close().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio_tungstenite::connect_async(app.ws_request(&[("authorization", &auth)])).await {
            Ok(_) => break,
            Err(e) => assert!(
                tokio::time::Instant::now() < deadline,
                "no place came back: {e}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
