//! A database written before migration 0008 (every message also a "message_new" row of the
//! change record, the oldest messages without a version of their own) reads back the same
//! after it: a client catching up from any version gets every change exactly once, in order,
//! and resends are answered with the versions their messages had. Migration 0009 (message ids
//! without `autoincrement`) keeps every id, and new ones go on after the largest.

#![allow(clippy::unwrap_used)]

mod common;

use chat::Chat;
use protocol::{ConversationId, SendMessage, ServerEvent, UserId};
use sqlx::{AnyConnection, Connection};

/// Two conversations as a server before 0008 left them: a group (ann, bob, later cat) with
/// messages, a receipt, an edit, a new member and a deletion between them, and a direct one.
const BEFORE_0008: &str = "
insert into users (username, username_key, display_name, display_name_key, password_hash, created_at)
values ('ann', 'ann', 'ann', 'ann', 'x', 1), ('bob', 'bob', 'bob', 'bob', 'x', 1),
       ('cat', 'cat', 'cat', 'cat', 'x', 1);
insert into conversations (kind, title, title_key, direct_key, created_by, last_seq, version, created_at, updated_at)
values ('group', 'g', 'g', null, 1, 5, 10, 1, 10), ('direct', null, null, '1:2', 1, 1, 3, 1, 2);
insert into participants (conversation_id, user_id, role, last_read_seq, joined_at)
values (1, 1, 'owner', 5, 1), (1, 2, 'member', 2, 1), (1, 3, 'member', 4, 7),
       (2, 1, 'member', 1, 1), (2, 2, 'member', 1, 1);
-- Message 1 was stored before messages kept their version (0005).
insert into messages (id, conversation_id, seq, sender_id, client_id, body, created_at, edited_at, deleted, version)
values (1, 1, 1, 1, 'c-1', 'first, edited', 2, 6, 0, null),
       (2, 1, 2, 2, 'c-2', 'second', 3, null, 0, 3),
       (3, 1, 3, 1, null, '', 5, null, 1, 5),
       (4, 1, 4, 3, null, 'fourth', 8, null, 0, 8),
       (5, 1, 5, 2, null, 'fifth', 10, null, 0, 10),
       (6, 2, 1, 2, 'c-6', 'direct', 2, null, 0, 2);
insert into changes (conversation_id, version, kind, message_id, user_id, seq, created_at)
values (1, 1, 'created', null, 1, null, 1),
       (1, 2, 'message_new', 1, null, 1, 2),
       (1, 3, 'message_new', 2, null, 2, 3),
       (1, 4, 'read', null, 2, 2, 4),
       (1, 5, 'message_new', 3, null, 3, 5),
       (1, 6, 'message_edited', 1, null, 1, 6),
       (1, 7, 'member_added', null, 3, null, 7),
       (1, 8, 'message_new', 4, null, 4, 8),
       (1, 9, 'message_deleted', 3, null, 3, 9),
       (1, 10, 'message_new', 5, null, 5, 10),
       (2, 1, 'created', null, 1, null, 1),
       (2, 2, 'message_new', 6, null, 1, 2),
       (2, 3, 'read', null, 1, 1, 3);
";

/// What a change told a client, in short.
fn told(event: &ServerEvent) -> String {
    match event {
        ServerEvent::MessageNew { message, .. } => format!("new {} {}", message.id, message.body),
        ServerEvent::MessageEdited { message, .. } => format!("edited {}", message.id),
        ServerEvent::MessageDeleted { message, .. } => format!("deleted {}", message.id),
        ServerEvent::MessageRead { user_id, seq, .. } => format!("read {user_id} {seq}"),
        ServerEvent::ConversationUpdated { .. } => "conversation".to_owned(),
        other => format!("{other:?}"),
    }
}

/// Everything after `after`, page by page of `limit`, as (version, what it told).
async fn catch_up(
    chat: &Chat,
    me: UserId,
    id: ConversationId,
    after: i64,
    limit: usize,
) -> Vec<(i64, String)> {
    let (mut seen, mut cursor) = (Vec::new(), after);
    loop {
        let page = chat.changes_since(me, id, cursor, limit).await.unwrap();
        assert!(page.changes.len() <= limit);
        for entry in &page.changes {
            seen.push((entry.version, told(&entry.frame)));
            cursor = entry.version;
        }
        if !page.has_more {
            return seen;
        }
    }
}

