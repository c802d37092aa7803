-- Stays (API.md "Stays: the CSM works guests, not messages").

-- The reconciliation reads a chunk's stays in one query: by reservation, by phone,
-- by email (indexed already) and, for messages with no reservation, by PMS guest.
CREATE INDEX messages_stay_guest ON messages (pms_guest_id) WHERE pms_reservation_id IS NULL;

-- Flags are per stay: what the CSM sees of the stay, and the queue's order.
ALTER TABLE flags ADD COLUMN stay_key TEXT COLLATE "C";
ALTER TABLE flags ADD COLUMN check_in_date DATE;
ALTER TABLE flags ADD COLUMN check_out_date DATE;
-- check_in_date, or 9999-12-31 when unknown: the queue puts stays without a date last
-- and pages by keyset on a column that is never NULL.
ALTER TABLE flags ADD COLUMN queue_check_in DATE NOT NULL DEFAULT '9999-12-31';
-- Every failing message behind the flag, oldest first, space-separated.
ALTER TABLE flags ADD COLUMN message_ids TEXT NOT NULL DEFAULT '';
ALTER TABLE flags ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
-- Channel codes tried for the stay, comma-separated.
ALTER TABLE flags ADD COLUMN channels_tried TEXT NOT NULL DEFAULT '';
ALTER TABLE flags ADD COLUMN reached_at TIMESTAMP;
ALTER TABLE flags ADD COLUMN reached_channel INTEGER;
-- 1 URGENT, 2 NORMAL, 3 LOW: the queue sorts ascending. Re-decided by every pass.
ALTER TABLE flags ADD COLUMN priority INTEGER NOT NULL DEFAULT 2;

UPDATE flags f SET
    stay_key = COALESCE(
        m.pms_reservation_id,
        m.pms_guest_id,
        CASE WHEN m.channel IN (1, 2) THEN m.recipient_phone END,
        m.email_normalized,
        m.id
    ),
    check_in_date = m.check_in_date,
    check_out_date = m.check_out_date,
    queue_check_in = COALESCE(m.check_in_date, DATE '9999-12-31'),
    message_ids = f.message_id,
    channels_tried = m.channel::text
FROM messages m
WHERE m.id = f.message_id;
ALTER TABLE flags ALTER COLUMN stay_key SET NOT NULL;

-- Open flags of one stay become one: the oldest keeps every message and says so in its
-- note; the others are dismissed by sentlog, pointing at it.
WITH ranked AS (
    SELECT f.id, f.hotel_id, f.stay_key, f.created_at, f.message_id, m.channel,
           first_value(f.id) OVER w AS keeper,
           row_number() OVER w AS n,
           count(*) OVER (PARTITION BY f.hotel_id, f.stay_key) AS total
    FROM flags f JOIN messages m ON m.id = f.message_id
    WHERE f.state IN (1, 2)
    WINDOW w AS (PARTITION BY f.hotel_id, f.stay_key ORDER BY f.created_at, f.id)
), merged AS (
    SELECT keeper,
           string_agg(message_id, ' ' ORDER BY created_at, id) AS ids,
           string_agg(id, ', ' ORDER BY created_at, id) FILTER (WHERE n > 1) AS others,
           string_agg(DISTINCT channel::text, ',') AS channels,
           count(*) AS total
    FROM ranked WHERE total > 1 GROUP BY keeper
)
UPDATE flags f SET
    message_ids = merged.ids,
    attempts = merged.total,
    channels_tried = merged.channels,
    note = CONCAT_WS(E'\n', f.note,
        'Merged with flag(s) ' || merged.others || ' of the same stay: one flag per stay.')
FROM merged
WHERE f.id = merged.keeper;

WITH ranked AS (
    SELECT id,
           first_value(id) OVER w AS keeper,
           row_number() OVER w AS n
    FROM flags
    WHERE state IN (1, 2)
    WINDOW w AS (PARTITION BY hotel_id, stay_key ORDER BY created_at, id)
)
UPDATE flags f SET
    state = 4,
    resolution = 'Merged into flag ' || ranked.keeper || ': one flag per stay.',
    note = CONCAT_WS(E'\n', f.note, 'Merged into flag ' || ranked.keeper || ' of the same stay.'),
    resolved_by = 'sentlog',
    updated_at = now() AT TIME ZONE 'UTC'
FROM ranked
WHERE f.id = ranked.id AND ranked.n > 1;

-- At most one open (OPEN or ACKNOWLEDGED) flag per stay, enforced by the database.
DROP INDEX flags_one_open_per_message;
CREATE UNIQUE INDEX flags_one_open_per_stay ON flags (hotel_id, stay_key) WHERE state IN (1, 2);
-- A stay's flags, open or closed (which failing messages a closed flag covered).
CREATE INDEX flags_stay ON flags (hotel_id, stay_key, state);
-- The queue by urgency: priority, then arrival, then age.
CREATE INDEX flags_priority_queue ON flags (state, priority, queue_check_in, created_at, id);
CREATE INDEX flags_hotel_priority_queue ON flags (hotel_id, state, priority, queue_check_in, created_at, id);
