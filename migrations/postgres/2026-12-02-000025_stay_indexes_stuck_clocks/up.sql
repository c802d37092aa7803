-- The check-in and check-out indexes also carry the two columns the stuck clocks
-- are read from (#17). CountMessages over a stay range counts that range's stuck
-- messages among its own rows; without the clocks in the index each of those rows
-- was fetched from the table (a week of a big hotel's check-outs at 1,000,000
-- messages: 3,660 rows, 16 ms, where the count itself reads the index alone in 4).
-- scheduled_at is NULL for most messages and then takes no room.
DROP INDEX messages_hotel_check_in;
DROP INDEX messages_hotel_check_out;
CREATE INDEX messages_hotel_check_in ON messages (hotel_id, check_in_date, created_at, id)
    INCLUDE (channel, status, error_category, category, status_changed_at, scheduled_at);
CREATE INDEX messages_hotel_check_out ON messages (hotel_id, check_out_date, created_at, id)
    INCLUDE (channel, status, error_category, category, status_changed_at, scheduled_at);
