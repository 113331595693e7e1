//! Opening `/ws`: who may, from where, and what they hear first.

use reqwest::StatusCode;

use crate::helpers::TestApp;
use crate::live_helpers::live_app;

fn assert_contract_error(
    status: StatusCode,
    body: &serde_json::Value,
    want: StatusCode,
    code: &str,
) {
    assert_eq!(status, want, "status; body {body}");
    assert_eq!(body["error"]["code"], code, "code in {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "message in {body}"
    );
}

#[tokio::test]
async fn a_handshake_without_a_token_is_refused_with_401_before_the_upgrade() {
    let app = live_app().await;
    let (status, body) = app.refused_handshake(app.ws_request(&[])).await;
    assert_contract_error(status, &body, StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn a_handshake_with_a_bad_token_is_refused_with_401() {
    let app = live_app().await;
    for auth in ["Bearer not-a-jwt", "Bearer ", "Basic YW5uOnB3"] {
        let (status, body) = app
            .refused_handshake(app.ws_request(&[("authorization", auth)]))
            .await;
        assert_contract_error(status, &body, StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    let (status, body) = app
        .refused_handshake(app.ws_request(&[("cookie", "confab_session=forged")]))
        .await;
    assert_contract_error(status, &body, StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn a_handshake_from_a_foreign_origin_is_refused_with_403() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let auth = format!("Bearer {}", ann.token);
    let cookie = format!("confab_session={}", ann.token);
    for origin in ["https://evil.example", "null", "http://127.0.0.1:1"] {
        for credential in [
            ("authorization", auth.as_str()),
            ("cookie", cookie.as_str()),
        ] {
            let request = app.ws_request(&[credential, ("origin", origin)]);
            let (status, body) = app.refused_handshake(request).await;
            assert_contract_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
        }
    }
}

#[tokio::test]
async fn the_sites_own_origin_and_a_configured_origin_may_connect() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let auth = format!("Bearer {}", ann.token);
    let own = app.base.clone();
    for origin in [own.as_str(), "https://friend.example"] {
        let request = app.ws_request(&[("authorization", &auth), ("origin", origin)]);
        app.connect_with(ann.id, request).await.close().await;
    }
}

#[tokio::test]
async fn the_session_cookie_alone_opens_a_socket() {
    let app = live_app().await;
    let ann = app.person("ann").await;
    let cookie = format!("confab_session={}", ann.token);
    let request = app.ws_request(&[("cookie", &cookie), ("origin", &app.base)]);
    let mut socket = app.connect_with(ann.id, request).await;
    // It is a working socket, not only a greeting.
    let bob = app.person("bob").await;
    let conv = app.direct(&bob, &ann).await;
    let sent = app.send(&bob, conv, "over the cookie").await;
    let data = socket.next_event("message:new").await;
    assert_eq!(data["message"]["id"], sent["id"]);
}

#[tokio::test]
async fn the_first_frame_is_connection_established_with_the_user_id() {
    // `connect` asserts the first frame; two devices of one user each get their own.
    let app = TestApp::spawn().await;
    let ann = app.person("ann").await;
    let first = app.connect(&ann).await;
    let second = app.connect(&ann).await;
    assert_eq!(first.user_id, ann.id);
    second.close().await;
    first.close().await;
}
