//! Many senders at once in one group: every connected client sees every message exactly once,
//! in `seq` order, and every sender gets one ack per message. Sends and other changes at once
//! arrive in version order.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{Person, TestApp};
use crate::live_helpers::{live_app, Socket};

#[tokio::test]
async fn twenty_concurrent_senders_are_seen_by_everyone_once_and_in_seq_order() {
    const SENDERS: usize = 20;
    const EACH: usize = 10;
    let app = live_app().await;
    let mut people = Vec::new();
    for i in 0..SENDERS {
        people.push(app.person(&format!("sender{i}")).await);
    }
    let members: Vec<&Person> = people[1..].iter().collect();
    let group = app.group(&people[0], "Crowd", &members).await;
    let watcher = app.person("watcher").await;
    let mut sockets = Vec::new();
    for who in &people {
        sockets.push(app.connect(who).await);
    }
    // A second device of the first sender only listens.
    let mut listeners = vec![app.connect(&people[0]).await];
    let res = app
        .post(
            &people[0],
            &format!("/api/conversations/{group}/participants"),
            json!({"user_id": watcher.id}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    listeners.push(app.connect(&watcher).await);

    let total = SENDERS * EACH;
    let mut tasks = Vec::new();
    for (i, mut socket) in sockets.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            for k in 0..EACH {
                let data = json!({
                    "conversation_id": group,
                    "client_id": format!("s{i}-m{k}"),
                    "body": format!("message {k} from {i}"),
                });
                socket.send("message:send", data).await;
            }
            let (seqs, acks) = collect(&mut socket, total, EACH).await;
            (i, seqs, acks)
        }));
    }
    for mut socket in listeners {
        tasks.push(tokio::spawn(async move {
            let (seqs, acks) = collect(&mut socket, total, 0).await;
            (usize::MAX, seqs, acks)
        }));
    }
    for task in tasks {
        let (i, seqs, acks) = task.await.unwrap();
        let expected: Vec<i64> = (1..=i64::try_from(total).unwrap()).collect();
        assert_eq!(
            seqs, expected,
            "client {i}: every message once, in seq order"
        );
        if i != usize::MAX {
            let mut want: Vec<String> = (0..EACH).map(|k| format!("s{i}-m{k}")).collect();
            want.sort();
            assert_eq!(acks, want, "client {i}: one ack per message");
        }
    }
    let res = app
        .get(&watcher, &format!("/api/conversations/{group}"))
        .await;
    let conversation: Value = res.json().await.unwrap();
    assert_eq!(conversation["last_seq"], json!(total));
}

/// Reads until `total` `message:new` and `acks` acks have come and a short quiet follows;
/// returns the seqs in arrival order and the acked client ids, sorted.
async fn collect(socket: &mut Socket, total: usize, acks: usize) -> (Vec<i64>, Vec<String>) {
    let mut seqs = Vec::new();
    let mut acked = Vec::new();
    while seqs.len() < total || acked.len() < acks {
        let frame = socket
            .next_of(&["message:new", "message:ack", "error"])
            .await;
        match frame["event"].as_str().unwrap() {
            "message:new" => seqs.push(frame["data"]["message"]["seq"].as_i64().unwrap()),
            "message:ack" => acked.push(frame["data"]["client_id"].as_str().unwrap().to_owned()),
            _ => panic!("user {}: {frame}", socket.user_id),
        }
    }
    // Nothing more: no duplicates trailing behind.
    socket
        .assert_no("message:new", Duration::from_millis(200))
        .await;
    acked.sort();
    (seqs, acked)
}

/// Sends commit in batches whose news waits for a flush of the log; edits and receipts commit
/// on their own. Made at once, they still reach a watching device in version order, once each,
/// as the catch-up page lists them.
#[tokio::test]
async fn sends_edits_and_receipts_made_at_once_arrive_in_version_order() {
    // Five devices of ann's, each within its own rate limit.
    const DEVICES: usize = 5;
    const EACH: usize = 30;
    const ROUNDS: usize = 30;
    let app = live_app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    let conv = app.direct(&ann, &bob).await;
    let start = conversation_version(&app, &ann, conv).await;
    let mut watcher = app.connect(&bob).await;
    let mut sends = Vec::new();
    for device in 0..DEVICES {
        let mut sender = app.connect(&ann).await;
        sends.push(tokio::spawn(async move {
            for k in 0..EACH {
                let client_id = format!("d{device}-{k}");
                let data = json!({"conversation_id": conv, "client_id": client_id, "body": "hi"});
                sender.send("message:send", data).await;
            }
            for _ in 0..EACH {
                let frame = sender.next_of(&["message:ack", "error"]).await;
                assert_eq!(frame["event"], "message:ack", "{frame}");
            }
        }));
    }
    for round in 0..ROUNDS {
        let sent = app.send(&bob, conv, &format!("bob {round}")).await;
        let path = format!("/api/messages/{}", sent["id"]);
        let body = Some(json!({"body": format!("bob {round}, edited")}));
        let res = app.call(&bob, Method::PUT, &path, body).await;
        assert_eq!(res.status(), StatusCode::OK);
        let read = format!("/api/conversations/{conv}/read");
        let res = app.post(&bob, &read, json!({"seq": i64::MAX})).await;
        assert!(res.status().is_success());
    }
    for sends in sends {
        sends.await.unwrap();
    }
    let end = conversation_version(&app, &ann, conv).await;
    assert!(end - start >= i64::try_from(DEVICES * EACH + 2 * ROUNDS).unwrap());

    let mut seen = Vec::new();
    while seen.last() != Some(&end) {
        let frame = watcher
            .next_of(&["message:new", "message:edited", "message:read"])
            .await;
        seen.push(frame["data"]["version"].as_i64().unwrap());
    }
    assert_eq!(seen, (start + 1..=end).collect::<Vec<_>>());
    watcher
        .assert_none_of(
            &["message:new", "message:edited", "message:read"],
            Duration::from_millis(200),
        )
        .await;
    let path = format!("/api/conversations/{conv}/changes?after={start}&limit=1000");
    let page: Value = app.get(&bob, &path).await.json().await.unwrap();
    let listed: Vec<i64> = page["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["version"].as_i64().unwrap())
        .collect();
    assert_eq!(listed, seen);
}

async fn conversation_version(app: &TestApp, who: &Person, conv: i64) -> i64 {
    let res = app.get(who, &format!("/api/conversations/{conv}")).await;
    let conversation: Value = res.json().await.unwrap();
    conversation["version"].as_i64().unwrap()
}
