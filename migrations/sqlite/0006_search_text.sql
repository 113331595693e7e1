-- The list's search (`q`) matches a conversation's title, its post's title and the names and
-- usernames of its participants. Matched in place, that took a lookup in `users` and two LIKEs
-- per participant of every conversation walked: 1.5–3.4 ms of SQL for someone in 1,000
-- conversations (BENCHMARKS.md). Each conversation now keeps those case-folded keys in one text,
-- a line each ("title", "post title", then "name", "username" per participant), kept by the
-- triggers below, and the search is one LIKE per conversation.
create table conversation_search (
    conversation_id integer primary key references conversations (id) on delete cascade,
    text text not null
);

-- The text as it should be, built from scratch: for the first fill and for the rare rebuilds.
create view conversation_search_source (conversation_id, text) as
select c.id,
    coalesce(c.title_key, '') || char(10) ||
    coalesce((select title_key from posts where id = c.post_id), '') ||
    coalesce((select group_concat(char(10) || u.display_name_key || char(10) || u.username_key, '')
              from participants p join users u on u.id = p.user_id
              where p.conversation_id = c.id), '')
from conversations c;

insert into conversation_search (conversation_id, text)
select conversation_id, text from conversation_search_source;

create trigger conversations_search_new after insert on conversations
begin
    insert into conversation_search (conversation_id, text)
    select conversation_id, text from conversation_search_source where conversation_id = new.id;
end;

-- A new member's lines are appended: adding a thousand people costs a thousand appends, not a
-- thousand rebuilds.
create trigger participants_search_add after insert on participants
begin
    update conversation_search
    set text = text || (select char(10) || display_name_key || char(10) || username_key
                        from users where id = new.user_id)
    where conversation_id = new.conversation_id;
end;

-- Renames and departures (both rare) rebuild the conversation's text.
create trigger conversations_search_title after update of title_key on conversations
begin
    update conversation_search
    set text = (select text from conversation_search_source where conversation_id = new.id)
    where conversation_id = new.id;
end;

create trigger participants_search_remove after delete on participants
begin
    update conversation_search
    set text = (select text from conversation_search_source
                where conversation_id = old.conversation_id)
    where conversation_id = old.conversation_id
      and exists (select 1 from conversations where id = old.conversation_id);
end;
