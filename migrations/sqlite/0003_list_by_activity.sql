-- The conversation list reads a user's conversations newest activity first. Walking all of a
-- user's memberships and sorting them cost most of the list for people in many conversations
-- (BENCHMARKS.md), so each membership keeps a copy of its conversation's `updated_at`
-- (`activity_at`) with an index in list order: a page is then a walk of its own length.
-- Triggers keep the copy, so no code path can forget it; a send pays one index update per
-- member of its conversation.
--
-- `without rowid`: a conversation's participants sit together in primary-key order, so
-- reading them (membership checks, the list's participants) is one range, not a lookup each.
create table participants_new (
    conversation_id integer not null references conversations (id) on delete cascade,
    user_id integer not null references users (id),
    role text not null check (role in ('owner', 'admin', 'member')),
    last_read_seq integer not null default 0,
    joined_at integer not null,
    activity_at integer not null default 0,
    primary key (conversation_id, user_id)
) without rowid;

insert into participants_new (conversation_id, user_id, role, last_read_seq, joined_at, activity_at)
select p.conversation_id, p.user_id, p.role, p.last_read_seq, p.joined_at, c.updated_at
from participants p join conversations c on c.id = p.conversation_id;

drop table participants;
alter table participants_new rename to participants;

-- A user's conversations in list order (the page), and by conversation (presence contacts).
create index participants_by_activity on participants (user_id, activity_at desc, conversation_id desc);

-- Activity moves every membership's copy; receipts (which keep `updated_at`) do not.
create trigger conversations_activity after update of updated_at on conversations
when new.updated_at <> old.updated_at
begin
    update participants set activity_at = new.updated_at where conversation_id = new.id;
end;

-- A new member starts with the conversation's current activity.
create trigger participants_activity after insert on participants
begin
    update participants set activity_at = (select updated_at from conversations where id = new.conversation_id)
    where conversation_id = new.conversation_id and user_id = new.user_id;
end;
