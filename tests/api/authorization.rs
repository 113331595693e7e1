//! The authorization matrix: every conversation endpoint × every kind of caller. Callers who are
//! not participants get 404 (existence never leaks); participants get 403 where their role
//! does not allow the action.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{Person, TestApp};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Caller {
    Anonymous,
    Stranger,
    Removed,
    Member,
    Admin,
    Owner,
}

const CALLERS: [Caller; 6] = [
    Caller::Anonymous,
    Caller::Stranger,
    Caller::Removed,
    Caller::Member,
    Caller::Admin,
    Caller::Owner,
];

struct World {
    app: TestApp,
    group: i64,
    owner: Person,
    admin: Person,
    member: Person,
    removed: Person,
    stranger: Person,
    anonymous: Person,
}

impl World {
    async fn new() -> Self {
        let app = TestApp::spawn().await;
        let [owner, admin, member, removed, stranger] = app
            .people(["owner", "admin", "member", "removed", "stranger"])
            .await;
        let group = app
            .group(&owner, "matrix", &[&admin, &member, &removed])
            .await;
        let parts = format!("/api/conversations/{group}/participants");
        let res = app
            .call(
                &owner,
                Method::PUT,
                &format!("{parts}/{}", admin.id),
                Some(json!({"role": "admin"})),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let res = app
            .call(
                &owner,
                Method::DELETE,
                &format!("{parts}/{}", removed.id),
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let anonymous = Person {
            id: 0,
            token: String::new(),
        };
        Self {
            app,
            group,
            owner,
            admin,
            member,
            removed,
            stranger,
            anonymous,
        }
    }

    fn person(&self, caller: Caller) -> &Person {
        match caller {
            Caller::Anonymous => &self.anonymous,
            Caller::Stranger => &self.stranger,
            Caller::Removed => &self.removed,
            Caller::Member => &self.member,
            Caller::Admin => &self.admin,
            Caller::Owner => &self.owner,
        }
    }

    async fn request(
        &self,
        caller: Caller,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> StatusCode {
        let mut req = self.app.client.request(method, self.app.url(path));
        if caller != Caller::Anonymous {
            req = req.bearer_auth(&self.person(caller).token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        if !status.is_success() {
            let body: Value = res.json().await.unwrap();
            assert!(
                body["error"]["code"].is_string(),
                "contract error body: {body}"
            );
        }
        status
    }
}

/// The expected status for each caller, in `CALLERS` order, outsiders (401/404) filled in.
fn expect(member: u16, admin: u16, owner: u16) -> [u16; 6] {
    [401, 404, 404, member, admin, owner]
}

#[tokio::test]
async fn reading_and_writing_a_group() {
    let w = World::new().await;
    let g = w.group;
    let conv = format!("/api/conversations/{g}");
    let cases: Vec<(Method, String, Option<Value>, [u16; 6])> = vec![
        (Method::GET, conv.clone(), None, expect(200, 200, 200)),
        (
            Method::PUT,
            conv.clone(),
            Some(json!({"title": "renamed"})),
            expect(403, 200, 200),
        ),
        (
            Method::GET,
            format!("{conv}/messages"),
            None,
            expect(200, 200, 200),
        ),
        (
            Method::POST,
            format!("{conv}/messages"),
            Some(json!({"body": "hi"})),
            expect(201, 201, 201),
        ),
        (
            Method::GET,
            format!("{conv}/changes?after=0"),
            None,
            expect(200, 200, 200),
        ),
        (
            Method::POST,
            format!("{conv}/typing"),
            Some(json!({"typing": true})),
            expect(204, 204, 204),
        ),
        (
            Method::POST,
            format!("{conv}/read"),
            Some(json!({"seq": 1})),
            expect(204, 204, 204),
        ),
        (
            Method::PUT,
            format!("{conv}/participants/{}", w.member.id),
            Some(json!({"role": "member"})),
            expect(403, 403, 200),
        ),
    ];
    for (method, path, body, statuses) in cases {
        for (caller, want) in CALLERS.iter().zip(statuses) {
            let got = w
                .request(*caller, method.clone(), &path, body.clone())
                .await;
            assert_eq!(got.as_u16(), want, "{caller:?} {method} {path}");
        }
    }
}

#[tokio::test]
async fn editing_and_deleting_someone_elses_message() {
    let w = World::new().await;
    for (method, body, statuses) in [
        (
            Method::PUT,
            Some(json!({"body": "edited"})),
            [401, 404, 404, 200, 403, 403],
        ),
        (Method::DELETE, None, [401, 404, 404, 204, 204, 204]),
    ] {
        for (caller, want) in CALLERS.iter().zip(statuses) {
            // A fresh message by the member for each caller, so one caller's delete does not
            // decide the next caller's answer.
            let msg = w.app.send(&w.member, w.group, "the member's message").await;
            let path = format!("/api/messages/{}", msg["id"]);
            let got = w
                .request(*caller, method.clone(), &path, body.clone())
                .await;
            assert_eq!(got.as_u16(), want, "{caller:?} {method} {path}");
        }
    }
}

#[tokio::test]
async fn adding_and_removing_people() {
    let w = World::new().await;
    let parts = format!("/api/conversations/{}/participants", w.group);
    for (i, (caller, want)) in CALLERS.iter().zip(expect(403, 201, 201)).enumerate() {
        let newcomer = w.app.person(&format!("newcomer{i}")).await;
        let got = w
            .request(
                *caller,
                Method::POST,
                &parts,
                Some(json!({"user_id": newcomer.id})),
            )
            .await;
        assert_eq!(got.as_u16(), want, "{caller:?} adds");
    }
    for (i, (caller, want)) in CALLERS.iter().zip(expect(403, 204, 204)).enumerate() {
        let target = w.app.person(&format!("target{i}")).await;
        let res = w
            .app
            .post(&w.owner, &parts, json!({"user_id": target.id}))
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let got = w
            .request(
                *caller,
                Method::DELETE,
                &format!("{parts}/{}", target.id),
                None,
            )
            .await;
        assert_eq!(got.as_u16(), want, "{caller:?} removes");
    }
}

#[tokio::test]
async fn outsiders_cannot_tell_a_hidden_conversation_from_a_missing_one() {
    let w = World::new().await;
    let missing = "/api/conversations/987654";
    let hidden = format!("/api/conversations/{}", w.group);
    for caller in [Caller::Stranger, Caller::Removed] {
        let a = w.app.get(w.person(caller), missing).await;
        let b = w.app.get(w.person(caller), &hidden).await;
        assert_eq!(a.status(), b.status());
        assert_eq!(a.text().await.unwrap(), b.text().await.unwrap());
    }
    let msg = w.app.send(&w.member, w.group, "secret").await;
    let res = w
        .app
        .call(
            &w.stranger,
            Method::PUT,
            &format!("/api/messages/{}", msg["id"]),
            Some(json!({"body": "x"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let list: Value = w
        .app
        .get(&w.stranger, "/api/conversations")
        .await
        .json()
        .await
        .unwrap();
    assert!(list["conversations"].as_array().unwrap().is_empty());
}
