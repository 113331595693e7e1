//! The real-time channel's frames: `{"event": "<name>", "data": {...}}` JSON text frames, on the
//! WebSocket (`/ws`) and, server → client only, on the Server-Sent Events fallback.

use serde::{Deserialize, Serialize};

use crate::{Conversation, ConversationId, ErrorCode, Message, Post, UserId};

/// What a client may send. Parse frames with [`ClientEvent::parse`], which names the problem
/// (and echoes the `client_id`) instead of failing on the first wrong byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", content = "data")]
pub enum ClientEvent {
    /// The user has this conversation open: they receive its typing events.
    #[serde(rename = "conversation:join")]
    Join { conversation_id: ConversationId },
    #[serde(rename = "conversation:leave")]
    Leave { conversation_id: ConversationId },
    /// Answered by `message:ack` or `error`, both carrying `client_id`.
    #[serde(rename = "message:send")]
    Send {
        conversation_id: ConversationId,
        client_id: String,
        body: String,
    },
    #[serde(rename = "typing:start")]
    TypingStart { conversation_id: ConversationId },
    #[serde(rename = "typing:stop")]
    TypingStop { conversation_id: ConversationId },
    #[serde(rename = "message:read")]
    Read {
        conversation_id: ConversationId,
        seq: i64,
    },
    /// Resume over the socket (an addition to the contract): the changes after `after`,
    /// answered by `changes:page` or `error`, both carrying the optional `client_id`. The same
    /// record as `GET /api/conversations/:id/changes`, without a second connection.
    #[serde(rename = "changes:fetch")]
    FetchChanges {
        conversation_id: ConversationId,
        after: i64,
        #[serde(default)]
        limit: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
    /// The user looks at the help requests (an addition to the contract): this connection
    /// receives `post:updated` until `posts:unwatch` or its end. No data.
    #[serde(rename = "posts:watch")]
    WatchPosts {},
    #[serde(rename = "posts:unwatch")]
    UnwatchPosts {},
}

/// Why a client frame could not be read, with the `client_id` it carried if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    pub message: String,
    pub client_id: Option<String>,
}

/// The envelope, read first so an unknown event or bad data can be told apart.
#[derive(Deserialize)]
struct Envelope {
    event: String,
    #[serde(default)]
    data: serde_json::Value,
}

impl ClientEvent {
    pub const NAMES: [&'static str; 9] = [
        "conversation:join",
        "conversation:leave",
        "message:send",
        "typing:start",
        "typing:stop",
        "message:read",
        "changes:fetch",
        "posts:watch",
        "posts:unwatch",
    ];

    /// Reads one text frame.
    pub fn parse(text: &str) -> Result<Self, FrameError> {
        let envelope: Envelope = serde_json::from_str(text).map_err(|e| FrameError {
            message: format!("frame is not {{\"event\", \"data\"}} JSON: {e}"),
            client_id: None,
        })?;
        let client_id = envelope
            .data
            .get("client_id")
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        if !Self::NAMES.contains(&envelope.event.as_str()) {
            return Err(FrameError {
                message: format!("unknown event \"{}\"", envelope.event),
                client_id,
            });
        }
        let event = envelope.event.clone();
        // No `data` reads as `{}`: the events that need none may leave it out, and the others
        // name their first missing field.
        let data = match envelope.data {
            serde_json::Value::Null => serde_json::json!({}),
            data => data,
        };
        serde_json::from_value(serde_json::json!({"event": envelope.event, "data": data})).map_err(
            |e| FrameError {
                message: format!("invalid data for \"{event}\": {e}"),
                client_id,
            },
        )
    }
}

