//! Typed configuration: flags or environment variables, read once in `main` and passed down.
//! Secrets stay wrapped in `SecretString`. There is no default secret: production refuses to
//! start without a strong one, development makes a random one per start.

use std::net::SocketAddr;
use std::time::Duration;

use clap::builder::TypedValueParser;
use clap::{Parser, ValueEnum};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AppEnv {
    Production,
    Development,
}

/// Keys known from public code (the system we replace shipped the first one as a fallback).
/// Long enough to pass the length rule, so they are refused by name.
const PUBLIC_KEYS: &[&str] = &["dev-only-secret-DO-NOT-USE-IN-PRODUCTION"];

/// Minimum secret length for HS256: the key should be as long as the hash output.
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, Parser)]
#[command(name = "confab", version, about = "Confab chat server")]
pub struct Config {
    /// Database: `sqlite://path?mode=rwc` (the embedded default).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/confab.db?mode=rwc"
    )]
    pub database_url: String,

    /// Signing key for session tokens (HS256), at least 32 bytes. Required in production.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true, value_parser = parse_secret)]
    pub jwt_secret: Option<SecretString>,

    /// `production` enforces a real secret, Secure cookies and JSON logs.
    #[arg(long, env = "APP_ENV", value_enum, default_value = "development")]
    pub app_env: AppEnv,

    /// Address to listen on (port 0 picks a free one).
    #[arg(long, env = "LEPTOS_SITE_ADDR", default_value = "127.0.0.1:3000")]
    pub site_addr: SocketAddr,

    /// Where the built site (WASM, JS, CSS, public files) lives.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: String,

    /// Set by `cargo leptos watch` (`DEV`) to enable live reload.
    #[arg(long, env = "LEPTOS_ENV", default_value = "PROD")]
    pub leptos_env: String,

    /// Port of `cargo leptos watch`'s live-reload socket.
    #[arg(long, env = "LEPTOS_RELOAD_PORT", default_value_t = 3001)]
    pub reload_port: u32,

    /// Other origins (scheme://host[:port]) allowed to call the API with cookies and open sockets.
    #[arg(long, env = "ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// How long a session token lives, in seconds.
    #[arg(long, env = "TOKEN_TTL_SECS", default_value_t = 7 * 24 * 3600)]
    pub token_ttl_secs: u64,

    /// Take the client address from `X-Forwarded-For` (only behind a proxy that sets it).
    #[arg(long, env = "TRUST_FORWARDED_FOR", default_value_t = false)]
    pub trust_forwarded_for: bool,

    /// Mark the session cookie Secure; defaults to on in production.
    #[arg(long, env = "COOKIE_SECURE")]
    pub cookie_secure: Option<bool>,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,

    /// Longest message body, in characters (after trimming).
    #[arg(long, env = "MAX_MESSAGE_CHARS", default_value_t = 4000, value_parser = clap::value_parser!(u32).range(1..=100_000).map(|n: u32| n as usize))]
    pub max_message_chars: usize,

    /// Most people in one group, owner included.
    #[arg(long, env = "MAX_GROUP_SIZE", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(2..=100_000).map(|n: u32| n as usize))]
    pub max_group_size: usize,

    /// How long after a user's last device disconnects they are announced offline (ms), so a
    /// quick reconnect does not flap.
    #[arg(long, env = "PRESENCE_GRACE_MS", default_value_t = 3000)]
    pub presence_grace_ms: u64,

    /// How long a `typing:start` lasts without a `typing:stop` (ms).
    #[arg(long, env = "TYPING_TTL_MS", default_value_t = 6000)]
    pub typing_ttl_ms: u64,

    /// How often the server pings an open WebSocket (ms).
    #[arg(long, env = "WS_HEARTBEAT_MS", default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(100..))]
    pub ws_heartbeat_ms: u64,

    /// A WebSocket that sends nothing, not even a pong, for this long is closed (ms).
    #[arg(long, env = "WS_IDLE_TIMEOUT_MS", default_value_t = 50_000, value_parser = clap::value_parser!(u64).range(100..))]
    pub ws_idle_timeout_ms: u64,

    /// An HTTP connection without a complete request head for this long is closed (ms): the
    /// time a new connection gets to send its first request's headers, and a kept-alive one its
    /// next; a request's body must also arrive within it (slow or silent clients cannot hold
    /// connections open).
    #[arg(long, env = "HTTP_IDLE_TIMEOUT_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(100..))]
    pub http_idle_timeout_ms: u64,

    /// Connections one client address may hold open at once (HTTP, WebSocket and event streams
    /// alike); the next is answered `429 rate_limited` and closed. 0: no bound. Not applied
    /// with `TRUST_FORWARDED_FOR`, where every connection comes from the proxy (bound them
    /// there).
    #[arg(long, env = "MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 1000)]
    pub max_connections_per_address: usize,

    /// Connections the server holds open at once (HTTP, WebSocket and event streams alike);
    /// the next is answered `429 rate_limited` and closed, instead of failing with "too many
    /// open files". 0: the open-files limit less 512 (half of it if that is less).
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 0)]
    pub max_connections: usize,

    /// Live connections (WebSockets and event streams) one user may hold at once; the next
    /// handshake is answered `429 rate_limited`. 0: no bound.
    #[arg(long, env = "MAX_LIVE_CONNECTIONS_PER_USER", default_value_t = 32)]
    pub max_live_connections_per_user: usize,

    /// Writes (messages sent, edited, deleted or read; conversations, members and help
    /// requests changed; typing) one user may make per second, sustained, over REST, server
    /// functions and live connections together; past it, `429 rate_limited` with
    /// `Retry-After`. 0: no bound.
    #[arg(long, env = "USER_WRITE_RATE", default_value_t = 50)]
    pub user_write_rate: u32,

    /// Writes one user may make at once before `USER_WRITE_RATE` applies: a client sending
    /// what it queued offline, or an import, is not refused.
    #[arg(long, env = "USER_WRITE_BURST", default_value_t = 500)]
    pub user_write_burst: u32,

    /// Accounts one client address may create per hour, sustained; past it, `429
    /// rate_limited` with `Retry-After`. The machine itself (loopback) is not bounded: tests
    /// and scripts run there; behind a proxy, `TRUST_FORWARDED_FOR` gives each client its own
    /// address. 0: no bound.
    #[arg(long, env = "SIGNUPS_PER_HOUR", default_value_t = 60)]
    pub signups_per_hour: u32,

    /// Accounts one address may create at once before `SIGNUPS_PER_HOUR` applies: a room of
    /// people signing up together behind one address (an alumni event's Wi-Fi) is not refused.
    #[arg(long, env = "SIGNUP_BURST", default_value_t = 30)]
    pub signup_burst: u32,

    /// Web Push's VAPID private key: base64url of a P-256 key's 32 bytes (`npx web-push
    /// generate-vapid-keys` prints one). Unset: no pushes. Keep it: browsers subscribed with
    /// its public half stop receiving pushes when it changes.
    #[arg(long, env = "VAPID_PRIVATE_KEY", hide_env_values = true, value_parser = parse_secret)]
    pub vapid_private_key: Option<SecretString>,

    /// Who push services may contact about this server's pushes (`mailto:` or `https:`);
    /// required with `VAPID_PRIVATE_KEY`.
    #[arg(long, env = "VAPID_SUBJECT")]
    pub vapid_subject: Option<String>,

    /// The push services the server posts to (hosts, each with its subdomains; `http://host`
    /// allows plain HTTP to one): a subscription elsewhere is refused.
    #[arg(long, env = "PUSH_SERVICES", default_value = chat::push::services::KNOWN)]
    pub push_services: String,
}

