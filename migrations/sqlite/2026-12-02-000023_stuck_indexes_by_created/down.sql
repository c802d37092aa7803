DROP INDEX messages_stuck_sent;
CREATE INDEX messages_stuck_sent
    ON messages (hotel_id, status, channel, status_changed_at, campaign_name)
    WHERE status = 6;
DROP INDEX messages_stuck_waiting;
CREATE INDEX messages_stuck_waiting
    ON messages (hotel_id, status, channel, (COALESCE(scheduled_at, created_at)), campaign_name,
                 scheduled_at, created_at)
    WHERE status = 1 OR status = 3;