/// What the server sends. Events about a conversation's history carry that conversation's
/// `version` (an addition to the contract): the number of the change, which a client keeps to
/// resume from and to drop an event it already has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", content = "data")]
pub enum ServerEvent {
    #[serde(rename = "connection:established")]
    ConnectionEstablished { user_id: UserId },
    /// Sent just before the server closes the socket.
    #[serde(rename = "connection:error")]
    ConnectionError { code: ErrorCode, message: String },
    #[serde(rename = "message:ack")]
    MessageAck {
        client_id: String,
        message: Message,
        version: i64,
    },
    #[serde(rename = "message:new")]
    MessageNew { message: Message, version: i64 },
    #[serde(rename = "message:edited")]
    MessageEdited { message: Message, version: i64 },
    #[serde(rename = "message:deleted")]
    MessageDeleted { message: Message, version: i64 },
    #[serde(rename = "message:read")]
    MessageRead {
        conversation_id: ConversationId,
        user_id: UserId,
        seq: i64,
        version: i64,
    },
    #[serde(rename = "typing:start")]
    TypingStart {
        conversation_id: ConversationId,
        user_id: UserId,
    },
    #[serde(rename = "typing:stop")]
    TypingStop {
        conversation_id: ConversationId,
        user_id: UserId,
    },
    #[serde(rename = "user:online")]
    UserOnline { user_id: UserId },
    #[serde(rename = "user:offline")]
    UserOffline { user_id: UserId },
    /// Created, renamed, or its participants changed. A participant who was removed gets it
    /// too, showing them gone.
    #[serde(rename = "conversation:updated")]
    ConversationUpdated { conversation: Conversation },
    /// The user muted or unmuted a conversation: to every connection of theirs, so their other
    /// devices follow at once (nobody else hears of it). News only, in no change record: the
    /// list (`muted`, `muted_until`) tells a client that was away. An addition to the contract.
    #[serde(rename = "conversation:muted")]
    ConversationMuted {
        conversation_id: ConversationId,
        muted: bool,
        muted_until: Option<String>,
    },
    /// A help request was asked, edited, closed or reopened, or someone offered help (its
    /// `offers` grew): to the connections watching help requests (`posts:watch`). News only,
    /// not in any change record: a client that was away reads `GET /api/posts` again.
    #[serde(rename = "post:updated")]
    PostUpdated { post: Post },
    /// The answer to `changes:fetch`: a page of the change record, as REST gives it.
    #[serde(rename = "changes:page")]
    ChangesPage {
        conversation_id: ConversationId,
        #[serde(flatten)]
        page: ChangePage,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        client_id: Option<String>,
    },
    #[serde(rename = "error")]
    Error {
        code: ErrorCode,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        client_id: Option<String>,
    },
}

impl ServerEvent {
    /// The frame's `event` name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ConnectionEstablished { .. } => "connection:established",
            Self::ConnectionError { .. } => "connection:error",
            Self::MessageAck { .. } => "message:ack",
            Self::MessageNew { .. } => "message:new",
            Self::MessageEdited { .. } => "message:edited",
            Self::MessageDeleted { .. } => "message:deleted",
            Self::MessageRead { .. } => "message:read",
            Self::TypingStart { .. } => "typing:start",
            Self::TypingStop { .. } => "typing:stop",
            Self::UserOnline { .. } => "user:online",
            Self::UserOffline { .. } => "user:offline",
            Self::ConversationUpdated { .. } => "conversation:updated",
            Self::ConversationMuted { .. } => "conversation:muted",
            Self::PostUpdated { .. } => "post:updated",
            Self::ChangesPage { .. } => "changes:page",
            Self::Error { .. } => "error",
        }
    }

    /// The frame as JSON text.
    pub fn to_json(&self) -> String {
        // Serialising these types cannot fail: no maps with non-string keys, no custom impls.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// One entry of a conversation's change record, as `GET /api/conversations/:id/changes`
/// returns it: the change's number and the frame a connected client got for it. Messages come
/// as they are now (an edited message shows its latest body, a deleted one none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeEntry {
    pub version: i64,
    #[serde(flatten)]
    pub frame: ServerEvent,
}

/// A page of changes after the version a client holds, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePage {
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub changes: Vec<ChangeEntry>,
    /// More changes follow: ask again after the last `version` of this page.
    pub has_more: bool,
    /// The conversation's latest version now.
    pub version: i64,
}

impl ChangePage {
    /// Cuts the page so that its entries take at most about `max_bytes` of JSON (always keeping
    /// the first): a socket frame has a bound where an HTTP body has none. What is cut is
    /// still to come, so `has_more` is set.
    pub fn fit(&mut self, max_bytes: usize) {
        let mut used = 0;
        let keep = self
            .changes
            .iter()
            .position(|entry| {
                used += serde_json::to_vec(entry).map_or(usize::MAX, |json| json.len() + 1);
                used > max_bytes
            })
            .map_or(self.changes.len(), |cut| cut.max(1));
        if keep < self.changes.len() {
            self.changes.truncate(keep);
            self.has_more = true;
        }
    }
}

