-- Counts are grouped by category too (000019), which the stay-date indexes did not
-- carry: a count over a range of check-ins read every matching row.
DROP INDEX messages_hotel_check_in;
DROP INDEX messages_hotel_check_out;
DROP INDEX messages_hotel_status_channel_check_in;
CREATE INDEX messages_hotel_check_in
    ON messages (hotel_id, check_in_date, created_at, id, channel, status, error_category, category);
CREATE INDEX messages_hotel_check_out
    ON messages (hotel_id, check_out_date, created_at, id, channel, status, error_category, category);
CREATE INDEX messages_hotel_status_channel_check_in
    ON messages (hotel_id, status, channel, check_in_date, created_at, id, error_category, category);
