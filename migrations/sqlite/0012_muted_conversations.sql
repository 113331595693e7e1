-- A participant's own mute: their devices show no notification and get no push for the
-- conversation's messages until `muted_until` (ms; the largest integer for "until they
-- unmute"). NULL when not muted; a mute that ran out is read as none. The list reads it beside
-- the read position, so it joins the index the list's walks read alone (migration 0007): kept
-- in `participants` alone, each row of a page would cost a lookup more.
alter table participants add column muted_until integer;

drop index participants_by_activity;
create index participants_by_activity
    on participants (user_id, activity_at desc, conversation_id desc, last_read_seq, muted_until);
