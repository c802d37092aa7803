-- Messages counted per (hotel, UTC day recorded, campaign, channel, status, error
-- category), kept by triggers in the same transaction as every write to messages, so
-- every writer (the service, retention, an operator's SQL) keeps them true. A count
-- over a big hotel then sums a few thousand tallies instead of reading hundreds of
-- thousands of index entries. No campaign is '' (the API treats an empty id or name
-- as absent).
CREATE TABLE message_tallies (
    hotel_id TEXT NOT NULL,
    day DATE NOT NULL,
    campaign_id TEXT NOT NULL,
    campaign_name TEXT NOT NULL,
    channel INTEGER NOT NULL,
    status INTEGER NOT NULL,
    error_category INTEGER NOT NULL,
    messages INTEGER NOT NULL,
    PRIMARY KEY (hotel_id, day, campaign_id, campaign_name, channel, status, error_category)
);

INSERT INTO message_tallies
SELECT hotel_id, created_at::date, COALESCE(campaign_id, ''), COALESCE(campaign_name, ''),
       channel, status, error_category, COUNT(*)
FROM messages
GROUP BY 1, 2, 3, 4, 5, 6, 7;

-- One statement-level trigger per write: the statement's rows are summed per tally
-- and applied in key order, so concurrent writers lock tallies in the same order and
-- queue instead of deadlocking; a change that moves no tally (an erasure) writes none.
CREATE FUNCTION message_tallies_apply() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER message_tallies_insert AFTER INSERT ON messages
    REFERENCING NEW TABLE AS tallied_new
    FOR EACH STATEMENT EXECUTE FUNCTION message_tallies_apply();
CREATE TRIGGER message_tallies_delete AFTER DELETE ON messages
    REFERENCING OLD TABLE AS tallied_old
    FOR EACH STATEMENT EXECUTE FUNCTION message_tallies_apply();
CREATE TRIGGER message_tallies_update AFTER UPDATE ON messages
    REFERENCING OLD TABLE AS tallied_old NEW TABLE AS tallied_new
    FOR EACH STATEMENT EXECUTE FUNCTION message_tallies_apply();
