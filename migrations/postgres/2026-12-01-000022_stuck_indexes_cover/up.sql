-- CountMessages counts a filter's stuck messages per (status, channel) from these
-- indexes alone (#17). They now hold what such a count reads: the campaign name a
-- console filter asks for, and the two columns the waiting branch's due time is
-- computed from (PostgreSQL reads an index alone only when the query's columns are
-- in it, not an expression of them). The status is no key column of the SENT index:
-- every entry holds status 6.
DROP INDEX messages_stuck_sent;
CREATE INDEX messages_stuck_sent ON messages (hotel_id, channel, status_changed_at)
    INCLUDE (campaign_name) WHERE status = 6;
DROP INDEX messages_stuck_waiting;
CREATE INDEX messages_stuck_waiting
    ON messages (hotel_id, status, channel, (COALESCE(scheduled_at, created_at)))
    INCLUDE (scheduled_at, created_at, campaign_name) WHERE status = 1 OR status = 3;
