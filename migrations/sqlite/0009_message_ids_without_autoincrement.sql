-- `autoincrement` made SQLite count message ids in `sqlite_sequence` so that an id is never
-- given twice, even after the newest message is removed: one more page for every send's commit
-- to write and flush, 7.5 pages instead of 6.5 for a direct message sent alone (BENCHMARKS.md).
-- Messages are never removed (a deletion blanks the row and keeps it), so the largest id + 1,
-- which SQLite takes without it, never repeats either. Ids are kept as they are.
create table messages_new (
    id integer primary key,
    conversation_id integer not null references conversations (id),
    seq integer not null,
    sender_id integer not null references users (id),
    client_id text,
    body text not null,
    created_at integer not null,
    edited_at integer,
    deleted integer not null default 0,
    version integer,
    unique (conversation_id, seq),
    unique (sender_id, client_id)
);
insert into messages_new (id, conversation_id, seq, sender_id, client_id, body, created_at,
                          edited_at, deleted, version)
select id, conversation_id, seq, sender_id, client_id, body, created_at, edited_at, deleted,
       version
from messages;
drop table messages;
alter table messages_new rename to messages;
delete from sqlite_sequence where name = 'messages';
