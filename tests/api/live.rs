//! Message news on the socket: who gets `message:new`, `message:edited`, `message:deleted` and
//! `message:read`, with two and three users and two devices each, and who never does; a resent
//! `client_id`; and that `connection:established` means the socket already receives.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{Person, TestApp};
use crate::live_helpers::{live_app, Socket, QUIET};

/// Three people in a group, each with two open sockets, and a stranger with one.
struct Room {
    app: TestApp,
    ann: Person,
    bob: Person,
    cat: Person,
    dan: Person,
    group: i64,
    /// ann, ann, bob, bob, cat, cat
    devices: Vec<Socket>,
    stranger: Socket,
}

async fn room() -> Room {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    let cat = app.person("cat").await;
    let dan = app.person("dan").await;
    let group = app.group(&ann, "Trio", &[&bob, &cat]).await;
    let mut devices = Vec::new();
    for who in [&ann, &ann, &bob, &bob, &cat, &cat] {
        devices.push(app.connect(who).await);
    }
    let stranger = app.connect(&dan).await;
    Room {
        app,
        ann,
        bob,
        cat,
        dan,
        group,
        devices,
        stranger,
    }
}

/// Every socket in `sockets` gets `event` about message `id`; returns the frames' data.
async fn all_get(sockets: &mut [Socket], event: &str, id: &Value) -> Vec<Value> {
    let mut got = Vec::new();
    for socket in sockets.iter_mut() {
        let data = socket.next_event(event).await;
        assert_eq!(
            &data["message"]["id"], id,
            "user {}: {data}",
            socket.user_id
        );
        got.push(data);
    }
    got
}

#[tokio::test]
async fn a_message_sent_over_rest_reaches_every_device_of_every_participant() {
    let mut r = room().await;
    let sent = r.app.send(&r.bob, r.group, "hello all").await;
    let got = all_get(&mut r.devices, "message:new", &sent["id"]).await;
    for data in &got {
        assert_eq!(data["message"], sent, "the frame holds the stored message");
        assert!(
            data["version"].as_i64().is_some(),
            "carries the version: {data}"
        );
    }
    r.stranger.assert_no("message:new", QUIET).await;
}

#[tokio::test]
async fn a_direct_message_reaches_both_people_and_nobody_else() {
    let mut r = room().await;
    let direct = r.app.direct(&r.ann, &r.bob).await;
    let sent = r.app.send(&r.ann, direct, "just us").await;
    all_get(&mut r.devices[..4], "message:new", &sent["id"]).await;
    for socket in r.devices[4..].iter_mut().chain([&mut r.stranger]) {
        socket.assert_no("message:new", QUIET).await;
    }
}

#[tokio::test]
async fn a_message_sent_over_the_socket_is_acked_first_then_reaches_every_device() {
    let mut r = room().await;
    let data = json!({"conversation_id": r.group, "client_id": "c-1", "body": "  via socket\n "});
    r.devices[0].send("message:send", data).await;

    let first = r.devices[0].next_of(&["message:ack", "message:new"]).await;
    assert_eq!(
        first["event"], "message:ack",
        "the ack comes first: {first}"
    );
    let ack = &first["data"];
    assert_eq!(ack["client_id"], "c-1");
    let message = ack["message"].clone();
    assert_eq!(message["body"], "via socket");
    assert_eq!(message["client_id"], "c-1");
    assert_eq!(message["sender_id"], json!(r.ann.id));
    assert_eq!(message["conversation_id"], json!(r.group));
    assert_eq!(message["seq"], 1);

    // Every device, the sending one included, then gets the news once.
    let got = all_get(&mut r.devices, "message:new", &message["id"]).await;
    for data in &got {
        assert_eq!(data["message"], message);
        assert_eq!(data["version"], ack["version"]);
    }
    for socket in r.devices.iter_mut() {
        socket.assert_no("message:new", QUIET).await;
    }
    r.stranger.assert_no("message:new", QUIET).await;

    // It is stored.
    let res = r
        .app
        .get(&r.bob, &format!("/api/conversations/{}/messages", r.group))
        .await;
    let history: Value = res.json().await.unwrap();
    assert_eq!(history["messages"], json!([message]));
}

