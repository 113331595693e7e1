use serde::{Deserialize, Serialize};
use std::fmt;

use crate::{text, FieldError, Message, User, UserId};

/// A conversation's id: opaque to clients, a number on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct ConversationId(pub i64);

impl fmt::Display for ConversationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConversationKind {
    Direct,
    Group,
    PostLinked,
}

impl ConversationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Group => "group",
            Self::PostLinked => "post_linked",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "direct" => Some(Self::Direct),
            "group" => Some(Self::Group),
            "post_linked" => Some(Self::PostLinked),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "owner" => Some(Self::Owner),
            "admin" => Some(Self::Admin),
            "member" => Some(Self::Member),
            _ => None,
        }
    }

    /// Owners and admins manage a group's members and may delete anyone's messages.
    pub fn manages(self) -> bool {
        matches!(self, Self::Owner | Self::Admin)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Participant {
    pub user: User,
    pub role: Role,
    pub last_read_seq: i64,
}

/// The post a post-linked conversation is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostRef {
    pub id: crate::PostId,
    pub title: String,
}

/// The contract's Conversation resource, as seen by one participant (`unread_count` is theirs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conversation {
    pub id: ConversationId,
    pub kind: ConversationKind,
    pub title: Option<String>,
    pub post: Option<PostRef>,
    pub participants: Vec<Participant>,
    pub last_message: Option<Message>,
    pub last_seq: i64,
    pub unread_count: i64,
    /// An addition to the contract: the viewer muted it, so their devices show no
    /// notification and get no push for its messages. The viewer's own, like `unread_count`:
    /// nobody else sees it.
    #[serde(default)]
    pub muted: bool,
    /// An addition to the contract: when the viewer's mute ends by itself; `null` for a mute
    /// that lasts until they unmute, and when not muted.
    #[serde(default)]
    pub muted_until: Option<String>,
    pub updated_at: String,
    /// An addition to the contract: the number of the conversation's latest change (messages,
    /// edits, deletions, receipts, membership). A client that holds it can ask for what
    /// changed since.
    pub version: i64,
}

impl Conversation {
    /// What to call it, as `me` sees it (the web app's list, notifications): a group's title,
    /// a help request's title beside the other person's name, or the other person's name.
    pub fn title_for(&self, me: UserId) -> String {
        let other = || {
            self.participants
                .iter()
                .find(|p| p.user.id != me)
                .map(|p| p.user.display_name.clone())
                .unwrap_or_else(|| "Just you".to_owned())
        };
        match self.kind {
            ConversationKind::Group => self.title.clone().unwrap_or_default(),
            ConversationKind::PostLinked => match &self.post {
                Some(post) => format!("{} · {}", post.title, other()),
                None => other(),
            },
            ConversationKind::Direct => other(),
        }
    }
}

/// `PUT /api/conversations/:id/mute`, an addition to the contract: mutes the conversation for
/// the caller until `until` (RFC 3339, in the future), or with no `until` until they unmute.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MuteConversation {
    #[serde(default)]
    pub until: Option<String>,
}

/// `POST /api/conversations`: `kind` says which of the other fields are read. Flat rather than
/// a tagged enum so that a bad field is named in the error (serde loses the path inside tagged
/// enums).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateConversation {
    pub kind: ConversationKind,
    /// `direct`: the other person.
    #[serde(default)]
    pub user_id: Option<UserId>,
    /// `group`: its title.
    #[serde(default)]
    pub title: Option<String>,
    /// `group`: the first members besides the caller (who becomes the owner).
    #[serde(default)]
    pub user_ids: Option<Vec<UserId>>,
    /// `post_linked`: the post the caller asks about.
    #[serde(default)]
    pub post_id: Option<crate::PostId>,
}

/// What a [`CreateConversation`] asks for, once its fields are checked against its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewConversation {
    Direct {
        user_id: UserId,
    },
    Group {
        title: GroupTitle,
        user_ids: Vec<UserId>,
    },
    PostLinked {
        post_id: crate::PostId,
    },
}

impl CreateConversation {
    pub fn direct(user_id: UserId) -> Self {
        Self::of(ConversationKind::Direct, |c| c.user_id = Some(user_id))
    }

    pub fn group(title: impl Into<String>, user_ids: Vec<UserId>) -> Self {
        Self::of(ConversationKind::Group, |c| {
            c.title = Some(title.into());
            c.user_ids = Some(user_ids);
        })
    }

    pub fn post_linked(post_id: crate::PostId) -> Self {
        Self::of(ConversationKind::PostLinked, |c| c.post_id = Some(post_id))
    }

    fn of(kind: ConversationKind, fill: impl FnOnce(&mut Self)) -> Self {
        let mut request = Self {
            kind,
            user_id: None,
            title: None,
            user_ids: None,
            post_id: None,
        };
        fill(&mut request);
        request
    }

    /// Checks that the fields `kind` needs are there and valid.
    pub fn parse(self) -> Result<NewConversation, FieldError> {
        match self.kind {
            ConversationKind::Direct => Ok(NewConversation::Direct {
                user_id: self.user_id.ok_or_else(|| {
                    FieldError::new("user_id", "is required for a direct conversation")
                })?,
            }),
            ConversationKind::Group => Ok(NewConversation::Group {
                title: GroupTitle::parse(
                    self.title
                        .as_deref()
                        .ok_or_else(|| FieldError::new("title", "is required for a group"))?,
                )?,
                user_ids: self.user_ids.unwrap_or_default(),
            }),
            ConversationKind::PostLinked => Ok(NewConversation::PostLinked {
                post_id: self.post_id.ok_or_else(|| {
                    FieldError::new("post_id", "is required for a post-linked conversation")
                })?,
            }),
        }
    }
}

/// `PUT /api/conversations/:id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenameConversation {
    pub title: String,
}

/// `POST /api/conversations/:id/participants`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddParticipant {
    pub user_id: UserId,
    #[serde(default)]
    pub role: Option<Role>,
}

/// `PUT /api/conversations/:id/participants/:user_id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeRole {
    pub role: Role,
}

/// `POST /api/conversations/:id/read`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MarkRead {
    pub seq: i64,
}

/// `GET /api/conversations`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversationList {
    pub conversations: Vec<Conversation>,
    pub next_cursor: Option<String>,
}

/// A group title: 1–100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupTitle(String);

impl GroupTitle {
    pub const MAX: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        text::clean("title", raw, 1, Self::MAX, false).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
