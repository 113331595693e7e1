use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, TestApp};

#[tokio::test]
async fn a_sent_message_is_numbered_stored_byte_for_byte_and_read_for_its_sender() {
    let app = TestApp::spawn().await;
    let (ann, bob) = (app.person("ann").await, app.person("bob").await);
    let id = app.direct(&ann, &bob).await;
    let body = "  héllo 👋\n\tsecond line\twith tab  ";
    let res = app
        .post(
            &ann,
            &format!("/api/conversations/{id}/messages"),
            json!({"body": body, "client_id": "c-1"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let msg: Value = res.json().await.unwrap();
    assert_eq!(msg["body"], "héllo 👋\n\tsecond line\twith tab");
    assert_eq!(msg["seq"], 1);
    assert_eq!(msg["conversation_id"], id);
    assert_eq!(msg["sender_id"], ann.id);
    assert_eq!(msg["client_id"], "c-1");
    assert_eq!(msg["edited_at"], Value::Null);
    assert_eq!(msg["deleted"], false);
    assert!(msg["created_at"].as_str().unwrap().ends_with('Z'));

    let page: Value = app
        .get(&bob, &format!("/api/conversations/{id}/messages"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["messages"][0], msg);
    assert_eq!(page["has_more"], false);
    let conv: Value = app
        .get(&ann, &format!("/api/conversations/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(conv["unread_count"], 0);
    let mine = conv["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user"]["id"] == ann.id)
        .unwrap()
        .clone();
    assert_eq!(mine["last_read_seq"], 1);
}

#[tokio::test]
async fn second_send_with_same_client_id_returns_the_first_message() {
    let app = TestApp::spawn().await;
    let (ann, bob) = (app.person("ann").await, app.person("bob").await);
    let id = app.direct(&ann, &bob).await;
    let path = format!("/api/conversations/{id}/messages");
    let first: Value = app
        .post(&ann, &path, json!({"body": "once", "client_id": "k"}))
        .await
        .json()
        .await
        .unwrap();
    let res = app
        .post(
            &ann,
            &path,
            json!({"body": "different text", "client_id": "k"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap(), first);
    // Another sender may use the same client_id.
    let res = app
        .post(&bob, &path, json!({"body": "mine", "client_id": "k"}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let page: Value = app.get(&ann, &path).await.json().await.unwrap();
    assert_eq!(page["messages"].as_array().unwrap().len(), 2);
    // Concurrent duplicates still give one row.
    let sends = (0..8).map(|_| app.post(&ann, &path, json!({"body": "race", "client_id": "r"})));
    let results = futures::future::join_all(sends).await;
    let statuses: Vec<StatusCode> = results.iter().map(|r| r.status()).collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    let page: Value = app.get(&ann, &path).await.json().await.unwrap();
    assert_eq!(page["messages"].as_array().unwrap().len(), 3);
}

/// A `client_id` names one message of its sender: used again in another conversation it is a
/// conflict, and a sender who has left since retries into nothing they may see.
#[tokio::test]
async fn a_client_id_is_not_reused_elsewhere_nor_by_a_former_member() {
    let app = TestApp::spawn().await;
    let [ann, bob, cat] = app.people(["ann", "bob", "cat"]).await;
    let direct = app.direct(&ann, &bob).await;
    let group = app.group(&cat, "g", &[&ann]).await;
    let messages = |id: i64| format!("/api/conversations/{id}/messages");
    let send = |id: i64, client_id: &str| {
        app.post(
            &ann,
            &messages(id),
            json!({"body": "hi", "client_id": client_id}),
        )
    };
    assert_eq!(send(direct, "k").await.status(), StatusCode::CREATED);
    assert_error(send(group, "k").await, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(send(group, "g").await.status(), StatusCode::CREATED);
    let parts = format!("/api/conversations/{group}/participants/{}", ann.id);
    let res = app.call(&cat, Method::DELETE, &parts, None).await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_error(send(group, "g").await, StatusCode::NOT_FOUND, "not_found").await;
    let page: Value = app.get(&cat, &messages(group)).await.json().await.unwrap();
    assert_eq!(page["messages"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn twenty_concurrent_sends_from_two_users_get_twenty_consecutive_seqs() {
    let app = TestApp::spawn().await;
    let (ann, bob) = (app.person("ann").await, app.person("bob").await);
    let id = app.direct(&ann, &bob).await;
    let path = format!("/api/conversations/{id}/messages");
    let sends = (0..20).map(|i| {
        let who = if i % 2 == 0 { &ann } else { &bob };
        app.post(
            who,
            &path,
            json!({"body": format!("m{i}"), "client_id": format!("id-{i}")}),
        )
    });
    let results = futures::future::join_all(sends).await;
    let mut seqs = Vec::new();
    for res in results {
        assert_eq!(res.status(), StatusCode::CREATED);
        seqs.push(res.json::<Value>().await.unwrap()["seq"].as_i64().unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=20).collect::<Vec<_>>());
    let conv: Value = app
        .get(&ann, &format!("/api/conversations/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(conv["last_seq"], 20);
}

#[tokio::test]
async fn history_pages_through_120_messages() {
    let app = TestApp::spawn().await;
    let (ann, bob) = (app.person("ann").await, app.person("bob").await);
    let id = app.direct(&ann, &bob).await;
    for i in 1..=120 {
        app.send(
            if i % 3 == 0 { &bob } else { &ann },
            id,
            &format!("message {i}"),
        )
        .await;
    }
    let path = format!("/api/conversations/{id}/messages");
    let seqs = |page: &Value| -> Vec<i64> {
        page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["seq"].as_i64().unwrap())
            .collect()
    };
    let newest: Value = app.get(&bob, &path).await.json().await.unwrap();
    assert_eq!(seqs(&newest), (71..=120).collect::<Vec<_>>());
    assert_eq!(newest["has_more"], true);
    let middle: Value = app
        .get(&bob, &format!("{path}?before=71"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seqs(&middle), (21..=70).collect::<Vec<_>>());
    assert_eq!(middle["has_more"], true);
    let oldest: Value = app
        .get(&bob, &format!("{path}?before=21"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seqs(&oldest), (1..=20).collect::<Vec<_>>());
    assert_eq!(oldest["has_more"], false);
    assert_eq!(oldest["messages"][0]["body"], "message 1");

    let capped: Value = app
        .get(&bob, &format!("{path}?limit=500"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seqs(&capped).len(), 100);
    let small: Value = app
        .get(&bob, &format!("{path}?limit=5&before=10"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seqs(&small), vec![5, 6, 7, 8, 9]);
    for bad in [
        "limit=0",
        "limit=-3",
        "limit=ten",
        "limit=2.5",
        "before=abc",
    ] {
        assert_error(
            app.get(&bob, &format!("{path}?{bad}")).await,
            StatusCode::BAD_REQUEST,
            "invalid_input",
        )
        .await;
    }
}

#[tokio::test]
async fn bodies_are_checked() {
    let app = TestApp::spawn_with(|c| c.max_message_chars = 10).await;
    let (ann, bob) = (app.person("ann").await, app.person("bob").await);
    let id = app.direct(&ann, &bob).await;
    let path = format!("/api/conversations/{id}/messages");
    for body in [
        json!({"body": ""}),
        json!({"body": "   "}),
        json!({"body": "a\u{7}b"}),
        json!({"body": "x".repeat(11)}),
        json!({}),
        json!({"body": 5}),
    ] {
        let res = app.post(&ann, &path, body).await;
        assert!(assert_error(res, StatusCode::BAD_REQUEST, "invalid_input")
            .await
            .contains("body"));
    }
    let res = app
        .post(&ann, &path, json!({"body": "ok", "client_id": ""}))
        .await;
    assert!(assert_error(res, StatusCode::BAD_REQUEST, "invalid_input")
        .await
        .contains("client_id"));
    let res = app.post(&ann, &path, json!({"body": "ééééééééé😀"})).await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "ten characters, more bytes"
    );
    let huge = json!({"body": "x".repeat(200_000)});
    assert_error(
        app.post(&ann, &path, huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
    )
    .await;
}

#[tokio::test]
async fn only_the_sender_edits_and_edits_are_visible() {
    let app = TestApp::spawn().await;
    let (ann, bob) = (app.person("ann").await, app.person("bob").await);
    let group = app.group(&ann, "g", &[&bob]).await;
    let msg = app.send(&bob, group, "typo").await;
    let path = format!("/api/messages/{}", msg["id"]);
    let res = app
        .call(&ann, Method::PUT, &path, Some(json!({"body": "not mine"})))
        .await;
    assert_error(res, StatusCode::FORBIDDEN, "forbidden").await;
    let res = app
        .call(&bob, Method::PUT, &path, Some(json!({"body": " fixed "})))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let edited: Value = res.json().await.unwrap();
    assert_eq!(edited["body"], "fixed");
    assert_eq!(edited["seq"], msg["seq"]);
    assert!(edited["edited_at"].is_string());
    let res = app
        .call(&bob, Method::PUT, &path, Some(json!({"body": ""})))
        .await;
    assert_error(res, StatusCode::BAD_REQUEST, "invalid_input").await;
    let page: Value = app
        .get(&ann, &format!("/api/conversations/{group}/messages"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["messages"][0]["body"], "fixed");
}

#[tokio::test]
async fn delete_keeps_id_and_seq_and_empties_the_body() {
    let app = TestApp::spawn().await;
    let [ann, bob, cat] = app.people(["ann", "bob", "cat"]).await;
    let group = app.group(&ann, "g", &[&bob, &cat]).await;
    let by_bob = app.send(&bob, group, "bob's").await;
    let by_cat = app.send(&cat, group, "cat's").await;
    // A member cannot delete someone else's message; the owner can; the sender can.
    let res = app
        .call(
            &bob,
            Method::DELETE,
            &format!("/api/messages/{}", by_cat["id"]),
            None,
        )
        .await;
    assert_error(res, StatusCode::FORBIDDEN, "forbidden").await;
    let res = app
        .call(
            &ann,
            Method::DELETE,
            &format!("/api/messages/{}", by_cat["id"]),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .call(
            &bob,
            Method::DELETE,
            &format!("/api/messages/{}", by_bob["id"]),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let again = app
        .call(
            &bob,
            Method::DELETE,
            &format!("/api/messages/{}", by_bob["id"]),
            None,
        )
        .await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
    let page: Value = app
        .get(&cat, &format!("/api/conversations/{group}/messages"))
        .await
        .json()
        .await
        .unwrap();
    for (m, original) in page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .zip([&by_bob, &by_cat])
    {
        assert_eq!(m["id"], original["id"]);
        assert_eq!(m["seq"], original["seq"]);
        assert_eq!(m["body"], "");
        assert_eq!(m["deleted"], true);
    }
    // A deleted message cannot be edited back to life.
    let res = app
        .call(
            &bob,
            Method::PUT,
            &format!("/api/messages/{}", by_bob["id"]),
            Some(json!({"body": "back"})),
        )
        .await;
    assert_error(res, StatusCode::CONFLICT, "conflict").await;
    // In a direct conversation only the sender deletes.
    let direct = app.direct(&ann, &bob).await;
    let msg = app.send(&bob, direct, "x").await;
    let res = app
        .call(
            &ann,
            Method::DELETE,
            &format!("/api/messages/{}", msg["id"]),
            None,
        )
        .await;
    assert_error(res, StatusCode::FORBIDDEN, "forbidden").await;
    // Deleted messages are not unread.
    assert_eq!(app.conversations_of(&cat).await[0]["unread_count"], 0);
}

#[tokio::test]
async fn read_moves_forward_only_and_is_clamped() {
    let app = TestApp::spawn().await;
    let (ann, bob) = (app.person("ann").await, app.person("bob").await);
    let id = app.direct(&ann, &bob).await;
    for i in 0..5 {
        app.send(&bob, id, &format!("m{i}")).await;
    }
    let read = |seq: Value| {
        app.post(
            &ann,
            &format!("/api/conversations/{id}/read"),
            json!({"seq": seq}),
        )
    };
    let unread = || async {
        let c: Value = app
            .get(&ann, &format!("/api/conversations/{id}"))
            .await
            .json()
            .await
            .unwrap();
        (
            c["unread_count"].as_i64().unwrap(),
            c["participants"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["user"]["id"] == ann.id)
                .unwrap()["last_read_seq"]
                .as_i64()
                .unwrap(),
        )
    };
    assert_eq!(unread().await, (5, 0));
    assert_eq!(read(json!(3)).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(unread().await, (2, 3));
    assert_eq!(read(json!(1)).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(unread().await, (2, 3));
    assert_eq!(read(json!(1000)).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(unread().await, (0, 5));
    assert_error(
        read(json!(-1)).await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    )
    .await;
    assert_error(
        read(json!("three")).await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    )
    .await;
    let res = app
        .post(&ann, &format!("/api/conversations/{id}/read"), json!({}))
        .await;
    assert!(assert_error(res, StatusCode::BAD_REQUEST, "invalid_input")
        .await
        .contains("seq"));
}
