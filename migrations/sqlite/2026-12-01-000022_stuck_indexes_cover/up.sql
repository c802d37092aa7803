-- CountMessages counts a filter's stuck messages per (status, channel) from these
-- indexes alone (#17): they now hold the campaign name a console filter asks for,
-- and the waiting branch's scheduled and recording times, so SQLite reads no table
-- row. They hold only the statuses that can be stuck: the store writes those
-- statuses as literal SQL, which SQLite needs to prove a query stays inside a
-- partial index (a bound value proves nothing to it). At 1,160,000 messages the two
-- took 102 MB full, 13 MB partial.
DROP INDEX messages_stuck_sent;
CREATE INDEX messages_stuck_sent
    ON messages (hotel_id, status, channel, status_changed_at, campaign_name)
    WHERE status = 6;
DROP INDEX messages_stuck_waiting;
CREATE INDEX messages_stuck_waiting
    ON messages (hotel_id, status, channel, (COALESCE(scheduled_at, created_at)), campaign_name,
                 scheduled_at, created_at)
    WHERE status = 1 OR status = 3;
