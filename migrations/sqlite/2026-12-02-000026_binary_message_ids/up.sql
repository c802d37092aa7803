-- Message ids are stored as 16-byte blobs, not 36 characters of text (#17, disk).
-- Every keyset index of messages ends in the id, as do the keys of status_events,
-- flags and reconciliation checks, so this shrinks ~20 index entries a message by
-- 20 bytes each. The code still reads and writes the canonical text (see
-- src/store/message_key.rs), so ids, page tokens and their order are unchanged.
-- The columns keep their declared TEXT type: SQLite stores a blob in a TEXT column
-- as it is (affinity converts numbers only), and changing a declared type would mean
-- rebuilding messages and its 21 indexes by hand. A text id that is not a UUID
-- would turn into NULL and stop the migration on NOT NULL; sentlog made them all.
-- The keys and their references change in one transaction: the foreign keys are
-- checked at its end.
PRAGMA defer_foreign_keys = ON;
UPDATE messages SET id = unhex(replace(id, '-', '')) WHERE typeof(id) = 'text';
UPDATE status_events SET message_id = unhex(replace(message_id, '-', ''))
    WHERE typeof(message_id) = 'text';
UPDATE flags SET message_id = unhex(replace(message_id, '-', ''))
    WHERE typeof(message_id) = 'text';
UPDATE reconciliation_checks SET message_id = unhex(replace(message_id, '-', ''))
    WHERE typeof(message_id) = 'text';
