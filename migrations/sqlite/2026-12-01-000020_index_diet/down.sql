DROP INDEX messages_phone;
CREATE INDEX messages_phone ON messages (recipient_phone, created_at, id);
DROP INDEX messages_provider_id;
CREATE INDEX messages_provider_id ON messages (provider_message_id, provider);
DROP INDEX messages_reservation;
CREATE INDEX messages_reservation ON messages (pms_reservation_id, created_at, id);
DROP INDEX messages_email;
CREATE INDEX messages_email ON messages (email_normalized, created_at, id);