fn parse_secret(raw: &str) -> Result<SecretString, String> {
    Ok(SecretString::from(raw.to_owned()))
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "JWT_SECRET is not set. In production Confab needs a signing key of at least \
         {MIN_SECRET_BYTES} bytes: set JWT_SECRET (e.g. `openssl rand -base64 48`)"
    )]
    MissingSecret,
    #[error("JWT_SECRET is {0} bytes; it must be at least {MIN_SECRET_BYTES} bytes")]
    ShortSecret(usize),
    #[error("JWT_SECRET is a publicly known key; set a random one")]
    PublicSecret,
    #[error("VAPID_PRIVATE_KEY is set without VAPID_SUBJECT (e.g. mailto:ops@example.org)")]
    MissingVapidSubject,
    #[error("{0}")]
    BadVapid(String),
}

impl Config {
    /// Defaults for everything, as if started with no flags and an empty environment.
    pub fn defaults() -> Self {
        Self::parse_from(["confab"])
    }

    pub fn is_production(&self) -> bool {
        self.app_env == AppEnv::Production
    }

    /// The signing key to use: the configured one if strong, a fresh random one in development.
    /// Returns whether it was generated so the caller can say so.
    pub fn signing_secret(&self) -> Result<(SecretString, bool), ConfigError> {
        match &self.jwt_secret {
            Some(secret) => {
                let bytes = secret.expose_secret().len();
                if bytes < MIN_SECRET_BYTES {
                    return Err(ConfigError::ShortSecret(bytes));
                }
                if PUBLIC_KEYS.contains(&secret.expose_secret()) {
                    return Err(ConfigError::PublicSecret);
                }
                Ok((secret.clone(), false))
            }
            None if self.is_production() => Err(ConfigError::MissingSecret),
            None => {
                let mut key = [0u8; 48];
                rand::rngs::OsRng.fill_bytes(&mut key);
                let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
                Ok((SecretString::from(hex), true))
            }
        }
    }

