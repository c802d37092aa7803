-- Settle every pending tally, then return to one locked row per tally.
CREATE TEMPORARY TABLE settled_tallies AS
    SELECT hotel_id, day, campaign_id, campaign_name, channel, status, error_category,
           SUM(messages)::integer AS messages
    FROM message_tallies GROUP BY 1, 2, 3, 4, 5, 6, 7;
DELETE FROM message_tallies;
DROP INDEX message_tallies_pending;
DROP INDEX message_tallies_settled;
DROP INDEX message_tallies_key;
ALTER TABLE message_tallies DROP COLUMN pending;
INSERT INTO message_tallies SELECT * FROM settled_tallies;
DROP TABLE settled_tallies;
ALTER TABLE message_tallies
    ADD PRIMARY KEY (hotel_id, day, campaign_id, campaign_name, channel, status, error_category);
CREATE OR REPLACE FUNCTION message_tallies_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO message_tallies AS t
        SELECT hotel_id, created_at::date, COALESCE(campaign_id, ''), COALESCE(campaign_name, ''),
               channel, status, error_category, SUM(delta)::integer
        FROM (SELECT hotel_id, created_at, campaign_id, campaign_name, channel, status, error_category, 1 AS delta FROM tallied_new) AS changes
        GROUP BY 1, 2, 3, 4, 5, 6, 7
        HAVING SUM(delta) <> 0
        ORDER BY 1, 2, 3, 4, 5, 6, 7
        ON CONFLICT (hotel_id, day, campaign_id, campaign_name, channel, status, error_category)
        DO UPDATE SET messages = t.messages + EXCLUDED.messages;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO message_tallies AS t
        SELECT hotel_id, created_at::date, COALESCE(campaign_id, ''), COALESCE(campaign_name, ''),
               channel, status, error_category, SUM(delta)::integer
        FROM (SELECT hotel_id, created_at, campaign_id, campaign_name, channel, status, error_category, -1 AS delta FROM tallied_old) AS changes
        GROUP BY 1, 2, 3, 4, 5, 6, 7
        HAVING SUM(delta) <> 0
        ORDER BY 1, 2, 3, 4, 5, 6, 7
        ON CONFLICT (hotel_id, day, campaign_id, campaign_name, channel, status, error_category)
        DO UPDATE SET messages = t.messages + EXCLUDED.messages;
    ELSE
        INSERT INTO message_tallies AS t
        SELECT hotel_id, created_at::date, COALESCE(campaign_id, ''), COALESCE(campaign_name, ''),
               channel, status, error_category, SUM(delta)::integer
        FROM (SELECT hotel_id, created_at, campaign_id, campaign_name, channel, status, error_category, 1 AS delta FROM tallied_new UNION ALL SELECT hotel_id, created_at, campaign_id, campaign_name, channel, status, error_category, -1 FROM tallied_old) AS changes
        GROUP BY 1, 2, 3, 4, 5, 6, 7
        HAVING SUM(delta) <> 0
        ORDER BY 1, 2, 3, 4, 5, 6, 7
        ON CONFLICT (hotel_id, day, campaign_id, campaign_name, channel, status, error_category)
        DO UPDATE SET messages = t.messages + EXCLUDED.messages;
    END IF;
    RETURN NULL;
END
$$;
