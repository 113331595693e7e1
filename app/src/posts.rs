//! Help-request posts: the newest ones, asking for help, and offering it (a conversation with
//! the post's author about it). They call the same `chat` services as the REST API.

use leptos::prelude::*;
use protocol::Post;

/// How many of the newest requests the page shows.
pub const SHOWN: usize = 30;

/// The newest help requests, newest first.
#[server(prefix = "/rpc", endpoint = "help_requests")]
pub async fn help_requests() -> Result<Vec<Post>, ServerFnError> {
    use crate::session::server;
    let chat = expect_context::<chat::Chat>();
    server::viewer(&chat).await?;
    let (posts, _) = chat.list_posts(None, SHOWN).await.map_err(server::error)?;
    Ok(posts)
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

/// "I can help": the caller's conversation with the post's author about it (the one they
/// have, if any); answers its id.
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
    Ok(conversation.id.0)
}
