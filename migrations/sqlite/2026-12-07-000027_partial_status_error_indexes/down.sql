DROP INDEX messages_hotel_status;
CREATE INDEX messages_hotel_status ON messages (hotel_id, status, created_at, id);
DROP INDEX messages_hotel_error;
CREATE INDEX messages_hotel_error ON messages (hotel_id, error_category, created_at, id);
