//! The list keeps each conversation in memory as it was at a version
//! (`conversations::snapshots`): what it shows must still follow every change, at once, and a
//! page must never mix two versions of one conversation.

#![allow(clippy::unwrap_used)]

mod common;

use chat::conversations::ListQuery;
use chat::Chat;
use protocol::{
    Conversation, ConversationId, ConversationList, CreateConversation, Role, SendMessage, UserId,
};

/// The conversation as `me` sees it, read the three ways the service offers (the list, its
/// JSON as REST serves it, and one conversation), which must agree.
async fn seen(chat: &Chat, me: UserId, id: ConversationId) -> Conversation {
    let one = chat.conversation(me, id).await.unwrap();
    let (page, next_cursor) = chat
        .list_conversations(me, &ListQuery::default())
        .await
        .unwrap();
    let json = chat
        .list_conversations_json(me, &ListQuery::default())
        .await
        .unwrap();
    let list = ConversationList {
        conversations: page,
        next_cursor,
    };
    assert_eq!(
        String::from_utf8(json).unwrap(),
        serde_json::to_string(&list).unwrap(),
        "the list's JSON is the list serialized"
    );
    let listed = list.conversations.into_iter().find(|c| c.id == id).unwrap();
    assert_eq!(listed, one, "the list and the conversation agree");
    one
}

fn member(conversation: &Conversation, user: UserId) -> Option<(Role, i64)> {
    conversation
        .participants
        .iter()
        .find(|p| p.user.id == user)
        .map(|p| (p.role, p.last_read_seq))
}

#[tokio::test]
async fn the_list_follows_every_change_to_the_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let (chat, u) = common::start(&dir.path().join("r.db"), &["ann", "bob", "cat", "dan"]).await;
    let (group, _) = chat
        .create_conversation(u[0], CreateConversation::group("g", vec![u[1], u[2]]))
        .await
        .unwrap();
    let id = group.id;
    assert_eq!(seen(&chat, u[0], id).await.participants.len(), 3);
    // Someone online, so the list's JSON shows presence both ways.
    let _bob = chat
        .live()
        .hub
        .register(u[1], "bob's session", false, 0)
        .expect("no bound");
    let now = seen(&chat, u[0], id).await;
    let online: Vec<bool> = now.participants.iter().map(|p| p.user.online).collect();
    assert_eq!(online, [false, true, false]);

    let send = |who: UserId, text: &str| {
        let request = SendMessage {
            body: text.to_owned(),
            client_id: None,
        };
        chat.send_message(who, id, request)
    };
    send(u[0], "one").await.unwrap();
    let two = send(u[0], "two").await.unwrap().message;
    let now = seen(&chat, u[1], id).await;
    assert_eq!(member(&now, u[0]), Some((Role::Owner, 2)), "a send reads");
    assert_eq!(member(&now, u[1]), Some((Role::Member, 0)));
    assert_eq!(now.last_message.unwrap().body, "two");
    assert_eq!(now.unread_count, 2);

    chat.edit_message(u[0], two.id, "two, edited")
        .await
        .unwrap();
    let last = seen(&chat, u[1], id).await.last_message.unwrap();
    assert_eq!(last.body, "two, edited");
    assert!(last.edited_at.is_some());
    chat.delete_message(u[0], two.id).await.unwrap();
    let now = seen(&chat, u[1], id).await;
    assert!(now.last_message.unwrap().deleted);
    assert_eq!(now.unread_count, 1, "a deleted message is not unread");

    chat.rename_conversation(u[0], id, "h").await.unwrap();
    assert_eq!(seen(&chat, u[2], id).await.title.as_deref(), Some("h"));

    chat.mark_read(u[1], id, 2).await.unwrap();
    assert_eq!(
        member(&seen(&chat, u[0], id).await, u[1]),
        Some((Role::Member, 2))
    );

    chat.set_role(u[0], id, u[2], Role::Admin).await.unwrap();
    assert_eq!(
        member(&seen(&chat, u[1], id).await, u[2]),
        Some((Role::Admin, 0))
    );

    chat.add_participant(u[2], id, u[3], None).await.unwrap();
    let now = seen(&chat, u[0], id).await;
    assert_eq!(member(&now, u[3]), Some((Role::Member, 2)));
    assert_eq!(now.participants.len(), 4);

    chat.remove_participant(u[0], id, u[1]).await.unwrap();
    let now = seen(&chat, u[0], id).await;
    assert_eq!(member(&now, u[1]), None);
    let order: Vec<UserId> = now.participants.iter().map(|p| p.user.id).collect();
    assert_eq!(order, vec![u[0], u[2], u[3]], "still in joining order");
}

/// Everything on a page comes from one version of each conversation: its snapshot (title,
/// last message, participants) and the viewer's own unread count. Here the viewer never reads
/// and only the other person sends, so every message is unread: a page whose snapshot came
/// from a later version than its row would show more messages than unread ones; and the
/// sender's read position moves with each send, in the same transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_never_mixes_versions() {
    let dir = tempfile::tempdir().unwrap();
    let (chat, u) = common::start(&dir.path().join("v.db"), &["ann", "bob"]).await;
    let (direct, _) = chat
        .create_conversation(u[0], CreateConversation::direct(u[1]))
        .await
        .unwrap();
    let id = direct.id;
    const SENDS: i64 = 400;
    let bob = u[1];
    let sender = tokio::spawn({
        let chat = chat.clone();
        async move {
            for i in 0..SENDS {
                let request = SendMessage {
                    body: format!("m{i}"),
                    client_id: None,
                };
                chat.send_message(bob, id, request).await.unwrap();
            }
        }
    });
    let mut pages = 0;
    while !sender.is_finished() {
        let (page, _) = chat
            .list_conversations(u[0], &ListQuery::default())
            .await
            .unwrap();
        let c = &page[0];
        assert_eq!(
            c.unread_count, c.last_seq,
            "the row and the snapshot of one version"
        );
        assert_eq!(member(c, u[1]).unwrap().1, c.last_seq);
        assert_eq!(c.last_message.as_ref().map_or(0, |m| m.seq), c.last_seq);
        pages += 1;
    }
    sender.await.unwrap();
    assert!(pages > 10, "the list ran beside the sends ({pages} pages)");
    assert_eq!(seen(&chat, u[0], id).await.last_seq, SENDS);
}

/// A page with another after it: its JSON names the cursor, as serializing the list does.
#[tokio::test]
async fn the_json_of_a_page_names_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let (chat, u) = common::start(&dir.path().join("p.db"), &["ann", "bob", "cat", "dan"]).await;
    for other in &u[1..] {
        chat.create_conversation(u[0], CreateConversation::direct(*other))
            .await
            .unwrap();
    }
    let query = ListQuery {
        limit: 2,
        ..ListQuery::default()
    };
    let (conversations, next_cursor) = chat.list_conversations(u[0], &query).await.unwrap();
    assert_eq!(conversations.len(), 2);
    assert!(next_cursor.is_some());
    let json = chat.list_conversations_json(u[0], &query).await.unwrap();
    let list = ConversationList {
        conversations,
        next_cursor,
    };
    assert_eq!(json, serde_json::to_vec(&list).unwrap());
}
