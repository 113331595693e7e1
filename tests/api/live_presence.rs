//! Typing (only to those who have the conversation open, never back to the typist, ended by
//! the server when nobody stops it) and presence (only to contacts, offline after the last
//! device and a grace period).

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

use crate::helpers::{Person, TestApp};
use crate::live_helpers::{live_app, Frames, Socket, QUIET};

#[tokio::test]
async fn typing_reaches_only_participants_who_joined_and_never_the_typist() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    let cat = app.person("cat").await;
    let dan = app.person("dan").await;
    let group = app.group(&ann, "Typing", &[&bob, &cat]).await;
    let other = app.group(&ann, "Elsewhere", &[&bob, &cat, &dan]).await;
    let join = json!({"conversation_id": group});

    let mut ann1 = app.connect(&ann).await;
    let mut ann2 = app.connect(&ann).await;
    let mut bob1 = app.connect(&bob).await;
    let mut bob2 = app.connect(&bob).await;
    let mut cat1 = app.connect(&cat).await;
    let mut dan1 = app.connect(&dan).await;
    for socket in [&mut ann1, &mut ann2, &mut bob1, &mut cat1] {
        socket.join(group).await;
    }
    // dan has the other conversation open; bob2 has nothing open.
    dan1.join(other).await;

    ann1.send("typing:start", join.clone()).await;
    for socket in [&mut bob1, &mut cat1] {
        let data = socket.next_event("typing:start").await;
        assert_eq!(data, json!({"conversation_id": group, "user_id": ann.id}));
    }
    ann1.send("typing:stop", join.clone()).await;
    for socket in [&mut bob1, &mut cat1] {
        let data = socket.next_event("typing:stop").await;
        assert_eq!(data, json!({"conversation_id": group, "user_id": ann.id}));
    }
    for socket in [&mut ann1, &mut ann2, &mut bob2, &mut dan1] {
        socket
            .assert_none_of(&["typing:start", "typing:stop"], QUIET)
            .await;
    }

    // The other way round: ann's devices that joined hear bob, bob's own devices do not.
    bob2.send("typing:start", join.clone()).await;
    for socket in [&mut ann1, &mut ann2, &mut cat1] {
        let data = socket.next_event("typing:start").await;
        assert_eq!(data["user_id"], json!(bob.id));
    }
    for socket in [&mut bob1, &mut bob2, &mut dan1] {
        socket.assert_no("typing:start", QUIET).await;
    }
}

#[tokio::test]
async fn a_sent_message_ends_its_senders_typing() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    let conv = app.direct(&ann, &bob).await;
    let join = json!({"conversation_id": conv});
    let mut ann1 = app.connect(&ann).await;
    let mut bob1 = app.connect(&bob).await;
    bob1.join(conv).await;
    ann1.send("typing:start", join.clone()).await;
    bob1.next_event("typing:start").await;
    ann1.send(
        "message:send",
        json!({"conversation_id": conv, "client_id": "t1", "body": "done typing"}),
    )
    .await;
    let next = bob1.next_of(&["typing:stop", "message:new"]).await;
    assert_eq!(
        next["event"], "typing:stop",
        "stop before the message: {next}"
    );
    bob1.next_event("message:new").await;
}

#[tokio::test]
async fn leaving_a_conversation_stops_its_typing_events() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    let conv = app.direct(&ann, &bob).await;
    let join = json!({"conversation_id": conv});
    let mut ann1 = app.connect(&ann).await;
    let mut bob1 = app.connect(&bob).await;
    bob1.join(conv).await;
    ann1.send("typing:start", join.clone()).await;
    bob1.next_event("typing:start").await;
    ann1.send("typing:stop", join.clone()).await;
    bob1.next_event("typing:stop").await;

    bob1.send("conversation:leave", join.clone()).await;
    bob1.sync().await;
    ann1.send("typing:start", join.clone()).await;
    bob1.assert_no("typing:start", QUIET).await;
    // Messages still arrive: they do not need the conversation open.
    let sent = app.send(&ann, conv, "still here").await;
    assert_eq!(
        bob1.next_event("message:new").await["message"]["id"],
        sent["id"]
    );
}

