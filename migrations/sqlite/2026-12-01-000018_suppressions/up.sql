-- Suppressions: what sentlog must never forget about a recipient, kept apart from
-- messages so the retention purge never deletes them. Matched by address_hash (an
-- HMAC of the normalised address under the server's secret), so erasure can blank
-- address and keep the match. Lifting sets lifted_*: the row stays as the history
-- of that consent.
CREATE TABLE suppressions (
    id TEXT PRIMARY KEY NOT NULL,
    hotel_id TEXT NOT NULL,
    address_hash TEXT NOT NULL,
    address TEXT NOT NULL,
    scope INTEGER NOT NULL,
    reason INTEGER NOT NULL,
    corrected TEXT,
    source_message_id TEXT,
    note TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL,
    lifted_at TIMESTAMP,
    lifted_by TEXT,
    lift_note TEXT
);

-- One active suppression per address and reason: a second opt-out of the same guest
-- adds nothing.
CREATE UNIQUE INDEX suppressions_active ON suppressions (hotel_id, address_hash, reason)
    WHERE lifted_at IS NULL;
-- CheckRecipients and status application look addresses up by hash.
CREATE INDEX suppressions_hash ON suppressions (address_hash, hotel_id);
CREATE INDEX suppressions_hotel_created ON suppressions (hotel_id, created_at, id);

-- Erasure blanks the addresses of suppressions (keeping their hash) and says so.
ALTER TABLE erasures ADD COLUMN suppressions_redacted BIGINT NOT NULL DEFAULT 0;
