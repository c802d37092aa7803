-- Back to text ids, in their canonical lower-case hyphenated form.
PRAGMA defer_foreign_keys = ON;
UPDATE messages SET id = lower(substr(hex(id), 1, 8) || '-' || substr(hex(id), 9, 4) || '-'
    || substr(hex(id), 13, 4) || '-' || substr(hex(id), 17, 4) || '-' || substr(hex(id), 21))
    WHERE typeof(id) = 'blob';
UPDATE status_events SET message_id = lower(substr(hex(message_id), 1, 8) || '-'
    || substr(hex(message_id), 9, 4) || '-' || substr(hex(message_id), 13, 4) || '-'
    || substr(hex(message_id), 17, 4) || '-' || substr(hex(message_id), 21))
    WHERE typeof(message_id) = 'blob';
UPDATE flags SET message_id = lower(substr(hex(message_id), 1, 8) || '-'
    || substr(hex(message_id), 9, 4) || '-' || substr(hex(message_id), 13, 4) || '-'
    || substr(hex(message_id), 17, 4) || '-' || substr(hex(message_id), 21))
    WHERE typeof(message_id) = 'blob';
UPDATE reconciliation_checks SET message_id = lower(substr(hex(message_id), 1, 8) || '-'
    || substr(hex(message_id), 9, 4) || '-' || substr(hex(message_id), 13, 4) || '-'
    || substr(hex(message_id), 17, 4) || '-' || substr(hex(message_id), 21))
    WHERE typeof(message_id) = 'blob';
