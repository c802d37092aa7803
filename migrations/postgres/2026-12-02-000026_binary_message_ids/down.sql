-- Back to text ids, in their canonical form (uuid::text), with the C collation
-- they had.
ALTER TABLE status_events DROP CONSTRAINT status_events_message_id_fkey;
ALTER TABLE flags DROP CONSTRAINT flags_message_id_fkey;
ALTER TABLE reconciliation_checks DROP CONSTRAINT reconciliation_checks_message_id_fkey;

ALTER TABLE messages ALTER COLUMN id TYPE text COLLATE "C" USING id::text;
ALTER TABLE status_events ALTER COLUMN message_id TYPE text COLLATE "C" USING message_id::text;
ALTER TABLE flags ALTER COLUMN message_id TYPE text COLLATE "C" USING message_id::text;
ALTER TABLE reconciliation_checks ALTER COLUMN message_id TYPE text COLLATE "C" USING message_id::text;

ALTER TABLE status_events ADD CONSTRAINT status_events_message_id_fkey
    FOREIGN KEY (message_id) REFERENCES messages (id) ON DELETE CASCADE;
ALTER TABLE flags ADD CONSTRAINT flags_message_id_fkey
    FOREIGN KEY (message_id) REFERENCES messages (id) ON DELETE CASCADE;
ALTER TABLE reconciliation_checks ADD CONSTRAINT reconciliation_checks_message_id_fkey
    FOREIGN KEY (message_id) REFERENCES messages (id) ON DELETE CASCADE;
