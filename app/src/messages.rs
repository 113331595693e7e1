//! Server functions of the chat window. They call the same `chat` services as the REST API, as
//! the signed-in caller; live news comes over the socket ([`crate::live`]).

use leptos::prelude::*;
use protocol::{Conversation, Message, Post};
use serde::{Deserialize, Serialize};

/// A conversation as its window opens: who is in it and its newest page of messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Opened {
    pub conversation: Conversation,
    /// Oldest first.
    pub messages: Vec<Message>,
    /// Older messages remain ([`older_messages`]).
    pub has_more: bool,
    /// The help request a post-linked conversation is about, in full.
    pub request: Option<Post>,
}

/// Opens a conversation: the newest page, and the caller has read up to its last message.
#[server(prefix = "/rpc", endpoint = "open_conversation")]
pub async fn open_conversation(id: i64) -> Result<Opened, ServerFnError> {
    use crate::session::server;
    let chat = expect_context::<chat::Chat>();
    let me = server::viewer(&chat).await?.user_id;
    let id = protocol::ConversationId(id);
    // The conversation (its `version`) before the page: the page then holds at least every
    // message up to that version, and the client asks the socket for the changes after it.
    let conversation = chat.conversation(me, id).await.map_err(server::error)?;
    let (messages, has_more) = chat
        .history(me, id, &chat::messages::HistoryQuery::default())
        .await
        .map_err(server::error)?;
    if let Some(last) = messages.last() {
        match chat.mark_read(me, id, last.seq).await {
            // Over their write rate, the caller still reads; the mark moves with the next read.
            Ok(_) | Err(chat::Error::RateLimited { .. }) => {}
            Err(e) => return Err(server::error(e)),
        }
    }
    let request = match &conversation.post {
        Some(post) => Some(chat.post(post.id).await.map_err(server::error)?),
        None => None,
    };
    Ok(Opened {
        conversation,
        messages,
        has_more,
        request,
    })
}

/// The page of messages before `before` (a seq), oldest first, and whether older ones remain.
#[server(prefix = "/rpc", endpoint = "older_messages")]
pub async fn older_messages(id: i64, before: i64) -> Result<(Vec<Message>, bool), ServerFnError> {
    use crate::session::server;
    let chat = expect_context::<chat::Chat>();
    let me = server::viewer(&chat).await?.user_id;
    let query = chat::messages::HistoryQuery {
        before: Some(before),
        ..Default::default()
    };
    chat.history(me, protocol::ConversationId(id), &query)
        .await
        .map_err(server::error)
}

/// Sends a message; `client_id` makes a retry of the same send store it once.
#[server(prefix = "/rpc", endpoint = "send_message")]
pub async fn send_message(
    id: i64,
    body: String,
    client_id: Option<String>,
) -> Result<Message, ServerFnError> {
    use crate::session::server;
    let chat = expect_context::<chat::Chat>();
    let me = server::viewer(&chat).await?.user_id;
    let request = protocol::SendMessage {
        body,
        client_id: client_id.filter(|c| !c.is_empty()),
    };
    chat.send_message(me, protocol::ConversationId(id), request)
        .await
        .map(|sent| sent.message)
        .map_err(server::error)
}

/// Replaces the body of one of the caller's messages.
#[server(prefix = "/rpc", endpoint = "edit_message")]
pub async fn edit_message(id: i64, body: String) -> Result<Message, ServerFnError> {
    use crate::session::server;
    let chat = expect_context::<chat::Chat>();
    let me = server::viewer(&chat).await?.user_id;
    chat.edit_message(me, protocol::MessageId(id), &body)
        .await
        .map_err(server::error)
}

/// Deletes a message: the caller's own, or anyone's in a group the caller runs. `None` when it
/// was deleted already.
#[server(prefix = "/rpc", endpoint = "delete_message")]
pub async fn delete_message(id: i64) -> Result<Option<Message>, ServerFnError> {
    use crate::session::server;
    let chat = expect_context::<chat::Chat>();
    let me = server::viewer(&chat).await?.user_id;
    chat.delete_message(me, protocol::MessageId(id))
        .await
        .map_err(server::error)
}

/// Puts `message` in its place in `messages` (oldest first, by seq): news of one already there
/// (an edit, a deletion, the same message from the socket and the send's answer) replaces it.
pub fn merge(messages: &mut Vec<Message>, message: Message) {
    match messages.binary_search_by_key(&message.seq, |m| m.seq) {
        Ok(at) => messages[at] = message,
        Err(at) => messages.insert(at, message),
    }
}

#[cfg(test)]
mod tests {
    use protocol::{ConversationId, MessageId, UserId};

    use super::*;

    fn message(seq: i64, body: &str) -> Message {
        Message {
            id: MessageId(seq + 100),
            conversation_id: ConversationId(1),
            sender_id: UserId(1),
            client_id: None,
            body: body.to_owned(),
            seq,
            created_at: String::new(),
            edited_at: None,
            deleted: false,
        }
    }

    #[test]
    fn merging_keeps_seq_order_and_replaces_what_is_there() {
        let mut messages = vec![message(1, "a"), message(3, "c")];
        merge(&mut messages, message(4, "d"));
        merge(&mut messages, message(2, "b"));
        merge(&mut messages, message(3, "c, edited"));
        let bodies: Vec<&str> = messages.iter().map(|m| m.body.as_str()).collect();
        assert_eq!(bodies, ["a", "b", "c, edited", "d"]);
    }
}
