//! Server functions for conversations. They call the same `chat` services as the REST API, as
//! the signed-in caller.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use protocol::{Conversation, ConversationList, User};
#[cfg(feature = "ssr")]
use protocol::{ConversationKind, UserId};

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

/// People whose username or display name starts with `q` (any case), to start a conversation
/// with; the caller is left out.
#[server(prefix = "/rpc", endpoint = "find_people")]
pub async fn find_people(q: String) -> Result<Vec<User>, ServerFnError> {
    use crate::session::server;
    let chat = expect_context::<chat::Chat>();
    let me = server::viewer(&chat).await?.user_id;
    let mut people = chat.search_users(&q).await.map_err(server::error)?;
    people.retain(|user| user.id != me);
    Ok(people)
}

/// Starts a conversation and answers its id: without a title, the direct conversation with the
/// one person in `user_ids` (the existing one, if they have one); with a title, a new group of
/// the caller (its owner) and `user_ids`. JSON: a list does not fit a URL-encoded form.
#[server(prefix = "/rpc", endpoint = "start_conversation", input = Json)]
pub async fn start_conversation(user_ids: Vec<i64>, title: String) -> Result<i64, ServerFnError> {
    use crate::session::server;
    use protocol::CreateConversation;
    let chat = expect_context::<chat::Chat>();
    let me = server::viewer(&chat).await?.user_id;
    let mut user_ids: Vec<UserId> = user_ids.into_iter().map(UserId).collect();
    let request = if title.trim().is_empty() && user_ids.len() == 1 {
        CreateConversation {
            kind: ConversationKind::Direct,
            user_id: user_ids.pop(),
            title: None,
            user_ids: None,
            post_id: None,
        }
    } else {
        CreateConversation {
            kind: ConversationKind::Group,
            user_id: None,
            title: Some(title),
            user_ids: Some(user_ids),
            post_id: None,
        }
    };
    let (conversation, _) = chat
        .create_conversation(me, request)
        .await
        .map_err(server::error)?;
    Ok(conversation.id.0)
}

/// Renames a group (its owner or an admin); answers it as it now is.
#[server(prefix = "/rpc", endpoint = "rename_group")]
pub async fn rename_group(id: i64, title: String) -> Result<Conversation, ServerFnError> {
    use crate::session::server;
    let chat = expect_context::<chat::Chat>();
    let me = server::viewer(&chat).await?.user_id;
    chat.rename_conversation(me, protocol::ConversationId(id), &title)
        .await
        .map_err(server::error)
}

/// Adds someone to a group as a member (its owner or an admin); answers it as it now is.
#[server(prefix = "/rpc", endpoint = "add_member")]
pub async fn add_member(id: i64, user_id: i64) -> Result<Conversation, ServerFnError> {
    use crate::session::server;
    let chat = expect_context::<chat::Chat>();
    let me = server::viewer(&chat).await?.user_id;
    chat.add_participant(me, protocol::ConversationId(id), UserId(user_id), None)
        .await
        .map_err(server::error)
}

/// Makes a member of a group an admin, or an admin a member again (its owner only); answers it
/// as it now is.
#[server(prefix = "/rpc", endpoint = "set_member_role")]
pub async fn set_member_role(
    id: i64,
    user_id: i64,
    admin: bool,
) -> Result<Conversation, ServerFnError> {
    use crate::session::server;
    use protocol::Role;
    let chat = expect_context::<chat::Chat>();
    let me = server::viewer(&chat).await?.user_id;
    let role = if admin { Role::Admin } else { Role::Member };
    chat.set_role(me, protocol::ConversationId(id), UserId(user_id), role)
        .await
        .map_err(server::error)
}

/// Takes someone out of a group (its owner or an admin), or the caller themselves (leaving).
#[server(prefix = "/rpc", endpoint = "remove_member")]
pub async fn remove_member(id: i64, user_id: i64) -> Result<(), ServerFnError> {
    use crate::session::server;
    let chat = expect_context::<chat::Chat>();
    let me = server::viewer(&chat).await?.user_id;
    chat.remove_participant(me, protocol::ConversationId(id), UserId(user_id))
        .await
        .map_err(server::error)
}

/// One of the caller's conversations, for a notification about one the loaded list does not
/// hold (filtered out, further down, or started since it loaded).
#[server(prefix = "/rpc", endpoint = "conversation_to_notify")]
pub async fn conversation_to_notify(id: i64) -> Result<Conversation, ServerFnError> {
    use crate::session::server;
    let chat = expect_context::<chat::Chat>();
    let me = server::viewer(&chat).await?.user_id;
    chat.conversation(me, protocol::ConversationId(id))
        .await
        .map_err(server::error)
}

/// Mutes a conversation for the caller: for `minutes`, or until they unmute. The time is the
/// server's, so a phone's wrong clock cannot make a mute end early or late.
#[server(prefix = "/rpc", endpoint = "mute_conversation")]
pub async fn mute_conversation(
    id: i64,
    minutes: Option<u32>,
) -> Result<Conversation, ServerFnError> {
    use crate::session::server;
    use chat::storage::{now_ms, rfc3339};
    let chat = expect_context::<chat::Chat>();
    let me = server::viewer(&chat).await?.user_id;
    let request = protocol::MuteConversation {
        until: minutes.map(|m| rfc3339(now_ms() + i64::from(m) * 60_000)),
    };
    chat.mute_conversation(me, protocol::ConversationId(id), &request)
        .await
        .map_err(server::error)
}

/// Ends the caller's mute of a conversation.
#[server(prefix = "/rpc", endpoint = "unmute_conversation")]
pub async fn unmute_conversation(id: i64) -> Result<Conversation, ServerFnError> {
    use crate::session::server;
    let chat = expect_context::<chat::Chat>();
    let me = server::viewer(&chat).await?.user_id;
    chat.unmute_conversation(me, protocol::ConversationId(id))
        .await
        .map_err(server::error)
}
