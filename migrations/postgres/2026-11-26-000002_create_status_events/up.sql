-- Every accepted status event of a message, winner or not, with its outcome.
CREATE TABLE status_events (
    message_id TEXT COLLATE "C" NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    status INTEGER NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    received_at TIMESTAMP NOT NULL,
    error_code TEXT,
    error_message TEXT,
    error_category INTEGER NOT NULL DEFAULT 0,
    outcome INTEGER NOT NULL,
    PRIMARY KEY (message_id, event_id)
);
