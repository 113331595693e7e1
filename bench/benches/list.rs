//! The conversation list, the first thing every client loads: `Chat::list_conversations`'s
//! first page for a user in 200 conversations (150 directs, 50 groups of 8), each with a few
//! messages, built through the chat API on a real SQLite file. The page is one query with last
//! message, unread count and participants, so its time is the list's whole server-side cost.

use std::hint::black_box;
use std::time::Duration;

use chat::conversations::ListQuery;
use chat::Chat;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures::future::join_all;
use futures::StreamExt;
use protocol::{ConversationId, ConversationKind, CreateConversation, SendMessage, UserId};

mod fixture;

/// Everyone besides the measured user; directs take the first ones, groups draw from all.
const POOL: usize = 200;
const DIRECTS: usize = 150;
const GROUPS: usize = 50;
const GROUP_SIZE: usize = 8;
const MESSAGES_EACH: usize = 3;

/// Registers the users (argon2 dominates: two at a time, one per core), creates the
/// conversations and their messages. Returns the measured user.
async fn seed(chat: &Chat) -> UserId {
    let me = fixture::register(chat, "focus").await;
    let pool: Vec<UserId> = futures::stream::iter(0..POOL)
        .map(|i| async move { fixture::register(chat, &format!("user-{i:03}")).await })
        .buffered(2)
        .collect()
        .await;

    // Who is in each conversation besides `me`.
    let mut conversations: Vec<(ConversationId, Vec<UserId>)> = Vec::new();
    for &other in &pool[..DIRECTS] {
        let request = CreateConversation {
            kind: ConversationKind::Direct,
            user_id: Some(other),
            title: None,
            user_ids: None,
            post_id: None,
        };
        let (conversation, _) = chat
            .create_conversation(me, request)
            .await
            .expect("creating a direct conversation");
        conversations.push((conversation.id, vec![other]));
    }
    for g in 0..GROUPS {
        let members: Vec<UserId> = (0..GROUP_SIZE - 1)
            .map(|k| pool[(g * (GROUP_SIZE - 1) + k) % POOL])
            .collect();
        let request = CreateConversation {
            kind: ConversationKind::Group,
            user_id: None,
            title: Some(format!("Study group {g}")),
            user_ids: Some(members.clone()),
            post_id: None,
        };
        let (conversation, _) = chat
            .create_conversation(me, request)
            .await
            .expect("creating a group");
        conversations.push((conversation.id, members));
    }

    // A few messages each, from the others then `me`, so pages show last messages and unread
    // counts. Sent all at once per round: group commit makes the seeding quick.
    for round in 0..MESSAGES_EACH {
        let sends = conversations.iter().map(|(id, others)| {
            let sender = if round + 1 == MESSAGES_EACH {
                me
            } else {
                others[round % others.len()]
            };
            let request = SendMessage {
                body: format!("Message {round} about the exercise sheet, see you at the library"),
                client_id: None,
            };
            chat.send_message(sender, *id, request)
        });
        for sent in join_all(sends).await {
            sent.expect("sending a seed message");
        }
    }
    me
}

fn list(c: &mut Criterion) {
    let rt = fixture::runtime();
    let (chat, _dir, me) = rt.block_on(async {
        let (chat, dir) = fixture::start().await;
        let me = seed(&chat).await;
        (chat, dir, me)
    });
    let chat = &chat;
    let query = &ListQuery::default();
    let (page, next) = rt
        .block_on(chat.list_conversations(me, query))
        .expect("listing");
    assert_eq!(page.len(), ListQuery::DEFAULT_LIMIT);
    assert!(next.is_some(), "200 conversations take more than one page");

    let mut group = c.benchmark_group("list");
    // Throughput in conversations shown.
    group.throughput(Throughput::Elements(page.len() as u64));
    group.bench_function("first_page", |b| {
        b.to_async(&rt).iter(|| async move {
            black_box(chat.list_conversations(me, query).await.expect("listing"))
        })
    });
    // What `GET /api/conversations` serves: the page's JSON, written from snapshots.
    group.bench_function("first_page_json", |b| {
        b.to_async(&rt).iter(|| async move {
            black_box(
                chat.list_conversations_json(me, query)
                    .await
                    .expect("listing"),
            )
        })
    });
    // The same page serialized from values, as the endpoint did before.
    group.bench_function("first_page_serialized", |b| {
        b.to_async(&rt).iter(|| async move {
            let (conversations, next_cursor) =
                chat.list_conversations(me, query).await.expect("listing");
            let list = protocol::ConversationList {
                conversations,
                next_cursor,
            };
            black_box(serde_json::to_vec(&list).expect("serializing"))
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    targets = list
}
criterion_main!(benches);
