-- A message's flags are found by index when the message goes (#17). The retention
-- purge and an erasure delete messages, and ON DELETE CASCADE then looks up each
-- one's flags by message_id; since migration 000014 dropped the one-open-flag-per-
-- message index nothing served that lookup, so each deleted message scanned every
-- flag: a purge of a month of a 1,000,000-message SQLite file ran at ~470 messages/s
-- with 3,482 flags, and slower as flags pile up.
CREATE INDEX flags_message ON flags (message_id);
