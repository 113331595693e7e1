use serde::{Deserialize, Serialize};
use std::fmt;

use crate::{text, ConversationId, FieldError, UserId};

/// A message's id: opaque to clients, a number on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct MessageId(pub i64);

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The contract's Message resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub sender_id: UserId,
    pub client_id: Option<String>,
    pub body: String,
    pub seq: i64,
    pub created_at: String,
    pub edited_at: Option<String>,
    pub deleted: bool,
}

/// `POST /api/conversations/:id/messages`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SendMessage {
    pub body: String,
    #[serde(default)]
    pub client_id: Option<String>,
}

/// `PUT /api/messages/:id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EditMessage {
    pub body: String,
}

/// `GET /api/conversations/:id/messages`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessagePage {
    pub messages: Vec<Message>,
    pub has_more: bool,
}

/// A message body: trimmed, 1 to `max` characters, inner newlines and tabs kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBody(String);

impl MessageBody {
    /// The contract's default limit; the server may be configured otherwise.
    pub const DEFAULT_MAX: usize = 4000;

    pub fn parse(raw: &str, max: usize) -> Result<Self, FieldError> {
        text::clean("body", raw, 1, max, true).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The sender's idempotency key for a message: 1–100 characters, no control characters, kept
/// exactly as sent (no trimming: it is compared, never shown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMsgId(String);

impl ClientMsgId {
    pub const MAX: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        if raw.is_empty() || raw.chars().count() > Self::MAX {
            return Err(FieldError::new(
                "client_id",
                format!("must be 1 to {} characters", Self::MAX),
            ));
        }
        if raw.chars().any(char::is_control) {
            return Err(FieldError::new(
                "client_id",
                "must not contain control characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
