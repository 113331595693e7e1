-- The writer connection's own objects, made each time it connects (TEMP: in memory, seen by
-- that connection only, never part of the database file). A batch of sends is one INSERT into
-- `send_in`: the trigger stores each row's send in order, and `send_out` collects what each
-- one gave, read back once the statement (its own transaction, so one commit for the whole
-- batch) has finished. One statement per batch instead of six per send: every statement's end
-- was a hand-over between SQLite's thread and the async side (BENCHMARKS.md).
PRAGMA temp_store = MEMORY;

CREATE TEMP TABLE send_out (
    job integer primary key,
    -- 1: the sender used this client_id before, and the message is that first one; 0: new
    earlier integer not null,
    member integer not null,
    id integer,
    conversation_id integer,
    client_id text,
    body text,
    seq integer,
    created_at integer,
    edited_at integer,
    deleted integer,
    version integer,
    audience text
);

CREATE TEMP VIEW send_in (job, conversation_id, sender_id, client_id, body, at, earlier) AS
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL;

-- `earlier` is the sender's message that already has this client_id, looked up by the batch's
-- own SELECT (`send.rs`): read here before the message's INSERT, `messages` would make that
-- INSERT ... SELECT go through a temporary table (BENCHMARKS.md). A batch never holds two
-- sends of one sender with one client_id: the second waits for the next batch.
CREATE TEMP TRIGGER send INSTEAD OF INSERT ON send_in
BEGIN
    -- The first send of a batch clears the answers of the one before.
    DELETE FROM send_out WHERE new.job = 0;
    -- 1. A new send (no earlier message) by a member takes the next number; the triggers move
    --    every member's `activity_at` unless the conversation is wide.
    UPDATE conversations SET last_seq = last_seq + 1, version = version + 1, updated_at = new.at
    WHERE id = new.conversation_id AND new.earlier IS NULL
      AND EXISTS (SELECT 1 FROM participants
                  WHERE conversation_id = new.conversation_id AND user_id = new.sender_id);
    -- 2. The message (its own change record since migration 0008), 3. the sender's read
    --    position, each only when the statement before it wrote its one row.
    INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, created_at, deleted,
                          version)
    SELECT id, last_seq, new.sender_id, new.client_id, new.body, new.at, 0, version
    FROM conversations WHERE id = new.conversation_id AND changes() = 1;
    UPDATE participants
    SET last_read_seq = (SELECT last_seq FROM conversations WHERE id = new.conversation_id)
    WHERE conversation_id = new.conversation_id AND user_id = new.sender_id AND changes() = 1;
    -- 4. The new message, as stored, and who to tell.
    INSERT INTO send_out (job, earlier, member, id, conversation_id, client_id, body, seq,
                          created_at, edited_at, deleted, version, audience)
    SELECT new.job, 0, 1, m.id, m.conversation_id, m.client_id, m.body, m.seq, m.created_at,
           m.edited_at, m.deleted, m.version,
           (SELECT group_concat(user_id) FROM participants
            WHERE conversation_id = new.conversation_id)
    FROM messages m WHERE m.id = last_insert_rowid() AND changes() = 1;
    -- 5. A retry: the earlier message as stored, and whether the sender is a member here.
    INSERT INTO send_out (job, earlier, member, id, conversation_id, client_id, body, seq,
                          created_at, edited_at, deleted, version)
    SELECT new.job, 1,
           EXISTS (SELECT 1 FROM participants
                   WHERE conversation_id = new.conversation_id AND user_id = new.sender_id),
           m.id, m.conversation_id, m.client_id, m.body, m.seq, m.created_at,
           m.edited_at, m.deleted, m.version
    FROM messages m WHERE m.id = new.earlier;
END;
