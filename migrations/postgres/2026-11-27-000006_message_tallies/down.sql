DROP TRIGGER message_tallies_update ON messages;
DROP TRIGGER message_tallies_delete ON messages;
DROP TRIGGER message_tallies_insert ON messages;
DROP FUNCTION message_tallies_apply();
DROP TABLE message_tallies;