#[tokio::test]
async fn a_database_from_before_0008_catches_clients_up_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    let settings = common::settings(&db);

    // The migrations up to 0007, from a folder of their own.
    let old = dir.path().join("migrations");
    std::fs::create_dir(&old).unwrap();
    let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/sqlite");
    for entry in std::fs::read_dir(all).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.as_str() < "0008" {
            std::fs::copy(&path, old.join(name)).unwrap();
        }
    }
    sqlx::any::install_default_drivers();
    let mut conn = AnyConnection::connect(&settings.database_url)
        .await
        .unwrap();
    let before = sqlx::migrate::Migrator::new(old.as_path()).await.unwrap();
    assert_eq!(before.iter().count(), 7);
    before.run(&mut conn).await.unwrap();
    sqlx::raw_sql(BEFORE_0008).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();

    let chat = Chat::start(&settings).await.unwrap();
    // What is left of the change record, each row with the messages before it.
    let positions = || async {
        sqlx::query_as::<_, (i64, i64, i64)>(
            "SELECT conversation_id, version, last_seq FROM changes ORDER BY 1, 2",
        )
        .fetch_all(&mut *chat.db().read.acquire().await.unwrap())
        .await
        .unwrap()
    };
    let mut expected = vec![
        (1, 1, 0),
        (1, 4, 2),
        (1, 6, 3),
        (1, 7, 3),
        (1, 9, 4),
        (2, 1, 0),
        (2, 3, 1),
    ];
    assert_eq!(positions().await, expected);
    let (ann, bob, cat) = (UserId(1), UserId(2), UserId(3));
    let (group, direct) = (ConversationId(1), ConversationId(2));
    let everything = [
        (1, "conversation"),
        (2, "new 1 first, edited"),
        (3, "new 2 second"),
        (4, "read 2 2"),
        (5, "new 3 "),
        (6, "edited 1"),
        (7, "conversation"),
        (8, "new 4 fourth"),
        (9, "deleted 3"),
        (10, "new 5 fifth"),
    ]
    .map(|(v, what)| (v, what.to_owned()));
    for after in 0..=11 {
        for limit in 1..=4 {
            let expected = everything[(after as usize).min(10)..].to_vec();
            assert_eq!(
                catch_up(&chat, cat, group, after, limit).await,
                expected,
                "after {after}, {limit} a page"
            );
        }
    }
    assert_eq!(
        catch_up(&chat, bob, direct, 0, 2).await,
        [(1, "conversation"), (2, "new 6 direct"), (3, "read 1 1")]
            .map(|(v, what)| (v, what.to_owned()))
    );

    // Resends are answered with their first message and its version, the oldest included.
    let resend = |me: UserId, id: ConversationId, client_id: &str| {
        chat.send_message(
            me,
            id,
            SendMessage {
                body: "again".into(),
                client_id: Some(client_id.into()),
            },
        )
    };
    for (me, id, client_id, message, version) in [
        (ann, group, "c-1", 1, 2),
        (bob, group, "c-2", 2, 3),
        (bob, direct, "c-6", 6, 2),
    ] {
        let sent = resend(me, id, client_id).await.unwrap();
        assert!(!sent.created);
        assert_eq!((sent.message.id.0, sent.version), (message, version));
    }

    // The numbering goes on where it was, and a catch-up finds the new message among the rest.
    let sent = resend(ann, group, "c-new").await.unwrap();
    assert!(sent.created);
    assert_eq!(
        (sent.message.id.0, sent.message.seq, sent.version),
        (7, 6, 11)
    );
    let counted: Vec<(String,)> = sqlx::query_as("SELECT name FROM sqlite_sequence ORDER BY 1")
        .fetch_all(&mut *chat.db().read.acquire().await.unwrap())
        .await
        .unwrap();
    assert_eq!(
        counted,
        [("conversations".to_owned(),), ("users".to_owned(),)]
    );
    chat.mark_read(bob, group, 6).await.unwrap();
    expected.insert(5, (1, 12, 6));
    assert_eq!(positions().await, expected);
    let new = format!("new {} again", sent.message.id);
    assert_eq!(
        catch_up(&chat, bob, group, 9, 1).await,
        [
            (10, "new 5 fifth".to_owned()),
            (11, new),
            (12, "read 2 6".to_owned())
        ]
    );
}
