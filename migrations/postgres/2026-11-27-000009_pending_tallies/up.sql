-- Writers only append tallies: each write statement inserts its deltas as pending
-- rows, which no other writer ever locks, so concurrent writers never wait for each
-- other on a busy tally (a hotel's "today, delivered" row) and a writer running
-- several statements in one transaction cannot deadlock on them. Counts sum pending
-- and settled rows alike; `Store::settle_tallies` (every 30 s, one instance at a
-- time) folds pending rows into the settled ones.
ALTER TABLE message_tallies DROP CONSTRAINT message_tallies_pkey;
ALTER TABLE message_tallies ADD COLUMN pending BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX message_tallies_key
    ON message_tallies (hotel_id, day, campaign_id, campaign_name, channel, status, error_category);
CREATE UNIQUE INDEX message_tallies_settled
    ON message_tallies (hotel_id, day, campaign_id, campaign_name, channel, status, error_category)
    WHERE NOT pending;
CREATE INDEX message_tallies_pending ON message_tallies (hotel_id) WHERE pending;

CREATE OR REPLACE FUNCTION message_tallies_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO message_tallies
        SELECT hotel_id, created_at::date, COALESCE(campaign_id, ''), COALESCE(campaign_name, ''),
               channel, status, error_category, COUNT(*)::integer, true
        FROM tallied_new
        GROUP BY 1, 2, 3, 4, 5, 6, 7;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO message_tallies
        SELECT hotel_id, created_at::date, COALESCE(campaign_id, ''), COALESCE(campaign_name, ''),
               channel, status, error_category, -COUNT(*)::integer, true
        FROM tallied_old
        GROUP BY 1, 2, 3, 4, 5, 6, 7;
    ELSE
        INSERT INTO message_tallies
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
