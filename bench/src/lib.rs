//! What the `confab-bench` binary and the criterion benches (`benches/`) share.

use std::path::Path;
use std::time::Duration;

use rand::rngs::OsRng;
use rand::RngCore;
use secrecy::SecretString;

/// The server's own settings for a database file, with a fresh random signing key.
pub fn settings(path: &Path) -> chat::Settings {
    let mut key = [0u8; 48];
    OsRng.fill_bytes(&mut key);
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    chat::Settings {
        database_url: format!("sqlite://{}?mode=rwc", path.display()),
        jwt_secret: SecretString::from(hex),
        token_ttl: Duration::from_secs(3600),
        cookie_secure: false,
        trust_forwarded_for: false,
        max_message_chars: 4000,
        max_group_size: 1000,
        // The server's defaults; the benchmarks open no live connection through this.
        presence_grace: Duration::from_secs(3),
        typing_ttl: Duration::from_secs(6),
        max_live_per_user: 32,
        // Seeding writes as fast as it can.
        write_rate: 0,
        write_burst: 0,
        signups_per_hour: 0,
        signup_burst: 0,
        push: None,
    }
}
