//! Server functions for conversations. They call the same `chat` services as the REST API, as
//! the signed-in caller.

use leptos::prelude::*;
use protocol::{Conversation, ConversationKind, ConversationList, UserId};

/// The caller's conversations, most recent activity first, filtered like `GET /api/conversations`.
#[server(prefix = "/rpc", endpoint = "conversations")]
pub async fn my_conversations(q: String, unread: bool) -> Result<ConversationList, ServerFnError> {
    use crate::session::server;
    let chat = expect_context::<chat::Chat>();
    let viewer = server::viewer(&chat).await?;
    let query = chat::conversations::ListQuery {
        q: Some(q),
        unread,
        ..Default::default()
    };
    let (conversations, next_cursor) = chat
        .list_conversations(viewer.user_id, &query)
        .await
        .map_err(server::error)?;
    Ok(ConversationList {
        conversations,
        next_cursor,
    })
}

/// What to call a conversation in the list: a group's title, a post's title, or the other
/// person's name.
pub fn display_title(conversation: &Conversation, me: UserId) -> String {
    let other = || {
        conversation
            .participants
            .iter()
            .find(|p| p.user.id != me)
            .map(|p| p.user.display_name.clone())
            .unwrap_or_else(|| "Just you".to_owned())
    };
    match conversation.kind {
        ConversationKind::Group => conversation.title.clone().unwrap_or_default(),
        ConversationKind::PostLinked => match &conversation.post {
            Some(post) => format!("{} · {}", post.title, other()),
            None => other(),
        },
        ConversationKind::Direct => other(),
    }
}
