//! Bad frames: a frame that cannot be used gets `error` (with its `client_id` when it had one)
//! and the socket stays open; a frame too big or not text ends the socket. Either way the
//! server keeps serving everyone else.

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{Person, TestApp};
use crate::live_helpers::{live_app, Socket, QUIET};

struct Pair {
    app: TestApp,
    ann: Person,
    bob: Person,
    conv: i64,
    ann1: Socket,
    bob1: Socket,
}

async fn pair() -> Pair {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    let conv = app.direct(&ann, &bob).await;
    let ann1 = app.connect(&ann).await;
    let bob1 = app.connect(&bob).await;
    Pair {
        app,
        ann,
        bob,
        conv,
        ann1,
        bob1,
    }
}

/// A socket of `who` still delivers: a message sent to `conv` over REST reaches it.
async fn still_served(app: &TestApp, sender: &Person, conv: i64, socket: &mut Socket) {
    let sent = app.send(sender, conv, "are you there?").await;
    socket.next_message("message:new", &sent["id"]).await;
}

async fn expect_error(socket: &mut Socket, code: &str, client_id: Option<&str>) -> Value {
    let data = socket.next_event("error").await;
    assert_eq!(data["code"], code, "{data}");
    assert!(
        data["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{data}"
    );
    match client_id {
        Some(id) => assert_eq!(data["client_id"], id, "{data}"),
        None => assert!(data.get("client_id").is_none_or(Value::is_null), "{data}"),
    }
    data
}

#[tokio::test]
async fn bad_frames_get_an_error_and_the_socket_stays_open() {
    let mut p = pair().await;
    let eve = p.app.person("eve").await;
    let foreign = p.app.direct(&p.bob, &eve).await;
    let conv = p.conv;

    p.ann1.send_text("this is not json".to_owned()).await;
    expect_error(&mut p.ann1, "invalid_input", None).await;

    p.ann1
        .send_text(r#"{"event": "message:send""#.to_owned())
        .await;
    expect_error(&mut p.ann1, "invalid_input", None).await;

    p.ann1.send_text("[1, 2, 3]".to_owned()).await;
    expect_error(&mut p.ann1, "invalid_input", None).await;

    p.ann1
        .send("message:explode", json!({"client_id": "k1"}))
        .await;
    let data = expect_error(&mut p.ann1, "invalid_input", Some("k1")).await;
    assert!(
        data["message"]
            .as_str()
            .unwrap()
            .contains("message:explode"),
        "{data}"
    );

    p.ann1
        .send("message:send", json!({"client_id": "k2"}))
        .await;
    let data = expect_error(&mut p.ann1, "invalid_input", Some("k2")).await;
    assert!(
        data["message"]
            .as_str()
            .unwrap()
            .contains("conversation_id"),
        "{data}"
    );

    p.ann1
        .send(
            "message:send",
            json!({"conversation_id": "seven", "client_id": "k3", "body": "x"}),
        )
        .await;
    expect_error(&mut p.ann1, "invalid_input", Some("k3")).await;

    p.ann1.send("typing:start", json!({})).await;
    expect_error(&mut p.ann1, "invalid_input", None).await;

    p.ann1
        .send(
            "message:read",
            json!({"conversation_id": conv, "seq": "last"}),
        )
        .await;
    expect_error(&mut p.ann1, "invalid_input", None).await;

    // A conversation ann is not in, or that does not exist: not_found, like REST.
    for id in [foreign, 999_999] {
        let data = json!({"conversation_id": id, "client_id": format!("k-{id}"), "body": "hi"});
        p.ann1.send("message:send", data).await;
        expect_error(&mut p.ann1, "not_found", Some(&format!("k-{id}"))).await;
        for event in ["conversation:join", "typing:start", "typing:stop"] {
            p.ann1.send(event, json!({"conversation_id": id})).await;
            expect_error(&mut p.ann1, "not_found", None).await;
        }
        p.ann1
            .send("message:read", json!({"conversation_id": id, "seq": 1}))
            .await;
        expect_error(&mut p.ann1, "not_found", None).await;
    }

    // Bodies: empty after trimming, too long, a control character.
    let too_long = "x".repeat(4001);
    for (client_id, body) in [
        ("e1", ""),
        ("e2", " \n\t "),
        ("e3", too_long.as_str()),
        ("e4", "bell\u{7}"),
    ] {
        let data = json!({"conversation_id": conv, "client_id": client_id, "body": body});
        p.ann1.send("message:send", data).await;
        expect_error(&mut p.ann1, "invalid_input", Some(client_id)).await;
    }
    // A client_id that is not a usable id.
    let data = json!({"conversation_id": conv, "client_id": "", "body": "hi"});
    p.ann1.send("message:send", data).await;
    expect_error(&mut p.ann1, "invalid_input", Some("")).await;

    // A negative read mark.
    p.ann1
        .send("message:read", json!({"conversation_id": conv, "seq": -1}))
        .await;
    expect_error(&mut p.ann1, "invalid_input", None).await;

    // None of it was stored or announced, and the same socket still works.
    p.bob1.assert_no("message:new", QUIET).await;
    let data = json!({"conversation_id": conv, "client_id": "ok", "body": "finally"});
    p.ann1.send("message:send", data).await;
    let ack = p.ann1.next_event("message:ack").await;
    assert_eq!(ack["message"]["seq"], 1);
    assert_eq!(
        p.bob1.next_event("message:new").await["message"]["id"],
        ack["message"]["id"]
    );
}

#[tokio::test]
async fn an_oversize_frame_closes_that_socket_only() {
    let mut p = pair().await;
    let mut ann2 = p.app.connect(&p.ann).await;
    // 70 KiB of JSON text: above the 64 KiB frame limit.
    let body = "y".repeat(70 * 1024);
    let frame = json!({"event": "message:send", "data": {"conversation_id": p.conv, "client_id": "big", "body": body}});
    // The server may close before it has read it all, so the write itself may fail.
    let _ = p.ann1.try_send_raw(Message::text(frame.to_string())).await;
    let closed = p.ann1.closed().await;
    assert!(
        closed.frames.iter().all(|f| f["event"] != "message:ack"),
        "{:?}",
        closed.frames
    );

    still_served(&p.app, &p.bob, p.conv, &mut ann2).await;
    still_served(&p.app, &p.ann, p.conv, &mut p.bob1).await;
    // A frame just under the limit is fine (and its body is only too long for a message).
    let body = "z".repeat(60 * 1024);
    let data = json!({"conversation_id": p.conv, "client_id": "almost", "body": body});
    ann2.send("message:send", data).await;
    expect_error(&mut ann2, "invalid_input", Some("almost")).await;
}

#[tokio::test]
async fn a_binary_frame_closes_that_socket_only() {
    let mut p = pair().await;
    let mut ann2 = p.app.connect(&p.ann).await;
    let frame = json!({"event": "typing:start", "data": {"conversation_id": p.conv}});
    p.ann1
        .send_raw(Message::binary(frame.to_string().into_bytes()))
        .await;
    let closed = p.ann1.closed().await;
    assert_eq!(closed.code(), Some(1003), "unsupported data");
    assert_eq!(closed.connection_error()["code"], "invalid_input");

    still_served(&p.app, &p.bob, p.conv, &mut ann2).await;
    still_served(&p.app, &p.ann, p.conv, &mut p.bob1).await;
    // A fresh socket for the same person works too.
    let mut ann3 = p.app.connect(&p.ann).await;
    still_served(&p.app, &p.bob, p.conv, &mut ann3).await;
}

/// Frames too big for the socket's write buffer to keep go out past it, whole and in order
/// with the small ones around them, to every device, over and over.
#[tokio::test]
async fn big_frames_arrive_whole_and_in_order() {
    let Pair {
        app,
        ann,
        conv,
        mut ann1,
        mut bob1,
        ..
    } = pair().await;
    // 4,000 characters of 3 bytes: a `message:new` of about 12 KB, over the 8 KiB past which
    // frames skip the write buffer.
    let long = "€".repeat(4000);
    let mut sent = Vec::new();
    for i in 0..3 {
        sent.push(app.send(&ann, conv, &long).await);
        sent.push(app.send(&ann, conv, &format!("short {i}")).await);
    }
    for socket in [&mut ann1, &mut bob1] {
        for message in &sent {
            let data = socket.next_event("message:new").await;
            assert_eq!(data["message"]["id"], message["id"], "in order");
            assert_eq!(data["message"]["body"], message["body"]);
        }
    }
    // The sockets still take frames and answer them.
    bob1.sync().await;
    ann1.sync().await;
}
