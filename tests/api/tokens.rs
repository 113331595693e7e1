//! Tokens are accepted only when signed with the configured key, with HS256, inside their
//! validity window, and while their session exists.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_error, TestApp, TEST_SECRET};

/// The claims of a real token, to re-sign or alter.
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("json")
}

fn sign(claims: &Value, alg: Algorithm, key: &[u8]) -> String {
    encode(&Header::new(alg), claims, &EncodingKey::from_secret(key)).expect("sign")
}

async fn assert_refused(app: &TestApp, token: &str) {
    assert_error(
        app.get_as("/api/me", token).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    let res = app
        .client
        .get(app.url("/api/me"))
        .header("cookie", format!("confab_session={token}"))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

#[tokio::test]
async fn a_token_signed_with_a_guessable_key_is_refused() {
    let app = TestApp::spawn().await;
    let (_, token) = app.register("trent").await;
    // Same claims as a live session: only the key differs.
    let claims = claims_of(&token);
    assert_eq!(
        app.get_as(
            "/api/me",
            &sign(&claims, Algorithm::HS256, TEST_SECRET.as_bytes())
        )
        .await
        .status(),
        StatusCode::OK
    );
    for key in [
        "dev-only-secret-DO-NOT-USE-IN-PRODUCTION",
        "secret",
        "dev-secret",
        "changeme",
        "",
    ] {
        assert_refused(&app, &sign(&claims, Algorithm::HS256, key.as_bytes())).await;
    }
}

#[tokio::test]
async fn other_algorithms_and_unsigned_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let (_, token) = app.register("victor").await;
    let claims = claims_of(&token);
    assert_refused(
        &app,
        &sign(&claims, Algorithm::HS384, TEST_SECRET.as_bytes()),
    )
    .await;
    assert_refused(
        &app,
        &sign(&claims, Algorithm::HS512, TEST_SECRET.as_bytes()),
    )
    .await;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    assert_refused(&app, &format!("{header}.{payload}.")).await;
    // A tampered payload breaks the signature.
    let mut other = claims.clone();
    other["sub"] = json!("999");
    let parts: Vec<&str> = token.split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(other.to_string()),
        parts[2]
    );
    assert_refused(&app, &forged).await;
}

#[tokio::test]
async fn expired_and_not_yet_valid_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let (_, token) = app.register("walter").await;
    let now = chrono::Utc::now().timestamp();
    let mut expired = claims_of(&token);
    expired["exp"] = json!(now - 60);
    assert_refused(
        &app,
        &sign(&expired, Algorithm::HS256, TEST_SECRET.as_bytes()),
    )
    .await;
    let mut early = claims_of(&token);
    early["nbf"] = json!(now + 3600);
    assert_refused(
        &app,
        &sign(&early, Algorithm::HS256, TEST_SECRET.as_bytes()),
    )
    .await;
    let mut no_exp = claims_of(&token);
    no_exp.as_object_mut().unwrap().remove("exp");
    assert_refused(
        &app,
        &sign(&no_exp, Algorithm::HS256, TEST_SECRET.as_bytes()),
    )
    .await;
}

#[tokio::test]
async fn a_well_signed_token_without_a_live_session_is_refused() {
    let app = TestApp::spawn().await;
    let (_, token) = app.register("xena").await;
    let (_, other) = app.register("yusuf").await;
    let mut claims = claims_of(&token);
    claims["jti"] = json!("00000000-0000-0000-0000-000000000000");
    assert_refused(
        &app,
        &sign(&claims, Algorithm::HS256, TEST_SECRET.as_bytes()),
    )
    .await;
    // Another user's session id does not work for this user.
    let mut claims = claims_of(&token);
    claims["jti"] = claims_of(&other)["jti"].clone();
    assert_refused(
        &app,
        &sign(&claims, Algorithm::HS256, TEST_SECRET.as_bytes()),
    )
    .await;
}
