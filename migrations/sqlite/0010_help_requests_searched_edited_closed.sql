-- Help requests can be searched (`GET /api/posts?q=`), listed by author, edited and closed by
-- their author (`PUT /api/posts/:id`).
--
-- `search_key` is the case-folded title and body, a line each, matched by one LIKE per post as
-- the conversation search does (migration 0006). The server folds with Rust's `to_lowercase`;
-- rows written before this migration get SQLite's `lower()` for their body, which folds ASCII
-- only: such a body with other capitals is found by its lower-case spelling, not its upper.
alter table posts add column search_key text not null default '';
alter table posts add column edited_at integer;
alter table posts add column closed_at integer;
update posts set search_key = title_key || char(10) || lower(body);

-- "My requests" and anyone's: newest first per author.
create index posts_by_author on posts (author_id, created_at desc, id desc);

-- A post's title shows in its conversations' search text: a new title rebuilds theirs.
create trigger posts_search_title after update of title_key on posts
begin
    update conversation_search
    set text = (select text from conversation_search_source
                where conversation_id = conversation_search.conversation_id)
    where conversation_id in (select id from conversations where post_id = new.id);
end;
