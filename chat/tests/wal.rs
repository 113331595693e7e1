//! The write-ahead log starts over under steady sends. A copy back into the database that runs
//! beside the writer never reaches the log's end while sends keep coming, and the log only
//! starts over once copied whole: before the writer took the last step itself, the log grew
//! for as long as sends never paused (200 MB in 3 s in the storage benchmark).

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use protocol::{CreateConversation, SendMessage};

/// The log header's checkpoint sequence number: SQLite adds one each time the log starts over.
fn log_generation(db: &Path) -> u32 {
    let wal = std::fs::read(db.with_extension("db-wal")).unwrap();
    u32::from_be_bytes(wal[12..16].try_into().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_starts_over_while_sends_never_pause() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    let (chat, users) = common::start(&db, &["ann", "bob"]).await;
    let (direct, _) = chat
        .create_conversation(users[0], CreateConversation::direct(users[1]))
        .await
        .unwrap();
    let before = log_generation(&db);
    // Two senders with no pause between sends, across several checkpoint ticks (one a second).
    let until = Instant::now() + Duration::from_millis(3500);
    let senders = users.iter().map(|&me| {
        let chat = chat.clone();
        tokio::spawn(async move {
            let mut sent = 0u32;
            while Instant::now() < until {
                let request = SendMessage {
                    body: format!("message {sent}"),
                    client_id: None,
                };
                chat.send_message(me, direct.id, request).await.unwrap();
                sent += 1;
            }
            sent
        })
    });
    let mut sent = 0;
    for sender in senders.collect::<Vec<_>>() {
        sent += sender.await.unwrap();
    }
    assert!(sent > 100, "only {sent} sends");
    assert!(
        log_generation(&db) > before,
        "the log never started over during {sent} sends"
    );
}
