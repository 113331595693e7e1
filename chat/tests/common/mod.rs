//! What the domain tests share: a `Chat` on a fresh SQLite file, with people signed up.

use std::path::Path;
use std::time::Duration;

use chat::{Chat, Settings};
use protocol::{RegisterRequest, UserId};

/// A `Chat` on `db` (created), with one account per name.
#[allow(
    dead_code,
    reason = "each test file compiles this module; the migration test starts its own Chat"
)]
pub async fn start(db: &Path, names: &[&str]) -> (Chat, Vec<UserId>) {
    let chat = Chat::start(&settings(db)).await.expect("chat starts");
    let mut users = Vec::new();
    for name in names {
        let request = RegisterRequest {
            username: (*name).to_owned(),
            display_name: (*name).to_owned(),
            password: "password123".to_owned(),
            email: None,
        };
        users.push(chat.register(request, None).await.expect("sign-up").0.id);
    }
    (chat, users)
}

/// The settings of a `Chat` on `db` (created if missing).
pub fn settings(db: &Path) -> Settings {
    Settings {
        database_url: format!("sqlite://{}?mode=rwc", db.display()),
        jwt_secret: "domain-test-secret-that-is-long-enough-0123"
            .to_owned()
            .into(),
        token_ttl: Duration::from_secs(3600),
        cookie_secure: false,
        trust_forwarded_for: false,
        max_message_chars: 4000,
        max_group_size: 10,
        presence_grace: Duration::from_millis(100),
        typing_ttl: Duration::from_millis(500),
        max_live_per_user: 32,
        write_rate: 0,
        write_burst: 0,
        signups_per_hour: 0,
        signup_burst: 0,
        push: None,
    }
}