/// `POST /api/conversations/:id/typing`: typing from clients without a socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Typing {
    pub typing: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_and_errors_name_the_problem() {
        let send =
            r#"{"event":"message:send","data":{"conversation_id":3,"client_id":"c1","body":"hi"}}"#;
        assert_eq!(
            ClientEvent::parse(send).unwrap(),
            ClientEvent::Send {
                conversation_id: ConversationId(3),
                client_id: "c1".into(),
                body: "hi".into()
            }
        );
        let err = ClientEvent::parse("not json").unwrap_err();
        assert!(err.message.contains("JSON"));
        let err = ClientEvent::parse(r#"{"event":"nope","data":{"client_id":"x"}}"#).unwrap_err();
        assert!(err.message.contains("unknown event"));
        assert_eq!(err.client_id.as_deref(), Some("x"));
        let err = ClientEvent::parse(r#"{"event":"message:send","data":{"client_id":"c2"}}"#)
            .unwrap_err();
        assert!(err.message.contains("conversation_id"), "{}", err.message);
        assert_eq!(err.client_id.as_deref(), Some("c2"));
    }

    #[test]
    fn a_watch_parses_with_or_without_data() {
        for frame in [
            r#"{"event":"posts:watch"}"#,
            r#"{"event":"posts:watch","data":{}}"#,
            r#"{"event":"posts:watch","data":null}"#,
        ] {
            assert_eq!(
                ClientEvent::parse(frame).unwrap(),
                ClientEvent::WatchPosts {}
            );
        }
        assert_eq!(
            ClientEvent::parse(r#"{"event":"posts:unwatch"}"#).unwrap(),
            ClientEvent::UnwatchPosts {}
        );
        let err = ClientEvent::parse(r#"{"event":"message:read"}"#).unwrap_err();
        assert!(err.message.contains("conversation_id"), "{}", err.message);
    }

    #[test]
    fn a_fetch_parses_with_or_without_its_options() {
        let bare = r#"{"event":"changes:fetch","data":{"conversation_id":3,"after":0}}"#;
        assert_eq!(
            ClientEvent::parse(bare).unwrap(),
            ClientEvent::FetchChanges {
                conversation_id: ConversationId(3),
                after: 0,
                limit: 0,
                client_id: None
            }
        );
        let full = r#"{"event":"changes:fetch","data":{"conversation_id":3,"after":9,"limit":5,"client_id":"r1"}}"#;
        assert!(matches!(
            ClientEvent::parse(full).unwrap(),
            ClientEvent::FetchChanges { after: 9, limit: 5, client_id: Some(ref c), .. } if c == "r1"
        ));
        let err =
            ClientEvent::parse(r#"{"event":"changes:fetch","data":{"after":-1,"client_id":"r2"}}"#)
                .unwrap_err();
        assert_eq!(err.client_id.as_deref(), Some("r2"));
    }

    #[test]
    fn a_page_fits_its_bound_and_says_more_follows() {
        let entry = |version| ChangeEntry {
            version,
            frame: ServerEvent::UserOnline {
                user_id: UserId(version),
            },
        };
        let page = ChangePage {
            changes: (1..=10).map(entry).collect(),
            has_more: false,
            version: 10,
        };
        let size = |n: usize| -> usize {
            page.changes[..n]
                .iter()
                .map(|e| serde_json::to_vec(e).unwrap().len() + 1)
                .sum()
        };
        let mut whole = page.clone();
        whole.fit(size(10));
        assert_eq!(whole, page, "a page within the bound is left alone");
        let mut cut = page.clone();
        cut.fit(size(4) - 1);
        assert_eq!(cut.changes, page.changes[..3]);
        assert!(cut.has_more);
        let mut one = page.clone();
        one.fit(1);
        assert_eq!(one.changes.len(), 1, "the first entry always goes");
        assert!(one.has_more);
    }

    #[test]
    fn server_frames_have_the_contract_shape() {
        let frame = ServerEvent::UserOnline { user_id: UserId(7) }.to_json();
        assert_eq!(frame, r#"{"event":"user:online","data":{"user_id":7}}"#);
        let error = ServerEvent::Error {
            code: ErrorCode::InvalidInput,
            message: "m".into(),
            client_id: None,
        };
        assert_eq!(
            error.to_json(),
            r#"{"event":"error","data":{"code":"invalid_input","message":"m"}}"#
        );
    }
}
