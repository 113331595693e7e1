//! Muting a conversation: the caller's own (nobody else sees it), on every list and event that
//! shows them the conversation, heard at once by their other devices, ending by itself, and
//! keeping pushes of its messages from their browsers.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, Person, TestApp};
use crate::live_helpers::QUIET;
use crate::push::{pushing_server, subscribe, Browser, PushService};

fn mute_path(conversation: i64) -> String {
    format!("/api/conversations/{conversation}/mute")
}

/// Mutes `conversation` for `who` with `body`; the Conversation answered.
async fn mute(app: &TestApp, who: &Person, conversation: i64, body: Value) -> Value {
    let res = app
        .call(who, Method::PUT, &mute_path(conversation), Some(body))
        .await;
    assert_eq!(res.status(), StatusCode::OK, "mute");
    res.json().await.unwrap()
}

async fn unmute(app: &TestApp, who: &Person, conversation: i64) -> Value {
    let res = app
        .call(who, Method::DELETE, &mute_path(conversation), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK, "unmute");
    res.json().await.unwrap()
}

/// `conversation` in `who`'s list.
async fn listed(app: &TestApp, who: &Person, conversation: i64) -> Value {
    app.conversations_of(who)
        .await
        .into_iter()
        .find(|c| c["id"] == conversation)
        .expect("listed")
}

/// `muted` and `muted_until` of a Conversation.
fn mute_of(conversation: &Value) -> (Value, Value) {
    (
        conversation["muted"].clone(),
        conversation["muted_until"].clone(),
    )
}

fn in_ms(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() + chrono::Duration::milliseconds(ms)
}

