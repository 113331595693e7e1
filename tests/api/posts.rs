//! Help requests beyond the contract's list, create and read: search (`q`), one author's
//! (`author`), only the open ones (`open`), and their author's edits, closing and reopening
//! (`PUT /api/posts/:id`), with a new title reaching the conversations about the request.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, Person, TestApp};
use crate::live_helpers::{live_app, QUIET};

async fn ask(app: &TestApp, who: &Person, title: &str, body: &str) -> i64 {
    let res = app
        .post(who, "/api/posts", json!({"title": title, "body": body}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let post: Value = res.json().await.unwrap();
    assert_eq!(post["edited_at"], Value::Null);
    assert_eq!(post["closed_at"], Value::Null);
    assert_eq!(post["offers"], 0);
    post["id"].as_i64().unwrap()
}

/// The titles `query` lists, and its next cursor.
async fn titles(app: &TestApp, who: &Person, query: &str) -> (Vec<String>, Option<String>) {
    let res = app.get(who, &format!("/api/posts?{query}")).await;
    assert_eq!(res.status(), StatusCode::OK, "{query}");
    let page: Value = res.json().await.unwrap();
    let titles = page["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap().to_owned())
        .collect();
    (titles, page["next_cursor"].as_str().map(str::to_owned))
}

async fn update(app: &TestApp, who: &Person, post: i64, change: Value) -> reqwest::Response {
    app.call(
        who,
        Method::PUT,
        &format!("/api/posts/{post}"),
        Some(change),
    )
    .await
}

async fn updated(app: &TestApp, who: &Person, post: i64, change: Value) -> Value {
    let res = update(app, who, post, change).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

#[tokio::test]
async fn help_requests_are_found_by_words_author_and_state() {
    let app = TestApp::spawn().await;
    let [ann, bob] = app.people(["ann", "bob"]).await;
    ask(&app, &ann, "Resume review", "Two pages, finance jobs").await;
    let rust = ask(&app, &ann, "Rust lifetimes", "Borrowing 50% of a struct").await;
    ask(&app, &ann, "ÜBER-long question", "Ünïcode in the body too").await;
    ask(&app, &bob, "Mock interview", "For a FINANCE role").await;

    let all = [
        "Mock interview",
        "ÜBER-long question",
        "Rust lifetimes",
        "Resume review",
    ];
    assert_eq!(titles(&app, &ann, "").await.0, all);
    // Any case, title or body; wildcards are plain characters.
    assert_eq!(
        titles(&app, &bob, "q=FINANCE").await.0,
        ["Mock interview", "Resume review"]
    );
    assert_eq!(
        titles(&app, &bob, "q=%C3%BCber").await.0,
        ["ÜBER-long question"]
    );
    assert_eq!(
        titles(&app, &bob, "q=%C3%9CN%C3%8FCODE").await.0,
        ["ÜBER-long question"]
    );
    assert_eq!(titles(&app, &bob, "q=50%25").await.0, ["Rust lifetimes"]);
    assert!(titles(&app, &bob, "q=5_%25").await.0.is_empty());
    assert_eq!(
        titles(&app, &bob, "q=%20%20").await.0,
        all,
        "blank: no filter"
    );
    // One author's, by id or as "me".
    assert_eq!(
        titles(&app, &ann, "author=me&q=finance").await.0,
        ["Resume review"]
    );
    assert_eq!(
        titles(&app, &ann, &format!("author={}", bob.id)).await.0,
        ["Mock interview"]
    );
    // Open ones only, once one is closed.
    updated(&app, &ann, rust, json!({"closed": true})).await;
    assert_eq!(
        titles(&app, &bob, "open=true").await.0,
        ["Mock interview", "ÜBER-long question", "Resume review"]
    );
    assert_eq!(titles(&app, &bob, "open=false").await.0, all);
    // Pages of a filtered list.
    let (first, cursor) = titles(&app, &bob, "author=me&limit=1").await;
    assert_eq!(first, ["Mock interview"]);
    assert_eq!(cursor, None);
    let (first, cursor) = titles(&app, &bob, &format!("author={}&limit=2", ann.id)).await;
    assert_eq!(first, ["ÜBER-long question", "Rust lifetimes"]);
    let cursor = cursor.unwrap();
    let query = format!("author={}&limit=2&cursor={cursor}", ann.id);
    assert_eq!(
        titles(&app, &bob, &query).await,
        (vec!["Resume review".into()], None)
    );

    for (query, field) in [
        ("author=ann", "author"),
        ("open=maybe", "open"),
        ("q=a%01b", "q"),
        ("cursor=nonsense", "cursor"),
    ] {
        let message = assert_error(
            app.get(&bob, &format!("/api/posts?{query}")).await,
            StatusCode::BAD_REQUEST,
            "invalid_input",
        )
        .await;
        assert!(message.contains(field), "{query}: {message}");
    }
    let long = "a".repeat(201);
    assert_error(
        app.get(&bob, &format!("/api/posts?q={long}")).await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    )
    .await;
}

#[tokio::test]
async fn only_its_author_edits_closes_and_reopens_a_help_request() {
    let app = TestApp::spawn().await;
    let [ann, bob, cy] = app.people(["ann", "bob", "cyd"]).await;
    let post = ask(&app, &ann, "Resume review", "Two pages").await;
    let bobs = app
        .conversation(&bob, json!({"kind": "post_linked", "post_id": post}))
        .await["id"]
        .clone();
    let offers = |post: &Value| post["offers"].as_i64().unwrap();

    // Somebody else may read it but not change it; a missing one is 404.
    assert_error(
        update(&app, &bob, post, json!({"body": "mine now"})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        update(&app, &ann, post + 100, json!({"closed": true})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Bad input changes nothing, whatever else it held.
    for (change, field) in [
        (json!({"title": " ", "closed": true}), "title"),
        (json!({"body": "x".repeat(10_001)}), "body"),
        (json!({"closed": "yes"}), "closed"),
    ] {
        let message = assert_error(
            update(&app, &ann, post, change.clone()).await,
            StatusCode::BAD_REQUEST,
            "invalid_input",
        )
        .await;
        assert!(message.contains(field), "{change}: {message}");
    }
    let unchanged: Value = app
        .get(&cy, &format!("/api/posts/{post}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unchanged["body"], "Two pages");
    assert_eq!(unchanged["edited_at"], Value::Null);
    assert_eq!(unchanged["closed_at"], Value::Null);
    assert_eq!(offers(&unchanged), 1, "Bob's conversation about it");

    // The author edits the body: the title stays, and it is marked edited.
    let edited = updated(&app, &ann, post, json!({"body": "  Three pages now\n "})).await;
    assert_eq!(edited["title"], "Resume review");
    assert_eq!(edited["body"], "Three pages now");
    assert!(edited["edited_at"].is_string());
    assert_eq!(edited["closed_at"], Value::Null);
    // An empty change is no edit.
    let same = updated(&app, &ann, post, json!({})).await;
    assert_eq!(same, edited);

    // Closed: nobody starts a new conversation about it; the ones it has go on.
    let closed = updated(&app, &ann, post, json!({"closed": true})).await;
    let closed_at = closed["closed_at"].as_str().unwrap().to_owned();
    assert_eq!(
        closed["edited_at"], edited["edited_at"],
        "closing is no edit"
    );
    let again = updated(&app, &ann, post, json!({"closed": true})).await;
    assert_eq!(
        again["closed_at"],
        closed_at.as_str(),
        "closed once, when first closed"
    );
    assert_error(
        app.post(
            &cy,
            "/api/conversations",
            json!({"kind": "post_linked", "post_id": post}),
        )
        .await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    let res = app
        .post(
            &bob,
            "/api/conversations",
            json!({"kind": "post_linked", "post_id": post}),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "bob's conversation is still his"
    );
    assert_eq!(res.json::<Value>().await.unwrap()["id"], bobs);
    app.send(&bob, bobs.as_i64().unwrap(), "Glad it worked out")
        .await;
    let listed: Value = app.get(&cy, "/api/posts").await.json().await.unwrap();
    assert_eq!(listed["posts"][0]["closed_at"], closed_at.as_str());

    // Reopened: help is welcome again.
    let reopened = updated(&app, &ann, post, json!({"closed": false})).await;
    assert_eq!(reopened["closed_at"], Value::Null);
    let res = app
        .post(
            &cy,
            "/api/conversations",
            json!({"kind": "post_linked", "post_id": post}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let listed: Value = app.get(&cy, "/api/posts").await.json().await.unwrap();
    assert_eq!(offers(&listed["posts"][0]), 2, "Bob's and now Cyd's");
}

#[tokio::test]
async fn a_new_title_reaches_the_conversations_about_the_request() {
    let app = live_app().await;
    let [ann, bob, cy] = app.people(["ann", "bob", "cyd"]).await;
    let post = ask(&app, &ann, "Resume review", "Two pages").await;
    let about = json!({"kind": "post_linked", "post_id": post});
    let bobs = app.conversation(&bob, about.clone()).await;
    let cys = app.conversation(&cy, about).await;
    let bobs_id = bobs["id"].as_i64().unwrap();
    let newer = app.direct(&bob, &cy).await;
    let version = bobs["version"].as_i64().unwrap_or_default();
    let mut bob_socket = app.connect(&bob).await;
    let mut ann_socket = app.connect(&ann).await;

    // A new body alone changes nothing in the conversations.
    updated(&app, &ann, post, json!({"body": "Three pages"})).await;
    bob_socket.assert_no("conversation:updated", QUIET).await;

    updated(&app, &ann, post, json!({"title": "CV review, finance"})).await;
    // To each participant of each conversation about it: Bob in one, Ann (the author) in both.
    let retitled = |data: &Value| {
        assert_eq!(data["conversation"]["post"]["title"], "CV review, finance");
        data["conversation"]["id"].as_i64().unwrap()
    };
    assert_eq!(
        retitled(&bob_socket.next_event("conversation:updated").await),
        bobs_id
    );
    let mut seen = Vec::new();
    for _ in 0..2 {
        seen.push(retitled(
            &ann_socket.next_event("conversation:updated").await,
        ));
    }
    seen.sort_unstable();
    assert_eq!(seen, [bobs_id, cys["id"].as_i64().unwrap()]);
    bob_socket.assert_no("conversation:updated", QUIET).await;
    let now: Value = app
        .get(&bob, &format!("/api/conversations/{bobs_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(now["post"]["title"], "CV review, finance");
    // The search finds it by the new title only.
    assert_eq!(app.conversation_page(&bob, "q=finance").await.0, [bobs_id]);
    assert!(app.conversation_page(&bob, "q=resume").await.0.is_empty());
    // Not activity: the conversation keeps its place in the list.
    assert_eq!(app.conversation_page(&bob, "").await.0, [newer, bobs_id]);
    // Its window, rendered on the server, shows the request as it is now.
    let html = app.page_of(&bob, &format!("/c/{bobs_id}")).await;
    assert!(
        html.contains("Help request: <!>CV review, finance"),
        "the request's new title in its window"
    );
    assert!(html.contains("Three pages"));
    // And a client catching up gets the change.
    let page: Value = app
        .get(
            &bob,
            &format!("/api/conversations/{bobs_id}/changes?after={version}"),
        )
        .await
        .json()
        .await
        .unwrap();
    let last = page["changes"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["event"], "conversation:updated");
    assert_eq!(
        last["data"]["conversation"]["post"]["title"],
        "CV review, finance"
    );
}

#[tokio::test]
async fn who_watches_the_help_requests_hears_of_every_change_to_them() {
    let app = live_app().await;
    let [ann, bob, cat] = app.people(["ann", "bob", "cat"]).await;
    // Ann watches on a socket, Cat on an event stream; Bob's socket does not watch.
    let mut ann1 = app.connect(&ann).await;
    ann1.send("posts:watch", json!({})).await;
    ann1.sync().await;
    let mut cat_stream = app.events_at(&cat, "/api/events?posts=true").await;
    let mut bob1 = app.connect(&bob).await;

    // Asked: both watchers hear of it as the list would show it.
    let post = ask(&app, &bob, "Resume review", "Before Friday").await;
    for heard in [
        ann1.next_event("post:updated").await,
        cat_stream.next_event("post:updated").await,
    ] {
        assert_eq!(heard["post"]["id"], post);
        assert_eq!(heard["post"]["title"], "Resume review");
        assert_eq!(heard["post"]["author"]["id"], bob.id);
        assert_eq!(heard["post"]["offers"], 0);
    }
    // An offer of help counts.
    let offered = app
        .conversation(&cat, json!({"kind": "post_linked", "post_id": post}))
        .await;
    assert_eq!(
        ann1.next_event("post:updated").await["post"]["offers"],
        1,
        "{offered}"
    );
    // Opening the same conversation again is no new offer.
    app.conversation(&cat, json!({"kind": "post_linked", "post_id": post}))
        .await;
    // Edited, then closed.
    let res = update(&app, &bob, post, json!({"title": "CV review"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let edited = ann1.next_event("post:updated").await;
    assert_eq!(edited["post"]["title"], "CV review");
    assert_eq!(edited["post"]["offers"], 1);
    let res = update(&app, &bob, post, json!({"closed": true})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(ann1.next_event("post:updated").await["post"]["closed_at"].is_string());
    // News of a request is its latest state: a reader that did not keep up may get the
    // changes in between as one. It ends on the latest.
    loop {
        let heard = cat_stream.next_event("post:updated").await;
        if heard["post"]["closed_at"].is_string() {
            assert_eq!(heard["post"]["title"], "CV review");
            assert_eq!(heard["post"]["offers"], 1);
            break;
        }
    }

    // Refused changes are no news, and a connection that does not watch hears none.
    let res = update(&app, &cat, post, json!({"closed": false})).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    ann1.assert_no("post:updated", QUIET).await;
    bob1.assert_no("post:updated", QUIET).await;

    // Unwatched: no more news.
    ann1.send("posts:unwatch", json!({})).await;
    ann1.sync().await;
    let res = update(&app, &bob, post, json!({"closed": false})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        cat_stream.next_event("post:updated").await["post"]["closed_at"],
        Value::Null
    );
    ann1.assert_no("post:updated", QUIET).await;

    // A bad flag is refused like the other queries' flags.
    let res = app.get(&cat, "/api/events?posts=maybe").await;
    assert_error(res, StatusCode::BAD_REQUEST, "invalid_input").await;
}
