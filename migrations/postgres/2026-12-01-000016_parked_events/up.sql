-- Early callbacks (API.md "Early callbacks are parked, not lost"): a status event
-- addressed by provider + provider id that matches no message yet, kept until a
-- message with that provider id is recorded in a hotel of the caller's scope, or until
-- it expires.
CREATE TABLE parked_events (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    provider TEXT NOT NULL,
    provider_message_id TEXT NOT NULL,
    -- The caller's hotels, ',h1,h2,' (sorted), or '' for every hotel.
    hotel_scope TEXT NOT NULL,
    status INTEGER NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    event_id TEXT,
    error_code TEXT,
    error_message TEXT,
    received_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX parked_events_provider_id ON parked_events (provider_message_id, provider);
CREATE INDEX parked_events_expiry ON parked_events (expires_at);
CREATE INDEX parked_events_scope ON parked_events (hotel_scope);
