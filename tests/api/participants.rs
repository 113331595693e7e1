use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, TestApp};

fn role_of(conversation: &Value, user: i64) -> Option<String> {
    conversation["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user"]["id"] == user)
        .map(|p| p["role"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn owners_and_admins_add_members_and_only_the_owner_grants_roles() {
    let app = TestApp::spawn().await;
    let [own, adm, mem, new1, new2] = app
        .people(["owner", "admin", "member", "newbie", "newbie2"])
        .await;
    let g = app.group(&own, "g", &[&adm, &mem]).await;
    let parts = format!("/api/conversations/{g}/participants");
    let res = app
        .call(
            &own,
            Method::PUT,
            &format!("{parts}/{}", adm.id),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        role_of(&res.json().await.unwrap(), adm.id).as_deref(),
        Some("admin")
    );

    let res = app.post(&mem, &parts, json!({"user_id": new1.id})).await;
    assert_error(res, StatusCode::FORBIDDEN, "forbidden").await;
    let res = app
        .post(&adm, &parts, json!({"user_id": new1.id, "role": "admin"}))
        .await;
    assert_error(res, StatusCode::FORBIDDEN, "forbidden").await;
    let res = app.post(&adm, &parts, json!({"user_id": new1.id})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(
        role_of(&res.json().await.unwrap(), new1.id).as_deref(),
        Some("member")
    );
    let res = app.post(&own, &parts, json!({"user_id": new1.id})).await;
    assert_error(res, StatusCode::CONFLICT, "conflict").await;
    let res = app
        .post(&own, &parts, json!({"user_id": new2.id, "role": "admin"}))
        .await;
    assert_eq!(
        role_of(&res.json().await.unwrap(), new2.id).as_deref(),
        Some("admin")
    );
    let res = app.post(&own, &parts, json!({"user_id": 5555})).await;
    assert_error(res, StatusCode::NOT_FOUND, "not_found").await;
    for bad in [
        json!({"user_id": new1.id, "role": "owner"}),
        json!({"user_id": new1.id, "role": "boss"}),
        json!({"role": "member"}),
    ] {
        assert_error(
            app.post(&own, &parts, bad).await,
            StatusCode::BAD_REQUEST,
            "invalid_input",
        )
        .await;
    }
    // The newcomer sees the group and its history, with nothing unread.
    app.send(&mem, g, "welcome").await;
    let seen: Value = app
        .get(&new1, &format!("/api/conversations/{g}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen["id"], g);

    // Roles: the owner only; admin or member only; the owner's own role is fixed.
    let res = app
        .call(
            &adm,
            Method::PUT,
            &format!("{parts}/{}", mem.id),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_error(res, StatusCode::FORBIDDEN, "forbidden").await;
    let res = app
        .call(
            &own,
            Method::PUT,
            &format!("{parts}/{}", mem.id),
            Some(json!({"role": "owner"})),
        )
        .await;
    assert_error(res, StatusCode::BAD_REQUEST, "invalid_input").await;
    let res = app
        .call(
            &own,
            Method::PUT,
            &format!("{parts}/{}", own.id),
            Some(json!({"role": "member"})),
        )
        .await;
    assert_error(res, StatusCode::BAD_REQUEST, "invalid_input").await;
    let stranger = app.person("stranger").await;
    let res = app
        .call(
            &own,
            Method::PUT,
            &format!("{parts}/{}", stranger.id),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_error(res, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn removal_rules_and_a_removed_member_loses_access() {
    let app = TestApp::spawn().await;
    let [own, adm, mem, other] = app.people(["owner", "admin", "member", "other"]).await;
    let g = app.group(&own, "g", &[&adm, &mem, &other]).await;
    let parts = format!("/api/conversations/{g}/participants");
    app.call(
        &own,
        Method::PUT,
        &format!("{parts}/{}", adm.id),
        Some(json!({"role": "admin"})),
    )
    .await;

    let remove = |who, whom: i64| app.call(who, Method::DELETE, &format!("{parts}/{whom}"), None);
    assert_error(
        remove(&mem, other.id).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        remove(&adm, own.id).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        remove(&own, own.id).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(
        remove(&adm, other.id).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        remove(&adm, other.id).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Leaving.
    assert_eq!(remove(&mem, mem.id).await.status(), StatusCode::NO_CONTENT);
    assert_error(
        app.get(&mem, &format!("/api/conversations/{g}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.get(&other, &format!("/api/conversations/{g}/messages"))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert!(app.conversations_of(&other).await.is_empty());
    // Nobody adds themselves back.
    assert_error(
        app.post(&mem, &parts, json!({"user_id": mem.id})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn direct_and_post_linked_conversations_take_no_participant_changes() {
    let app = TestApp::spawn().await;
    let [ann, bob, cat] = app.people(["ann", "bob", "cat"]).await;
    let direct = app.direct(&ann, &bob).await;
    let post: Value = app
        .post(&ann, "/api/posts", json!({"title": "t", "body": "b"}))
        .await
        .json()
        .await
        .unwrap();
    let linked = app
        .conversation(&bob, json!({"kind": "post_linked", "post_id": post["id"]}))
        .await["id"]
        .as_i64()
        .unwrap();
    for id in [direct, linked] {
        let parts = format!("/api/conversations/{id}/participants");
        assert_error(
            app.post(&ann, &parts, json!({"user_id": cat.id})).await,
            StatusCode::BAD_REQUEST,
            "invalid_input",
        )
        .await;
        let res = app
            .call(&ann, Method::DELETE, &format!("{parts}/{}", bob.id), None)
            .await;
        assert_error(res, StatusCode::BAD_REQUEST, "invalid_input").await;
        let res = app
            .call(
                &ann,
                Method::PUT,
                &format!("{parts}/{}", bob.id),
                Some(json!({"role": "admin"})),
            )
            .await;
        assert_error(res, StatusCode::BAD_REQUEST, "invalid_input").await;
    }
}
