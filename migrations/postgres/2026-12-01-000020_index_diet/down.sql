DROP INDEX messages_phone;
CREATE INDEX messages_phone ON messages (recipient_phone, created_at, id);
DROP INDEX messages_provider_id;
CREATE INDEX messages_provider_id ON messages (provider_message_id, provider);
DROP INDEX messages_reservation;
CREATE INDEX messages_reservation ON messages (pms_reservation_id, created_at, id);
DROP INDEX messages_email;
CREATE INDEX messages_email ON messages (email_normalized, created_at, id);
DROP INDEX messages_hotel_error;
CREATE INDEX messages_hotel_error ON messages (hotel_id, error_category, created_at, id);
DROP INDEX messages_stuck_waiting;
CREATE INDEX messages_stuck_waiting
    ON messages (hotel_id, status, channel, (COALESCE(scheduled_at, created_at)));
DROP INDEX messages_stuck_sent;
CREATE INDEX messages_stuck_sent ON messages (hotel_id, status, channel, status_changed_at);
DROP INDEX messages_status_id;
CREATE INDEX messages_status_id ON messages (status, id);
DROP INDEX messages_hotel_status;
CREATE INDEX messages_hotel_status ON messages (hotel_id, status, created_at, id);
