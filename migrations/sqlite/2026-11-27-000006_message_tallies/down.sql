DROP TRIGGER message_tallies_update;
DROP TRIGGER message_tallies_delete;
DROP TRIGGER message_tallies_insert;
DROP TABLE message_tallies;