#[tokio::test]
async fn typing_that_is_never_stopped_is_ended_by_the_server() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    let conv = app.direct(&ann, &bob).await;
    let join = json!({"conversation_id": conv});
    let mut ann1 = app.connect(&ann).await;
    let mut bob1 = app.connect(&bob).await;
    bob1.join(conv).await;
    ann1.send("typing:start", join.clone()).await;
    bob1.next_event("typing:start").await;
    let started = Instant::now();
    let data = bob1.next_event("typing:stop").await;
    assert_eq!(data, json!({"conversation_id": conv, "user_id": ann.id}));
    // The test server's typing lasts 1 s.
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "stopped after {:?}, before the typing expired",
        started.elapsed()
    );
    ann1.assert_no("typing:stop", QUIET).await;

    // A start after the expiry is news again.
    ann1.send("typing:start", join).await;
    bob1.next_event("typing:start").await;
}

#[tokio::test]
async fn presence_goes_only_to_people_who_share_a_conversation() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    let dan = app.person("dan").await;
    app.direct(&ann, &bob).await;
    let mut ann1 = app.connect(&ann).await;
    let mut dan1 = app.connect(&dan).await;

    let bob1 = app.connect(&bob).await;
    assert_eq!(
        ann1.next_event("user:online").await,
        json!({"user_id": bob.id})
    );
    // The REST view agrees.
    let me: serde_json::Value = app
        .get(&ann, "/api/users?q=bob")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["users"][0]["online"], true);

    bob1.close().await;
    assert_eq!(
        ann1.next_event("user:offline").await,
        json!({"user_id": bob.id})
    );
    dan1.assert_silent(QUIET).await;
}

#[tokio::test]
async fn offline_comes_only_after_the_last_device_and_the_grace_period() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    app.direct(&ann, &bob).await;
    let mut ann1 = app.connect(&ann).await;
    let bob1 = app.connect(&bob).await;
    assert_eq!(
        ann1.next_event("user:online").await["user_id"],
        json!(bob.id)
    );
    let bob2 = app.connect(&bob).await;
    // A second device is not news.
    ann1.assert_no("user:online", QUIET).await;

    bob1.close().await;
    // Longer than the 300 ms grace: bob still has a device.
    ann1.assert_no("user:offline", Duration::from_millis(600))
        .await;

    let closing = Instant::now();
    bob2.close().await;
    assert_eq!(
        ann1.next_event("user:offline").await["user_id"],
        json!(bob.id)
    );
    assert!(
        closing.elapsed() >= Duration::from_millis(300),
        "offline after {:?}, inside the grace period",
        closing.elapsed()
    );
    // Once.
    ann1.assert_no("user:offline", QUIET).await;
}

#[tokio::test]
async fn a_reconnect_within_the_grace_period_announces_nothing() {
    // A grace period long enough for a reconnect even on a busy machine.
    let app = TestApp::spawn_with(|config| config.presence_grace_ms = 1500).await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    app.direct(&ann, &bob).await;
    let mut ann1 = app.connect(&ann).await;
    let bob1 = app.connect(&bob).await;
    assert_eq!(
        ann1.next_event("user:online").await["user_id"],
        json!(bob.id)
    );

    bob1.close().await;
    let bob2 = app.connect(&bob).await;
    // Past the grace period: neither offline nor a second online.
    ann1.assert_silent(Duration::from_millis(2000)).await;

    // The reconnected device still counts: closing it is the real goodbye.
    bob2.close().await;
    assert_eq!(
        ann1.next_event("user:offline").await["user_id"],
        json!(bob.id)
    );
    // And coming back after that is news again.
    let _bob3 = app.connect(&bob).await;
    assert_eq!(
        ann1.next_event("user:online").await["user_id"],
        json!(bob.id)
    );
}

