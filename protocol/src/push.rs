//! Web Push: a browser's subscription, so new messages reach it with no page of the app open.
//! An addition to the contract.

use serde::{Deserialize, Serialize};

use crate::{Conversation, ConversationKind, Message, UserId};

/// `GET /api/push/key`: the server's VAPID public key, the `applicationServerKey` a browser's
/// `pushManager.subscribe` takes (base64url of the uncompressed P-256 point, no padding).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushKey {
    pub public_key: String,
}

/// `POST /api/push/subscriptions`: a `PushSubscription` as the browser's `toJSON()` gives it
/// (`expirationTime` and other fields are ignored).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushSubscription {
    /// The push service's URL for this browser.
    pub endpoint: String,
    pub keys: PushKeys,
}

/// The browser's keys for encrypting what is pushed to it (RFC 8291), base64url.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushKeys {
    /// Its P-256 public key (65 bytes, uncompressed).
    pub p256dh: String,
    /// Its authentication secret (16 bytes).
    pub auth: String,
}

/// `DELETE /api/push/subscriptions`: the endpoint to stop pushing to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushEndpoint {
    pub endpoint: String,
}

/// What a push carries, encrypted: the notification to show. The page's own notifications are
/// made the same way, so one replaces the other (`tag`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushNotification {
    /// The conversation as the recipient's list names it.
    pub title: String,
    /// The message's start (in a group, after its sender's name).
    pub body: String,
    /// `conversation-{id}`: one notification per conversation.
    pub tag: String,
    /// The app's path to open on a click: `/c/{id}`.
    pub path: String,
}

impl PushNotification {
    /// Characters of a message a notification shows.
    const BODY_CHARS: usize = 200;

    /// The notification `me` gets for `message` in `conversation`: named as their list names
    /// it, with the sender's name before the text in a group.
    pub fn of(conversation: &Conversation, message: &Message, me: UserId) -> Self {
        let sender = conversation
            .participants
            .iter()
            .find(|p| p.user.id == message.sender_id)
            .map(|p| p.user.display_name.as_str());
        let body = match (conversation.kind, sender) {
            (ConversationKind::Group, Some(sender)) => format!("{sender}: {}", message.body),
            _ => message.body.clone(),
        };
        Self::about(message, conversation.title_for(me), &body)
    }

    /// The notification for `message` when its conversation cannot be read: "New message".
    pub fn unnamed(message: &Message) -> Self {
        Self::about(message, "New message".to_owned(), &message.body)
    }

    fn about(message: &Message, title: String, body: &str) -> Self {
        let id = message.conversation_id;
        Self {
            title,
            body: body.chars().take(Self::BODY_CHARS).collect(),
            tag: format!("conversation-{id}"),
            path: format!("/c/{id}"),
        }
    }
}
