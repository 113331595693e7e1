//! The per-user bound on writes (`USER_WRITE_RATE`, `USER_WRITE_BURST`): one bucket for a
//! user's writes over REST, server functions and sockets together; reads and other users go on.

use std::time::Duration;

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, TestApp};

/// `429 rate_limited` with a `Retry-After` of a whole number of seconds, at least one.
async fn assert_limited(res: Response) {
    let retry_after: u64 = res
        .headers()
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "Retry-After: {retry_after}");
    assert_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test]
async fn writes_past_a_users_rate_are_refused_everywhere_and_nothing_else_is() {
    let app = TestApp::spawn_with(|config| {
        config.user_write_rate = 1;
        config.user_write_burst = 6;
    })
    .await;
    let [ann, bob] = app.people(["ann", "bob"]).await;
    // Connecting is no write; connected first, the refusals below come within the second.
    let mut socket = app.connect(&ann).await;
    // Ann's burst of six: the conversation and five messages.
    let conv = app.direct(&ann, &bob).await;
    let path = format!("/api/conversations/{conv}/messages");
    for n in 0..5 {
        app.send(&ann, conv, &format!("burst {n}")).await;
    }

    // The seventh write is refused, whatever it is, and stores nothing.
    let res = app.post(&ann, &path, json!({"body": "one too many"})).await;
    assert_limited(res).await;
    let res = app
        .post(
            &ann,
            "/api/posts",
            json!({"title": "A question", "body": "Refused"}),
        )
        .await;
    assert_limited(res).await;
    let res = app
        .post(
            &ann,
            &format!("/api/conversations/{conv}/typing"),
            json!({"typing": true}),
        )
        .await;
    assert_limited(res).await;
    // A server function shares the bucket.
    let res = app
        .client
        .post(app.url("/rpc/send_message"))
        .header("origin", &app.base)
        .header("accept", "application/json")
        .bearer_auth(&ann.token)
        .form(&[("id", conv.to_string().as_str()), ("body", "via the app")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    // So does a socket, which answers with an `error` for that send and stays open.
    let send = json!({"conversation_id": conv, "client_id": "over", "body": "via a socket"});
    socket.send("message:send", send).await;
    let error = socket.next_event("error").await;
    assert_eq!(error["code"], "rate_limited");
    assert_eq!(error["client_id"], "over");

    // Reading goes on, and shows only the five.
    let res = app.get(&ann, &format!("{path}?limit=100")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page: Value = res.json().await.unwrap();
    let bodies: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        ["burst 0", "burst 1", "burst 2", "burst 3", "burst 4"]
    );
    assert_eq!(app.conversations_of(&ann).await.len(), 1);

    // Bob has a bucket of his own.
    let reply = app.send(&bob, conv, "my turn").await;
    let res = app
        .call(
            &bob,
            Method::PUT,
            &format!("/api/messages/{}", reply["id"]),
            Some(json!({"body": "my turn, edited"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    // A second later Ann has one write again, on any transport.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let send = json!({"conversation_id": conv, "client_id": "later", "body": "after a pause"});
    socket.send("message:send", send).await;
    assert_eq!(socket.next_event("message:ack").await["client_id"], "later");
}
