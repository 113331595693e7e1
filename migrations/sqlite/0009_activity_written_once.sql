-- A send writes its memberships itself, in one pass: the sender's read position and every
-- member's `activity_at` (`messages/send.sql`). The activity trigger used to write them all
-- again, and the sender's membership and its list entry were written twice per send. It now
-- writes only the memberships not already up to date: for a send none, for a rename or a new
-- member (which go through `changes::record`) all of them, as before.
drop trigger conversations_activity;
create trigger conversations_activity after update of updated_at on conversations
when new.updated_at <> old.updated_at and new.wide = 0
begin
    update participants set activity_at = new.updated_at
    where conversation_id = new.id and activity_at <> new.updated_at;
end;
