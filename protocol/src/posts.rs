use serde::{Deserialize, Serialize};
use std::fmt;

use crate::{text, FieldError, User};

/// A help-request post's id: opaque to clients, a number on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct PostId(pub i64);

impl fmt::Display for PostId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The contract's Post resource: a help request a conversation can be tied to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Post {
    pub id: PostId,
    pub author: User,
    pub title: String,
    pub body: String,
    pub created_at: String,
    /// When its author last changed its title or body (`null`: never). An addition to the
    /// contract's Post.
    pub edited_at: Option<String>,
    /// When its author closed it, having had the help they asked for (`null`: open). Nobody
    /// starts a new conversation about a closed request. An addition to the contract's Post.
    pub closed_at: Option<String>,
    /// How many people have offered help: the conversations about it. An addition to the
    /// contract's Post.
    pub offers: i64,
}

/// `POST /api/posts`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatePost {
    pub title: String,
    pub body: String,
}

/// `PUT /api/posts/:id`: what its author changes; a field left out stays as it is.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdatePost {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// `true` closes the request, `false` opens it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<bool>,
}

/// `GET /api/posts`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostList {
    pub posts: Vec<Post>,
    pub next_cursor: Option<String>,
}

/// Post title: 1–200 characters on one line.
pub fn parse_post_title(raw: &str) -> Result<String, FieldError> {
    text::clean("title", raw, 1, 200, false)
}

/// Post body: 1–10,000 characters, newlines and tabs kept.
pub fn parse_post_body(raw: &str) -> Result<String, FieldError> {
    text::clean("body", raw, 1, 10_000, true)
}