    /// Web Push, when a VAPID key is set.
    pub fn push(&self) -> Result<Option<chat::push::PushSettings>, ConfigError> {
        let Some(key) = &self.vapid_private_key else {
            return Ok(None);
        };
        let subject = self
            .vapid_subject
            .clone()
            .ok_or(ConfigError::MissingVapidSubject)?;
        let settings = chat::push::PushSettings {
            vapid_private_key: key.clone(),
            subject,
            services: chat::push::Services::parse(&self.push_services),
        };
        settings.check().map_err(ConfigError::BadVapid)?;
        Ok(Some(settings))
    }

    pub fn token_ttl(&self) -> Duration {
        Duration::from_secs(self.token_ttl_secs.max(60))
    }

    pub fn cookie_secure(&self) -> bool {
        self.cookie_secure.unwrap_or(self.is_production())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(env: AppEnv, secret: Option<&str>) -> Config {
        let mut c = Config::defaults();
        c.app_env = env;
        c.jwt_secret = secret.map(|s| SecretString::from(s.to_owned()));
        c
    }

    #[test]
    fn production_needs_a_secret() {
        assert!(matches!(
            with(AppEnv::Production, None).signing_secret(),
            Err(ConfigError::MissingSecret)
        ));
    }

    #[test]
    fn short_and_public_secrets_are_refused_everywhere() {
        for env in [AppEnv::Production, AppEnv::Development] {
            assert!(matches!(
                with(env, Some("secret")).signing_secret(),
                Err(ConfigError::ShortSecret(6))
            ));
            assert!(matches!(
                with(env, Some(PUBLIC_KEYS[0])).signing_secret(),
                Err(ConfigError::PublicSecret)
            ));
        }
    }

    #[test]
    fn development_generates_a_different_key_each_start() {
        let (a, generated) = with(AppEnv::Development, None).signing_secret().unwrap();
        let (b, _) = with(AppEnv::Development, None).signing_secret().unwrap();
        assert!(generated);
        assert!(a.expose_secret().len() >= MIN_SECRET_BYTES);
        assert_ne!(a.expose_secret(), b.expose_secret());
    }
}
