-- The check-in and check-out indexes also carry the two columns the stuck clocks
-- are read from (#17), so CountMessages over a stay range counts that range's stuck
-- messages from the index alone, as it counts the range itself (see the PostgreSQL
-- migration of the same name).
DROP INDEX messages_hotel_check_in;
DROP INDEX messages_hotel_check_out;
CREATE INDEX messages_hotel_check_in ON messages
    (hotel_id, check_in_date, created_at, id, channel, status, error_category, category,
     status_changed_at, scheduled_at);
CREATE INDEX messages_hotel_check_out ON messages
    (hotel_id, check_out_date, created_at, id, channel, status, error_category, category,
     status_changed_at, scheduled_at);
