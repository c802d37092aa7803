-- Messages: one row per message sent to a guest. Timestamps are UTC.
CREATE TABLE messages (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    hotel_id TEXT NOT NULL,
    external_id TEXT NOT NULL,
    phone_region TEXT,
    campaign_id TEXT,
    campaign_name TEXT,
    channel INTEGER NOT NULL,
    recipient_phone TEXT,
    phone_valid BOOLEAN NOT NULL,
    recipient_email TEXT,
    email_normalized TEXT,
    guest_name TEXT,
    pms_guest_id TEXT,
    pms_reservation_id TEXT,
    check_in_date DATE,
    check_out_date DATE,
    status INTEGER NOT NULL,
    scheduled_at TIMESTAMP,
    provider TEXT,
    provider_message_id TEXT,
    template_name TEXT,
    error_code TEXT,
    error_message TEXT,
    error_category INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    status_changed_at TIMESTAMP NOT NULL,
    status_event_id TEXT NOT NULL,
    sent_at TIMESTAMP,
    delivered_at TIMESTAMP,
    read_at TIMESTAMP,
    failed_at TIMESTAMP
);

-- Idempotent recording.
CREATE UNIQUE INDEX messages_hotel_external ON messages (hotel_id, external_id);
-- Newest-first listing, per hotel and across hotels (keyset on created_at, id).
CREATE INDEX messages_hotel_created ON messages (hotel_id, created_at, id);
CREATE INDEX messages_created ON messages (created_at, id);
-- Selective lookups: few rows each, so the hotel is checked on the rows found.
CREATE INDEX messages_phone ON messages (recipient_phone, created_at, id);
CREATE INDEX messages_email ON messages (email_normalized, created_at, id);
CREATE INDEX messages_reservation ON messages (pms_reservation_id, created_at, id);
CREATE INDEX messages_provider_id ON messages (provider_message_id, provider);
-- Broad filters: per hotel, in list order.
CREATE INDEX messages_hotel_campaign_name ON messages (hotel_id, campaign_name, created_at, id);
CREATE INDEX messages_hotel_campaign_id ON messages (hotel_id, campaign_id, created_at, id);
CREATE INDEX messages_hotel_check_in ON messages (hotel_id, check_in_date, created_at, id);
CREATE INDEX messages_hotel_check_out ON messages (hotel_id, check_out_date, created_at, id);
CREATE INDEX messages_hotel_channel ON messages (hotel_id, channel, created_at, id);
CREATE INDEX messages_hotel_status ON messages (hotel_id, status, created_at, id);
CREATE INDEX messages_hotel_error ON messages (hotel_id, error_category, created_at, id);

-- Campaign names per hotel, so a name substring is searched here, not across messages.
CREATE TABLE campaigns (
    hotel_id TEXT NOT NULL,
    name TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    PRIMARY KEY (hotel_id, name)
);
