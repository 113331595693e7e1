//! Property test: random sequences of sends, reads, edits and deletions by three people in one
//! group, against a real SQLite database, keep the invariants the contract promises.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use chat::conversations::ListQuery;
use chat::messages::HistoryQuery;
use chat::Chat;
use proptest::prelude::*;
use protocol::{
    ConversationId, CreateConversation, MessageId, RegisterRequest, SendMessage, UserId,
};

#[derive(Debug, Clone)]
enum Op {
    Send { who: usize, client_id: Option<u8> },
    Read { who: usize, seq: i64 },
    Edit { who: usize, nth: usize },
    Delete { who: usize, nth: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3usize, proptest::option::of(0..6u8)).prop_map(|(who, client_id)| Op::Send { who, client_id }),
        3 => (0..3usize, -2..30i64).prop_map(|(who, seq)| Op::Read { who, seq }),
        1 => (0..3usize, 0..30usize).prop_map(|(who, nth)| Op::Edit { who, nth }),
        1 => (0..3usize, 0..30usize).prop_map(|(who, nth)| Op::Delete { who, nth }),
    ]
}

async fn start(dir: &tempfile::TempDir) -> (Chat, Vec<UserId>, ConversationId) {
    let (chat, users) = common::start(&dir.path().join("p.db"), &["ann", "bob", "cat"]).await;
    let (group, _) = chat
        .create_conversation(
            users[0],
            CreateConversation::group("g", users[1..].to_vec()),
        )
        .await
        .unwrap();
    (chat, users, group.id)
}

/// Everything a participant can see, checked against the rules.
async fn check(
    chat: &Chat,
    users: &[UserId],
    id: ConversationId,
    last_read: &mut HashMap<UserId, i64>,
) {
    let mut all = Vec::new();
    let mut before = None;
    loop {
        let query = HistoryQuery { before, limit: 100 };
        let (page, more) = chat.history(users[0], id, &query).await.unwrap();
        before = page.first().map(|m| m.seq);
        all.splice(0..0, page);
        if !more {
            break;
        }
    }
    let seqs: Vec<i64> = all.iter().map(|m| m.seq).collect();
    let expected: Vec<i64> = (1..=i64::try_from(all.len()).unwrap()).collect();
    assert_eq!(seqs, expected, "seq is 1, 2, 3… with no gap");

    for &user in users {
        let conversation = chat.conversation(user, id).await.unwrap();
        assert_eq!(conversation.last_seq, i64::try_from(all.len()).unwrap());
        let me = conversation
            .participants
            .iter()
            .find(|p| p.user.id == user)
            .unwrap();
        let previous = last_read.insert(user, me.last_read_seq).unwrap_or(0);
        assert!(
            me.last_read_seq >= previous,
            "last_read_seq never goes back"
        );
        assert!(me.last_read_seq <= conversation.last_seq);
        let unread = all
            .iter()
            .filter(|m| m.seq > me.last_read_seq && m.sender_id != user && !m.deleted)
            .count();
        assert!(conversation.unread_count >= 0, "unread is never negative");
        assert_eq!(conversation.unread_count, i64::try_from(unread).unwrap());
        let listed = chat
            .list_conversations(user, &ListQuery::default())
            .await
            .unwrap()
            .0;
        assert_eq!(listed[0].unread_count, conversation.unread_count);
    }
}

async fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().unwrap();
    let (chat, users, id) = start(&dir).await;
    let mut sent: Vec<MessageId> = Vec::new();
    let mut last_read = HashMap::new();
    for op in ops {
        match op {
            Op::Send { who, client_id } => {
                let request = SendMessage {
                    body: format!("from {who}"),
                    client_id: client_id.map(|c| format!("c{c}")),
                };
                let outcome = chat.send_message(users[who], id, request).await.unwrap();
                let (message, created) = (outcome.message, outcome.created);
                if created {
                    sent.push(message.id);
                } else {
                    assert!(
                        sent.contains(&message.id),
                        "a repeated client_id returns the first message"
                    );
                }
            }
            Op::Read { who, seq } => {
                let result = chat.mark_read(users[who], id, seq).await;
                assert_eq!(result.is_err(), seq < 0);
            }
            Op::Edit { who, nth } => {
                if let Some(&m) = sent.get(nth) {
                    let _ = chat.edit_message(users[who], m, "edited").await;
                }
            }
            Op::Delete { who, nth } => {
                if let Some(&m) = sent.get(nth) {
                    let _ = chat.delete_message(users[who], m).await;
                }
            }
        }
        check(&chat, &users, id, &mut last_read).await;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn seq_stays_gap_free_and_read_state_stays_sane(ops in proptest::collection::vec(op(), 1..40)) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(run(ops));
    }
}

/// Sends that arrive together are stored together (group commit, one statement a batch): each
/// still gets its own outcome. A stranger's send is refused, retries of one `client_id` give
/// the first message, and the stored ones are numbered without gaps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_in_one_batch_keep_their_own_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    let (chat, users, group) = start(&dir).await;
    let (stranger, _) = chat
        .register(
            RegisterRequest {
                username: "dan".to_owned(),
                display_name: "dan".to_owned(),
                password: "password123".to_owned(),
                email: None,
            },
            None,
        )
        .await
        .unwrap();
    let sends = (0..64usize).map(|i| {
        let chat = chat.clone();
        let (who, client_id) = match i % 4 {
            0 => (stranger.id, format!("s{i}")),
            1 => (users[0], "same".to_owned()),
            _ => (users[1 + i % 2], format!("u{i}")),
        };
        let request = SendMessage {
            body: format!("message {i}"),
            client_id: Some(client_id),
        };
        async move { (i, chat.send_message(who, group, request).await) }
    });
    let outcomes = futures::future::join_all(sends).await;
    let mut created = 0;
    let mut retried = std::collections::HashSet::new();
    for (i, outcome) in outcomes {
        match i % 4 {
            0 => assert!(
                matches!(outcome, Err(chat::Error::NotFound(_))),
                "{i}: {outcome:?}"
            ),
            1 => {
                let sent = outcome.unwrap();
                created += usize::from(sent.created);
                retried.insert(sent.message.id);
            }
            _ => {
                assert!(outcome.unwrap().created);
                created += 1;
            }
        }
    }
    assert_eq!(
        retried.len(),
        1,
        "every retry of one client_id gives one message"
    );
    assert_eq!(
        created, 33,
        "32 distinct sends and the first of the retried one"
    );
    let (messages, _) = chat
        .history(
            users[0],
            group,
            &HistoryQuery {
                before: None,
                limit: 100,
            },
        )
        .await
        .unwrap();
    let seqs: Vec<i64> = messages.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=33).collect::<Vec<i64>>());
}