#[tokio::test]
async fn edits_and_deletes_reach_every_device_of_every_participant() {
    let mut r = room().await;
    let sent = r.app.send(&r.cat, r.group, "first draft").await;
    all_get(&mut r.devices, "message:new", &sent["id"]).await;

    let id = sent["id"].clone();
    let res = r
        .app
        .call(
            &r.cat,
            Method::PUT,
            &format!("/api/messages/{id}"),
            Some(json!({"body": "second draft"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let edited: Value = res.json().await.unwrap();
    for data in all_get(&mut r.devices, "message:edited", &id).await {
        assert_eq!(data["message"], edited);
        assert_eq!(data["message"]["body"], "second draft");
        assert!(data["message"]["edited_at"].is_string());
    }

    // An owner deletes someone else's message in the group.
    let res = r
        .app
        .call(&r.ann, Method::DELETE, &format!("/api/messages/{id}"), None)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    for data in all_get(&mut r.devices, "message:deleted", &id).await {
        assert_eq!(data["message"]["deleted"], true);
        assert_eq!(data["message"]["body"], "");
        assert_eq!(data["message"]["seq"], sent["seq"]);
    }
    for event in ["message:edited", "message:deleted"] {
        r.stranger.assert_no(event, QUIET).await;
    }
}

#[tokio::test]
async fn a_read_receipt_reaches_participants_and_the_readers_other_devices() {
    let mut r = room().await;
    let one = r.app.send(&r.ann, r.group, "one").await;
    let two = r.app.send(&r.ann, r.group, "two").await;
    all_get(&mut r.devices, "message:new", &one["id"]).await;
    all_get(&mut r.devices, "message:new", &two["id"]).await;

    // Over the socket, from bob's first device.
    r.devices[2]
        .send(
            "message:read",
            json!({"conversation_id": r.group, "seq": 1}),
        )
        .await;
    for (i, socket) in r.devices.iter_mut().enumerate() {
        if i == 2 {
            continue;
        }
        let data = socket.next_event("message:read").await;
        assert_eq!(data["conversation_id"], json!(r.group));
        assert_eq!(data["user_id"], json!(r.bob.id));
        assert_eq!(data["seq"], 1);
        assert!(data["version"].as_i64().is_some());
    }

    // Over REST, from cat; a seq past the end is clamped to the last message.
    let res = r
        .app
        .post(
            &r.cat,
            &format!("/api/conversations/{}/read", r.group),
            json!({"seq": 99}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    for (i, socket) in r.devices.iter_mut().enumerate() {
        let data = socket.next_event("message:read").await;
        if i == 2 {
            // bob's own receipt may come back to the reading device first.
            let data = if data["user_id"] == json!(r.bob.id) {
                socket.next_event("message:read").await
            } else {
                data
            };
            assert_eq!(data["user_id"], json!(r.cat.id));
            continue;
        }
        assert_eq!(data["user_id"], json!(r.cat.id), "{data}");
        assert_eq!(data["seq"], 2);
    }

    // Reading what was already read changes nothing and tells nobody.
    r.devices[4]
        .send(
            "message:read",
            json!({"conversation_id": r.group, "seq": 1}),
        )
        .await;
    for socket in r.devices.iter_mut().chain([&mut r.stranger]) {
        socket.assert_no("message:read", QUIET).await;
    }
}

#[tokio::test]
async fn a_stranger_with_an_open_socket_sees_nothing_of_a_conversation() {
    let mut r = room().await;
    let group = r.group;
    // The stranger cannot join it to hear typing either.
    r.stranger
        .send("conversation:join", json!({"conversation_id": group}))
        .await;
    let error = r.stranger.next_event("error").await;
    assert_eq!(error["code"], "not_found");

    // Everything that can happen in a conversation, while dan listens.
    for socket in r.devices.iter_mut() {
        socket.join(group).await;
    }
    r.devices[0]
        .send("typing:start", json!({"conversation_id": group}))
        .await;
    r.devices[2].next_event("typing:start").await;
    let sent = r.app.send(&r.ann, group, "secret plans").await;
    let id = &sent["id"];
    r.app
        .call(
            &r.ann,
            Method::PUT,
            &format!("/api/messages/{id}"),
            Some(json!({"body": "edited plans"})),
        )
        .await;
    r.app
        .post(
            &r.bob,
            &format!("/api/conversations/{group}/read"),
            json!({"seq": 1}),
        )
        .await;
    r.app
        .call(&r.ann, Method::DELETE, &format!("/api/messages/{id}"), None)
        .await;
    r.app
        .call(
            &r.ann,
            Method::PUT,
            &format!("/api/conversations/{group}"),
            Some(json!({"title": "Renamed"})),
        )
        .await;
    r.app
        .call(
            &r.ann,
            Method::DELETE,
            &format!("/api/conversations/{group}/participants/{}", r.cat.id),
            None,
        )
        .await;
    // Wait until the last change reached a participant, then make sure dan heard nothing.
    let updated = loop {
        let data = r.devices[2].next_event("conversation:updated").await;
        if data["conversation"]["participants"]
            .as_array()
            .unwrap()
            .len()
            == 2
        {
            break data;
        }
    };
    assert_eq!(updated["conversation"]["title"], "Renamed");
    r.stranger.assert_silent(QUIET).await;

    // dan's own REST view agrees: the conversation does not exist for him.
    let res = r
        .app
        .get(&r.dan, &format!("/api/conversations/{group}/changes"))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_resent_client_id_acks_the_same_message_and_stores_no_second_one() {
    let mut r = room().await;
    let frame = json!({"conversation_id": r.group, "client_id": "retry-1", "body": "once"});
    r.devices[0].send("message:send", frame.clone()).await;
    let first = r.devices[0].next_event("message:ack").await;
    all_get(&mut r.devices, "message:new", &first["message"]["id"]).await;

    // The same frame again, from the same device and from the sender's other device.
    for device in [0, 1] {
        r.devices[device].send("message:send", frame.clone()).await;
        let again = r.devices[device].next_event("message:ack").await;
        assert_eq!(again["client_id"], "retry-1");
        assert_eq!(again["message"]["id"], first["message"]["id"]);
        assert_eq!(again["message"]["seq"], first["message"]["seq"]);
        assert_eq!(again["message"], first["message"]);
        assert_eq!(again["version"], first["version"]);
    }
    // Nobody hears of a second message.
    for socket in r.devices.iter_mut() {
        socket.assert_no("message:new", QUIET).await;
    }
    let res = r
        .app
        .get(&r.ann, &format!("/api/conversations/{}/messages", r.group))
        .await;
    let history: Value = res.json().await.unwrap();
    assert_eq!(history["messages"].as_array().unwrap().len(), 1);

    // The same client_id from another sender is a different message.
    r.devices[2].send("message:send", frame).await;
    let bobs = r.devices[2].next_event("message:ack").await;
    assert_ne!(bobs["message"]["id"], first["message"]["id"]);
    assert_eq!(bobs["message"]["seq"], 2);
}

#[tokio::test]
async fn connection_established_means_the_socket_already_receives() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    let conv = app.direct(&ann, &bob).await;
    // Repeat: a socket that announced itself before subscribing would lose some of these.
    for round in 0..10 {
        let mut socket = app.connect(&bob).await;
        let sent = app.send(&ann, conv, &format!("round {round}")).await;
        let data = socket.next_event("message:new").await;
        assert_eq!(data["message"]["id"], sent["id"]);
        socket.close().await;
    }
}
