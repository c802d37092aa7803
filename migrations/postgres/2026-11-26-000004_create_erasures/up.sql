-- Each right-to-erasure request carried out: who, when, how many rows; never the data.
CREATE TABLE erasures (
    id TEXT PRIMARY KEY NOT NULL,
    hotel_id TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    erased_at TIMESTAMP NOT NULL,
    messages_redacted BIGINT NOT NULL,
    guests_deleted BIGINT NOT NULL,
    flags_redacted BIGINT NOT NULL
);
CREATE INDEX erasures_hotel ON erasures (hotel_id, erased_at);
