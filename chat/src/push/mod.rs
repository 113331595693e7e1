//! Web Push (RFC 8030, with payloads encrypted per RFC 8291 and signed per RFC 8292): a new
//! message reaches its recipients' subscribed browsers (phones, mostly) even with no page of
//! the app open. Pushes go to every subscription of every participant but the sender; the
//! service worker shows nothing while a page of the app is on screen, as that page shows its
//! own notifications.
//!
//! Best effort, off the path of sends: the announcer hands each new message to a bounded queue
//! (full: the push is dropped, the message is not), and one task posts them to the push
//! services, a few at a time, each with a timeout. A subscription the push service says is gone
//! is forgotten.

mod deliver;
pub mod services;
mod vapid;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::Uri;
use protocol::{FieldError, Message, PushSubscription, UserId};
use secrecy::SecretString;
use web_push_native::Auth;

use crate::storage::now_ms;
use crate::{Chat, Error, Result, Viewer};
pub use services::Services;
pub(crate) use vapid::Vapid;

/// Web Push settings; without them the server pushes nothing.
#[derive(Clone)]
pub struct PushSettings {
    /// The VAPID private key (base64url of the P-256 key's 32 bytes).
    pub vapid_private_key: SecretString,
    /// Who push services may contact: `mailto:` or `https:`.
    pub subject: String,
    /// The push services the server may post to.
    pub services: Services,
}

impl PushSettings {
    /// Whether the key is a P-256 key and the subject an address, so configuration can refuse
    /// them before anything starts.
    pub fn check(&self) -> Result<(), String> {
        Vapid::new(&self.vapid_private_key, &self.subject).map(drop)
    }
}

/// Most subscriptions (browsers) one user keeps; a new one beyond it replaces their oldest.
const MAX_PER_USER: i64 = 20;
/// Longest endpoint taken (the push services' own are under 600 characters).
const MAX_ENDPOINT: usize = 2048;
/// New messages waiting to be pushed; past it, pushes are dropped.
pub(crate) const QUEUE: usize = 4096;

/// A new message for the push task: who to tell.
pub(crate) struct PushJob {
    pub message: Message,
    pub recipients: Vec<UserId>,
}

/// The push side of the service: its identity, the services it may post to, and its client.
pub(crate) struct Push {
    vapid: Vapid,
    services: Services,
    client: reqwest::Client,
    /// Places for pushes waiting to be tried again (`deliver::RETRIES_WAITING`).
    retries: std::sync::Arc<tokio::sync::Semaphore>,
}

impl Push {
    pub(crate) fn new(settings: &PushSettings) -> Result<Self> {
        let vapid =
            Vapid::new(&settings.vapid_private_key, &settings.subject).map_err(Error::Internal)?;
        let client = reqwest::Client::builder()
            // An endpoint's redirect could lead anywhere; the list is checked once, here.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(std::time::Duration::from_secs(5))
            .timeout(std::time::Duration::from_secs(10))
            .user_agent("confab")
            .build()
            .map_err(Error::internal)?;
        Ok(Self {
            vapid,
            services: settings.services.clone(),
            client,
            retries: std::sync::Arc::new(tokio::sync::Semaphore::new(deliver::RETRIES_WAITING)),
        })
    }
}

/// Where the server may post for a subscription: its endpoint, if it is a known push service's.
fn endpoint(endpoint: &str, services: &Services) -> Option<Uri> {
    (endpoint.len() <= MAX_ENDPOINT)
        .then(|| endpoint.parse::<Uri>().ok())
        .flatten()
        .filter(|uri| services.allow(uri))
}

/// The browser's P-256 public key, from base64url (padded or not).
fn browser_key(p256dh: &str) -> Option<p256::PublicKey> {
    let bytes = URL_SAFE_NO_PAD.decode(p256dh.trim_end_matches('=')).ok()?;
    p256::PublicKey::from_sec1_bytes(&bytes).ok()
}

/// The browser's 16-byte authentication secret, from base64url (padded or not).
fn browser_secret(auth: &str) -> Option<Auth> {
    let bytes = URL_SAFE_NO_PAD.decode(auth.trim_end_matches('=')).ok()?;
    <[u8; 16]>::try_from(bytes).ok().map(Auth::from)
}

/// A subscription's fields, checked as every push reads them again: an endpoint the server
/// may post to, and keys that decode to a P-256 point and a 16-byte secret.
fn check(subscription: &PushSubscription, services: &Services) -> Result<()> {
    if endpoint(&subscription.endpoint, services).is_none() {
        return Err(
            FieldError::new("endpoint", "is not the address of a known push service").into(),
        );
    }
    if browser_key(&subscription.keys.p256dh).is_none() {
        return Err(
            FieldError::new("keys.p256dh", "is not a P-256 public key in base64url").into(),
        );
    }
    if browser_secret(&subscription.keys.auth).is_none() {
        return Err(FieldError::new("keys.auth", "is not 16 bytes in base64url").into());
    }
    Ok(())
}

impl Chat {
    fn push(&self) -> Result<&Push> {
        self.inner
            .push
            .as_ref()
            .ok_or(Error::NotFound("push notifications on this server"))
    }

    /// The key browsers subscribe with; `NotFound` when this server does not push.
    pub fn push_key(&self) -> Result<String> {
        Ok(self.push()?.vapid.public_key().to_owned())
    }

    /// Pushes new messages to `viewer`'s browser at `subscription` until they sign out of this
    /// session or unsubscribe. An endpoint already known (the browser signed in as someone
    /// else) becomes theirs.
    pub async fn subscribe_push(
        &self,
        viewer: &Viewer,
        subscription: PushSubscription,
    ) -> Result<()> {
        self.pace(viewer.user_id)?;
        check(&subscription, &self.push()?.services)?;
        let mut write = self.db().write.acquire().await?;
        sqlx::query(
            "INSERT INTO push_subscriptions (endpoint, user_id, session_id, p256dh, auth, created_at) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (endpoint) DO UPDATE SET \
             user_id = excluded.user_id, session_id = excluded.session_id, \
             p256dh = excluded.p256dh, auth = excluded.auth, created_at = excluded.created_at",
        )
        .bind(&subscription.endpoint)
        .bind(viewer.user_id.0)
        .bind(&viewer.session_id)
        .bind(subscription.keys.p256dh.trim_end_matches('='))
        .bind(subscription.keys.auth.trim_end_matches('='))
        .bind(now_ms())
        .execute(&mut *write)
        .await?;
        sqlx::query(
            "DELETE FROM push_subscriptions WHERE user_id = ? AND endpoint NOT IN \
             (SELECT endpoint FROM push_subscriptions WHERE user_id = ? \
              ORDER BY created_at DESC LIMIT ?)",
        )
        .bind(viewer.user_id.0)
        .bind(viewer.user_id.0)
        .bind(MAX_PER_USER)
        .execute(&mut *write)
        .await?;
        Ok(())
    }

    /// Stops pushing to `endpoint`, if it is `viewer`'s (anyone else's is left alone, and the
    /// answer is the same).
    pub async fn unsubscribe_push(&self, viewer: &Viewer, endpoint: &str) -> Result<()> {
        self.pace(viewer.user_id)?;
        self.push()?;
        sqlx::query("DELETE FROM push_subscriptions WHERE endpoint = ? AND user_id = ?")
            .bind(endpoint)
            .bind(viewer.user_id.0)
            .execute(&mut *self.db().write.acquire().await?)
            .await?;
        Ok(())
    }
}
