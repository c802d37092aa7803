-- Fewer and smaller indexes on messages (#17). A status change rewrote an entry in
-- every index of the table (no index may hold a column that changes for PostgreSQL
-- to update in place, and the status is in several), and the indexes took 2.1 GB of
-- the 2.9 GB at 1,000,000 messages.
--
-- The channel and category indexes stay: without them PostgreSQL walks
-- messages_created (all hotels, in heap order, which it prices cheapest) and filters
-- the hotel, and a burst of other hotels' newest messages made a big hotel's SMS page
-- take 223 ms instead of 11 (measured at 1,000,000 messages).

-- Statuses: most messages end DELIVERED (8) or READ (9), which are dense and walk
-- messages_hotel_created too. The others (pending, failed, undelivered, sent...)
-- are the ones an agent hunts for and the worker walks: indexed alone, so the
-- indexes are a tenth of the size. A filter on one of them is proved to fall in
-- the partial index by the planner (connections plan with the values bound).
DROP INDEX messages_hotel_status;
CREATE INDEX messages_hotel_status ON messages (hotel_id, status, created_at, id)
    WHERE status NOT IN (8, 9);
DROP INDEX messages_status_id;
CREATE INDEX messages_status_id ON messages (status, id) WHERE status NOT IN (8, 9);
DROP INDEX messages_stuck_sent;
CREATE INDEX messages_stuck_sent ON messages (hotel_id, status, channel, status_changed_at)
    WHERE status = 6;
DROP INDEX messages_stuck_waiting;
CREATE INDEX messages_stuck_waiting
    ON messages (hotel_id, status, channel, (COALESCE(scheduled_at, created_at)))
    WHERE status IN (1, 3);
-- Error categories are set on failures only.
DROP INDEX messages_hotel_error;
CREATE INDEX messages_hotel_error ON messages (hotel_id, error_category, created_at, id)
    WHERE error_category <> 0;

-- Lookups by a value most messages lack (an email, a reservation, a provider id
-- before sending): an equality implies NOT NULL, so the missing ones need no entry.
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
