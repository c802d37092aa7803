-- Check-in and check-out ranges also carry channel, status and error category, so a
-- range combined with those filters is answered by an index-only scan: a page picks
-- its ids without visiting a row per match, and a count reads no row at all.
DROP INDEX messages_hotel_check_in;
DROP INDEX messages_hotel_check_out;
CREATE INDEX messages_hotel_check_in ON messages (hotel_id, check_in_date, created_at, id)
    INCLUDE (channel, status, error_category);
CREATE INDEX messages_hotel_check_out ON messages (hotel_id, check_out_date, created_at, id)
    INCLUDE (channel, status, error_category);
