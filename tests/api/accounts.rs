use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_error, TestApp};

#[tokio::test]
async fn register_returns_user_token_and_http_only_cookie() {
    let app = TestApp::spawn().await;
    let res = app
        .post_json(
            "/api/auth/register",
            &json!({"username": "Alice", "display_name": "  Alice Liddell ", "password": "wonderland", "email": "alice@example.org"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let cookie = res
        .headers()
        .get("set-cookie")
        .expect("cookie")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("confab_session="));
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(cookie.contains("Path=/"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["username"], "Alice");
    assert_eq!(body["user"]["display_name"], "Alice Liddell");
    assert_eq!(body["user"]["online"], false);
    assert!(body["user"]["id"].is_number());
    let token = body["token"].as_str().unwrap();
    assert!(cookie.contains(token));

    let me: Value = app.get_as("/api/me", token).await.json().await.unwrap();
    assert_eq!(me, body["user"]);
}

#[tokio::test]
async fn usernames_are_unique_regardless_of_case() {
    let app = TestApp::spawn().await;
    app.register("carol").await;
    let res = app
        .post_json(
            "/api/auth/register",
            &json!({"username": "CAROL", "display_name": "Other", "password": "password123"}),
        )
        .await;
    assert_error(res, StatusCode::CONFLICT, "conflict").await;
}

#[tokio::test]
async fn bad_registrations_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let ok = json!({"username": "dave", "display_name": "Dave", "password": "password123"});
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"display_name": "Dave", "password": "password123"}),
            "username",
        ),
        (
            json!({"username": "dave", "password": "password123"}),
            "display_name",
        ),
        (
            json!({"username": "dave", "display_name": "Dave"}),
            "password",
        ),
        (
            json!({"username": 42, "display_name": "Dave", "password": "password123"}),
            "username",
        ),
        (
            json!({"username": "dave", "display_name": ["x"], "password": "password123"}),
            "display_name",
        ),
        (
            json!({"username": "dave", "display_name": "Dave", "password": null}),
            "password",
        ),
        (
            json!({"username": "da", "display_name": "Dave", "password": "password123"}),
            "username",
        ),
        (
            json!({"username": "a".repeat(33), "display_name": "Dave", "password": "password123"}),
            "username",
        ),
        (
            json!({"username": "da ve", "display_name": "Dave", "password": "password123"}),
            "username",
        ),
        (
            json!({"username": "_dave", "display_name": "Dave", "password": "password123"}),
            "username",
        ),
        (
            json!({"username": "dave", "display_name": "", "password": "password123"}),
            "display_name",
        ),
        (
            json!({"username": "dave", "display_name": "   ", "password": "password123"}),
            "display_name",
        ),
        (
            json!({"username": "dave", "display_name": "D".repeat(65), "password": "password123"}),
            "display_name",
        ),
        (
            json!({"username": "dave", "display_name": "Da\u{0}ve", "password": "password123"}),
            "display_name",
        ),
        (
            json!({"username": "dave", "display_name": "Dave", "password": ""}),
            "password",
        ),
        (
            json!({"username": "dave", "display_name": "Dave", "password": "short"}),
            "password",
        ),
        (
            json!({"username": "dave", "display_name": "Dave", "password": "p".repeat(129)}),
            "password",
        ),
        (
            json!({"username": "dave", "display_name": "Dave", "password": "password123", "email": "nope"}),
            "email",
        ),
    ];
    for (body, field) in cases {
        let res = app.post_json("/api/auth/register", &body).await;
        let message = assert_error(res, StatusCode::BAD_REQUEST, "invalid_input").await;
        assert!(message.contains(field), "{message:?} should name {field}");
    }
    // Nothing above was stored: the good request still succeeds.
    let res = app.post_json("/api/auth/register", &ok).await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn malformed_and_oversized_bodies_get_contract_errors() {
    let app = TestApp::spawn().await;
    let post_raw = |body: Vec<u8>, content_type: &'static str| {
        app.client
            .post(app.url("/api/auth/register"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let res = post_raw(b"{not json".to_vec(), "application/json")
        .await
        .unwrap();
    assert_error(res, StatusCode::BAD_REQUEST, "invalid_input").await;
    let res = post_raw(b"".to_vec(), "application/json").await.unwrap();
    assert_error(res, StatusCode::BAD_REQUEST, "invalid_input").await;
    let res = post_raw(b"username=x".to_vec(), "text/plain")
        .await
        .unwrap();
    assert_error(res, StatusCode::BAD_REQUEST, "invalid_input").await;
    let res = post_raw(b"[1,2,3]".to_vec(), "application/json")
        .await
        .unwrap();
    assert_error(res, StatusCode::BAD_REQUEST, "invalid_input").await;

    let huge = "x".repeat(1024 * 1024);
    for field in ["username", "display_name", "password"] {
        let mut body =
            json!({"username": "erin", "display_name": "Erin", "password": "password123"});
        body[field] = json!(huge);
        let res = app.post_json("/api/auth/register", &body).await;
        assert_error(res, StatusCode::PAYLOAD_TOO_LARGE, "too_large").await;
    }
    let res = app
        .post_json(
            "/api/auth/login",
            &json!({"username": huge, "password": "x"}),
        )
        .await;
    assert_error(res, StatusCode::PAYLOAD_TOO_LARGE, "too_large").await;

    // Just under the body limit but far over the field limit: a 400 naming the field.
    let mut body = json!({"username": "erin", "display_name": "Erin", "password": "password123"});
    body["display_name"] = json!("y".repeat(60 * 1024));
    let message = assert_error(
        app.post_json("/api/auth/register", &body).await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    )
    .await;
    assert!(message.contains("display_name"));
}

#[tokio::test]
async fn login_succeeds_with_any_case_and_sets_the_cookie() {
    let app = TestApp::spawn().await;
    let (user, _) = app.register("Frank").await;
    let res = app.login("frank", "correct horse battery").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("set-cookie").is_some());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"], user);
    let me: Value = app
        .get_as("/api/me", body["token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "Frank");
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_401() {
    let app = TestApp::spawn().await;
    app.register("grace").await;
    let wrong = assert_error(
        app.login("grace", "wrong password!").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    let unknown = assert_error(
        app.login("nobody", "wrong password!").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_eq!(wrong, unknown);
    let empty = assert_error(
        app.login("grace", "").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_eq!(empty, wrong);
    let res = app
        .post_json("/api/auth/login", &json!({"username": "grace"}))
        .await;
    assert_error(res, StatusCode::BAD_REQUEST, "invalid_input").await;
}

#[tokio::test]
async fn repeated_failures_on_one_account_are_throttled_with_retry_after() {
    let app = TestApp::spawn().await;
    app.register("heidi").await;
    for _ in 0..10 {
        let res = app.login("heidi", "not the password").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = app.login("heidi", "correct horse battery").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    assert_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Other accounts are unaffected.
    app.register("ivan").await;
    assert_eq!(
        app.login("ivan", "correct horse battery").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn one_address_guessing_many_accounts_is_throttled() {
    let app = TestApp::spawn().await;
    app.register("judy").await;
    for i in 0..50 {
        let res = app.login(&format!("ghost{i}"), "not the password").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = app.login("judy", "correct horse battery").await;
    assert_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test]
async fn forwarded_for_is_ignored_unless_trusted() {
    let app = TestApp::spawn().await;
    app.register("mallory").await;
    for i in 0..50 {
        let res = app
            .client
            .post(app.url("/api/auth/login"))
            .header("x-forwarded-for", format!("10.0.0.{i}"))
            .json(&json!({"username": format!("ghost{i}"), "password": "nope-nope"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    // Spoofed addresses changed nothing: the real peer is throttled.
    let res = app.login("mallory", "correct horse battery").await;
    assert_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test]
async fn logout_revokes_the_token_and_clears_the_cookie() {
    let app = TestApp::spawn().await;
    let (_, token) = app.register("niaj").await;
    // Used first, so the session is among those believed live (`accounts::sessions`).
    assert_eq!(app.get_as("/api/me", &token).await.status(), StatusCode::OK);
    let res = app
        .client
        .post(app.url("/api/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("confab_session=;"));
    assert!(cookie.contains("Max-Age=0"));
    assert_error(
        app.get_as("/api/me", &token).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    // Logging out again (or with no token) is harmless.
    let res = app
        .client
        .post(app.url("/api/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn the_cookie_alone_authenticates_a_browser() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let res = browser
        .post(app.url("/api/auth/register"))
        .json(&json!({"username": "olivia", "display_name": "Olivia", "password": "password123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let me: Value = browser
        .get(app.url("/api/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "olivia");
    let res = browser
        .post(app.url("/api/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = browser.get(app.url("/api/me")).send().await.unwrap();
    assert_error(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

#[tokio::test]
async fn me_and_users_need_authentication() {
    let app = TestApp::spawn().await;
    for path in ["/api/me", "/api/users?q=a"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_error(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;
        let res = app.get_as(path, "not-a-jwt").await;
        assert_error(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    }
}

#[tokio::test]
async fn user_search_matches_prefixes_of_username_or_display_name_ignoring_case() {
    let app = TestApp::spawn().await;
    let (_, token) = app.register("peggy").await;
    app.register("Quentin").await;
    let res = app
        .post_json(
            "/api/auth/register",
            &json!({"username": "rupert", "display_name": "Émile Zola", "password": "password123"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    let names = |body: Value| -> Vec<String> {
        body["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_owned())
            .collect()
    };
    let search = |q: &'static str| {
        let app = &app;
        let token = token.clone();
        async move {
            let res = app.get_as(&format!("/api/users?q={q}"), &token).await;
            assert_eq!(res.status(), StatusCode::OK);
            res.json::<Value>().await.unwrap()
        }
    };
    assert_eq!(names(search("qu").await), vec!["Quentin"]);
    assert_eq!(names(search("QUEN").await), vec!["Quentin"]);
    assert_eq!(names(search("%C3%A9mile").await), vec!["rupert"]);
    assert_eq!(names(search("entin").await), Vec::<String>::new());
    let first = &search("pe").await["users"][0];
    assert_eq!(first["display_name"], "peggy Display");
    assert_eq!(first["online"], false);
    assert!(first.get("password_hash").is_none() && first.get("email").is_none());
}

/// Sign-up from a client address (`X-Forwarded-For` behind a trusted proxy): REST or the web
/// app's server function.
async fn sign_up_from(
    app: &TestApp,
    forwarded: &str,
    username: &str,
    rpc: bool,
) -> reqwest::Response {
    let request = if rpc {
        app.client
            .post(app.url("/rpc/sign_up"))
            .header("origin", &app.base)
            .header("accept", "application/json")
            .form(&[
                ("username", username),
                ("display_name", username),
                ("password", "correct horse battery"),
            ])
    } else {
        app.client.post(app.url("/api/auth/register")).json(&json!({
            "username": username,
            "display_name": username,
            "password": "correct horse battery",
        }))
    };
    request
        .header("x-forwarded-for", forwarded)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn sign_ups_past_an_addresses_rate_are_refused_and_this_machine_is_not_bounded() {
    let app = TestApp::spawn_with(|config| {
        config.trust_forwarded_for = true;
        config.signups_per_hour = 60;
        config.signup_burst = 3;
    })
    .await;
    // A burst of three from one address, one of them through the web app.
    for (n, rpc) in [(0, false), (1, true), (2, false)] {
        let res = sign_up_from(&app, "203.0.113.7", &format!("guest{n}"), rpc).await;
        assert!(res.status().is_success(), "{}", res.status());
    }
    // The fourth waits for the next of sixty an hour, over REST and the server function alike,
    // and a first hop the client wrote itself does not make it someone else.
    for (forwarded, rpc) in [
        ("203.0.113.7", false),
        ("198.51.100.9, 203.0.113.7", false),
        ("203.0.113.7", true),
    ] {
        let res = sign_up_from(&app, forwarded, "guest3", rpc).await;
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "{forwarded}");
        let retry_after: u64 = res.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            (50..=60).contains(&retry_after),
            "Retry-After: {retry_after}"
        );
        if !rpc {
            assert_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
        }
    }
    // Nothing was stored: the name is free, and another address takes it.
    let res = sign_up_from(&app, "198.51.100.9", "guest3", false).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    // An invalid sign-up is refused for what it is, and costs the address nothing.
    for _ in 0..4 {
        let res = sign_up_from(&app, "192.0.2.1", "x", false).await;
        assert_error(res, StatusCode::BAD_REQUEST, "invalid_input").await;
    }
    for n in 0..3 {
        let res = sign_up_from(&app, "192.0.2.1", &format!("valid{n}"), false).await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    // This machine (no forwarded address: the peer, loopback) is not bounded.
    for n in 0..5 {
        app.register(&format!("local{n}")).await;
    }
}
