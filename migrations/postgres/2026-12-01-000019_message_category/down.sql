CREATE OR REPLACE FUNCTION message_tallies_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO message_tallies (hotel_id, day, campaign_id, campaign_name, channel,
                                     status, error_category, messages, pending)
        SELECT hotel_id, created_at::date, COALESCE(campaign_id, ''), COALESCE(campaign_name, ''),
               channel, status, error_category, COUNT(*)::integer, true
        FROM tallied_new
        GROUP BY 1, 2, 3, 4, 5, 6, 7;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO message_tallies (hotel_id, day, campaign_id, campaign_name, channel,
                                     status, error_category, messages, pending)
        SELECT hotel_id, created_at::date, COALESCE(campaign_id, ''), COALESCE(campaign_name, ''),
               channel, status, error_category, -COUNT(*)::integer, true
        FROM tallied_old
        GROUP BY 1, 2, 3, 4, 5, 6, 7;
    ELSE
        INSERT INTO message_tallies (hotel_id, day, campaign_id, campaign_name, channel,
                                     status, error_category, messages, pending)
        SELECT hotel_id, created_at::date, COALESCE(campaign_id, ''), COALESCE(campaign_name, ''),
               channel, status, error_category, SUM(delta)::integer, true
        FROM (
            SELECT hotel_id, created_at, campaign_id, campaign_name, channel, status,
                   error_category, 1 AS delta
            FROM tallied_new
            UNION ALL
            SELECT hotel_id, created_at, campaign_id, campaign_name, channel, status,
                   error_category, -1
            FROM tallied_old
        ) AS changes
        GROUP BY 1, 2, 3, 4, 5, 6, 7
        HAVING SUM(delta) <> 0;
    END IF;
    RETURN NULL;
END
$$;
DROP INDEX message_tallies_key;
DROP INDEX message_tallies_settled;
-- Tallies that differed only by category become one.
CREATE TEMPORARY TABLE folded_tallies AS
    SELECT hotel_id, day, campaign_id, campaign_name, channel, status, error_category,
           SUM(messages)::integer AS messages
    FROM message_tallies GROUP BY 1, 2, 3, 4, 5, 6, 7;
DELETE FROM message_tallies;
ALTER TABLE message_tallies DROP COLUMN category;
INSERT INTO message_tallies (hotel_id, day, campaign_id, campaign_name, channel, status,
                             error_category, messages, pending)
    SELECT hotel_id, day, campaign_id, campaign_name, channel, status, error_category,
           messages, false
    FROM folded_tallies;
DROP TABLE folded_tallies;
CREATE INDEX message_tallies_key
    ON message_tallies (hotel_id, day, campaign_id, campaign_name, channel, status, error_category);
CREATE UNIQUE INDEX message_tallies_settled
    ON message_tallies (hotel_id, day, campaign_id, campaign_name, channel, status, error_category)
    WHERE NOT pending;
DROP INDEX messages_hotel_category;
ALTER TABLE messages DROP COLUMN category;
