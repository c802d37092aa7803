-- Smaller indexes on messages (#17): every index is written at recording and takes
-- disk.

-- Lookups by a value most messages lack (an email, a reservation, a provider id
-- before sending): an equality implies NOT NULL, which SQLite proves for a partial
-- index, so the missing ones need no entry.
DROP INDEX messages_email;
CREATE INDEX messages_email ON messages (email_normalized, created_at, id)
    WHERE email_normalized IS NOT NULL;
DROP INDEX messages_reservation;
CREATE INDEX messages_reservation ON messages (pms_reservation_id, created_at, id)
    WHERE pms_reservation_id IS NOT NULL;
DROP INDEX messages_provider_id;
CREATE INDEX messages_provider_id ON messages (provider_message_id, provider)
    WHERE provider_message_id IS NOT NULL;
DROP INDEX messages_phone;
CREATE INDEX messages_phone ON messages (recipient_phone, created_at, id)
    WHERE recipient_phone IS NOT NULL;
