-- A resent message (a `client_id` its sender used before) is answered with the version its first
-- send got. That was looked up in the conversation's change record, a scan of every change of
-- the conversation inside the writer's transaction (0.5 ms at 7,000 changes, growing with the
-- conversation); each message now keeps its version. Messages stored before this keep NULL, and
-- their (rare, late) resends still take the scan.
alter table messages add column version integer;
