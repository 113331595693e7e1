//! `conversation:updated`: on creation, rename, participant added, role changed and removed,
//! to every participant after the change and to the one removed.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{Person, TestApp};
use crate::live_helpers::{live_app, Socket, QUIET};

fn member_ids(conversation: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = conversation["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["user"]["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

fn role_of(conversation: &Value, user: &Person) -> Value {
    conversation["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user"]["id"] == json!(user.id))
        .map(|p| p["role"].clone())
        .unwrap_or(Value::Null)
}

/// The next `conversation:updated` about `id` on each socket.
async fn updated(sockets: &mut [&mut Socket], id: i64) -> Vec<Value> {
    let mut got = Vec::new();
    for socket in sockets.iter_mut() {
        let data = socket.next_event("conversation:updated").await;
        assert_eq!(data["conversation"]["id"], json!(id), "{data}");
        got.push(data["conversation"].clone());
    }
    got
}

async fn call(
    app: &TestApp,
    who: &Person,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> StatusCode {
    app.call(who, method, path, body).await.status()
}

#[tokio::test]
async fn creating_a_conversation_tells_every_participant_and_nobody_else() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    let cat = app.person("cat").await;
    let dan = app.person("dan").await;
    let mut ann1 = app.connect(&ann).await;
    let mut ann2 = app.connect(&ann).await;
    let mut bob1 = app.connect(&bob).await;
    let mut cat1 = app.connect(&cat).await;
    let mut dan1 = app.connect(&dan).await;

    let group = app.group(&ann, "Plans", &[&bob, &cat]).await;
    for conversation in updated(&mut [&mut ann1, &mut ann2, &mut bob1, &mut cat1], group).await {
        assert_eq!(conversation["title"], "Plans");
        assert_eq!(conversation["kind"], "group");
        let mut want = vec![ann.id, bob.id, cat.id];
        want.sort_unstable();
        assert_eq!(member_ids(&conversation), want);
        assert!(conversation["version"].as_i64().is_some());
    }

    let direct = app.direct(&bob, &cat).await;
    for conversation in updated(&mut [&mut bob1, &mut cat1], direct).await {
        assert_eq!(conversation["kind"], "direct");
    }
    // Opening the same direct conversation again creates nothing, and says nothing.
    app.direct(&cat, &bob).await;
    for socket in [&mut ann1, &mut ann2, &mut bob1, &mut cat1, &mut dan1] {
        socket.assert_no("conversation:updated", QUIET).await;
    }
}

#[tokio::test]
async fn rename_add_role_change_and_removal_are_announced_to_the_right_people() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    let cat = app.person("cat").await;
    let dan = app.person("dan").await;
    let group = app.group(&ann, "Before", &[&bob, &cat]).await;
    let base = format!("/api/conversations/{group}");
    let mut ann1 = app.connect(&ann).await;
    let mut bob1 = app.connect(&bob).await;
    let mut bob2 = app.connect(&bob).await;
    let mut cat1 = app.connect(&cat).await;
    let mut dan1 = app.connect(&dan).await;

    // Renamed; each participant gets their own unread count.
    app.send(&cat, group, "unread by ann and bob").await;
    let body = Some(json!({"title": "After"}));
    assert_eq!(
        call(&app, &ann, Method::PUT, &base, body).await,
        StatusCode::OK
    );
    let got = updated(&mut [&mut ann1, &mut bob1, &mut bob2, &mut cat1], group).await;
    for conversation in &got {
        assert_eq!(conversation["title"], "After");
    }
    assert_eq!(got[0]["unread_count"], 1, "ann's view");
    assert_eq!(got[1]["unread_count"], 1, "bob's view");
    assert_eq!(got[3]["unread_count"], 0, "cat's own message");
    dan1.assert_no("conversation:updated", QUIET).await;

    // Participant added: the newcomer hears it too.
    let path = format!("{base}/participants");
    let body = Some(json!({"user_id": dan.id}));
    assert_eq!(
        call(&app, &ann, Method::POST, &path, body).await,
        StatusCode::CREATED
    );
    let everyone = &mut [&mut ann1, &mut bob1, &mut bob2, &mut cat1, &mut dan1];
    for conversation in updated(everyone, group).await {
        assert_eq!(member_ids(&conversation).len(), 4);
        assert_eq!(role_of(&conversation, &dan), "member");
    }

    // Role changed.
    let path = format!("{base}/participants/{}", bob.id);
    let body = Some(json!({"role": "admin"}));
    assert_eq!(
        call(&app, &ann, Method::PUT, &path, body).await,
        StatusCode::OK
    );
    let everyone = &mut [&mut ann1, &mut bob1, &mut bob2, &mut cat1, &mut dan1];
    for conversation in updated(everyone, group).await {
        assert_eq!(role_of(&conversation, &bob), "admin");
    }

    // Removed (by an admin): the removed one gets it too, showing them gone.
    let path = format!("{base}/participants/{}", cat.id);
    assert_eq!(
        call(&app, &bob, Method::DELETE, &path, None).await,
        StatusCode::NO_CONTENT
    );
    let everyone = &mut [&mut ann1, &mut bob1, &mut bob2, &mut cat1, &mut dan1];
    for conversation in updated(everyone, group).await {
        assert!(
            !member_ids(&conversation).contains(&cat.id),
            "{conversation}"
        );
        assert_eq!(role_of(&conversation, &cat), Value::Null);
    }
}