#[tokio::test]
async fn a_mute_is_the_callers_own_reaches_their_other_devices_and_ends() {
    let app = TestApp::spawn().await;
    let [ann, bob, cat] = app.people(["ann", "bob", "cat"]).await;
    let group = app.group(&ann, "Reunion", &[&bob, &cat]).await;
    let direct = app.direct(&ann, &bob).await;
    let unmuted = (json!(false), Value::Null);
    assert_eq!(mute_of(&listed(&app, &ann, group).await), unmuted);
    let (mut ann_phone, mut ann_laptop) = (app.connect(&ann).await, app.connect(&ann).await);
    let mut bob_phone = app.connect(&bob).await;

    // Until unmuted: the answer, every device of Ann's, and nobody else.
    let answer = mute(&app, &ann, group, json!({})).await;
    assert_eq!(mute_of(&answer), (json!(true), Value::Null));
    assert_eq!(answer["id"], group);
    let news = json!({"conversation_id": group, "muted": true, "muted_until": null});
    assert_eq!(ann_phone.next_event("conversation:muted").await, news);
    assert_eq!(ann_laptop.next_event("conversation:muted").await, news);
    bob_phone.assert_no("conversation:muted", QUIET).await;

    // Every view of the conversation shows it to Ann alone, and only for that conversation.
    assert_eq!(
        mute_of(&listed(&app, &ann, group).await),
        (json!(true), Value::Null)
    );
    assert_eq!(mute_of(&listed(&app, &ann, direct).await), unmuted);
    assert_eq!(mute_of(&listed(&app, &bob, group).await), unmuted);
    let one: Value = app
        .get(&ann, &format!("/api/conversations/{group}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mute_of(&one), (json!(true), Value::Null));

    // Messages still come, and count: the list shows both.
    app.send(&bob, group, "Who brings the cake?").await;
    assert_eq!(
        ann_phone.next_event("message:new").await["message"]["body"],
        "Who brings the cake?"
    );
    let seen = listed(&app, &ann, group).await;
    assert_eq!(seen["unread_count"], 1);
    assert_eq!(seen["muted"], true);

    // News of the conversation carries each one's own mute; so does the change record.
    let res = app
        .call(
            &ann,
            Method::PUT,
            &format!("/api/conversations/{group}"),
            Some(json!({"title": "Reunion 2027"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let mine = ann_phone.next_event("conversation:updated").await["conversation"].clone();
    assert_eq!(mine["title"], "Reunion 2027");
    assert_eq!(mute_of(&mine), (json!(true), Value::Null));
    let theirs = bob_phone.next_event("conversation:updated").await["conversation"].clone();
    assert_eq!(mute_of(&theirs), unmuted);
    let page: Value = app
        .get(&ann, &format!("/api/conversations/{group}/changes"))
        .await
        .json()
        .await
        .unwrap();
    let updated = page["changes"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|c| c["event"] == "conversation:updated")
        .expect("the rename's change");
    assert_eq!(updated["data"]["conversation"]["muted"], true);

    // For a while: the end as given, in UTC with milliseconds, whatever offset was written.
    let until = in_ms(3_600_000).with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).unwrap());
    let written = until.to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
    let expected = until
        .with_timezone(&chrono::Utc)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        .replace('Z', ".000Z");
    let answer = mute(&app, &ann, direct, json!({ "until": written })).await;
    assert_eq!(mute_of(&answer), (json!(true), json!(expected)));
    for device in [&mut ann_phone, &mut ann_laptop] {
        let news = device.next_event("conversation:muted").await;
        assert_eq!(news["muted_until"], json!(expected));
    }
    assert_eq!(
        mute_of(&listed(&app, &ann, direct).await),
        (json!(true), json!(expected))
    );

    // Unmuting: the answer, the devices, the list. Unmuting again is no error.
    let answer = unmute(&app, &ann, group).await;
    assert_eq!(mute_of(&answer), unmuted);
    let news = json!({"conversation_id": group, "muted": false, "muted_until": null});
    assert_eq!(ann_phone.next_event("conversation:muted").await, news);
    assert_eq!(ann_laptop.next_event("conversation:muted").await, news);
    assert_eq!(mute_of(&listed(&app, &ann, group).await), unmuted);
    assert_eq!(mute_of(&unmute(&app, &ann, group).await), unmuted);

    // A mute that runs out reads as none, with nothing more done.
    let soon = in_ms(1_000).to_rfc3339();
    let answer = mute(&app, &bob, group, json!({ "until": soon })).await;
    assert_eq!(answer["muted"], true);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(mute_of(&listed(&app, &bob, group).await), unmuted);
}

#[tokio::test]
async fn bad_mutes_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let [ann, bob, eve] = app.people(["ann", "bob", "eve"]).await;
    let direct = app.direct(&ann, &bob).await;

    for (until, words) in [
        (json!("tomorrow"), "RFC 3339"),
        (json!(in_ms(-60_000).to_rfc3339()), "future"),
        (json!(42), "until"),
    ] {
        let res = app
            .call(
                &ann,
                Method::PUT,
                &mute_path(direct),
                Some(json!({ "until": until })),
            )
            .await;
        let message = assert_error(res, StatusCode::BAD_REQUEST, "invalid_input").await;
        assert!(message.contains(words), "{message}");
    }
    let res = app
        .client
        .put(app.url(&mute_path(direct)))
        .bearer_auth(&ann.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::BAD_REQUEST, "invalid_input").await;
    assert_eq!(listed(&app, &ann, direct).await["muted"], false);

    // Someone else's conversation, or none: 404 whichever it is; no auth: 401.
    for path in [mute_path(direct), mute_path(direct + 1000)] {
        for method in [Method::PUT, Method::DELETE] {
            let res = app.call(&eve, method, &path, Some(json!({}))).await;
            assert_error(res, StatusCode::NOT_FOUND, "not_found").await;
        }
    }
    let res = app
        .call(
            &ann,
            Method::PUT,
            "/api/conversations/abc/mute",
            Some(json!({})),
        )
        .await;
    assert_error(res, StatusCode::NOT_FOUND, "not_found").await;
    let res = app
        .client
        .put(app.url(&mute_path(direct)))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    assert_eq!(listed(&app, &bob, direct).await["muted"], false);
}

#[tokio::test]
async fn a_muted_conversation_pushes_nothing_until_unmuted_or_the_mute_ends() {
    let mut service = PushService::start().await;
    let (app, _) = pushing_server().await;
    let [ann, bob] = app.people(["ann", "bob"]).await;
    let phone = Browser::new("bob-phone");
    subscribe(&app, &bob, &phone, &service).await;
    let direct = app.direct(&ann, &bob).await;
    let group = app.group(&ann, "Reunion", &[&bob]).await;

    mute(&app, &bob, direct, json!({})).await;
    app.send(&ann, direct, "muted one").await;
    // The next push is the group's: nothing came for the muted conversation before it.
    app.send(&ann, group, "in the group").await;
    assert_eq!(
        phone.open(&service.next().await)["body"],
        "ann Display: in the group"
    );

    unmute(&app, &bob, direct).await;
    app.send(&ann, direct, "heard again").await;
    assert_eq!(phone.open(&service.next().await)["body"], "heard again");

    let soon = in_ms(800).to_rfc3339();
    mute(&app, &bob, direct, json!({ "until": soon })).await;
    app.send(&ann, direct, "while muted").await;
    tokio::time::sleep(Duration::from_millis(900)).await;
    app.send(&ann, direct, "after the mute").await;
    assert_eq!(phone.open(&service.next().await)["body"], "after the mute");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(service.pushes.try_recv().is_err(), "no other push");
}
