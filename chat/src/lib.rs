//! Confab's server-side domain. Everything that decides who may do what, and what is stored,
//! lives here; the HTTP host and the Leptos server functions are thin callers of [`Chat`].
//!
//! Layout:
//! - [`storage`]: the database pools and embedded migrations.
//! - [`accounts`]: registration, sign-in, sessions (JWT + revocable session rows), user search.
//! - [`posts`]: help-request posts.
//! - [`conversations`]: direct, group and post-linked conversations, the list, participants.
//! - [`messages`]: sending (gap-free `seq`, idempotent `client_id`), history, edits, read state.
//! - [`changes`]: the per-conversation change record that resuming clients read.
//! - [`live`]: the hub that carries committed changes to connected clients; presence, typing.
//! - [`error`]: the crate's one error type, which knows its contract code.
//! - [`web`]: token extraction, the session cookie, client addresses.

/// Users, passwords, tokens and sign-in throttling.
pub mod accounts;
/// Every change to a conversation, numbered per conversation.
pub mod changes;
/// Conversations and their participants.
pub mod conversations;
/// The crate's error type and its mapping to contract codes.
pub mod error;
/// The per-user bound on writes.
mod limits;
/// Live news for connected clients: the hub, presence and typing.
pub mod live;
/// Messages and read state.
pub mod messages;
/// Help-request posts.
pub mod posts;
/// Web Push to subscribed browsers.
pub mod push;
/// Connection pools and migrations.
pub mod storage;
/// Token, cookie and client-address helpers shared by REST handlers and server functions.
pub mod web;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use protocol::UserId;
use secrecy::SecretString;

pub use accounts::{Session, Viewer};
pub use error::{Error, Result};
pub use storage::Db;

/// What the domain needs from configuration; built once by the host.
#[derive(Clone)]
pub struct Settings {
    pub database_url: String,
    pub jwt_secret: SecretString,
    pub token_ttl: Duration,
    /// Mark the session cookie `Secure` (served over https).
    pub cookie_secure: bool,
    /// Believe `X-Forwarded-For` (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// Longest message body, in characters.
    pub max_message_chars: usize,
    /// Most people in one group.
    pub max_group_size: usize,
    /// How long after their last device goes a user is announced offline.
    pub presence_grace: Duration,
    /// How long a `typing:start` lasts without a `typing:stop`.
    pub typing_ttl: Duration,
    /// Most live connections (sockets and event streams) one user holds at once; 0: no bound.
    /// Every message goes to each of them, so without a bound one account multiplies the
    /// server's work at will.
    pub max_live_per_user: usize,
    /// Writes one user may make per second, sustained, on every transport together; 0: no
    /// bound ([`limits`]).
    pub write_rate: u32,
    /// Writes one user may make at once before the sustained rate applies.
    pub write_burst: u32,
    /// Accounts one client address may create per hour, sustained; 0: no bound. The machine
    /// itself is not bounded ([`limits`]).
    pub signups_per_hour: u32,
    /// Accounts one address may create at once before the hourly rate applies.
    pub signup_burst: u32,
    /// Web Push; `None`: the server pushes nothing.
    pub push: Option<push::PushSettings>,
}

/// The domain's services: cheap to clone, shared by REST handlers, sockets and server functions.
#[derive(Clone)]
pub struct Chat {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    db: Db,
    accounts: accounts::Accounts,
    /// Shared with the thread that announces batches of sends (`messages::send`).
    live: Arc<live::Live>,
    /// Conversations as they were at a version, for the list (`conversations::snapshots`).
    snapshots: conversations::Snapshots,
    /// The queue of the writer thread that stores sends in batches (`messages::send`).
    sends: tokio::sync::mpsc::Sender<messages::SendJob>,
    /// Each user's bucket of writes.
    writes: limits::Buckets<UserId>,
    /// Each client address's bucket of sign-ups.
    signups: limits::Buckets<IpAddr>,
    /// Web Push, when set up.
    push: Option<push::Push>,
}

impl Chat {
    /// Connects to the database (applying migrations) and readies the services.
    pub async fn start(settings: &Settings) -> Result<Self> {
        let (db, batches) = Db::connect(&settings.database_url).await?;
        let accounts = accounts::Accounts::new(&settings.jwt_secret, settings.token_ttl);
        let (sends, send_queue) = tokio::sync::mpsc::channel(messages::SEND_QUEUE);
        let push = settings.push.as_ref().map(push::Push::new).transpose()?;
        let chat = Self {
            inner: Arc::new(Inner {
                settings: settings.clone(),
                db,
                accounts,
                live: Arc::default(),
                snapshots: conversations::Snapshots::new(),
                sends,
                writes: limits::Buckets::new(
                    settings.write_rate,
                    Duration::from_secs(1),
                    settings.write_burst,
                ),
                signups: limits::Buckets::new(
                    settings.signups_per_hour,
                    Duration::from_secs(3600),
                    settings.signup_burst,
                ),
                push,
            }),
        };
        tokio::spawn(chat.clone().expire_typing());
        tokio::spawn(chat.clone().sweep_limits());
        if chat.inner.push.is_some() {
            let (pushes, jobs) = tokio::sync::mpsc::channel(push::QUEUE);
            let _ = chat.live().pushes.set(pushes);
            tokio::spawn(chat.clone().deliver_pushes(jobs));
        }
        chat.start_writer(batches, send_queue)?;
        Ok(chat)
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    pub fn accounts(&self) -> &accounts::Accounts {
        &self.inner.accounts
    }

    fn snapshots(&self) -> &conversations::Snapshots {
        &self.inner.snapshots
    }

    fn sends(&self) -> &tokio::sync::mpsc::Sender<messages::SendJob> {
        &self.inner.sends
    }
}
