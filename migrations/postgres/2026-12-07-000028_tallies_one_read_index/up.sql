-- Tallies are read through the two partial indexes writers already keep (#17, disk):
-- `message_tallies_settled` (hotel, day, ..., WHERE NOT pending), which the fold's
-- ON CONFLICT needs, and `message_tallies_pending` (hotel WHERE pending). The full
-- `message_tallies_key` repeated the settled one's entries and every pending row's,
-- and the churn of pending rows (appended by each write, deleted by each fold) left
-- it twice its size: 60 MB at 1,000,000 messages, against 31 MB for the settled one.
-- A read states `(pending OR NOT pending)`, which the planner answers with a
-- BitmapOr of both (src/store/tallies.rs: every_tally).
DROP INDEX message_tallies_key;
