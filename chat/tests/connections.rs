//! The database connections go straight back to their users, with no check on the way (no
//! pool's ping): work abandoned half-way must leave them usable and store nothing of itself.
//! Each connection to an in-memory database would see a database of its own: refused.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use chat::Chat;
use futures::TryStreamExt;
use protocol::{ConversationId, CreateConversation, SendMessage, UserId};

/// A `Chat` in `dir` where ann and bob have a direct conversation.
async fn ann_and_bob(dir: &tempfile::TempDir) -> (Chat, Vec<UserId>, ConversationId) {
    let (chat, users) = common::start(&dir.path().join("c.db"), &["ann", "bob"]).await;
    let (direct, _) = chat
        .create_conversation(users[0], CreateConversation::direct(users[1]))
        .await
        .unwrap();
    (chat, users, direct.id)
}

fn message(body: &str) -> SendMessage {
    SendMessage {
        body: body.to_owned(),
        client_id: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_abandoned_half_way_stores_nothing_and_the_writer_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (chat, users, direct) = ann_and_bob(&dir).await;
    // A transaction that has written and is then dropped, as when a request is cancelled.
    let abandoned = async {
        let mut writer = chat.db().write.acquire().await.unwrap();
        let mut tx = sqlx::Connection::begin(&mut *writer).await.unwrap();
        sqlx::query("UPDATE users SET display_name = 'changed' WHERE id = ?")
            .bind(users[0].0)
            .execute(&mut *tx)
            .await
            .unwrap();
        std::future::pending::<()>().await;
    };
    assert!(tokio::time::timeout(Duration::from_millis(50), abandoned)
        .await
        .is_err());

    let sent = chat
        .send_message(users[0], direct, message("after"))
        .await
        .unwrap();
    let again = chat
        .send_message(users[1], direct, message("again"))
        .await
        .unwrap();
    assert_eq!(again.message.seq, sent.message.seq + 1);
    // Committed (readers see the sends), and without the abandoned change: had its rollback not
    // come first, the sends would have run inside its transaction and never been committed.
    let (page, _) = chat
        .history(users[1], direct, &Default::default())
        .await
        .unwrap();
    let bodies: Vec<_> = page.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["after", "again"]);
    assert_eq!(chat.user(users[0]).await.unwrap().display_name, "ann");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_abandoned_half_way_leaves_its_connection_usable() {
    let dir = tempfile::tempdir().unwrap();
    let (chat, users, direct) = ann_and_bob(&dir).await;
    for i in 0..30 {
        chat.send_message(users[0], direct, message(&format!("m{i}")))
            .await
            .unwrap();
    }
    // Every read connection gets a statement stopped after its first row.
    for _ in 0..16 {
        let mut reader = chat.db().read.acquire().await.unwrap();
        let mut rows = sqlx::query("SELECT body FROM messages ORDER BY id").fetch(&mut *reader);
        assert!(rows.try_next().await.unwrap().is_some());
    }
    for _ in 0..16 {
        let query = chat::messages::HistoryQuery {
            limit: 10,
            ..Default::default()
        };
        let (page, more) = chat.history(users[1], direct, &query).await.unwrap();
        assert_eq!(page.len(), 10);
        assert!(more);
        assert_eq!(page.last().unwrap().body, "m29");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_connections_fail_what_comes_after_instead_of_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let (chat, users, direct) = ann_and_bob(&dir).await;
    chat.db().read.close().await;
    chat.db().write.close().await;
    let wait = Duration::from_secs(5);
    let read = tokio::time::timeout(wait, chat.user(users[0])).await;
    assert!(read.unwrap().is_err());
    let send = chat.send_message(users[0], direct, message("late"));
    assert!(tokio::time::timeout(wait, send).await.unwrap().is_err());
}

#[tokio::test]
async fn an_in_memory_database_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = common::settings(&dir.path().join("unused.db"));
    for url in ["sqlite::memory:", "sqlite://?mode=memory"] {
        settings.database_url = url.to_owned();
        let refused = Chat::start(&settings).await.err().unwrap();
        assert!(
            refused.to_string().contains("must name a database file"),
            "{url}: {refused}"
        );
    }
}
