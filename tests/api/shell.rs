//! The HTTP shell: health, headers, limits, the server-rendered pages and their forms.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_error, TestApp};

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "ready");
}

#[tokio::test]
async fn every_response_carries_security_headers_and_a_request_id() {
    let app = TestApp::spawn().await;
    for path in ["/healthz", "/api/me", "/signin"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        let h = res.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
        assert!(h.contains_key("x-request-id"), "{path}");
        assert!(h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"));
    }
}

#[tokio::test]
async fn the_service_worker_may_reach_its_own_origin_and_nothing_else() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/sw.js")).send().await.unwrap();
    assert_eq!(
        res.headers()["content-security-policy"],
        "default-src 'none'; connect-src 'self'; frame-ancestors 'none'"
    );
}

#[tokio::test]
async fn pages_allow_the_wasm_and_only_their_own_inline_scripts() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/signin")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("'wasm-unsafe-eval'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("nonce")
        .to_owned();
    let html = res.text().await.unwrap();
    assert!(html.contains(&format!("nonce=\"{nonce}\"")));
    assert!(html.contains("/pkg/confab.js"));
    // A second page load gets a different nonce.
    let again = app.client.get(app.url("/signin")).send().await.unwrap();
    assert!(!again.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains(&nonce));
}

#[tokio::test]
async fn the_sign_in_and_sign_up_pages_render_on_the_server() {
    let app = TestApp::spawn().await;
    let html = app
        .client
        .get(app.url("/signin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<label for=\"username\">Username</label>"));
    assert!(html.contains("action=\"/rpc/sign_in\""));
    let html = app
        .client
        .get(app.url("/signup"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Display name"));
    assert!(html.contains("action=\"/rpc/sign_up\""));
}

#[tokio::test]
async fn a_visitor_is_sent_to_sign_in() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/")).send().await.unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(res.headers()["location"], "/signin");
}

#[tokio::test]
async fn the_forms_work_without_javascript() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let origin = app.base.clone();
    let res = browser
        .post(app.url("/rpc/sign_up"))
        .header("origin", &origin)
        .header("accept", "text/html")
        .header("referer", app.url("/signup"))
        .form(&[
            ("username", "wendy"),
            ("display_name", "Wendy Darling"),
            ("password", "neverland"),
        ])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(res.headers()["location"], "/");
    let html = browser
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Wendy Darling"), "{html}");
    assert!(html.contains("No conversations yet."));

    let res = browser
        .post(app.url("/rpc/sign_out"))
        .header("origin", &origin)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection());
    let res = browser.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.headers()["location"], "/signin");

    let res = browser
        .post(app.url("/rpc/sign_in"))
        .header("origin", &origin)
        .header("accept", "text/html")
        .form(&[("username", "wendy"), ("password", "neverland")])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection());
    let html = browser
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Wendy Darling"));
}

#[tokio::test]
async fn server_functions_answer_a_failure_with_its_status() {
    let app = TestApp::spawn().await;
    let [ann, bob, eve] = app.people(["ann", "bob", "eve"]).await;
    let id = app.direct(&ann, &bob).await;
    // As the app's code calls them (it accepts JSON).
    let call = |path: &str, form: &[(&str, &str)]| {
        app.client
            .post(app.url(path))
            .header("origin", &app.base)
            .header("accept", "application/json")
            .form(form)
    };
    let res = call(
        "/rpc/sign_in",
        &[("username", "ann"), ("password", "not the password")],
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("invalid username or password"));
    let id = id.to_string();
    let res = call("/rpc/open_conversation", &[("id", &id)])
        .bearer_auth(&eve.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = call("/rpc/send_message", &[("id", &id), ("body", "   ")])
        .bearer_auth(&ann.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = call("/rpc/open_conversation", &[("id", &id)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // A form posted without JavaScript is still sent back to its page.
    let res = app
        .browser()
        .post(app.url("/rpc/sign_in"))
        .header("origin", &app.base)
        .header("accept", "text/html")
        .header("referer", app.url("/signin"))
        .form(&[("username", "ann"), ("password", "not the password")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let back = res.headers()["location"].to_str().unwrap();
    assert!(back.starts_with(&app.url("/signin?")), "{back}");
    assert!(back.contains("__err="), "{back}");
}

#[tokio::test]
async fn unknown_api_paths_and_methods_get_json_errors() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(app.url("/api/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::NOT_FOUND, "not_found").await;
    let res = app.client.delete(app.url("/api/me")).send().await.unwrap();
    assert_error(res, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    let res = app
        .client
        .get(app.url("/no/such/page"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn cross_site_writes_are_refused_and_configured_origins_allowed() {
    let app = TestApp::spawn().await;
    let body =
        serde_json::json!({"username": "sybil", "display_name": "S", "password": "password123"});
    let res = app
        .client
        .post(app.url("/api/auth/register"))
        .header("origin", "https://evil.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "forbidden").await;
    let res = app
        .client
        .post(app.url("/api/auth/register"))
        .header("origin", "https://friend.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://friend.example"
    );
}

#[tokio::test]
async fn responses_are_compressed_with_zstd_or_gzip_never_brotli() {
    let app = TestApp::spawn().await;
    let (ann, bob) = (app.person("ann").await, app.person("bob").await);
    let id = app.direct(&ann, &bob).await;
    app.send(&bob, id, "the list is long enough to compress")
        .await;
    let get = |encoding: &'static str| {
        app.client
            .get(app.url("/api/conversations"))
            .bearer_auth(&ann.token)
            .header("accept-encoding", encoding)
            .send()
    };
    let plain = get("identity").await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.bytes().await.unwrap();

    // What Chromium asks for: zstd, which decodes to the same document.
    let res = get("gzip, deflate, br, zstd").await.unwrap();
    assert_eq!(res.headers()["content-encoding"], "zstd");
    let body = res.bytes().await.unwrap();
    assert_eq!(zstd::decode_all(&body[..]).unwrap(), plain);

    let res = get("gzip, deflate, br").await.unwrap();
    assert_eq!(res.headers()["content-encoding"], "gzip");
    let res = get("br").await.unwrap();
    assert!(res.headers().get("content-encoding").is_none());

    // Pages too.
    let res = app
        .client
        .get(app.url("/signin"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-encoding"], "gzip");
}

#[tokio::test]
async fn the_signed_in_page_lists_conversations_with_unread_badges() {
    let app = TestApp::spawn().await;
    let (ann, bob) = (app.person("ann").await, app.person("bob").await);
    let id = app.direct(&ann, &bob).await;
    app.send(&bob, id, "are you coming to the reunion?").await;
    let html = app.page_of(&ann, "/").await;
    assert!(
        html.contains("bob Display"),
        "the other person names a direct conversation"
    );
    assert!(html.contains("are you coming to the reunion?"));
    assert!(html.contains("1 unread"));
    assert!(!html.contains("No conversations yet"));
    assert!(
        html.contains("<title>(1) Confab</title>"),
        "the tab counts unread messages"
    );
}
