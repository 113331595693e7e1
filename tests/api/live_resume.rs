//! Resume: `GET /api/conversations/:id/changes?after=V` gives every change after version `V`
//! exactly once, in order, so a client that was away (or half away) misses nothing.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{Person, TestApp};
use crate::live_helpers::{live_app, Socket};

/// Every change after `after`, page by page; checks each page's shape.
async fn all_changes(
    app: &TestApp,
    who: &Person,
    conv: i64,
    after: i64,
    limit: usize,
) -> Vec<Value> {
    let mut changes: Vec<Value> = Vec::new();
    let mut after = after;
    loop {
        let path = format!("/api/conversations/{conv}/changes?after={after}&limit={limit}");
        let res = app.get(who, &path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let page: Value = res.json().await.unwrap();
        let entries = page["changes"].as_array().unwrap().clone();
        assert!(entries.len() <= limit, "a page holds at most `limit`");
        let has_more = page["has_more"].as_bool().unwrap();
        for entry in &entries {
            let version = entry["version"].as_i64().unwrap();
            assert!(
                entry["event"].is_string() && entry["data"].is_object(),
                "{entry}"
            );
            // Events that carry a version carry the entry's.
            if let Some(inner) = entry["data"].get("version") {
                assert_eq!(inner, &json!(version), "{entry}");
            }
        }
        if has_more {
            assert_eq!(entries.len(), limit, "a page that is not the last is full");
        } else {
            let last = entries
                .last()
                .map_or(after, |e| e["version"].as_i64().unwrap());
            assert_eq!(
                page["version"],
                json!(last),
                "the last page ends at the latest version"
            );
        }
        if let Some(last) = entries.last() {
            after = last["version"].as_i64().unwrap();
        }
        changes.extend(entries);
        if !has_more {
            return changes;
        }
    }
}

fn versions(changes: &[Value]) -> Vec<i64> {
    changes
        .iter()
        .map(|c| c["version"].as_i64().unwrap())
        .collect()
}

/// Makes changes of every kind: `rounds` sends (alternating senders), with edits, deletes and
/// read receipts among them. Returns the number of changes made.
async fn busy(
    app: &TestApp,
    ann: &Person,
    bob: &Person,
    conv: i64,
    from: usize,
    rounds: usize,
) -> usize {
    let mut made = 0;
    for i in from..from + rounds {
        let (me, other) = if i % 2 == 0 { (ann, bob) } else { (bob, ann) };
        let sent = app.send(me, conv, &format!("message {i}")).await;
        made += 1;
        let id = &sent["id"];
        if i % 4 == 0 {
            let body = Some(json!({"body": format!("message {i}, edited")}));
            let res = app
                .call(me, Method::PUT, &format!("/api/messages/{id}"), body)
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            made += 1;
        }
        if i % 5 == 0 {
            let res = app
                .call(me, Method::DELETE, &format!("/api/messages/{id}"), None)
                .await;
            assert_eq!(res.status(), StatusCode::NO_CONTENT);
            made += 1;
        }
        // The other side reads it: their read mark moves, one change.
        let res = app
            .post(
                other,
                &format!("/api/conversations/{conv}/read"),
                json!({"seq": sent["seq"]}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        made += 1;
    }
    made
}

#[tokio::test]
async fn changes_come_exactly_once_in_version_order_without_gaps() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    let conv = app.direct(&ann, &bob).await;
    let rounds = 210;
    let made = busy(&app, &ann, &bob, conv, 0, rounds).await;
    let conversation: Value = app
        .get(&ann, &format!("/api/conversations/{conv}"))
        .await
        .json()
        .await
        .unwrap();
    let latest = conversation["version"].as_i64().unwrap();
    // The creation, then what `busy` did.
    assert_eq!(latest, i64::try_from(made).unwrap() + 1);
    assert!(latest >= 500, "{latest} changes");

    for limit in [1000, 64, 7] {
        let changes = all_changes(&app, &bob, conv, 0, limit).await;
        assert_eq!(
            versions(&changes),
            (1..=latest).collect::<Vec<_>>(),
            "limit {limit}"
        );
        let count = |event: &str| changes.iter().filter(|c| c["event"] == event).count();
        let every = |n: usize| (0..rounds).filter(|i| i % n == 0).count();
        assert_eq!(count("message:new"), rounds);
        assert_eq!(count("message:edited"), every(4));
        assert_eq!(count("message:deleted"), every(5));
        assert_eq!(count("message:read"), rounds);
        assert_eq!(count("conversation:updated"), 1);
        // Messages show as they are now, in seq order.
        let seqs: Vec<i64> = changes
            .iter()
            .filter(|c| c["event"] == "message:new")
            .map(|c| c["data"]["message"]["seq"].as_i64().unwrap())
            .collect();
        assert_eq!(
            seqs,
            (1..=i64::try_from(rounds).unwrap()).collect::<Vec<_>>()
        );
        let deleted = changes
            .iter()
            .filter(|c| c["event"] == "message:new" && c["data"]["message"]["deleted"] == true)
            .count();
        assert_eq!(deleted, every(5));
    }

    // From the middle; and from the end, nothing.
    let rest = all_changes(&app, &ann, conv, 250, 100).await;
    assert_eq!(versions(&rest), (251..=latest).collect::<Vec<_>>());
    let none = all_changes(&app, &ann, conv, latest, 100).await;
    assert!(none.is_empty());
}

#[tokio::test]
async fn the_changes_endpoint_checks_its_input_and_its_reader() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    let eve = app.person("eve").await;
    let conv = app.direct(&ann, &bob).await;
    for query in ["after=-1", "after=x", "limit=0", "limit=abc"] {
        let res = app
            .get(&ann, &format!("/api/conversations/{conv}/changes?{query}"))
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{query}");
    }
    let res = app
        .get(&eve, &format!("/api/conversations/{conv}/changes"))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app
        .client
        .get(app.url(&format!("/api/conversations/{conv}/changes")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

/// The version a socket frame tells its client it has reached, if any.
fn frame_version(frame: &Value) -> Option<i64> {
    let data = &frame["data"];
    match frame["event"].as_str().unwrap() {
        "message:new" | "message:edited" | "message:deleted" | "message:read" | "message:ack" => {
            data["version"].as_i64()
        }
        "conversation:updated" => data["conversation"]["version"].as_i64(),
        _ => None,
    }
}

#[tokio::test]
async fn a_client_that_resumes_from_its_last_version_gets_exactly_the_rest() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    let mut socket: Socket = app.connect(&bob).await;
    let conv = app.direct(&ann, &bob).await;
    let made = busy(&app, &ann, &bob, conv, 0, 100).await;
    let connected_until = i64::try_from(made).unwrap() + 1;

    // bob's socket saw each of these changes once, in order.
    let mut seen = Vec::new();
    while seen.last() != Some(&connected_until) {
        let frame = socket.next().await;
        if let Some(version) = frame_version(&frame) {
            seen.push(version);
        }
    }
    assert_eq!(seen, (1..=connected_until).collect::<Vec<_>>());
    socket.close().await;

    // While bob is away.
    let more = busy(&app, &ann, &bob, conv, 100, 100).await;
    let latest = connected_until + i64::try_from(more).unwrap();

    let rest = all_changes(&app, &bob, conv, *seen.last().unwrap(), 50).await;
    let rest = versions(&rest);
    assert_eq!(rest, (connected_until + 1..=latest).collect::<Vec<_>>());
    let all: BTreeSet<i64> = seen.iter().chain(&rest).copied().collect();
    assert_eq!(all.len(), seen.len() + rest.len(), "no duplicates");
    assert_eq!(all, (1..=latest).collect(), "no loss");
}

/// Every change after `after` fetched over the socket (`changes:fetch`), page by page; checks
/// that each answer names its conversation and echoes the request's `client_id`.
async fn socket_changes(socket: &mut Socket, conv: i64, after: i64, limit: usize) -> Vec<Value> {
    let mut changes: Vec<Value> = Vec::new();
    let mut after = after;
    for n in 0.. {
        let tag = format!("page-{n}");
        let data =
            json!({"conversation_id": conv, "after": after, "limit": limit, "client_id": tag});
        socket.send("changes:fetch", data).await;
        let page = socket.next_of(&["changes:page", "error"]).await;
        assert_eq!(page["event"], "changes:page", "{page}");
        let page = &page["data"];
        assert_eq!(page["conversation_id"], json!(conv));
        assert_eq!(page["client_id"], json!(tag));
        let entries = page["changes"].as_array().unwrap().clone();
        assert!(!entries.is_empty() || page["has_more"] == false, "{page}");
        assert!(entries.len() <= limit);
        if let Some(last) = entries.last() {
            after = last["version"].as_i64().unwrap();
        }
        changes.extend(entries);
        if page["has_more"] == false {
            assert_eq!(
                page["version"],
                json!(after),
                "the last page ends at the latest"
            );
            break;
        }
    }
    changes
}

#[tokio::test]
async fn the_socket_pages_the_same_record_as_rest() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    let conv = app.direct(&ann, &bob).await;
    busy(&app, &ann, &bob, conv, 0, 40).await;
    let mut socket = app.connect(&bob).await;
    let rest = all_changes(&app, &bob, conv, 0, 1000).await;
    for limit in [1000, 13] {
        let over_socket = socket_changes(&mut socket, conv, 0, limit).await;
        assert_eq!(over_socket, rest, "limit {limit}");
    }
    let from_middle = socket_changes(&mut socket, conv, 50, 1000).await;
    assert_eq!(from_middle, rest[50..]);
    // Without `limit` or `client_id`: the default page, and no `client_id` in the answer.
    socket
        .send(
            "changes:fetch",
            json!({"conversation_id": conv, "after": 0}),
        )
        .await;
    let page = socket.next_event("changes:page").await;
    let entries = page["changes"].as_array().unwrap();
    assert!(!entries.is_empty());
    assert_eq!(entries[..], rest[..entries.len()]);
    assert_eq!(page["has_more"], entries.len() < rest.len());
    assert!(page.get("client_id").is_none(), "{page}");
}

#[tokio::test]
async fn a_page_of_long_messages_is_cut_to_fit_a_frame() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    let conv = app.direct(&ann, &bob).await;
    // 40 messages of 4,000 characters (the default bound), 3 bytes each: about 480 KB.
    let long = "€".repeat(4000);
    for _ in 0..40 {
        app.send(&ann, conv, &long).await;
    }
    let mut socket = app.connect(&bob).await;
    socket
        .send(
            "changes:fetch",
            json!({"conversation_id": conv, "after": 0, "limit": 1000}),
        )
        .await;
    let first = socket.next_event("changes:page").await;
    let entries = first["changes"].as_array().unwrap().len();
    assert!((1..41).contains(&entries), "{entries} entries in one frame");
    assert_eq!(first["has_more"], true);
    // Paging on still gives everything once: the creation and the 40 messages.
    let all = socket_changes(&mut socket, conv, 0, 1000).await;
    assert_eq!(versions(&all), (1..=41).collect::<Vec<_>>());
    assert_eq!(all, all_changes(&app, &bob, conv, 0, 1000).await);
}

#[tokio::test]
async fn a_fetch_over_the_socket_checks_its_input_and_its_reader() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let bob = app.person("bob").await;
    let eve = app.person("eve").await;
    let conv = app.direct(&ann, &bob).await;
    let mut socket = app.connect(&eve).await;
    let refused = [
        (
            json!({"conversation_id": conv, "after": 0, "client_id": "r1"}),
            "not_found",
        ),
        (
            json!({"conversation_id": 999_999, "after": 0, "client_id": "r2"}),
            "not_found",
        ),
        (
            json!({"conversation_id": conv, "after": -1, "client_id": "r3"}),
            "invalid_input",
        ),
        (json!({"after": 0, "client_id": "r4"}), "invalid_input"),
        (
            json!({"conversation_id": conv, "after": "x", "client_id": "r5"}),
            "invalid_input",
        ),
        (
            json!({"conversation_id": conv, "after": 0, "limit": -5, "client_id": "r6"}),
            "invalid_input",
        ),
    ];
    for (data, code) in refused {
        socket.send("changes:fetch", data.clone()).await;
        let error = socket.next_event("error").await;
        assert_eq!(error["code"], code, "{data} → {error}");
        assert_eq!(error["client_id"], data["client_id"], "{error}");
    }
    // The socket stays open and serves its own conversations.
    let theirs = app.direct(&eve, &ann).await;
    let page = socket_changes(&mut socket, theirs, 0, 10).await;
    assert_eq!(versions(&page), vec![1]);
}
