-- Accounts. `username_key` and `display_name_key` are case-folded copies so uniqueness and the
-- prefix search ignore case with a plain index (SQLite's lower() only folds ASCII).
-- Times are milliseconds since the Unix epoch: portable across SQLite, PostgreSQL and MySQL.
create table users (
    id integer primary key autoincrement,
    username text not null,
    username_key text not null unique,
    display_name text not null,
    display_name_key text not null,
    email text,
    password_hash text not null,
    created_at integer not null
);
create index users_display_name_key on users (display_name_key);

-- One row per issued token (its `jti`), so signing out really revokes that token.
create table sessions (
    id text primary key,
    user_id integer not null references users (id) on delete cascade,
    created_at integer not null,
    expires_at integer not null
);
create index sessions_user on sessions (user_id);
create index sessions_expires_at on sessions (expires_at);