#[tokio::test]
async fn a_removed_participant_stops_hearing_the_conversation_on_an_open_socket() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    let cat = app.person("cat").await;
    let group = app.group(&ann, "Club", &[&bob, &cat]).await;
    let join = json!({"conversation_id": group});
    let mut ann1 = app.connect(&ann).await;
    let mut bob1 = app.connect(&bob).await;
    let mut cat1 = app.connect(&cat).await;
    for socket in [&mut ann1, &mut bob1, &mut cat1] {
        socket.join(group).await;
    }
    let sent = app.send(&ann, group, "before").await;
    assert_eq!(
        cat1.next_event("message:new").await["message"]["id"],
        sent["id"]
    );

    let path = format!("/api/conversations/{group}/participants/{}", cat.id);
    assert_eq!(
        call(&app, &ann, Method::DELETE, &path, None).await,
        StatusCode::NO_CONTENT
    );
    let gone = cat1.next_event("conversation:updated").await;
    assert!(!member_ids(&gone["conversation"]).contains(&cat.id));
    bob1.next_event("conversation:updated").await;

    // Everything after that reaches bob, and nothing of it reaches cat's open socket.
    ann1.send("typing:start", join.clone()).await;
    bob1.next_event("typing:start").await;
    let after = app.send(&ann, group, "after").await;
    let id = &after["id"];
    assert_eq!(bob1.next_event("message:new").await["message"]["id"], *id);
    let body = Some(json!({"body": "after, edited"}));
    call(
        &app,
        &ann,
        Method::PUT,
        &format!("/api/messages/{id}"),
        body,
    )
    .await;
    bob1.next_event("message:edited").await;
    let read = Some(json!({"seq": 2}));
    call(
        &app,
        &bob,
        Method::POST,
        &format!("/api/conversations/{group}/read"),
        read,
    )
    .await;
    ann1.next_event("message:read").await;
    let rename = Some(json!({"title": "Club 2"}));
    call(
        &app,
        &ann,
        Method::PUT,
        &format!("/api/conversations/{group}"),
        rename,
    )
    .await;
    bob1.next_event("conversation:updated").await;
    cat1.assert_silent(QUIET).await;

    // cat cannot rejoin to listen in, nor send there.
    cat1.send("conversation:join", join).await;
    assert_eq!(cat1.next_event("error").await["code"], "not_found");
    cat1.send(
        "message:send",
        json!({"conversation_id": group, "client_id": "sneak", "body": "let me in"}),
    )
    .await;
    let error = cat1.next_event("error").await;
    assert_eq!(error["code"], "not_found");
    assert_eq!(error["client_id"], "sneak");
}

/// The `version` a live event carries: `data.version`, or the conversation's for
/// `conversation:updated`.
fn version_of(frame: &Value) -> Option<i64> {
    let data = &frame["data"];
    data["version"]
        .as_i64()
        .or_else(|| data["conversation"]["version"].as_i64())
}

#[tokio::test]
async fn conversation_news_and_message_news_arrive_in_commit_order() {
    const ROUNDS: usize = 40;
    let app = live_app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    let cat = app.person("cat").await;
    let group = app.group(&ann, "Race", &[&bob]).await;
    let path = format!("/api/conversations/{group}");
    let start: Value = app.get(&bob, &path).await.json().await.unwrap();
    let start = start["version"].as_i64().unwrap();
    let mut bob1 = app.connect(&bob).await;

    // Renames, membership changes and sends race each other; each is one change.
    let renames = (0..ROUNDS).map(|i| {
        app.call(
            &ann,
            Method::PUT,
            &path,
            Some(json!({"title": format!("Race {i}")})),
        )
    });
    let members = format!("{path}/participants");
    let cat_leaves = format!("{members}/{}", cat.id);
    let membership = async {
        for _ in 0..ROUNDS {
            let res = app.post(&ann, &members, json!({"user_id": cat.id})).await;
            assert_eq!(res.status(), StatusCode::CREATED);
            let res = app.call(&ann, Method::DELETE, &cat_leaves, None).await;
            assert_eq!(res.status(), StatusCode::NO_CONTENT);
        }
    };
    let sends = (0..ROUNDS).map(|i| {
        app.post(
            &ann,
            &format!("{path}/messages"),
            json!({"body": format!("message {i}")}),
        )
    });
    let (renamed, (), sent) = tokio::join!(
        futures::future::join_all(renames),
        membership,
        futures::future::join_all(sends)
    );
    assert!(renamed.iter().all(|r| r.status() == StatusCode::OK));
    assert!(sent.iter().all(|r| r.status() == StatusCode::CREATED));
    let end = start + i64::try_from(ROUNDS * 4).unwrap();

    // A client applying events by version (docs/protocol.md) gets every change once, none
    // skipped: each event's version is the one after the last.
    let mut held = start;
    while held < end {
        let frame = bob1.next().await;
        let Some(version) = version_of(&frame) else {
            continue;
        };
        assert_eq!(version, held + 1, "out of order: {frame}");
        held = version;
    }
}
