//! Help-request posts: a page of them (searched, only the open ones or only the caller's),
//! asking for help, offering it (a conversation with the post's author about it), and the
//! author's edits, closing and reopening. They call the same `chat` services as the REST API.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use protocol::{Post, PostList};
use serde::{Deserialize, Serialize};

/// How many requests a page holds.
pub const PAGE: usize = 30;

/// Which requests `/posts` lists: its query string, `?q=…&show=open|mine`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostsShown {
    /// Words in the title or body.
    pub q: String,
    /// `open` (not closed), `mine` (the caller's own), anything else: all.
    pub show: String,
}

/// A page of requests, newest first; `cursor` is the previous page's `next_cursor`.
#[server(prefix = "/rpc", endpoint = "help_requests", input = Json)]
pub async fn help_requests(
    shown: PostsShown,
    cursor: Option<String>,
) -> Result<PostList, ServerFnError> {
    use crate::session::server;
    let chat = expect_context::<chat::Chat>();
    let me = server::viewer(&chat).await?.user_id;
    let filter = chat::posts::PostFilter {
        q: Some(shown.q),
        author: (shown.show == "mine").then_some(me),
        open: shown.show == "open",
    };
    let (posts, next_cursor) = chat
        .list_posts(&filter, cursor.as_deref(), PAGE)
        .await
        .map_err(server::error)?;
    Ok(PostList { posts, next_cursor })
}

/// Posts a help request as the caller.
#[server(prefix = "/rpc", endpoint = "ask_for_help")]
pub async fn ask_for_help(title: String, body: String) -> Result<Post, ServerFnError> {
    use crate::session::server;
    let chat = expect_context::<chat::Chat>();
    let me = server::viewer(&chat).await?.user_id;
    chat.create_post(me, protocol::CreatePost { title, body })
        .await
        .map_err(server::error)
}

/// Its author closes a request once helped (`closed`), or reopens it. Form fields, so that its
/// buttons work without JavaScript too.
#[server(prefix = "/rpc", endpoint = "close_help_request")]
pub async fn close_help_request(post_id: i64, closed: bool) -> Result<Post, ServerFnError> {
    let change = protocol::UpdatePost {
        closed: Some(closed),
        ..protocol::UpdatePost::default()
    };
    update_help_request(post_id, change).await
}

/// Its author changes a request: a new title or body, or closes (`closed`) or reopens it.
#[server(prefix = "/rpc", endpoint = "update_help_request", input = Json)]
pub async fn update_help_request(
    post_id: i64,
    change: protocol::UpdatePost,
) -> Result<Post, ServerFnError> {
    use crate::session::server;
    let chat = expect_context::<chat::Chat>();
    let me = server::viewer(&chat).await?.user_id;
    chat.update_post(me, protocol::PostId(post_id), change)
        .await
        .map_err(server::error)
}

/// "I can help": the caller's conversation with the post's author about it (the one they
/// have, if any); answers its id. A form posted without JavaScript goes straight to it.
#[server(prefix = "/rpc", endpoint = "offer_help")]
pub async fn offer_help(post_id: i64) -> Result<i64, ServerFnError> {
    use crate::session::server;
    let chat = expect_context::<chat::Chat>();
    let me = server::viewer(&chat).await?.user_id;
    let request = protocol::CreateConversation {
        kind: protocol::ConversationKind::PostLinked,
        user_id: None,
        title: None,
        user_ids: None,
        post_id: Some(protocol::PostId(post_id)),
    };
    let (conversation, _) = chat
        .create_conversation(me, request)
        .await
        .map_err(server::error)?;
    if server::wants_html() {
        leptos_axum::redirect(&format!("/c/{}", conversation.id.0));
    }
    Ok(conversation.id.0)
}
