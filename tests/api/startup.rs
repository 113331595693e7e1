//! Fail-closed configuration: production never runs without a strong signing key.

use std::process::Command;

use confab::{AppEnv, Application};
use secrecy::SecretString;

use crate::helpers::test_config;

fn production(secret: Option<&str>) -> (confab::Config, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&dir);
    config.app_env = AppEnv::Production;
    config.jwt_secret = secret.map(|s| SecretString::from(s.to_owned()));
    (config, dir)
}

#[tokio::test]
async fn production_without_a_secret_does_not_start() {
    let (config, _dir) = production(None);
    let err = Application::build(config).await.err().expect("refused");
    assert!(err.to_string().contains("JWT_SECRET"), "{err}");
}

#[tokio::test]
async fn a_secret_shorter_than_32_bytes_is_refused() {
    let (config, _dir) = production(Some(&"k".repeat(31)));
    let err = Application::build(config).await.err().expect("refused");
    assert!(err.to_string().contains("32 bytes"), "{err}");
    let (config, _dir) = production(Some(&"k".repeat(32)));
    assert!(Application::build(config).await.is_ok());
}

#[tokio::test]
async fn the_publicly_known_fallback_key_is_refused() {
    let (config, _dir) = production(Some("dev-only-secret-DO-NOT-USE-IN-PRODUCTION"));
    assert!(Application::build(config).await.is_err());
}

#[test]
fn the_binary_exits_non_zero_and_says_what_to_set() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_confab"))
        .env_clear()
        .env("APP_ENV", "production")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/c.db?mode=rwc", dir.path().display()),
        )
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("JWT_SECRET"), "{stderr}");
}

#[tokio::test]
async fn production_cookies_are_secure() {
    let (config, _dir) = production(Some(&"s".repeat(48)));
    let app = Application::build(config).await.unwrap();
    let addr = app.addr();
    tokio::spawn(app.run_until_stopped());
    let res = reqwest::Client::new()
        .post(format!("http://{addr}/api/auth/register"))
        .json(&serde_json::json!({"username": "zoe", "display_name": "Zoe", "password": "password123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert!(res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Secure"));
    assert!(res.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .contains("max-age=31536000"));
}
