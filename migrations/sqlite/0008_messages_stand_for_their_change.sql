-- A new message was stored twice: as its row in `messages` and as a "message_new" row of the
-- change record, an entry in a page of its own per conversation: about a third of the writer's
-- work per send and of the log each commit writes (BENCHMARKS.md). A message keeps its version
-- (0005), so the change record now holds every other change and each message stands for its
-- own: a client catching up reads the two, merged in version order (`changes::changes_since`).
--
-- Every version of a conversation is then either a row of `changes` or a message. To find the
-- messages after version v without walking the ones before, each change row keeps the
-- conversation's `last_seq` when it was made: after the last change row at or before v, every
-- version up to v is a message, one seq each, so the messages after v are those with
-- seq > last_seq + (v - version).

-- Messages stored before 0005 take their version from their change row.
update messages set version = ch.version
from changes ch
where ch.kind = 'message_new' and ch.message_id = messages.id and messages.version is null;

alter table changes add column last_seq integer not null default 0;

update changes set last_seq = counted.messages
from (select conversation_id, version,
             sum(kind = 'message_new') over (partition by conversation_id order by version)
                 as messages
      from changes) as counted
where counted.conversation_id = changes.conversation_id and counted.version = changes.version;

delete from changes where kind = 'message_new';
