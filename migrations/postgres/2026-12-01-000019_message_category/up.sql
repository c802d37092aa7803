-- What a message is for (MessageCategory: 0 unspecified, 1 utility, 2 marketing,
-- 3 service, 4 authentication). Existing messages are UNSPECIFIED: a constant default
-- is a catalogue change on PostgreSQL 11+, no table rewrite and no long lock.
ALTER TABLE messages ADD COLUMN category INTEGER NOT NULL DEFAULT 0;
-- The `categories` filter walks this index in page order, as the channel and status
-- filters do theirs.
CREATE INDEX messages_hotel_category ON messages (hotel_id, category, created_at, id);

-- Tallies count per category too, so CountMessages answers per category (and with a
-- categories filter) without reading messages. Every existing tally is of category 0.
ALTER TABLE message_tallies ADD COLUMN category INTEGER NOT NULL DEFAULT 0;
DROP INDEX message_tallies_key;
DROP INDEX message_tallies_settled;
CREATE INDEX message_tallies_key ON message_tallies
    (hotel_id, day, campaign_id, campaign_name, channel, status, error_category, category);
CREATE UNIQUE INDEX message_tallies_settled ON message_tallies
    (hotel_id, day, campaign_id, campaign_name, channel, status, error_category, category)
    WHERE NOT pending;

CREATE OR REPLACE FUNCTION message_tallies_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO message_tallies (hotel_id, day, campaign_id, campaign_name, channel,
                                     status, error_category, category, messages, pending)
        SELECT hotel_id, created_at::date, COALESCE(campaign_id, ''), COALESCE(campaign_name, ''),
               channel, status, error_category, category, COUNT(*)::integer, true
        FROM tallied_new
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO message_tallies (hotel_id, day, campaign_id, campaign_name, channel,
                                     status, error_category, category, messages, pending)
        SELECT hotel_id, created_at::date, COALESCE(campaign_id, ''), COALESCE(campaign_name, ''),
               channel, status, error_category, category, -COUNT(*)::integer, true
        FROM tallied_old
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
    ELSE
        INSERT INTO message_tallies (hotel_id, day, campaign_id, campaign_name, channel,
                                     status, error_category, category, messages, pending)
        SELECT hotel_id, created_at::date, COALESCE(campaign_id, ''), COALESCE(campaign_name, ''),
               channel, status, error_category, category, SUM(delta)::integer, true
        FROM (
            SELECT hotel_id, created_at, campaign_id, campaign_name, channel, status,
                   error_category, category, 1 AS delta
            FROM tallied_new
            UNION ALL
            SELECT hotel_id, created_at, campaign_id, campaign_name, channel, status,
                   error_category, category, -1
            FROM tallied_old
        ) AS changes
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
        HAVING SUM(delta) <> 0;
    END IF;
    RETURN NULL;
END
$$;
