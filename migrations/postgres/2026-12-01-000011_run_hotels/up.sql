-- What one reconciliation pass did in each hotel it touched, so that a caller who
-- serves some hotels sees only their counts, and only the passes that touched them.
CREATE TABLE reconciliation_run_hotels (
    run_id TEXT COLLATE "C" NOT NULL REFERENCES reconciliation_runs (id) ON DELETE CASCADE,
    hotel_id TEXT COLLATE "C" NOT NULL,
    messages_checked BIGINT NOT NULL DEFAULT 0,
    flags_raised BIGINT NOT NULL DEFAULT 0,
    messages_skipped BIGINT NOT NULL DEFAULT 0,
    errors BIGINT NOT NULL DEFAULT 0,
    -- What went wrong in this hotel, one line each (a PMS that did not answer).
    error_details TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, hotel_id)
);
CREATE INDEX reconciliation_run_hotels_hotel ON reconciliation_run_hotels (hotel_id, run_id);

-- Passes recorded before this table: one asked for a single hotel is that hotel's
-- alone. Passes over several or every hotel cannot be split after the fact; they stay
-- visible to callers who serve every hotel.
INSERT INTO reconciliation_run_hotels
    (run_id, hotel_id, messages_checked, flags_raised, messages_skipped, errors)
SELECT id, hotel_ids, messages_checked, flags_raised, messages_skipped, errors
FROM reconciliation_runs
WHERE hotel_ids <> '' AND hotel_ids NOT LIKE '%,%';
