-- The list's walks read each membership's read position (`last_read_seq`, for the unread
-- count) beside its place. With the index in list order holding only the place, each of a
-- page's 51 + 52 rows was a lookup in `participants` as well: the page query took 3 times as
-- long (SQLite 3.40, the benchmark's database: 260 µs against 85 µs; BENCHMARKS.md). Carried as
-- the index's last column, the read position makes both walks read the index alone. A receipt
-- now rewrites its membership's index entry too, one page more; a send already rewrites the
-- entries of every member of a conversation that is not wide.
drop index participants_by_activity;
create index participants_by_activity
    on participants (user_id, activity_at desc, conversation_id desc, last_read_seq);
