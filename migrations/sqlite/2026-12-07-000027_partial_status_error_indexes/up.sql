-- SQLite's status and error indexes hold only the rows a filter on them looks for,
-- as PostgreSQL's have since migration 000020 (#17, disk): most messages end
-- DELIVERED (8) or READ (9) with no error (0), and those entries took 65 and 63 MB
-- at 1,000,000 messages. SQLite uses a partial index only when the query's text
-- implies its condition, and it proves that from a term equal to one branch of an
-- OR, never from an inequality: so each condition is the OR of the values it holds,
-- and a filter on one of them is written as that literal term
-- (src/store/messages.rs: rare_status_sql, rare_error_sql). A value added later
-- and missing here is still found, through another index.
DROP INDEX messages_hotel_status;
CREATE INDEX messages_hotel_status ON messages (hotel_id, status, created_at, id)
    WHERE status = 1 OR status = 2 OR status = 3 OR status = 4 OR status = 5
       OR status = 6 OR status = 7;
DROP INDEX messages_hotel_error;
CREATE INDEX messages_hotel_error ON messages (hotel_id, error_category, created_at, id)
    WHERE error_category = 1 OR error_category = 2 OR error_category = 3
       OR error_category = 4 OR error_category = 5 OR error_category = 6
       OR error_category = 7 OR error_category = 8 OR error_category = 9
       OR error_category = 10 OR error_category = 11 OR error_category = 12
       OR error_category = 13;
