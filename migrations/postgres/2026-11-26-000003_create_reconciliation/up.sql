-- PMS guest records pushed by the hub's PMS integration (UpsertGuests).
CREATE TABLE pms_guests (
    hotel_id TEXT NOT NULL,
    pms_guest_id TEXT NOT NULL,
    pms_reservation_id TEXT,
    full_name TEXT,
    -- As the PMS holds it, and read in the hotel's region (E.164 when it parses).
    phone TEXT,
    phone_normalized TEXT,
    email TEXT,
    email_normalized TEXT,
    check_in_date DATE,
    check_out_date DATE,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (hotel_id, pms_guest_id)
);
CREATE INDEX pms_guests_reservation ON pms_guests (hotel_id, pms_reservation_id);
CREATE INDEX pms_guests_phone ON pms_guests (hotel_id, phone_normalized);
CREATE INDEX pms_guests_email ON pms_guests (hotel_id, email_normalized);

-- One row per reconciliation pass.
CREATE TABLE reconciliation_runs (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    trigger TEXT NOT NULL,
    state TEXT NOT NULL,
    -- Comma-separated hotel ids the pass covered; empty: every hotel.
    hotel_ids TEXT NOT NULL,
    messages_checked BIGINT NOT NULL DEFAULT 0,
    flags_raised BIGINT NOT NULL DEFAULT 0,
    messages_skipped BIGINT NOT NULL DEFAULT 0,
    errors BIGINT NOT NULL DEFAULT 0,
    -- One line per error: hotel and cause, never personal data.
    error_details TEXT NOT NULL DEFAULT ''
);
CREATE INDEX reconciliation_runs_started ON reconciliation_runs (started_at, id);

-- The CSM review queue.
CREATE TABLE flags (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    hotel_id TEXT NOT NULL,
    message_id TEXT COLLATE "C" NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    run_id TEXT,
    reason INTEGER NOT NULL,
    detail TEXT NOT NULL,
    message_phone TEXT,
    pms_phone TEXT,
    suggested_phone TEXT,
    message_email TEXT,
    pms_email TEXT,
    guest_name TEXT,
    campaign_name TEXT,
    error_category INTEGER NOT NULL DEFAULT 0,
    corrected_phone TEXT,
    state INTEGER NOT NULL,
    resolution TEXT,
    note TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    resolved_by TEXT
);
-- At most one open (OPEN or ACKNOWLEDGED) flag per message, enforced by the database.
CREATE UNIQUE INDEX flags_one_open_per_message ON flags (message_id) WHERE state IN (1, 2);
CREATE INDEX flags_queue ON flags (state, created_at, id);
CREATE INDEX flags_hotel_queue ON flags (hotel_id, state, created_at, id);
CREATE INDEX flags_message_phone ON flags (hotel_id, message_phone);
CREATE INDEX flags_message_email ON flags (hotel_id, message_email);

-- When the reconciliation last looked at a message, and the message's updated_at then:
-- a message is a candidate again once it changes.
CREATE TABLE reconciliation_checks (
    message_id TEXT COLLATE "C" PRIMARY KEY NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    checked_at TIMESTAMP NOT NULL,
    message_updated_at TIMESTAMP NOT NULL
);
-- Candidates of a pass: messages by status, walked in id order.
CREATE INDEX messages_status_id ON messages (status, id);
