-- The stuck indexes are keyed by recording time within (hotel, status, channel),
-- and carry the stuck clocks after it (#17). A count over "the last 30 days" then
-- reads a month of a hotel's stuck entries from them alone, instead of every message
-- of that month from the table; a count without a recording range reads the same
-- entries as before (nearly every SENT message is past its clock, so a range on that
-- clock held almost all of them anyway).
DROP INDEX messages_stuck_sent;
CREATE INDEX messages_stuck_sent
    ON messages (hotel_id, status, channel, created_at, status_changed_at, campaign_name)
    WHERE status = 6;
DROP INDEX messages_stuck_waiting;
CREATE INDEX messages_stuck_waiting
    ON messages (hotel_id, status, channel, created_at, scheduled_at, campaign_name)
    WHERE status = 1 OR status = 3;
