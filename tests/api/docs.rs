use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::TestApp;

#[tokio::test]
async fn the_openapi_document_describes_every_rest_route() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/api/auth/register", &["post"][..]),
        ("/api/auth/login", &["post"]),
        ("/api/auth/logout", &["post"]),
        ("/api/me", &["get"]),
        ("/api/users", &["get"]),
        ("/api/conversations", &["get", "post"]),
        ("/api/conversations/{id}", &["get", "put"]),
        ("/api/conversations/{id}/messages", &["get", "post"]),
        ("/api/conversations/{id}/read", &["post"]),
        ("/api/conversations/{id}/participants", &["post"]),
        (
            "/api/conversations/{id}/participants/{user_id}",
            &["put", "delete"],
        ),
        ("/api/messages/{id}", &["put", "delete"]),
        ("/api/posts", &["get", "post"]),
        ("/api/posts/{id}", &["get"]),
        ("/api/push/key", &["get"]),
        ("/api/push/subscriptions", &["post", "delete"]),
    ] {
        for method in methods {
            assert!(
                paths[path][method].is_object(),
                "{method} {path} is documented"
            );
        }
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "Conversation",
        "Message",
        "User",
        "Post",
        "ErrorBody",
        "CreateConversation",
        "PushSubscription",
    ] {
        assert!(schemas.contains_key(name), "schema {name}");
    }
}

#[tokio::test]
async fn the_docs_page_lists_the_operations_without_scripts() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/api/docs")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'"));
    let html = res.text().await.unwrap();
    assert!(html.contains("/api/conversations/{id}/messages"));
    assert!(html.contains("<h3>Conversation</h3>"));
    assert!(!html.contains("<script"));
}