/// A member whose phone reads slowly while a big group comes online at once (a server restart, a
/// network coming back) stays connected: presence waits in the hub, each contact's latest state
/// only, instead of filling the member's queue, which used to cut the member off.
#[tokio::test]
async fn a_presence_storm_does_not_cut_off_a_slow_reader() {
    const MEMBERS: usize = 300; // more than a connection's queue holds (256 frames)
    let app = live_app().await;
    let ann = app.person("ann").await;
    let mut members = Vec::with_capacity(MEMBERS);
    for i in 0..MEMBERS {
        members.push(app.person(&format!("member{i}")).await);
    }
    let everyone: Vec<&Person> = members.iter().collect();
    let group = app.group(&ann, "Storm", &everyone).await;

    let mut slow = app.connect_slow_reader(&ann).await;
    // ann stops reading. Long messages fill the connection (the server's send buffer grows to
    // about 1.7 MB here) until its writes wait, and a few dozen more wait in ann's queue.
    let long = "😀".repeat(4000);
    const LONG: usize = 140;
    for _ in 0..LONG {
        app.send(&members[0], group, &long).await;
    }
    let mut sockets = Vec::with_capacity(MEMBERS);
    for member in &members {
        sockets.push(app.connect(member).await);
    }

    let mut messages = 0;
    let mut online = HashSet::new();
    while messages < LONG || online.len() < MEMBERS {
        let frame = slow.next().await;
        match frame["event"].as_str().unwrap() {
            "message:new" => messages += 1,
            "user:online" => {
                let id = frame["data"]["user_id"].as_i64().unwrap();
                assert!(online.insert(id), "user {id} announced twice");
            }
            _ => panic!("unexpected frame: {frame}"),
        }
    }
    let ids: HashSet<i64> = members.iter().map(|m| m.id).collect();
    assert_eq!(online, ids);
    slow.assert_silent(QUIET).await;
}

#[tokio::test]
async fn presence_in_a_burst_arrives_whole_and_ahead_of_the_message_behind_it() {
    let app = live_app().await;
    let (ann, members, group) = burst_group(&app).await;
    let mut watcher = app.connect(&ann).await;
    let _members = burst_reaches(&app, &mut watcher, &members, group).await;
    watcher.assert_silent(QUIET).await;
}

/// Members in a burst: half of them come before a message, half with nothing behind them.
const BURST: usize = 10;

/// ann's group with `2 * BURST` members, none of them connected yet.
pub(crate) async fn burst_group(app: &TestApp) -> (Person, Vec<Person>, i64) {
    let ann = app.person("ann").await;
    let mut members = Vec::with_capacity(2 * BURST);
    for i in 0..2 * BURST {
        members.push(app.person(&format!("member{i}")).await);
    }
    let everyone: Vec<&Person> = members.iter().collect();
    let group = app.group(&ann, "Burst", &everyone).await;
    (ann, members, group)
}

/// The members connect in two bursts, a message after the first; `watcher` (ann's) must get
/// each one's `user:online` once, the first burst's all ahead of the message. State news is
/// written at most once per pace, so most of a burst is still held back when the message comes.
/// Returns the members' sockets, still open.
pub(crate) async fn burst_reaches(
    app: &TestApp,
    watcher: &mut impl Frames,
    members: &[Person],
    group: i64,
) -> Vec<Socket> {
    let ids = |people: &[Person]| people.iter().map(|p| p.id).collect::<HashSet<i64>>();
    let mut sockets = Vec::with_capacity(members.len());
    let (first, second) = members.split_at(BURST);
    for member in first {
        sockets.push(app.connect(member).await);
    }
    app.send(&first[0], group, "after the burst").await;
    let mut online = HashSet::new();
    let take = |online: &mut HashSet<i64>, frame: Value| {
        assert_eq!(frame["event"], "user:online", "{frame}");
        let id = frame["data"]["user_id"].as_i64().unwrap();
        assert!(online.insert(id), "user {id} announced twice");
    };
    loop {
        let frame = watcher.next_frame().await;
        if frame["event"] == "message:new" {
            break;
        }
        take(&mut online, frame);
    }
    assert_eq!(online, ids(first));

    // A burst with nothing queued behind it goes out too, once its pace is up.
    for member in second {
        sockets.push(app.connect(member).await);
    }
    while online.len() < members.len() {
        take(&mut online, watcher.next_frame().await);
    }
    assert_eq!(online, ids(members));
    sockets
}
