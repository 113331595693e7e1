-- Help requests that a conversation can be tied to. `title_key` is the case-folded title for
-- the conversation search.
create table posts (
    id integer primary key autoincrement,
    author_id integer not null references users (id),
    title text not null,
    title_key text not null,
    body text not null,
    created_at integer not null
);
create index posts_newest on posts (created_at desc, id desc);

-- `last_seq` numbers messages 1, 2, 3… and `version` numbers every change (messages, edits,
-- deletions, receipts, membership); both are bumped in the transaction that makes the change,
-- under the conversation row's write lock, so they never skip or repeat.
-- `direct_key` ("low_id:high_id") and `(post_id, asker_id)` let the database itself refuse a
-- second direct conversation per pair and a second post-linked one per (post, asking user).
create table conversations (
    id integer primary key autoincrement,
    kind text not null check (kind in ('direct', 'group', 'post_linked')),
    title text,
    title_key text,
    post_id integer references posts (id),
    asker_id integer references users (id),
    direct_key text unique,
    created_by integer not null references users (id),
    last_seq integer not null default 0,
    version integer not null default 0,
    created_at integer not null,
    updated_at integer not null,
    unique (post_id, asker_id)
);

create table participants (
    conversation_id integer not null references conversations (id) on delete cascade,
    user_id integer not null references users (id),
    role text not null check (role in ('owner', 'admin', 'member')),
    last_read_seq integer not null default 0,
    joined_at integer not null,
    primary key (conversation_id, user_id)
);
-- A user's conversations (the list starts here).
create index participants_by_user on participants (user_id, conversation_id);

create table messages (
    id integer primary key autoincrement,
    conversation_id integer not null references conversations (id),
    seq integer not null,
    sender_id integer not null references users (id),
    client_id text,
    body text not null,
    created_at integer not null,
    edited_at integer,
    deleted integer not null default 0,
    unique (conversation_id, seq),
    unique (sender_id, client_id)
);

-- Reactions come later; the table is here so messages can be joined to it from the start.
create table reactions (
    message_id integer not null references messages (id),
    user_id integer not null references users (id),
    emoji text not null,
    created_at integer not null,
    primary key (message_id, user_id, emoji)
);

-- The change record: one row per change, numbered per conversation (see `version` above).
-- A client that comes back asks for the rows after the version it last saw, so it learns of
-- edits, deletions, receipts and membership changes, not only of new messages.
create table changes (
    conversation_id integer not null references conversations (id),
    version integer not null,
    kind text not null,
    message_id integer,
    user_id integer,
    seq integer,
    created_at integer not null,
    primary key (conversation_id, version)
);
