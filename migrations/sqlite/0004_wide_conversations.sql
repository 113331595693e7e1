-- Keeping every membership's copy of `activity_at` costs a send one scattered index update per
-- member: about 40 pages written and fsynced for a group of 30, 210 for a group of 200, where a
-- direct message writes 12 (BENCHMARKS.md). So a conversation with more than 20 members becomes
-- `wide`: its memberships stop keeping the copy (`activity_at` = 0) and the list reads
-- `conversations.updated_at` for them instead, sorting a person's wide memberships apart and
-- merging them with the walk of `participants_by_activity` (`conversations::load`). A send then
-- writes the same few pages whatever the conversation's size. Once wide, a conversation stays
-- wide: correct either way, and a group that shrinks does not flip back and forth.
alter table conversations add column wide integer not null default 0;

update conversations set wide = 1
where (select count(*) from participants where conversation_id = conversations.id) > 20;
update participants set activity_at = 0
where conversation_id in (select id from conversations where wide = 1);

drop trigger conversations_activity;
create trigger conversations_activity after update of updated_at on conversations
when new.updated_at <> old.updated_at and new.wide = 0
begin
    update participants set activity_at = new.updated_at where conversation_id = new.id;
end;

-- A new member starts with the conversation's current activity; the member that takes a
-- conversation past 20 makes it wide and clears every copy, once.
drop trigger participants_activity;
create trigger participants_activity after insert on participants
begin
    update conversations set wide = 1
    where id = new.conversation_id and wide = 0
      and (select count(*) from participants where conversation_id = new.conversation_id) > 20;
    update participants set activity_at = 0
    where conversation_id = new.conversation_id and activity_at <> 0
      and (select wide from conversations where id = new.conversation_id) = 1;
    update participants set activity_at = (select updated_at from conversations where id = new.conversation_id)
    where conversation_id = new.conversation_id and user_id = new.user_id
      and (select wide from conversations where id = new.conversation_id) = 0;
end;

-- The change record is read a conversation at a time, in version order (its key): stored
-- `without rowid`, a change is one B-tree entry instead of a row plus its key's index entry
-- (one page fewer per send).
create table changes_new (
    conversation_id integer not null references conversations (id),
    version integer not null,
    kind text not null,
    message_id integer,
    user_id integer,
    seq integer,
    created_at integer not null,
    primary key (conversation_id, version)
) without rowid;
insert into changes_new (conversation_id, version, kind, message_id, user_id, seq, created_at)
select conversation_id, version, kind, message_id, user_id, seq, created_at from changes;
drop table changes;
alter table changes_new rename to changes;
