-- Message ids are stored as 16-byte uuids, not 36 characters of text (#17, disk).
-- Every keyset index of messages ends in the id, as do the keys of status_events,
-- flags and reconciliation checks, so this shrinks ~20 index entries a message by
-- 21 bytes each. The code still reads and writes the canonical text (see
-- src/store/message_key.rs); uuid::text gives back exactly that form, so ids, page
-- tokens and their order are unchanged. The foreign keys are dropped and re-made
-- because a key and its references cannot change type one at a time.
ALTER TABLE status_events DROP CONSTRAINT status_events_message_id_fkey;
ALTER TABLE flags DROP CONSTRAINT flags_message_id_fkey;
ALTER TABLE reconciliation_checks DROP CONSTRAINT reconciliation_checks_message_id_fkey;

ALTER TABLE messages ALTER COLUMN id TYPE uuid USING id::uuid;
ALTER TABLE status_events ALTER COLUMN message_id TYPE uuid USING message_id::uuid;
ALTER TABLE flags ALTER COLUMN message_id TYPE uuid USING message_id::uuid;
ALTER TABLE reconciliation_checks ALTER COLUMN message_id TYPE uuid USING message_id::uuid;

ALTER TABLE status_events ADD CONSTRAINT status_events_message_id_fkey
    FOREIGN KEY (message_id) REFERENCES messages (id) ON DELETE CASCADE;
ALTER TABLE flags ADD CONSTRAINT flags_message_id_fkey
    FOREIGN KEY (message_id) REFERENCES messages (id) ON DELETE CASCADE;
ALTER TABLE reconciliation_checks ADD CONSTRAINT reconciliation_checks_message_id_fkey
    FOREIGN KEY (message_id) REFERENCES messages (id) ON DELETE CASCADE;
