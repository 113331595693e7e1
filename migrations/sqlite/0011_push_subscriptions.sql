-- Web Push: where to reach a signed-in browser when no page of the app is open. A subscription
-- belongs to the session that made it, so signing out (which deletes the session) stops the
-- pushes to that device; an endpoint is one browser's, so one signing in as someone else takes
-- it over.
create table push_subscriptions (
    endpoint text primary key,
    user_id integer not null references users (id) on delete cascade,
    session_id text not null references sessions (id) on delete cascade,
    p256dh text not null,
    auth text not null,
    created_at integer not null
);
create index push_subscriptions_user on push_subscriptions (user_id, created_at);
create index push_subscriptions_session on push_subscriptions (session_id);
