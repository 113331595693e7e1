//! Start-up: fail-closed configuration (production never runs without a strong signing key),
//! and the open files limit raised.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

/// Each connection is a file: a server left at the usual soft limit (1,024) would refuse
/// sockets long before its memory or CPU ran out. The binary is started with a soft limit of
/// 256 (`prlimit`, from util-linux) and must raise it to the hard one.
#[test]
fn the_server_raises_its_open_files_limit_to_the_hard_limit() {
    let (_, hard) = rlimit::Resource::NOFILE.get().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut server = Command::new("prlimit")
        .arg(format!("--nofile=256:{hard}"))
        .arg(env!("CARGO_BIN_EXE_confab"))
        .env("APP_ENV", "development")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/c.db?mode=rwc", dir.path().display()),
        )
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prlimit runs the server");
    // prlimit lowers the limit it inherited, then becomes the server (same process): only
    // once it is the server do its limits tell anything.
    let proc = format!("/proc/{}", server.id());
    let deadline = Instant::now() + Duration::from_secs(20);
    let raised = loop {
        let is_server = std::fs::read_link(format!("{proc}/exe"))
            .is_ok_and(|exe| exe.file_name().is_some_and(|name| name == "confab"));
        let text = std::fs::read_to_string(format!("{proc}/limits")).unwrap_or_default();
        let open_files: Vec<String> = text
            .lines()
            .find(|line| line.starts_with("Max open files"))
            .map(|line| {
                line.split_whitespace()
                    .skip(3)
                    .take(2)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if is_server && open_files == [hard.to_string(), hard.to_string()] {
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(raised, "soft limit not raised to {hard}");
}
