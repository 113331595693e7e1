use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, Person, TestApp};

#[tokio::test]
async fn a_direct_conversation_is_created_once_from_either_side() {
    let app = TestApp::spawn().await;
    let (ann, bob) = (app.person("ann").await, app.person("bob").await);
    let res = app
        .post(
            &ann,
            "/api/conversations",
            json!({"kind": "direct", "user_id": bob.id}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let first: Value = res.json().await.unwrap();
    assert_eq!(first["kind"], "direct");
    assert_eq!(first["title"], Value::Null);
    assert_eq!(first["post"], Value::Null);
    assert_eq!(first["last_message"], Value::Null);
    assert_eq!(first["last_seq"], 0);
    assert_eq!(first["unread_count"], 0);
    assert_eq!(first["participants"].as_array().unwrap().len(), 2);
    assert!(first["updated_at"].as_str().unwrap().ends_with('Z'));

    let again = app
        .post(
            &ann,
            "/api/conversations",
            json!({"kind": "direct", "user_id": bob.id}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);
    let other_side = app
        .post(
            &bob,
            "/api/conversations",
            json!({"kind": "direct", "user_id": ann.id}),
        )
        .await;
    assert_eq!(other_side.status(), StatusCode::OK);
    assert_eq!(other_side.json::<Value>().await.unwrap()["id"], first["id"]);
}

#[tokio::test]
async fn concurrent_duplicate_creation_gives_one_conversation() {
    let app = TestApp::spawn().await;
    let (ann, bob) = (app.person("ann").await, app.person("bob").await);
    let mut tasks = Vec::new();
    for i in 0..10 {
        let (a, b) = if i % 2 == 0 {
            (&ann, &bob)
        } else {
            (&bob, &ann)
        };
        tasks.push(app.post(
            a,
            "/api/conversations",
            json!({"kind": "direct", "user_id": b.id}),
        ));
    }
    let results = futures::future::join_all(tasks).await;
    let mut ids = Vec::new();
    let mut created = 0;
    for res in results {
        if res.status() == StatusCode::CREATED {
            created += 1;
        } else {
            assert_eq!(res.status(), StatusCode::OK);
        }
        ids.push(res.json::<Value>().await.unwrap()["id"].clone());
    }
    assert_eq!(created, 1);
    ids.dedup();
    assert_eq!(ids.len(), 1);
    assert_eq!(app.conversations_of(&ann).await.len(), 1);
}

#[tokio::test]
async fn direct_conversation_errors() {
    let app = TestApp::spawn().await;
    let ann = app.person("ann").await;
    let res = app
        .post(
            &ann,
            "/api/conversations",
            json!({"kind": "direct", "user_id": ann.id}),
        )
        .await;
    assert!(assert_error(res, StatusCode::BAD_REQUEST, "invalid_input")
        .await
        .contains("user_id"));
    let res = app
        .post(
            &ann,
            "/api/conversations",
            json!({"kind": "direct", "user_id": 9999}),
        )
        .await;
    assert_error(res, StatusCode::NOT_FOUND, "not_found").await;
    let res = app
        .post(&ann, "/api/conversations", json!({"kind": "direct"}))
        .await;
    assert!(assert_error(res, StatusCode::BAD_REQUEST, "invalid_input")
        .await
        .contains("user_id"));
    let res = app
        .post(&ann, "/api/conversations", json!({"kind": "channel"}))
        .await;
    assert_error(res, StatusCode::BAD_REQUEST, "invalid_input").await;
    let res = app
        .post(&ann, "/api/conversations", json!({"user_id": 1}))
        .await;
    assert!(assert_error(res, StatusCode::BAD_REQUEST, "invalid_input")
        .await
        .contains("kind"));
}

#[tokio::test]
async fn a_group_has_an_owner_members_and_a_checked_title() {
    let app = TestApp::spawn().await;
    let [ann, bob, cat] = app.people(["ann", "bob", "cat"]).await;
    let res = app
        .post(&ann, "/api/conversations", json!({"kind": "group", "title": "  Class of '09 ", "user_ids": [bob.id, cat.id, bob.id, ann.id]}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let group: Value = res.json().await.unwrap();
    assert_eq!(group["title"], "Class of '09");
    let roles: Vec<(i64, String)> = group["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["user"]["id"].as_i64().unwrap(),
                p["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(roles.len(), 3);
    assert!(roles.contains(&(ann.id, "owner".to_owned())));
    assert!(roles.contains(&(bob.id, "member".to_owned())));

    for (body, field) in [
        (
            json!({"kind": "group", "title": "", "user_ids": []}),
            "title",
        ),
        (
            json!({"kind": "group", "title": "x".repeat(101), "user_ids": []}),
            "title",
        ),
        (
            json!({"kind": "group", "title": "a\u{1}b", "user_ids": []}),
            "title",
        ),
        (json!({"kind": "group", "user_ids": []}), "title"),
        (
            json!({"kind": "group", "title": "t", "user_ids": "nope"}),
            "user_ids",
        ),
    ] {
        let res = app.post(&ann, "/api/conversations", body).await;
        assert!(assert_error(res, StatusCode::BAD_REQUEST, "invalid_input")
            .await
            .contains(field));
    }
    let res = app
        .post(
            &ann,
            "/api/conversations",
            json!({"kind": "group", "title": "t", "user_ids": [424242]}),
        )
        .await;
    assert_error(res, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn group_size_is_limited() {
    let app = TestApp::spawn_with(|c| c.max_group_size = 3).await;
    let people = [
        app.person("ann").await,
        app.person("bob").await,
        app.person("cat").await,
        app.person("dan").await,
    ];
    let ids: Vec<i64> = people[1..].iter().map(|p| p.id).collect();
    let res = app
        .post(
            &people[0],
            "/api/conversations",
            json!({"kind": "group", "title": "t", "user_ids": ids}),
        )
        .await;
    assert!(assert_error(res, StatusCode::BAD_REQUEST, "invalid_input")
        .await
        .contains("user_ids"));
    let id = app.group(&people[0], "t", &[&people[1], &people[2]]).await;
    let res = app
        .post(
            &people[0],
            &format!("/api/conversations/{id}/participants"),
            json!({"user_id": people[3].id}),
        )
        .await;
    assert_error(res, StatusCode::BAD_REQUEST, "invalid_input").await;
}

#[tokio::test]
async fn post_linked_conversations_are_one_per_post_and_asker() {
    let app = TestApp::spawn().await;
    let [author, helper, other] = app.people(["author", "helper", "other"]).await;
    let res = app
        .post(
            &author,
            "/api/posts",
            json!({"title": "Need help with Rust lifetimes", "body": "Anyone?\nThanks"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let post: Value = res.json().await.unwrap();
    assert_eq!(post["author"]["id"], author.id);
    assert_eq!(post["body"], "Anyone?\nThanks");
    let post_id = post["id"].as_i64().unwrap();

    let res = app
        .post(
            &helper,
            "/api/conversations",
            json!({"kind": "post_linked", "post_id": post_id}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let first: Value = res.json().await.unwrap();
    assert_eq!(first["kind"], "post_linked");
    assert_eq!(
        first["post"],
        json!({"id": post_id, "title": "Need help with Rust lifetimes"})
    );
    let ids: Vec<i64> = first["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["user"]["id"].as_i64().unwrap())
        .collect();
    assert!(ids.contains(&author.id) && ids.contains(&helper.id) && ids.len() == 2);

    let res = app
        .post(
            &helper,
            "/api/conversations",
            json!({"kind": "post_linked", "post_id": post_id}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["id"], first["id"]);
    // Another asker gets their own conversation about the same post.
    let res = app
        .post(
            &other,
            "/api/conversations",
            json!({"kind": "post_linked", "post_id": post_id}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_ne!(res.json::<Value>().await.unwrap()["id"], first["id"]);
    // The author cannot ask about their own post; unknown posts are 404.
    let res = app
        .post(
            &author,
            "/api/conversations",
            json!({"kind": "post_linked", "post_id": post_id}),
        )
        .await;
    assert!(assert_error(res, StatusCode::BAD_REQUEST, "invalid_input")
        .await
        .contains("post_id"));
    let res = app
        .post(
            &helper,
            "/api/conversations",
            json!({"kind": "post_linked", "post_id": 777}),
        )
        .await;
    assert_error(res, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn posts_list_newest_first_with_pages() {
    let app = TestApp::spawn().await;
    let ann = app.person("ann").await;
    for i in 0..5 {
        let res = app
            .post(
                &ann,
                "/api/posts",
                json!({"title": format!("post {i}"), "body": "b"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let page: Value = app
        .get(&ann, "/api/posts?limit=3")
        .await
        .json()
        .await
        .unwrap();
    let titles: Vec<&str> = page["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["post 4", "post 3", "post 2"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let page: Value = app
        .get(&ann, &format!("/api/posts?limit=3&cursor={cursor}"))
        .await
        .json()
        .await
        .unwrap();
    let titles: Vec<&str> = page["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["post 1", "post 0"]);
    assert_eq!(page["next_cursor"], Value::Null);
    let one = page["posts"][0]["id"].as_i64().unwrap();
    assert_eq!(
        app.get(&ann, &format!("/api/posts/{one}")).await.status(),
        StatusCode::OK
    );
    assert_error(
        app.get(&ann, "/api/posts/999").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.post(&ann, "/api/posts", json!({"title": "", "body": "b"}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    )
    .await;
    assert_error(
        app.post(&ann, "/api/posts", json!({"title": "t"})).await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    )
    .await;
}

#[tokio::test]
async fn the_list_is_ordered_by_activity_and_carries_last_message_and_unread() {
    let app = TestApp::spawn().await;
    let [ann, bob, cat] = app.people(["ann", "bob", "cat"]).await;
    let with_bob = app.direct(&ann, &bob).await;
    let with_cat = app.direct(&ann, &cat).await;
    let group = app.group(&ann, "Reunion", &[&bob, &cat]).await;
    app.send(&bob, with_bob, "hi ann").await;
    app.send(&bob, with_bob, "are you there?").await;
    app.send(&cat, group, "hello all").await;

    let list: Value = app
        .get(&ann, "/api/conversations")
        .await
        .json()
        .await
        .unwrap();
    let convs = list["conversations"].as_array().unwrap();
    let ids: Vec<i64> = convs.iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [group, with_bob, with_cat]);
    assert_eq!(convs[1]["unread_count"], 2);
    assert_eq!(convs[1]["last_message"]["body"], "are you there?");
    assert_eq!(convs[1]["last_seq"], 2);
    assert_eq!(convs[0]["unread_count"], 1);
    assert_eq!(convs[2]["unread_count"], 0);
    assert_eq!(list["next_cursor"], Value::Null);

    // The sender's own messages are never unread for him; cat's message in the group is.
    let bobs = app.conversations_of(&bob).await;
    let unread_of = |id: i64| bobs.iter().find(|c| c["id"] == id).unwrap()["unread_count"].clone();
    assert_eq!(unread_of(with_bob), 0);
    assert_eq!(unread_of(group), 1);

    let (unread, _) = app.conversation_page(&ann, "unread=true").await;
    assert_eq!(unread.len(), 2);
    let (groups, _) = app.conversation_page(&ann, "kind=group").await;
    assert_eq!(groups.len(), 1);
    let (directs, _) = app.conversation_page(&ann, "kind=direct&unread=true").await;
    assert_eq!(directs.first(), Some(&with_bob));
    assert_error(
        app.get(&ann, "/api/conversations?kind=channel").await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    )
    .await;
    assert_error(
        app.get(&ann, "/api/conversations?unread=maybe").await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    )
    .await;
    assert_error(
        app.get(&ann, "/api/conversations?cursor=garbage").await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    )
    .await;
}

#[tokio::test]
async fn search_covers_titles_post_titles_and_participant_names() {
    let app = TestApp::spawn().await;
    let [ann, bob, cat] = app.people(["ann", "bob", "cat"]).await;
    app.direct(&ann, &bob).await;
    let group = app.group(&ann, "Hiking Club", &[&cat]).await;
    let post: Value = app
        .post(
            &cat,
            "/api/posts",
            json!({"title": "Résumé review 100%", "body": "pls"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let linked = app
        .conversation(&ann, json!({"kind": "post_linked", "post_id": post["id"]}))
        .await["id"]
        .as_i64()
        .unwrap();

    let search = |q: &str| {
        let (app, ann, query) = (&app, &ann, format!("q={q}"));
        async move { app.conversation_page(ann, &query).await.0 }
    };
    assert_eq!(search("hiking").await, [group]);
    assert_eq!(search("R%C3%89SUM").await, [linked]);
    assert_eq!(search("100%25").await, [linked]);
    assert_eq!(search("bob%20dis").await.len(), 1);
    assert_eq!(search("zzz").await.len(), 0);
    // The caller's own name matches everything they are in.
    assert_eq!(search("ann").await.len(), 3);
}

/// The search reads a text kept per conversation (migration 0006): it follows renames, new
/// members and departures, in small and wide conversations alike.
#[tokio::test]
async fn search_follows_renames_and_membership() {
    let app = TestApp::spawn().await;
    let [ann, bob, zoe] = app.people(["ann", "bob", "zoe"]).await;
    let mut crowd = Vec::new();
    for i in 0..21 {
        crowd.push(app.person(&format!("crowd{i}")).await);
    }
    let small = app.group(&ann, "Chess Night", &[&bob]).await;
    let wide = app
        .group(&ann, "Alumni", &crowd.iter().collect::<Vec<_>>())
        .await;
    let search = |q: &str| {
        let (app, ann, query) = (&app, &ann, format!("q={q}"));
        async move {
            let (mut ids, _) = app.conversation_page(ann, &query).await;
            ids.sort_unstable();
            ids
        }
    };
    assert_eq!(search("chess").await, [small]);
    assert_eq!(search("crowd20").await, [wide]);
    assert_eq!(search("zoe").await, Vec::<i64>::new());

    let rename = |id: i64, title: &'static str| {
        app.call(
            &ann,
            Method::PUT,
            &format!("/api/conversations/{id}"),
            Some(json!({ "title": title })),
        )
    };
    assert!(rename(small, "Go Club").await.status().is_success());
    assert_eq!(search("chess").await, Vec::<i64>::new());
    assert_eq!(search("go%20cl").await, [small]);
    // Members' names stay searchable after a rename.
    assert_eq!(search("bob").await, [small]);

    for id in [small, wide] {
        let res = app
            .post(
                &ann,
                &format!("/api/conversations/{id}/participants"),
                json!({ "user_id": zoe.id }),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    assert_eq!(search("zoe").await, [small, wide]);
    assert!(rename(wide, "Class of 2010").await.status().is_success());
    assert_eq!(search("zoe").await, [small, wide]);
    assert_eq!(search("2010").await, [wide]);

    for id in [small, wide] {
        let path = format!("/api/conversations/{id}/participants/{}", zoe.id);
        let res = app.call(&ann, Method::DELETE, &path, None).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }
    assert_eq!(search("zoe").await, Vec::<i64>::new());
    assert_eq!(search("crowd3").await, [wide]);
    assert_eq!(search("2010").await, [wide]);
}

#[tokio::test]
async fn the_list_pages_with_a_cursor() {
    let app = TestApp::spawn().await;
    let ann = app.person("ann").await;
    let mut others = Vec::new();
    for i in 0..7 {
        let p = app.person(&format!("friend{i}")).await;
        others.push(app.direct(&ann, &p).await);
    }
    let mut seen = Vec::new();
    let mut query = "limit=3".to_owned();
    loop {
        let (ids, next) = app.conversation_page(&ann, &query).await;
        assert!(ids.len() <= 3);
        seen.extend(ids);
        match next {
            Some(c) => query = format!("limit=3&cursor={c}"),
            None => break,
        }
    }
    others.reverse();
    assert_eq!(seen, others);
    for bad in ["0", "-1", "x", "1.5"] {
        let res = app
            .get(&ann, &format!("/api/conversations?limit={bad}"))
            .await;
        assert_error(res, StatusCode::BAD_REQUEST, "invalid_input").await;
    }
}

#[tokio::test]
async fn only_owners_and_admins_rename_groups_and_directs_have_no_title() {
    let app = TestApp::spawn().await;
    let (ann, bob) = (app.person("ann").await, app.person("bob").await);
    let group = app.group(&ann, "Old", &[&bob]).await;
    let path = format!("/api/conversations/{group}");
    let res = app
        .call(&bob, Method::PUT, &path, Some(json!({"title": "Bob's"})))
        .await;
    assert_error(res, StatusCode::FORBIDDEN, "forbidden").await;
    let res = app
        .call(&ann, Method::PUT, &path, Some(json!({"title": " New "})))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["title"], "New");
    let res = app
        .call(&ann, Method::PUT, &path, Some(json!({"title": ""})))
        .await;
    assert_error(res, StatusCode::BAD_REQUEST, "invalid_input").await;
    let direct = app.direct(&ann, &bob).await;
    let res = app
        .call(
            &ann,
            Method::PUT,
            &format!("/api/conversations/{direct}"),
            Some(json!({"title": "x"})),
        )
        .await;
    assert_error(res, StatusCode::BAD_REQUEST, "invalid_input").await;
}

#[tokio::test]
async fn ids_that_are_not_numbers_are_not_found() {
    let app = TestApp::spawn().await;
    let ann = app.person("ann").await;
    assert_error(
        app.get(&ann, "/api/conversations/abc").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.get(&ann, "/api/conversations/99999999999999999999999")
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let res = app
        .call(&ann, Method::DELETE, "/api/messages/xyz", None)
        .await;
    assert_error(res, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn participants_carry_their_names_in_the_list_and_in_one_conversation() {
    let app = TestApp::spawn().await;
    let ann = app.person("ann").await;
    let mut people = Vec::new();
    for i in 0..12 {
        people.push(app.person(&format!("member{i}")).await);
    }
    let members: Vec<_> = people.iter().collect();
    let big = app.group(&ann, "Everyone", &members).await;
    let small = app.group(&ann, "Few", &members[..2]).await;
    let direct = app.direct(&people[5], &ann).await;
    let name_of = |id: i64| {
        if id == ann.id {
            "ann".to_owned()
        } else {
            let i = people
                .iter()
                .position(|p| p.id == id)
                .expect("a known person");
            format!("member{i}")
        }
    };
    let check = |conversation: &Value, want: usize| {
        let participants = conversation["participants"].as_array().unwrap();
        assert_eq!(participants.len(), want, "{conversation}");
        for p in participants {
            let username = name_of(p["user"]["id"].as_i64().unwrap());
            assert_eq!(p["user"]["username"], username.as_str());
            assert_eq!(p["user"]["display_name"], format!("{username} Display"));
        }
    };
    let list = app.conversations_of(&ann).await;
    assert_eq!(list.len(), 3);
    for conversation in &list {
        let id = conversation["id"].as_i64().unwrap();
        let want = [(big, 13), (small, 3), (direct, 2)];
        check(conversation, want.iter().find(|(c, _)| *c == id).unwrap().1);
    }
    let one: Value = app
        .get(&people[11], &format!("/api/conversations/{big}"))
        .await
        .json()
        .await
        .unwrap();
    check(&one, 13);
}

/// Conversations of more than 20 members are listed by their own activity rather than by a
/// copy in each membership (migration 0004): the list merges both kinds in one order, pages
/// through them with one cursor, and a group that grows past 20 keeps its place.
#[tokio::test]
async fn wide_and_small_conversations_share_one_list_order() {
    let app = TestApp::spawn().await;
    let ann = app.person("ann").await;
    let mut people = Vec::new();
    for i in 0..24 {
        people.push(app.person(&format!("member{i}")).await);
    }
    let everyone: Vec<&Person> = people.iter().collect();
    // A pause between activities keeps their times (milliseconds) apart, so the order is
    // decided by activity alone.
    let pause = || tokio::time::sleep(std::time::Duration::from_millis(3));
    let direct = app.direct(&ann, &people[0]).await;
    pause().await;
    let twenty = app.group(&ann, "Twenty", &everyone[..19]).await;
    pause().await;
    let wide = app.group(&ann, "Wide", &everyone).await;
    pause().await;
    let small = app.group(&ann, "Small", &everyone[..3]).await;
    let ids = |list: &[Value]| {
        list.iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&app.conversations_of(&ann).await),
        [small, wide, twenty, direct]
    );

    // Activity in each kind moves it to the top, for every member.
    let mut expected = vec![small, wide, twenty, direct];
    for id in [wide, direct, twenty, wide, small] {
        pause().await;
        let sender = if id == direct { &people[0] } else { &people[1] };
        app.send(sender, id, "news").await;
        expected.retain(|&e| e != id);
        expected.insert(0, id);
        assert_eq!(ids(&app.conversations_of(&ann).await), expected);
    }
    let theirs: Vec<i64> = ids(&app.conversations_of(&people[1]).await);
    assert_eq!(theirs, [small, wide, twenty]);

    // The twenty-first member makes "Twenty" wide; it moves up as any activity does.
    pause().await;
    let res = app
        .post(
            &ann,
            &format!("/api/conversations/{twenty}/participants"),
            json!({"user_id": people[23].id}),
        )
        .await;
    assert!(res.status().is_success(), "add: {}", res.status());
    expected = vec![twenty, small, wide, direct];
    assert_eq!(ids(&app.conversations_of(&ann).await), expected);
    pause().await;
    app.send(&people[2], wide, "still here").await;
    expected = vec![wide, twenty, small, direct];
    assert_eq!(ids(&app.conversations_of(&ann).await), expected);

    // One at a time, the cursor walks both kinds in the same order; filters apply to both.
    let mut seen = Vec::new();
    let mut query = "limit=1".to_owned();
    loop {
        let (page, next) = app.conversation_page(&ann, &query).await;
        seen.extend(page);
        match next {
            Some(c) => query = format!("limit=1&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, expected);
    let (groups, _) = app.conversation_page(&ann, "kind=group&q=t").await;
    assert_eq!(groups, [twenty]);
    for read in [twenty, direct] {
        let res = app
            .post(
                &ann,
                &format!("/api/conversations/{read}/read"),
                json!({"seq": 9}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }
    let (unread, _) = app.conversation_page(&ann, "unread=true").await;
    assert_eq!(unread, [wide, small]);
}
