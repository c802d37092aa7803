-- Stuck messages (derived at read time): SENT ones by how long their status has
-- stood, PENDING / VALIDATED ones by when they were due. Each branch of the stuck
-- condition is a range on one of these, per hotel, status and channel.
CREATE INDEX messages_stuck_sent ON messages (hotel_id, status, channel, status_changed_at);
CREATE INDEX messages_stuck_waiting ON messages (hotel_id, status, channel, (COALESCE(scheduled_at, created_at)));
