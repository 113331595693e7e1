//! The Server-Sent Events fallback (`GET /api/events`) carries the same frames as the socket;
//! such a client sends over REST and gets typing events of all its conversations.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::assert_error;
use crate::live_helpers::live_app;

#[tokio::test]
async fn the_event_stream_carries_messages_typing_and_conversation_news() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    let mut stream = app.events(&ann).await;
    let mut bob1 = app.connect(&bob).await;

    let conv = app.direct(&bob, &ann).await;
    let data = stream.next_event("conversation:updated").await;
    assert_eq!(data["conversation"]["id"], json!(conv));

    let sent = app.send(&bob, conv, "over SSE").await;
    let data = stream.next_event("message:new").await;
    assert_eq!(data["message"], sent);

    // Typing over REST, without a socket; the stream needs no join.
    let path = format!("/api/conversations/{conv}/typing");
    let res = app.post(&bob, &path, json!({"typing": true})).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let data = stream.next_event("typing:start").await;
    assert_eq!(data, json!({"conversation_id": conv, "user_id": bob.id}));
    let res = app.post(&bob, &path, json!({"typing": false})).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let data = stream.next_event("typing:stop").await;
    assert_eq!(data["user_id"], json!(bob.id));

    // ann types over REST: bob's joined socket hears it, ann's own stream does not.
    bob1.join(conv).await;
    let res = app.post(&ann, &path, json!({"typing": true})).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        bob1.next_event("typing:start").await["user_id"],
        json!(ann.id)
    );

    // ann reads over REST: her stream gets her receipt like her other devices would.
    let res = app
        .post(
            &ann,
            &format!("/api/conversations/{conv}/read"),
            json!({"seq": 1}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let data = stream.next_event("message:read").await;
    assert_eq!(data["user_id"], json!(ann.id));

    let id = &sent["id"];
    let body = Some(json!({"body": "over SSE, edited"}));
    app.call(&bob, Method::PUT, &format!("/api/messages/{id}"), body)
        .await;
    let data = stream.next_event("message:edited").await;
    assert_eq!(data["message"]["body"], "over SSE, edited");

    // A typing request that is not a boolean is refused like any bad REST body.
    let res = app.post(&bob, &path, json!({"typing": "yes"})).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_event_stream_skips_the_typists_own_typing() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    let conv = app.direct(&ann, &bob).await;
    let mut stream = app.events(&ann).await;
    let path = format!("/api/conversations/{conv}/typing");
    let res = app.post(&ann, &path, json!({"typing": true})).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // Then something ann should see: if her own typing had come, it would be first.
    let res = app.post(&bob, &path, json!({"typing": true})).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let frame = stream.next().await;
    assert_eq!(frame["event"], "typing:start", "{frame}");
    assert_eq!(frame["data"]["user_id"], json!(bob.id), "{frame}");
}

#[tokio::test]
async fn the_event_stream_needs_auth_and_a_friendly_origin() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let res = app.client.get(app.url("/api/events")).send().await.unwrap();
    assert_error(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let res = app
        .client
        .get(app.url("/api/events"))
        .header("cookie", format!("confab_session={}", ann.token))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "forbidden").await;
}

#[tokio::test]
async fn logging_out_ends_the_event_stream_with_connection_error() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let stream = app.events(&ann).await;
    let res = app.post(&ann, "/api/auth/logout", json!({})).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let frames = stream.ended().await;
    let last = frames.last().expect("a frame before the end");
    assert_eq!(last["event"], "connection:error", "{frames:?}");
    assert_eq!(last["data"]["code"], "unauthenticated");
}

#[tokio::test]
async fn shutting_down_ends_the_event_stream() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let stream = app.events(&ann).await;
    app.shut_down();
    stream.ended().await;
}

/// Presence reaches the stream too: contacts coming and going, each news once.
#[tokio::test]
async fn the_event_stream_carries_presence() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    let cat = app.person("cat").await;
    app.group(&ann, "Presence", &[&bob, &cat]).await;
    let mut stream = app.events(&ann).await;

    // Each connect has announced itself before its socket's first frame, so the stream's
    // frames come in this order, each once.
    let bob1 = app.connect(&bob).await;
    let _cat1 = app.connect(&cat).await;
    bob1.close().await;
    for (event, user) in [
        ("user:online", bob.id),
        ("user:online", cat.id),
        ("user:offline", bob.id),
    ] {
        let frame = stream.next().await;
        assert_eq!(frame["event"], event, "{frame}");
        assert_eq!(frame["data"], json!({"user_id": user}), "{frame}");
    }
}

#[tokio::test]
async fn the_event_stream_gets_a_presence_burst_whole_and_in_order() {
    let app = live_app().await;
    let (ann, members, group) = crate::live_presence::burst_group(&app).await;
    let mut stream = app.events(&ann).await;
    crate::live_presence::burst_reaches(&app, &mut stream, &members, group).await;
}
