DROP INDEX messages_hotel_check_in;
DROP INDEX messages_hotel_check_out;
CREATE INDEX messages_hotel_check_in
    ON messages (hotel_id, check_in_date, created_at, id, channel, status, error_category, category);
CREATE INDEX messages_hotel_check_out
    ON messages (hotel_id, check_out_date, created_at, id, channel, status, error_category, category);
